"""Filing data access requests through the API: uploads, limits, content types, file names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from governance.models import DataAccessRequest, Document, Membership, RequestState, Role
from tests.governance.api_support import PDF, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings, tmp_path):
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    a, b = make_world(tmp_path / "releases")
    yield a, b
    cache.clear()


def _form(dataset, **overrides):
    today = timezone.localdate()
    form = {
        "title": "Readmission after stroke",
        "purpose": "Measure 30-day readmission after ischaemic stroke in Gangwon.",
        "purpose_code": "HMB",
        "datasets": [dataset.pk],
        "requested_duration_months": 12,
        "irb_number": "KNUH-2026-01-001",
        "irb_institution": "Kangwon National University Hospital",
        "irb_approved_on": (today - timedelta(days=5)).isoformat(),
        "irb_expires_on": (today + timedelta(days=360)).isoformat(),
        "irb_document": SimpleUploadedFile("irb.pdf", PDF, content_type="application/pdf"),
        "dua_effective_on": today.isoformat(),
        "dua_expires_on": (today + timedelta(days=365)).isoformat(),
        "dua_permitted_purposes": ["HMB"],
        "dua_document": SimpleUploadedFile("dua.pdf", PDF, content_type="application/pdf"),
    }
    form.update(overrides)
    return form


def _post(recipient, form):
    return recipient.client().post("/api/v1/requests/", form)


def test_file_a_request_with_documents(world):
    a, _ = world
    response = _post(a, _form(a.extra["dataset"]))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == RequestState.SUBMITTED
    assert body["recipient"] == a.org.name
    dar = DataAccessRequest.objects.get(pk=body["id"])
    assert dar.requester == a.user
    assert dar.irb_approvals.count() == 1
    assert dar.duas.count() == 1
    docs = Document.objects.filter(request=dar)
    assert {d.kind for d in docs} == {"irb", "dua"}
    assert all(d.sha256 for d in docs)
    # It is listed for its organization only.
    ids = [r["id"] for r in a.client().get("/api/v1/requests/").json()["results"]]
    assert dar.pk in ids


def test_draft_then_submit_then_submit_again_is_409(world):
    a, _ = world
    response = _post(a, _form(a.extra["dataset"], submit="false"))
    assert response.status_code == 201
    assert response.json()["state"] == RequestState.DRAFT
    url = f"/api/v1/requests/{response.json()['id']}/submit/"
    first = a.client().post(url, {}, content_type="application/json")
    assert first.status_code == 200
    assert first.json()["state"] == RequestState.SUBMITTED
    again = a.client().post(url, {}, content_type="application/json")
    assert again.status_code == 409
    assert set(again.json()) == {"code", "message"}


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/cron.d/evilname.pdf",
        "/tmp/absolutename.pdf",
        "..\\..\\windowsname.pdf",
        "nested/dirs/nestedname.pdf",
    ],
)
def test_uploaded_file_names_are_never_used_as_paths(world, settings, name):
    a, _ = world
    form = _form(
        a.extra["dataset"],
        irb_document=SimpleUploadedFile(name, PDF, content_type="application/pdf"),
    )
    response = _post(a, form)
    assert response.status_code == 201, response.content
    media = Path(settings.MEDIA_ROOT).resolve()
    for doc in Document.objects.filter(request_id=response.json()["id"]):
        stored = Path(doc.file.path).resolve()
        assert stored.is_relative_to(media)
        assert ".." not in doc.file.name
        assert Path(name).stem not in doc.file.name
        assert "/" not in doc.original_name
        assert "\\" not in doc.original_name


def test_oversized_upload_is_413(world, settings):
    a, _ = world
    settings.DEID_MAX_DOCUMENT_BYTES = 1000
    big = PDF + b"0" * 2000
    form = _form(
        a.extra["dataset"],
        dua_document=SimpleUploadedFile("dua.pdf", big, content_type="application/pdf"),
    )
    response = _post(a, form)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not DataAccessRequest.objects.filter(title="Readmission after stroke").exists()


def test_oversized_body_is_413_before_parsing(world, settings):
    a, _ = world
    settings.DEID_MAX_DOCUMENT_BYTES = 100
    response = a.client().generic(
        "POST",
        "/api/v1/requests/",
        b"x" * (2 * 100 + 1024 * 1024 + 10),
        content_type="multipart/form-data; boundary=zzz",
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"MZ\x90\x00 not a pdf", "application/pdf"),  # claims PDF, is not
        (PDF, "text/html"),  # a PDF sent as HTML
        (b"<script>alert(1)</script>", "text/html"),
    ],
)
def test_content_type_is_checked_on_the_bytes(world, content, content_type):
    a, _ = world
    form = _form(
        a.extra["dataset"],
        irb_document=SimpleUploadedFile("irb.pdf", content, content_type=content_type),
    )
    response = _post(a, form)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not DataAccessRequest.objects.filter(title="Readmission after stroke").exists()


def test_json_body_is_415(world):
    a, _ = world
    response = a.client().post("/api/v1/requests/", {"title": "x"}, content_type="application/json")
    assert response.status_code == 415


def test_invalid_fields_are_400_with_field_errors(world):
    a, _ = world
    today = timezone.localdate()
    form = _form(
        a.extra["dataset"],
        purpose_code="NOPE",
        irb_expires_on=(today - timedelta(days=30)).isoformat(),
    )
    response = _post(a, form)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "purpose_code" in body["fields"]


def test_a_failing_step_leaves_nothing_behind(world):
    a, _ = world
    today = timezone.localdate()
    # The DUA ends before it starts: refused after the request row would have been made.
    form = _form(
        a.extra["dataset"],
        dua_effective_on=today.isoformat(),
        dua_expires_on=(today - timedelta(days=1)).isoformat(),
    )
    response = _post(a, form)
    assert response.status_code == 400
    assert not DataAccessRequest.objects.filter(title="Readmission after stroke").exists()
    assert not Document.objects.filter(request__title="Readmission after stroke").exists()


def test_only_requesters_may_file(world):
    a, _ = world
    Membership.objects.filter(user=a.user).update(role=Role.AUDITOR)
    response = _post(a, _form(a.extra["dataset"]))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    # Reading is still allowed.
    assert a.client().get("/api/v1/requests/").status_code == 200


def test_request_shows_decisions_with_reasons(world):
    from governance.models import Decision

    a, _ = world
    Decision.objects.create(
        request=a.request,
        stage=Decision.Stage.LEGAL,
        decided_by=a.extra["steward"],
        role=Role.LEGAL_REVIEWER,
        verdict="request_changes",
        reason="Attach the IRB amendment for the extended cohort.",
    )
    body = a.client().get(f"/api/v1/requests/{a.request.pk}/").json()
    assert body["decisions"][0]["reason"] == "Attach the IRB amendment for the extended cohort."
    assert "decided_by" not in body["decisions"][0]
