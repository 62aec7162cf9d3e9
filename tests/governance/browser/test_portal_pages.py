"""Browser tests: a company researcher files a request in the portal, in Korean."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from governance.models import DataAccessRequest, RequestState
from tests.governance.factories import PASSWORD, PDF, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def korean_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        context.close()


def test_researcher_files_a_request_in_korean(
    live_server: Any, korean_page: Any, shot: Any, tmp_path: Path, enqueued: list[int]
) -> None:
    world = World()
    page = korean_page
    page.goto(f"{live_server.url}/portal/")
    assert "로그인" in page.inner_text("h1")
    page.fill("#id_username", world.researcher.username)
    page.fill("#id_password", PASSWORD)
    shot(page, "portal-login-ko")
    page.click("#login")
    page.wait_for_selector("#requests")
    assert "내 신청과 제공 데이터" in page.inner_text("h1")
    page.click("#new-request")
    page.fill("#id_title", "강원 당뇨 코호트 연구")
    page.fill("#id_purpose", "당화혈색소 추이를 예측하는 모델을 만든다.")
    page.select_option("#id_purpose_code", "DS")
    page.fill("#id_purpose_diseases", "E11")
    page.check(f"input[name=datasets][value='{world.dataset.pk}']")
    page.fill("#id_icd10_prefixes", "E11")
    shot(page, "portal-new-request-ko")
    page.click("#save-draft")
    page.wait_for_selector("#documents")
    assert "임시 저장했습니다" in page.inner_text(".messages")
    request = DataAccessRequest.objects.get(title="강원 당뇨 코호트 연구")
    assert request.state == RequestState.DRAFT
    pdf = tmp_path / "approval.pdf"
    pdf.write_bytes(PDF)
    today = timezone.localdate()
    page.fill("#irb-form #id_number", "KNUH-IRB-2026-0101")
    page.fill("#irb-form #id_institution", "강원대학교병원 IRB")
    page.fill("#irb-form #id_approved_on", (today - timedelta(days=5)).isoformat())
    page.fill("#irb-form #id_expires_on", (today + timedelta(days=300)).isoformat())
    page.set_input_files("#irb-form #id_file", str(pdf))
    page.click("#add-irb")
    page.wait_for_selector(".messages .success")
    page.fill("#dua-form #id_effective_on", today.isoformat())
    page.fill("#dua-form #id_expires_on", (today + timedelta(days=300)).isoformat())
    page.set_input_files("#dua-form #id_file", str(pdf))
    page.click("#add-dua")
    page.wait_for_selector(".messages .success")
    page.click("#submit")
    page.wait_for_selector(".messages .success")
    assert "제출했습니다" in page.inner_text(".messages")
    shot(page, "portal-request-submitted-ko")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_staff_log_in_in_two_steps_in_korean(live_server: Any, korean_page: Any, shot: Any) -> None:
    from django_otp.oath import totp

    from governance.roles import totp_device_create

    world = World()
    device = totp_device_create(user=world.steward)
    page = korean_page
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_auth-username", world.steward.username)
    page.fill("#id_auth-password", PASSWORD)
    shot(page, "staff-login-password-ko")
    page.click("button.btn-primary[type=submit]")
    page.wait_for_selector("#id_token-otp_token")
    shot(page, "staff-login-code-ko")
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    page.fill("#id_token-otp_token", code)
    page.click("button.btn-primary[type=submit]")
    page.wait_for_selector("#gov-waiting")
    assert "처리할 일" in page.inner_text("#gov-waiting")
    shot(page, "staff-admin-index-ko")


def test_researcher_answers_a_change_request_and_reviewers_are_told(
    live_server: Any, korean_page: Any, page: Any, shot: Any, tmp_path: Path, enqueued: list[int]
) -> None:
    from django_otp.oath import totp

    from governance import services
    from governance.roles import totp_device_create

    world = World()
    request = world.submitted()
    services.request_start_legal_review(request=request, acting_user=world.legal)
    services.request_request_changes(
        request=request, acting_user=world.legal, reason="IRB 승인서의 개정본을 첨부해 주세요."
    )
    kp = korean_page
    kp.goto(f"{live_server.url}/portal/login/")
    kp.fill("#id_username", world.researcher.username)
    kp.fill("#id_password", PASSWORD)
    kp.click("#login")
    kp.wait_for_selector("#nav-notifications .badge")
    kp.click("#nav-notifications")
    kp.click(f"text=Changes requested on request #{request.pk}")
    kp.wait_for_selector("#history")
    assert "IRB 승인서의 개정본을 첨부해 주세요." in kp.inner_text("#history")
    pdf = tmp_path / "amended.pdf"
    pdf.write_bytes(PDF)
    today = timezone.localdate()
    kp.fill("#irb-form #id_number", "KNUH-IRB-2026-0101-A1")
    kp.fill("#irb-form #id_institution", "강원대학교병원 IRB")
    kp.fill("#irb-form #id_approved_on", (today - timedelta(days=1)).isoformat())
    kp.fill("#irb-form #id_expires_on", (today + timedelta(days=300)).isoformat())
    kp.set_input_files("#irb-form #id_file", str(pdf))
    kp.click("#add-irb")
    kp.wait_for_selector(".messages .success")
    kp.click("#resubmit")
    kp.wait_for_selector(".messages .success")
    shot(kp, "portal-resubmitted-ko")
    request.refresh_from_db()
    assert request.state == RequestState.RESUBMITTED

    # The legal reviewer is told on the admin's index page, and approves; then the steward.
    for person in (world.legal, world.steward):
        device = totp_device_create(user=person)
        code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_auth-username", person.username)
        page.fill("#id_auth-password", PASSWORD)
        page.click("button.btn-primary[type=submit]")
        page.fill("#id_token-otp_token", code)
        page.click("button.btn-primary[type=submit]")
        page.wait_for_selector("#gov-notifications")
        told = page.inner_text("#gov-notifications")
        if person == world.legal:
            assert f"Request #{request.pk} resubmitted" in told
            services.request_start_legal_review(request=request, acting_user=world.legal)
            world.verified(request)
            services.request_approve_legal(
                request=request, acting_user=world.legal, reason="Amended IRB in order."
            )
        else:
            assert f"Request #{request.pk} needs its de-identification policy" in told
            shot(page, "steward-notified")


def test_researcher_downloads_a_published_release(
    live_server: Any, korean_page: Any, shot: Any, tmp_path: Path, settings: Any
) -> None:
    from tests.governance.api_support import make_world

    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    a, b = make_world(tmp_path / "releases")
    a.user.set_password(PASSWORD)
    a.user.save()
    kp = korean_page
    kp.goto(f"{live_server.url}/portal/login/")
    kp.fill("#id_username", a.user.username)
    kp.fill("#id_password", PASSWORD)
    kp.click("#login")
    kp.wait_for_selector("#releases")
    kp.click(f"#releases a[href='/portal/releases/{a.release.pk}/']")
    kp.wait_for_selector("#files")
    shot(kp, "portal-release-ko")
    with kp.expect_download() as info:
        kp.click("#files tr:has-text('person.csv') button.download")
    saved = tmp_path / "person.csv"
    info.value.save_as(saved)
    assert saved.read_bytes() == a.files["person.csv"]
    # another organization's release is not found
    response = kp.goto(f"{live_server.url}/portal/releases/{b.release.pk}/")
    assert response.status == 404


def test_steward_dry_runs_a_policy_in_the_form(
    live_server: Any, page: Any, shot: Any, tmp_path: Path, settings: Any, enqueued: list[int]
) -> None:
    from django_otp.oath import totp

    from fixtures.synthetic_cdw import generate
    from governance.models import DeidPolicy
    from governance.roles import totp_device_create

    url = f"sqlite:///{tmp_path / 'cdw.sqlite3'}"
    generate(url, patients=300, seed=9)
    settings.DEID_CDW_URL = url
    world = World()
    request = world.legally_approved()
    device = totp_device_create(user=world.steward)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_auth-username", world.steward.username)
    page.fill("#id_auth-password", PASSWORD)
    page.click("button.btn-primary[type=submit]")
    page.fill(
        "#id_token-otp_token",
        f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}",
    )
    page.click("button.btn-primary[type=submit]")
    page.wait_for_selector("#gov-waiting")
    page.goto(f"{live_server.url}/admin/governance/dataaccessrequest/{request.pk}/review/")
    page.click("#policy-editor-link")
    page.select_option("#id_col__person__registration_no", "pseudonymize")
    page.fill("#id_k", "6")
    page.click("#dry-run")
    page.wait_for_selector("#dry-run-result")
    assert "year_of_birth" in page.inner_text("#dry-run-result")
    assert page.locator("#dry-run-chart rect.bar").count() >= 1
    shot(page, "steward-policy-dry-run")
    page.click("#save-policy-form")
    page.wait_for_selector("#request-review")
    saved = DeidPolicy.objects.get(request=request).policy_yaml
    assert "k: 6" in saved
