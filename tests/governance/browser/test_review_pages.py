"""Browser tests: the legal reviewer and the data steward at work in the admin."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from governance.models import Decision, ReleaseState, RequestState
from governance.roles import totp_device_create
from tests.governance.factories import LONGITUDINAL, PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, live_server: Any, user: Any) -> None:
    """The real log-in: the admin sends staff to one two-step form (password, then the code)."""
    from django_otp.oath import totp

    device = totp_device_create(user=user)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_auth-username", user.username)
    page.fill("#id_auth-password", PASSWORD)
    page.click("button.btn-primary[type=submit]")
    page.fill("#id_token-otp_token", code)
    page.click("button.btn-primary[type=submit]")
    page.wait_for_selector("#gov-waiting")


def test_legal_reviewer_approves_with_a_reason(
    live_server: Any, page: Any, shot: Any, enqueued: list[int]
) -> None:
    world = World()
    request = world.submitted()
    log_in(page, live_server, world.legal)
    assert page.locator('.gov-counter[data-kind="request"] strong').inner_text() == "1"
    page.click("text=Open my review queue")
    page.click(f"text=#{request.pk} {request.title}")
    page.wait_for_selector("#duo-result")
    assert "Compatible" in page.inner_text("#duo-result")
    page.click("button[name=verify-irb]")
    page.click("button[name=verify-dua]")
    assert "Verified" in page.inner_text("#irb")
    page.fill("#reason", "IRB and DUA verified; purpose within consent (DS: E11).")
    shot(page, "legal-before-approve")
    page.click("#approve")
    page.wait_for_selector(".messagelist .success")
    assert "approved (legal)" in page.inner_text(".messagelist")
    assert "IRB and DUA verified" in page.inner_text("#decisions")
    shot(page, "legal-approved")
    request.refresh_from_db()
    assert request.state == RequestState.LEGALLY_APPROVED
    assert Decision.objects.get(request=request).decided_by == world.legal


def test_reject_without_a_reason_is_refused_on_the_page(
    live_server: Any, page: Any, shot: Any, enqueued: list[int]
) -> None:
    world = World()
    request = world.submitted()
    log_in(page, live_server, world.legal)
    page.goto(f"{live_server.url}/admin/governance/dataaccessrequest/{request.pk}/review/")
    page.click("#reject")
    page.wait_for_selector(".messagelist .error")
    assert "A reason is required to reject" in page.inner_text(".messagelist")
    shot(page, "reject-without-reason-refused")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    assert not Decision.objects.filter(request=request).exists()


def test_steward_reads_the_report_sees_the_chart_and_approves(
    live_server: Any, page: Any, shot: Any, enqueued: list[int]
) -> None:
    world = World()
    release = world.built()
    release.privacy_report = {**release.privacy_report, "longitudinal": LONGITUDINAL}
    release.save(update_fields=["privacy_report"])
    log_in(page, live_server, world.steward)
    page.click("text=Open my review queue")
    page.click(f"text=Release: Release #{release.pk}")
    page.wait_for_selector("#class-size-chart")
    bars = page.locator("#class-size-chart rect.bar")
    assert bars.count() == 4
    box = page.locator("#class-size-chart").bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100
    assert page.inner_text("#fig-k .value") == "5"
    report = page.inner_text("#privacy-report")
    for text in ("records released", "suppressed", "prosecutor", "age", "loss"):
        assert text in report
    assert "privacy:" in page.inner_text("#policy")
    shot(page, "steward-release-report")
    # the release-level section: before/after per m, labels that do not overlap
    page.locator("#longitudinal").scroll_into_view_if_needed()
    assert page.locator("#risk-chart rect.risk-before").count() == 4  # 3 m's + legend
    labels = page.locator("#risk-chart text", has_text="m = ")
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    assert len(boxes) == 3
    for a, b in itertools.pairwise(boxes):
        assert a is not None
        assert b is not None
        assert a["x"] + a["width"] < b["x"]
    assert "97.5%" in page.inner_text("#km-risk")
    assert "visit_occurrence" in page.inner_text("#event-tables")
    shot(page, "steward-release-level-privacy")
    page.fill("#reason", "k=5 reached, 5% suppressed, prosecutor risk at most 0.2.")
    page.click("#approve")
    page.wait_for_selector(".messagelist .success")
    assert "Release approved" in page.inner_text(".messagelist")
    page.click("#publish")
    page.wait_for_selector("#release-state")
    assert "Published" in page.inner_text("#release-state")
    shot(page, "steward-published")
    release.refresh_from_db()
    assert release.state == ReleaseState.PUBLISHED


def test_steward_cancels_a_build_and_rebuilds(
    live_server: Any, page: Any, shot: Any, enqueued: list[int]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from audit.models import AuditEvent
    from governance import jobs, services
    from governance.models import Release

    world = World()
    request = world.approved()
    release = services.release_create(request=request, acting_user=world.steward)
    release = services.release_build_start(release=release, acting_user=world.steward)
    Release.objects.filter(pk=release.pk).update(
        build_started_at=timezone.now() - timedelta(seconds=30)
    )
    services.release_build_progress(
        release=release, phase="transform", rows_done=250, rows_total=1000
    )
    release.refresh_from_db()
    log_in(page, live_server, world.steward)
    page.goto(f"{live_server.url}/admin/governance/release/{release.pk}/review/")
    progress = page.inner_text("#progress")
    assert "250 of 1000 rows" in progress
    assert "about 90 s left" in progress
    shot(page, "steward-build-progress")
    page.click("#cancel-build")
    page.wait_for_selector(".messagelist .success")
    assert "Cancel requested" in page.inner_text(".messagelist")
    assert AuditEvent.objects.filter(
        action="release.build_cancelled", object_id=str(release.pk)
    ).exists()
    # The worker honours the flag at its next check; the page then offers a rebuild.
    outcome = jobs.run_job(release_id=release.pk, job_id=release.build_job_id, engine="local")
    assert outcome["status"] == "cancelled"
    page.goto(f"{live_server.url}/admin/governance/release/{release.pk}/review/")
    page.wait_for_selector("#build-failed")
    assert "build cancelled" in page.inner_text("#build-failed")
    shot(page, "steward-build-cancelled")
    page.click("#rebuild")
    page.wait_for_selector(".messagelist .success")
    assert "Rebuild started" in page.inner_text(".messagelist")
    release.refresh_from_db()
    assert release.state == ReleaseState.BUILDING
    assert enqueued == [release.pk, release.pk]
