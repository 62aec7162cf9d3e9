"""Review follow-ups: no source values in build errors, logs or the audit log (F5); the DUA must
name the recipient for publish, expiry and downloads (F6); a late worker cannot record the wrong
build (F7)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditEvent
from deid.errors import DataError, PolicyError, PrivacyTargetNotMet
from governance import selectors, services
from governance.errors import GovernanceError, describe_failure, failure_details, redact_values
from governance.models import ReleaseState
from tests.governance.factories import MANIFEST, REPORT, World

pytestmark = pytest.mark.django_db

SECRET = "1987-02-31 KIM Minsu"


def _events(release: Any, action: str) -> list[dict[str, Any]]:
    return [
        e.details
        for e in AuditEvent.objects.filter(
            action=action, object_type="governance.release", object_id=str(release.pk)
        ).order_by("pk")
    ]


def _building(world: World) -> Any:
    release = services.release_create(request=world.approved(), acting_user=world.steward)
    return services.release_build_start(release=release, acting_user=world.steward)


# --- F5: values never reach build_error, the audit log or the logs ---------------------------


def test_redaction_keeps_what_and_where_but_not_the_value() -> None:
    exc = DataError(f"value {SECRET!r} is not a valid date", record=17, field="birth_date")
    text = describe_failure(exc)
    assert SECRET not in text
    assert "KIM" not in text
    assert text == "DataError: record 17, field birth_date: value '…' is not a valid date"
    assert failure_details(exc) == {"error_type": "DataError", "field": "birth_date", "record": 17}
    # A record given as an id (possibly a patient's) is not kept; the field is.
    assert failure_details(DataError("x", record="P-0042", field="sex")) == {
        "error_type": "DataError",
        "field": "sex",
    }
    assert "P-0042" not in describe_failure(DataError("x", record="P-0042", field="sex"))
    policy = PolicyError("columns.age", f'cannot generalize "{SECRET}"')
    assert SECRET not in describe_failure(policy)
    assert failure_details(policy) == {"error_type": "PolicyError", "field": "columns.age"}
    unmet = PrivacyTargetNotMet("k=5 not reachable", {"best": {"suppressed": 40}})
    assert '"suppressed": 40' in describe_failure(unmet)  # aggregate report: kept
    assert failure_details(unmet) == {"error_type": "PrivacyTargetNotMet"}
    assert redact_values(f"a {SECRET!r} b “{SECRET}” c") == "a '…' b '…' c"


def test_a_data_error_quoting_a_value_is_recorded_without_it(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from governance import build, jobs

    release = _building(world)

    def execute(**kwargs: Any) -> Any:
        raise DataError(f"value {SECRET!r} is not a valid date", record=17, field="birth_date")

    monkeypatch.setattr(build, "execute_build", execute)
    with caplog.at_level(logging.DEBUG):
        outcome = jobs.run_job(release_id=release.pk, job_id=release.build_job_id, engine="local")
    release.refresh_from_db()
    assert outcome["status"] == "failed"
    assert release.state == ReleaseState.FAILED
    assert "birth_date" in release.build_error
    assert "record 17" in release.build_error
    assert "KIM" not in release.build_error
    assert "1987" not in release.build_error
    assert "KIM" not in str(outcome)
    [details] = _events(release, "release.build_failed")
    assert details == {"error_type": "DataError", "field": "birth_date", "record": 17}
    assert "KIM" not in caplog.text
    assert "1987" not in caplog.text
    assert "DataError" in caplog.text
    assert "birth_date" in caplog.text


def test_a_string_failure_is_audited_with_quoted_values_redacted(world: World) -> None:
    release = _building(world)
    release = services.release_build_failed(release=release, error=f"bad value {SECRET!r}")
    [details] = _events(release, "release.build_failed")
    assert details == {"error": "bad value '…'"}


# --- F6: the DUA must name the recipient ------------------------------------------------------


def test_publish_is_refused_when_the_dua_does_not_name_the_recipient(world: World) -> None:
    release = world.built()
    services.release_approve(release=release, acting_user=world.steward, reason="k=5 met.")
    dua = release.request.duas.get()
    dua.parties.remove(release.recipient)
    with pytest.raises(GovernanceError) as refused:
        services.release_publish(release=release, acting_user=world.steward)
    assert refused.value.code == "dua_invalid"
    dua.parties.add(release.recipient)
    release = services.release_publish(release=release, acting_user=world.steward)
    assert release.state == ReleaseState.PUBLISHED


def test_a_published_release_stops_when_the_dua_no_longer_names_the_recipient(
    world: World,
) -> None:
    from governance.api.selectors_api import release_denial

    release = world.published()
    assert selectors.release_is_downloadable(release)
    assert services.release_expire_reason(release, release.published_at) is None
    release.request.duas.get().parties.remove(release.recipient)
    assert not selectors.release_is_downloadable(release)
    assert selectors.release_download_refusal(release) == "dua_invalid"
    denial = release_denial(release)
    assert denial is not None
    assert denial.code == "dua_invalid"
    assert (
        services.release_expire_reason(release, release.published_at)
        == "data-use agreement expired or invalid"
    )
    release = services.release_expire(release=release)
    assert release.state == ReleaseState.EXPIRED


# --- F7: a late worker cannot record the wrong build ------------------------------------------


def test_a_stale_job_id_cannot_record_progress_success_or_failure(world: World) -> None:
    release = _building(world)
    current = release.build_job_id
    assert current
    for call in (
        lambda: services.release_build_progress(
            release=release, phase="x", rows_done=1, rows_total=2, job_id="old-job"
        ),
        lambda: services.release_build_succeeded(
            release=release, manifest=MANIFEST, report=REPORT, files_dir="", job_id="old-job"
        ),
        lambda: services.release_build_failed(release=release, error="late", job_id="old-job"),
    ):
        with pytest.raises(GovernanceError) as refused:
            call()
        assert refused.value.code == "stale_build"
    release.refresh_from_db()
    assert release.state == ReleaseState.BUILDING
    assert _events(release, "release.built") == []
    assert _events(release, "release.build_failed") == []
    services.release_build_progress(
        release=release, phase="x", rows_done=1, rows_total=2, job_id=current
    )
    release = services.release_build_succeeded(
        release=release, manifest=MANIFEST, report=REPORT, files_dir="", job_id=current
    )
    assert release.state == ReleaseState.BUILT


def test_a_manifest_of_another_plan_is_refused(world: World) -> None:
    release = _building(world)
    release = services.release_plan_record(release=release, plan={"columns": ["age"]})
    other = dict(MANIFEST, plan_digest="f" * 64)
    with pytest.raises(GovernanceError) as refused:
        services.release_build_succeeded(
            release=release, manifest=other, report=REPORT, files_dir="", job_id=None
        )
    assert refused.value.code == "stale_build"
    same = dict(MANIFEST, plan_digest=release.plan_sha256)
    release = services.release_build_succeeded(
        release=release, manifest=same, report=REPORT, files_dir="", job_id=release.build_job_id
    )
    assert release.state == ReleaseState.BUILT


def test_a_late_worker_of_a_superseded_job_records_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from governance import build, jobs
    from governance.models import Release

    release = _building(world)
    old_job = release.build_job_id
    # Meanwhile the build was cancelled and started again: the release waits for a new job.
    Release.objects.filter(pk=release.pk).update(build_job_id="job-new")

    def late(*, release_id: int, engine: str, progress: Any, job_id: str | None = None) -> Any:
        return services.release_build_succeeded(
            release=Release.objects.get(pk=release_id),
            manifest=MANIFEST,
            report=REPORT,
            files_dir="",
            job_id=job_id,
        )

    monkeypatch.setattr(build, "execute_build", late)
    outcome = jobs.run_job(release_id=release.pk, job_id=old_job, engine="local")
    assert outcome["status"] == "failed"
    release.refresh_from_db()
    assert release.state == ReleaseState.BUILDING
    assert release.build_job_id == "job-new"
    assert release.build_error == ""
    assert _events(release, "release.built") == []
    assert _events(release, "release.build_failed") == []


def test_a_file_changed_on_disk_is_refused_before_serving_and_release_verify_fails(
    tmp_path: Path, settings: Any
) -> None:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.test import Client

    from audit.models import AuditEvent
    from tests.governance.api_support import make_world

    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    a, _ = make_world(tmp_path / "releases")
    out = io.StringIO()
    call_command("release_verify", stdout=out)
    assert f"release #{a.release.pk}: ok" in out.getvalue()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {a.token}")
    url = f"/api/v1/releases/{a.release.pk}/files/person.csv"
    assert client.get(url).status_code == 200
    # same size, other bytes (what a size check alone would miss)
    path = Path(a.release.files_dir) / "person.csv"
    data = bytearray(path.read_bytes())
    data[-2] = ord("X")
    path.write_bytes(bytes(data))
    response = client.get(url)
    assert response.status_code == 409
    assert response.json()["code"] == "file_inconsistent"
    denied = AuditEvent.objects.filter(action="file.download_denied", object_id=str(a.release.pk))
    assert denied.exists()
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 release"):
        call_command("release_verify", stdout=out)
    assert "person.csv" in out.getvalue()
    assert AuditEvent.objects.filter(
        action="system.job", details_json__contains="release_verify"
    ).exists()
