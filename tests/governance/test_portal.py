"""The recipient portal: log-in (with a second factor), catalog, requests, releases, tokens,
in Korean and English. Every action goes through the services; the audit log shows it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from governance import services
from governance.models import RequestState
from tests.governance.api_support import PDF, make_world

pytestmark = pytest.mark.django_db
PASSWORD = "x" * 16


@pytest.fixture
def world(settings: Any, tmp_path: Path) -> Any:
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    a, b = make_world(tmp_path / "releases")
    for r in (a, b):
        r.user.set_password(PASSWORD)
        r.user.save()
    yield a, b
    cache.clear()


def logged_in(recipient: Any, **headers: str) -> Client:
    client = Client(**headers)
    response = client.post(
        "/portal/login/", {"username": recipient.user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_root_goes_to_the_portal_and_the_portal_asks_to_log_in(world: Any) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    response = Client().get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    page = Client().get("/portal/login/").content.decode()
    assert 'name="username"' in page
    assert 'name="password"' in page


def test_pages_follow_accept_language_and_the_switch(world: Any) -> None:
    assert "Log in" in Client().get("/portal/login/").content.decode()
    korean = Client(HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9").get("/portal/login/").content.decode()
    assert "로그인" in korean
    assert 'lang="ko"' in korean
    a, _ = world
    client = logged_in(a)
    client.post("/i18n/setlang/", {"language": "ko", "next": "/portal/"})
    page = client.get("/portal/").content.decode()
    assert "내 신청과 제공 데이터" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    assert "My requests and releases" in client.get("/portal/").content.decode()


def test_wrong_password_and_staff_are_refused(world: Any) -> None:
    a, _ = world
    page = Client().post("/portal/login/", {"username": a.user.username, "password": "nope" * 4})
    assert page.status_code == 200
    assert "wrong" in page.content.decode()
    steward = a.extra["steward"]
    steward.set_password(PASSWORD)
    steward.save()
    page = Client().post("/portal/login/", {"username": "steward", "password": PASSWORD})
    assert page.status_code == 200
    assert "staff work in the admin" in page.content.decode()


def test_second_factor_when_the_organization_requires_it(world: Any) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    a, _ = world
    a.org.require_second_factor = True
    a.org.save()
    page = Client().post("/portal/login/", {"username": a.user.username, "password": PASSWORD})
    assert "requires a second factor" in page.content.decode()
    device = TOTPDevice.objects.create(user=a.user, name="phone", confirmed=True)
    client = Client()
    step1 = client.post("/portal/login/", {"username": a.user.username, "password": PASSWORD})
    assert step1.status_code == 200
    assert 'name="otp_token"' in step1.content.decode()
    assert client.get("/portal/").status_code == 302  # not logged in yet
    wrong = client.post(
        "/portal/login/",
        {"username": a.user.username, "password": PASSWORD, "otp_token": "000000"},
    )
    assert "wrong or expired" in wrong.content.decode()
    # django-otp throttles after a failure (1 s, then doubling): wait it out here
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    ok = client.post(
        "/portal/login/", {"username": a.user.username, "password": PASSWORD, "otp_token": code}
    )
    assert ok.status_code == 302
    assert client.get("/portal/").status_code == 200


def test_request_from_draft_to_submitted_and_back_after_changes(world: Any) -> None:
    a, _ = world
    client = logged_in(a)
    dataset = a.extra["dataset"]
    response = client.post(
        "/portal/requests/new/",
        {
            "title": "Statin response in Gangwon adults",
            "purpose": "Model LDL response to statins from labs and prescriptions.",
            "purpose_code": "HMB",
            "datasets": [dataset.pk],
            "icd10_prefixes": "E78, I25",
            "age_min": 40,
            "duration_months": 12,
        },
    )
    assert response.status_code == 302
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    request = a.request.__class__.objects.get(pk=pk)
    assert request.state == RequestState.DRAFT
    assert request.cohort_criteria == {"condition_icd10_prefix": ["E78", "I25"], "age_min": 40}
    # submitting without documents is refused by the service and shown on the page
    page = client.post(f"/portal/requests/{pk}/submit/", follow=True).content.decode()
    assert "IRB approval" in page
    assert "validation" in page
    today = timezone.localdate()
    client.post(
        f"/portal/requests/{pk}/irb/",
        {
            "number": "KNUH-IRB-2026-77",
            "institution": "Kangwon National University Hospital IRB",
            "approved_on": (today - timedelta(days=3)).isoformat(),
            "expires_on": (today + timedelta(days=360)).isoformat(),
            "file": _pdf("irb.pdf"),
        },
    )
    client.post(
        f"/portal/requests/{pk}/dua/",
        {
            "effective_on": today.isoformat(),
            "expires_on": (today + timedelta(days=360)).isoformat(),
            "file": _pdf("dua.pdf"),
        },
    )
    page = client.post(f"/portal/requests/{pk}/submit/", follow=True).content.decode()
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED, page[:2000]
    # The legal reviewer asks for changes with a reason; the requester sees it and resubmits.
    from django.contrib.auth import get_user_model

    from governance.models import Membership, Organization, Role

    law = Organization.objects.create(name="Law", kind=Organization.Kind.LEGAL_FIRM)
    legal = get_user_model().objects.create_user(username="legal", password="z" * 16)
    Membership.objects.create(user=legal, organization=law, role=Role.LEGAL_REVIEWER)
    services.request_start_legal_review(request=request, acting_user=legal)
    services.request_request_changes(
        request=request, acting_user=legal, reason="Name the statins in the purpose."
    )
    page = client.get(f"/portal/requests/{pk}/").content.decode()
    assert "Name the statins in the purpose." in page
    assert 'id="resubmit"' in page
    client.post(f"/portal/requests/{pk}/resubmit/")
    request.refresh_from_db()
    assert request.state == RequestState.RESUBMITTED
    actions = set(
        AuditEvent.objects.filter(
            object_id=str(pk), object_type="governance.dataaccessrequest"
        ).values_list("action", flat=True)
    )
    assert {"request.created", "request.submitted", "request.resubmitted"} <= actions


def _pdf(name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_release_files_download_through_signed_audited_links(world: Any) -> None:
    a, _ = world
    client = logged_in(a)
    page = client.get(f"/portal/releases/{a.release.pk}/").content.decode()
    for name in a.files:
        assert name in page
    response = client.post(f"/portal/releases/{a.release.pk}/download/person.csv")
    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith(f"/api/v1/releases/{a.release.pk}/files/person.csv?sig=")
    body = Client().get(link)  # the link alone is enough, for this person, for a while
    assert b"".join(body.streaming_content) == a.files["person.csv"]
    actions = list(
        AuditEvent.objects.filter(object_id=str(a.release.pk)).values_list("action", flat=True)
    )
    assert "file.link_signed" in actions
    assert "file.downloaded" in actions


def test_other_organizations_objects_are_not_found(world: Any) -> None:
    a, b = world
    client = logged_in(a)
    assert client.get(f"/portal/requests/{b.request.pk}/").status_code == 404
    assert client.get(f"/portal/releases/{b.release.pk}/").status_code == 404
    assert client.post(f"/portal/releases/{b.release.pk}/download/person.csv").status_code == 404
    assert client.post(f"/portal/releases/{a.release.pk}/download/missing.csv").status_code == 404


def test_tokens_are_shown_once_and_revoked(world: Any) -> None:
    from governance.models.tokens import ApiToken

    a, _ = world
    client = logged_in(a)
    page = client.post("/portal/tokens/", {"name": "laptop"}).content.decode()
    token = page.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("gdt_")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/releases/").status_code == 200
    assert token not in client.get("/portal/tokens/").content.decode()
    row = ApiToken.objects.get(person=a.user, name="laptop")
    client.post(f"/portal/tokens/{row.pk}/revoke/")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/releases/").status_code == 401


def test_catalog_shows_kinds_and_counts_with_small_cells_suppressed(
    world: Any, settings: Any, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine, text

    from fixtures.synthetic_cdw import generate
    from governance.feasibility import Criteria, _count

    url = f"sqlite:///{tmp_path / 'cdw.sqlite3'}"
    generate(url, patients=300, seed=3)
    settings.DEID_CDW_URL = url
    a, _ = world
    client = logged_in(a)
    page = client.get("/portal/catalog/").content.decode()
    assert "Gangwon CDW" in page
    assert "Clinical data warehouse (CDW)" in page
    page = client.get("/portal/catalog/", {"icd10_prefixes": "J", "sex": ""}).content.decode()
    shown = page.split('id="feasibility-result">')[1].split("<strong>")[1].split("<")[0]
    exact = _count(Criteria(icd10_prefixes=("J",)), timezone.localdate())
    engine = create_engine(url)
    with engine.connect() as conn:
        independent = conn.execute(
            text(
                "SELECT COUNT(DISTINCT person_id) FROM condition_occurrence "
                "WHERE condition_source_value LIKE 'J%'"
            )
        ).scalar_one()
    engine.dispose()
    assert exact == independent
    assert shown == (f"{(exact + 5) // 10 * 10:,}" if exact >= 10 else "<10")
    page = client.get("/portal/catalog/", {"icd10_prefixes": "Z99.8", "age_min": 119}).content
    assert "&lt;10" in page.decode()
    events = AuditEvent.objects.filter(action="catalog.feasibility_queried")
    assert events.count() == 2
    details = [json.loads(e.details_json) for e in events]
    assert {d["shown"] for d in details} == {shown, "<10"}
    assert all("count" not in d for d in details)  # the exact count is never recorded


def test_catalog_refuses_bad_codes(world: Any) -> None:
    a, _ = world
    client = logged_in(a)
    page = client.get("/portal/catalog/", {"icd10_prefixes": "DROP TABLE"}, follow=True)
    assert "is not an ICD-10 code" in page.content.decode()
    assert not AuditEvent.objects.filter(action="catalog.feasibility_queried").exists()


def test_korean_catalog_is_compiled_and_in_sync() -> None:
    """Every translated entry of locale/ko/django.po is in the committed .mo, unchanged."""
    import gettext

    root = Path(__file__).resolve().parents[2] / "locale" / "ko" / "LC_MESSAGES"
    catalog = gettext.GNUTranslations(open(root / "django.mo", "rb"))  # noqa: SIM115
    entries = _po_entries((root / "django.po").read_text(encoding="utf-8"))
    assert len(entries) > 100
    untranslated = [k for k, v in entries.items() if not v]
    assert untranslated == [] or set(untranslated) <= {"Django site admin", "Django administration"}
    for msgid, msgstr in entries.items():
        if msgstr:
            assert catalog.gettext(msgid) == msgstr, msgid


def _po_entries(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    key: str | None = None
    field = ""
    parts: dict[str, list[str]] = {"msgid": [], "msgstr": []}
    for line in [*text.splitlines(), ""]:
        if line.startswith("msgid "):
            if key is not None:
                entries[key] = "".join(parts["msgstr"])
            parts = {"msgid": [], "msgstr": []}
            field = "msgid"
            parts[field].append(_unquote(line[6:]))
            key = None
        elif line.startswith("msgstr "):
            field = "msgstr"
            key = "".join(parts["msgid"])
            parts[field].append(_unquote(line[7:]))
        elif line.startswith('"') and field:
            parts[field].append(_unquote(line))
    if key is not None:
        entries[key] = "".join(parts["msgstr"])
    entries.pop("", None)
    return entries


def _unquote(s: str) -> str:
    return s.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n")


def test_renewal_then_close_out_attestation(world: Any) -> None:
    from governance.models import Release, ReleaseState, RenewalState

    a, _ = world
    client = logged_in(a)
    until = (a.release.expires_at + timedelta(days=180)).date().isoformat()
    page = client.post(
        f"/portal/releases/{a.release.pk}/renew/",
        {
            "progress_summary": "Model trained; validation pending.",
            "requested_until": until,
            "file": _pdf("progress.pdf"),
        },
        follow=True,
    ).content.decode()
    renewal = a.release.renewals.get()
    assert renewal.state == RenewalState.SUBMITTED
    assert "Renewal requested" in page
    # attesting destruction of a live release is refused by the service, shown on the page
    today = timezone.localdate().isoformat()
    page = client.post(
        f"/portal/releases/{a.release.pk}/attest/",
        {"destroyed_on": today, "copies_description": "Deleted from the analysis server."},
        follow=True,
    ).content.decode()
    assert "invalid_state" in page
    Release.objects.filter(pk=a.release.pk).update(state=ReleaseState.EXPIRED)
    client.post(
        f"/portal/releases/{a.release.pk}/attest/",
        {"destroyed_on": today, "copies_description": "Deleted from the analysis server."},
    )
    assert a.release.destruction_attestations.get().copies_description.startswith("Deleted")


def test_organization_registers_its_encryption_key_in_the_portal(
    world: Any, tmp_path: Path
) -> None:
    from deid.genome.c4gh import generate_keypair

    a, _ = world
    client = logged_in(a)
    assert "none yet" in client.get("/portal/encryption-key/").content.decode()
    public = generate_keypair(tmp_path / "k.sec", tmp_path / "k.pub")
    page = client.post("/portal/encryption-key/", {"public_key": public}, follow=True)
    text = page.content.decode()
    assert "Encryption key registered" in text
    assert 'id="fingerprint"' in text
    assert "none yet" not in text
    bad = client.post("/portal/encryption-key/", {"public_key": "not a key"}).content.decode()
    assert "validation" in bad


def test_service_refusals_are_shown_in_the_readers_language(world: Any) -> None:
    a, _ = world
    client = logged_in(a)
    client.post("/i18n/setlang/", {"language": "ko", "next": "/portal/"})
    draft = services.request_create(
        acting_user=a.user,
        title="빈 신청",
        purpose="문서 없이 제출해 본다.",
        purpose_code="HMB",
        datasets=[a.extra["dataset"]],
    )
    page = client.post(f"/portal/requests/{draft.pk}/submit/", follow=True).content.decode()
    assert f"신청 #{draft.pk}은 다음이 없으면 제출할 수 없습니다" in page
    assert "(validation)" in page  # the machine code stays as it is


def test_a_refused_download_link_is_audited_like_the_apis(world: Any) -> None:
    a, _ = world
    client = logged_in(a)
    services.release_revoke(release=a.release, acting_user=a.extra["steward"], reason="DUA breach.")
    response = client.post(f"/portal/releases/{a.release.pk}/download/person.csv", follow=True)
    assert "revoked" in response.content.decode()
    denied = AuditEvent.objects.filter(action="file.download_denied", object_id=str(a.release.pk))
    assert json.loads(denied.get().details_json)["code"] == "release_revoked"
    assert not AuditEvent.objects.filter(
        action="file.link_signed", object_id=str(a.release.pk)
    ).exists()
