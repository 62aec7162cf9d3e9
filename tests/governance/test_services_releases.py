"""Every transition of the release state machine (build, approve, publish, revoke, expire,
destroy, renew) and every refusal; the request path is in test_services.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from governance import selectors, services
from governance.models import (
    IrbApproval,
    ReleaseState,
    RenewalState,
)
from tests.governance.factories import MANIFEST, PDF, POLICY_YAML, World, actions_for, refused

pytestmark = pytest.mark.django_db


def test_a_build_is_queued_only_after_its_start_commits(
    world: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker must find the release 'building' under the job id it was given, and a start
    that rolls back must queue nothing (the worker used to poll for the commit)."""
    from django.db import transaction

    from governance import queue
    from governance.models import Release

    queued: list[tuple[int, str, str, str]] = []

    def enqueue(release_id: int, *, job_id: str, engine: str) -> str:
        # What a worker would read at this moment, in another transaction's view.
        row = Release.objects.get(pk=release_id)
        queued.append((release_id, job_id, engine, row.build_job_id))
        return "task"

    monkeypatch.setattr(queue, "enqueue_release_build", enqueue)
    release = services.release_create(request=world.approved(), acting_user=world.steward)

    def start_then_fail() -> None:
        with transaction.atomic():
            services.release_build_start(release=release, acting_user=world.steward)
            raise RuntimeError("the caller fails after the start")

    # Rolled back (the caller's transaction fails after the start): nothing queued.
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        start_then_fail()
    release.refresh_from_db()
    assert release.state == ReleaseState.DRAFT
    assert queued == []

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        release = services.release_build_start(
            release=release, acting_user=world.steward, engine="spark"
        )
        assert queued == [], "queued before the commit"
    assert len(callbacks) == 1
    assert queued == [(release.pk, release.build_job_id, "spark", release.build_job_id)]
    started = AuditEvent.objects.get(action="release.build_started", object_id=str(release.pk))
    assert started.details["job_id"] == release.build_job_id
    assert started.details["engine"] == "spark"

    # enqueue=False (an in-process build) queues nothing at all.
    services.release_build_failed(release=release, error="x", job_id=release.build_job_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.release_build_start(release=release, acting_user=world.steward, enqueue=False)
    assert callbacks == []
    with pytest.raises(ValueError, match="engine"):
        services.release_build_start(release=release, acting_user=world.steward, engine="gpu")


def test_release_needs_approved_request_and_policy(world: World) -> None:
    request = world.legally_approved()
    with refused("invalid_state"):
        services.release_create(request=request, acting_user=world.steward)
    with refused("policy_missing"):
        services.request_approve_steward(request=request, acting_user=world.steward, reason="x")


def test_build_failure_and_rebuild(
    world: World, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    request = world.approved()
    release = services.release_create(request=request, acting_user=world.steward)
    with refused("permission_denied"):
        services.release_build_start(release=release, acting_user=world.legal)
    with django_capture_on_commit_callbacks(execute=True):
        release = services.release_build_start(release=release, acting_user=world.steward)
    with refused("invalid_state"):
        services.release_build_start(release=release, acting_user=world.steward)
    release = services.release_build_failed(release=release, error="k=5 not reachable")
    assert release.state == ReleaseState.FAILED
    assert "k=5" in release.build_error
    with refused("invalid_state"):
        services.release_build_progress(release=release, phase="x", rows_done=1, rows_total=2)
    with django_capture_on_commit_callbacks(execute=True):
        release = services.release_build_start(release=release, acting_user=world.steward)
    assert release.state == ReleaseState.BUILDING
    assert len(enqueued) == 2
    plan = {"release_id": release.pk, "columns": ["a"]}
    release = services.release_plan_record(release=release, plan=plan, key_id="rk_" + "0" * 32)
    assert release.plan_sha256 == services.canonical_sha256(plan)
    assert release.key_id == "rk_" + "0" * 32


def test_refuse_then_new_policy_then_rebuild(world: World) -> None:
    release = world.built()
    with refused("reason_required"):
        services.release_refuse(release=release, acting_user=world.steward, reason="")
    release = services.release_refuse(
        release=release, acting_user=world.steward, reason="Suppression too high."
    )
    assert release.state == ReleaseState.REFUSED
    with refused("invalid_state"):
        services.release_publish(release=release, acting_user=world.steward)
    new = services.policy_set(
        release=release, acting_user=world.steward2, policy_yaml=POLICY_YAML + "# k 10\n"
    )
    release.refresh_from_db()
    assert release.policy_id == new.pk
    release = services.release_build_start(release=release, acting_user=world.steward)
    assert release.state == ReleaseState.BUILDING


def test_publish_requires_valid_irb_and_dua(world: World) -> None:
    release = world.built()
    services.release_approve(release=release, acting_user=world.steward, reason="ok")
    irb = release.request.irb_approvals.get()
    irb.approved_on = timezone.localdate() - timedelta(days=400)
    irb.expires_on = timezone.localdate() - timedelta(days=1)
    irb.save()
    with refused("irb_invalid"):
        services.release_publish(release=release, acting_user=world.steward)
    irb.expires_on = timezone.localdate() + timedelta(days=10)
    irb.save()
    dua = release.request.duas.get()
    dua.effective_on = timezone.localdate() + timedelta(days=1)
    dua.save()
    with refused("dua_invalid"):
        services.release_publish(release=release, acting_user=world.steward)
    dua.effective_on = timezone.localdate()
    dua.save()
    release = services.release_publish(release=release, acting_user=world.steward)
    # Access ends with the IRB approval (the earliest of IRB, DUA, duration, one year).
    assert timezone.localdate(release.expires_at) == irb.expires_on + timedelta(days=1)


def test_access_is_capped_at_one_year(world: World) -> None:
    release = world.published(requested_duration_months=36)
    assert release.expires_at - release.published_at <= timedelta(days=366)


def test_download_checks_at_download_time(world: World) -> None:
    release = world.published()
    today = timezone.localdate()
    assert selectors.release_download_refusal(release) is None
    assert not selectors.release_is_downloadable(release, today + timedelta(days=3650))
    dua = release.request.duas.get()
    dua.expires_on = today - timedelta(days=1)
    dua.effective_on = today - timedelta(days=10)
    dua.save()
    assert selectors.release_download_refusal(release) == "dua_invalid"
    assert not selectors.release_is_downloadable(release, today)


def test_revoke_stops_downloads_then_destroy_removes_files_and_key(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    release = world.published()
    files = Path(settings.DEID_RELEASES_DIR) / f"release-{release.pk}"
    files.mkdir()
    (files / "person.parquet").write_bytes(b"data")
    release.files_dir = str(files)
    release.key_id = "rk_" + "1" * 32
    release.save()
    keys = Path(settings.DEID_KEYS_DIR)
    from deid.keys import KeyStore, generate_master_key_file

    master = generate_master_key_file(keys / "master.key")
    settings.DEID_MASTER_KEY_FILE = keys / "master.key"
    store = KeyStore(keys, master)
    key_id = store.create_release_key(release_id=str(release.pk), recipient_org_id="x")
    release.key_id = key_id
    release.save()
    with refused("invalid_state"):
        services.release_destroy(release=release, acting_user=world.steward)
    with refused("permission_denied"):
        services.release_revoke(release=release, acting_user=world.researcher, reason="x")
    release = services.release_revoke(
        release=release, acting_user=world.legal, reason="Re-identification attempt reported."
    )
    assert selectors.release_download_refusal(release) == "revoked"
    assert not selectors.release_is_downloadable(release)
    with refused("permission_denied"):
        services.release_destroy(release=release, acting_user=world.legal)
    with django_capture_on_commit_callbacks(execute=True):
        release = services.release_destroy(release=release, acting_user=world.steward)
        assert files.exists(), "the files go once the destruction has committed"
    assert release.state == ReleaseState.DESTROYED
    assert not files.exists()
    assert not store.exists(key_id)
    # Records outlive the release.
    assert release.manifest == MANIFEST
    assert release.decisions.count() == 2
    assert actions_for(release)[-2:] == ["key.destroyed", "release.destroyed"]


def test_destroy_refuses_paths_outside_releases_dir(world: World, tmp_path: Path) -> None:
    release = world.published()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    release.files_dir = str(outside)
    release.save()
    services.release_revoke(release=release, acting_user=world.steward, reason="x")
    with refused("unsafe_path"):
        services.release_destroy(release=release, acting_user=world.steward)
    assert outside.exists()


def test_files_left_by_a_destruction_are_reported(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    """The files are removed after the commit; if that fails the caller hears of it."""
    import shutil

    release = world.published()
    files = Path(settings.DEID_RELEASES_DIR) / f"release-{release.pk}"
    files.mkdir()
    release.files_dir = str(files)
    release.save()
    services.release_revoke(release=release, acting_user=world.steward, reason="x")

    def fail(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", fail)
    with refused("files_remain"), django_capture_on_commit_callbacks(execute=True):
        services.release_destroy(release=release, acting_user=world.steward)
    release.refresh_from_db()
    assert release.state == ReleaseState.DESTROYED
    assert files.exists()
    assert actions_for(release)[-1] == "release.destroyed"


def test_expire_and_attest_destruction(world: World) -> None:
    release = world.published()
    with refused("not_due"):
        services.release_expire(release=release)
    with refused("invalid_state"):
        services.destruction_attest(
            release=release,
            acting_user=world.researcher,
            destroyed_on=timezone.localdate(),
            copies_description="x",
        )
    later = release.expires_at + timedelta(seconds=1)
    release = services.release_expire(release=release, now=later)
    assert release.state == ReleaseState.EXPIRED
    assert actions_for(release)[-1] == "release.expired"
    with refused("permission_denied"):
        services.destruction_attest(
            release=release,
            acting_user=world.other,
            destroyed_on=timezone.localdate(),
            copies_description="x",
        )
    att = services.destruction_attest(
        release=release,
        acting_user=world.researcher,
        destroyed_on=timezone.localdate(),
        copies_description="Deleted from analysis server srv-1 and its backups.",
        file=PDF,
        original_name="attestation.pdf",
        content_type="application/pdf",
    )
    assert att.organization == world.company
    assert att.document is not None


def test_renewal_flow(world: World) -> None:
    release = world.published()
    until = release.expires_at + timedelta(days=200)
    with refused("permission_denied"):
        services.renewal_request(
            release=release,
            acting_user=world.other,
            progress_summary="x",
            requested_until=until,
            file=PDF,
            original_name="p.pdf",
            content_type="application/pdf",
        )
    renewal = services.renewal_request(
        release=release,
        acting_user=world.researcher,
        progress_summary="Two papers submitted; follow-up analysis needs 6 more months.",
        requested_until=until,
        file=PDF,
        original_name="progress.pdf",
        content_type="application/pdf",
    )
    with refused("invalid_state"):
        services.renewal_request(
            release=release,
            acting_user=world.researcher,
            progress_summary="again",
            requested_until=until,
            file=PDF,
            original_name="p.pdf",
            content_type="application/pdf",
        )
    with refused("permission_denied"):
        services.renewal_approve(renewal=renewal, acting_user=world.steward, reason="ok")
    renewal = services.renewal_approve(
        renewal=renewal, acting_user=world.legal, reason="Progress report acceptable."
    )
    assert renewal.state == RenewalState.APPROVED
    release.refresh_from_db()
    assert release.expires_at > until - timedelta(days=200)
    # A second renewal can be rejected.
    r2 = services.renewal_request(
        release=release,
        acting_user=world.researcher,
        progress_summary="more",
        requested_until=release.expires_at + timedelta(days=10),
        file=PDF,
        original_name="p.pdf",
        content_type="application/pdf",
    )
    r2 = services.renewal_reject(renewal=r2, acting_user=world.legal, reason="No progress.")
    assert r2.state == RenewalState.REJECTED
    # audited as a rejected renewal, not as a rejected request
    request_actions = actions_for(release.request)
    assert "request.renewal_rejected" in request_actions
    assert "request.rejected" not in request_actions


def test_a_lapsed_irb_expires_the_release_with_its_own_event(world: World) -> None:
    from governance.services.releases import ExpiryReason

    release = world.published()
    IrbApproval.objects.filter(request=release.request).update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )
    assert services.release_expire_reason(release, timezone.now()) is ExpiryReason.IRB_LAPSED
    services.release_expire(release=release)
    assert "irb.expired" in actions_for(release.request)
    assert actions_for(release)[-1] == "release.expired"


def test_governance_expire_command(world: World) -> None:
    from io import StringIO

    from django.core import mail
    from django.core.management import call_command

    release = world.published()
    out = StringIO()
    call_command("governance_expire", stdout=out)
    assert "0 release(s) expired" in out.getvalue()
    later = (release.expires_at + timedelta(minutes=1)).isoformat()
    call_command("governance_expire", "--dry-run", "--now", later, stdout=out)
    release.refresh_from_db()
    assert release.state == ReleaseState.PUBLISHED
    assert "would expire" in out.getvalue()
    call_command("governance_expire", "--now", later, stdout=out)
    release.refresh_from_db()
    assert release.state == ReleaseState.EXPIRED
    assert len(mail.outbox) == 1
    assert "destroy your copies" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="system.job").exists()


def test_expire_when_the_dua_lapses(world: World) -> None:
    release = world.published()
    dua = release.request.duas.get()
    dua.effective_on = timezone.localdate() - timedelta(days=20)
    dua.expires_on = timezone.localdate() - timedelta(days=1)
    dua.save()
    release = services.release_expire(release=release)
    assert release.state == ReleaseState.EXPIRED
    assert "dua.expired" in actions_for(release.request)


def test_cancel_build_is_audited_and_the_worker_stops(
    world: World, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    from governance import jobs, queue

    request = world.approved()
    release = services.release_create(request=request, acting_user=world.steward)
    with refused("invalid_state"):  # nothing is building yet
        services.release_build_cancel(release=release, acting_user=world.steward)
    assert "release.build_cancelled" not in actions_for(release)
    release = services.release_build_start(release=release, acting_user=world.steward)
    for who in (world.legal, world.auditor, world.researcher):
        with refused("permission_denied"):
            services.release_build_cancel(release=release, acting_user=who)
    assert not queue.cancel_requested(release.pk, release.build_job_id)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.release_build_cancel(release=release, acting_user=world.steward)
        # The flag waits for the commit: a cancellation that rolls back stops nothing.
        assert not queue.cancel_requested(release.pk, release.build_job_id)
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action="release.build_cancelled", object_id=str(release.pk))
    assert event.actor_username == world.steward.username
    assert event.actor_role == "data_steward"
    assert event.details["job_id"] == release.build_job_id
    assert queue.cancel_requested(release.pk, release.build_job_id)

    # The worker picking the job up honours the flag: failed, nothing built, flag cleared.
    outcome = jobs.run_job(release_id=release.pk, job_id=release.build_job_id, engine="local")
    assert outcome["status"] == "cancelled"
    release.refresh_from_db()
    assert release.state == ReleaseState.FAILED
    assert "cancelled" in release.build_error
    assert release.manifest is None
    assert not queue.cancel_requested(release.pk, release.build_job_id)
    with refused("invalid_state"):
        services.release_build_cancel(release=release, acting_user=world.steward)
    # A failed (cancelled) release can be rebuilt.
    release = services.release_build_start(release=release, acting_user=world.steward)
    assert release.state == ReleaseState.BUILDING
    assert not queue.cancel_requested(release.pk, release.build_job_id)


def test_cancel_build_refused_for_a_member_of_the_recipient(
    world: World, enqueued: list[int]
) -> None:
    from governance.models import Membership, Role

    request = world.approved()
    release = services.release_create(request=request, acting_user=world.steward)
    release = services.release_build_start(release=release, acting_user=world.steward)
    Membership.objects.create(user=world.steward2, organization=world.company, role=Role.REQUESTER)
    with refused("own_organization"):
        services.release_build_cancel(release=release, acting_user=world.steward2)
    release = services.release_build_cancel(release=release, acting_user=world.admin)
    assert release.state == ReleaseState.BUILDING  # until the worker stops
