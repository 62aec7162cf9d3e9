"""Releases: create, build (start, progress, outcome, cancel), approve or refuse, publish,
revoke, expire, destroy."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from governance import queue
from governance.errors import GovernanceError, GovernanceErrorCode, redact_values
from governance.models import (
    DataAccessRequest,
    Decision,
    Release,
    ReleaseState,
    RequestState,
    Role,
    Verdict,
)
from governance.roles import ActingUser
from governance.selectors import valid_dua, valid_irb
from governance.services import notifications
from governance.services._common import (
    MAX_ACCESS_DAYS,
    REBUILDABLE_RELEASE_STATES,
    _audit,
    _decide,
    _end_of_day,
    _lock,
    _require_not_recipient,
    _require_reason,
    _require_role,
    _require_state,
    _require_user,
    _set_release_state,
    _steward,
    canonical_sha256,
    record_system_job,
)


def release_create(*, request: DataAccessRequest, acting_user: ActingUser) -> Release:
    """A draft release of an approved request, with the request's latest policy."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="create a release"
    )
    _require_not_recipient(acting_user, request, action="create a release")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, [RequestState.APPROVED], action="create a release")
        policy = request.policies.order_by("-set_at", "-pk").first()
        release = Release.objects.create(
            request=request,
            policy=policy,
            recipient=request.recipient,
            created_by=_require_user(acting_user),
        )
        _audit(
            AuditAction.REQUEST_UPDATED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={
                "change": "release_created",
                "release_id": release.pk,
                "policy_id": policy.pk if policy else None,
            },
        )
    return release


def release_build_start(
    *, release: Release, acting_user: ActingUser, engine: str | None = None, enqueue: bool = True
) -> Release:
    """Set the release 'building' under a new job id and, once that has committed, queue the
    job (``governance.queue.enqueue_release_build``) on ``engine`` (default
    ``DEID_BUILD_ENGINE``). ``enqueue=False`` queues nothing: the caller runs the job in its
    own process (``governance.jobs.build_release_for``)."""
    engine = queue.check_engine(engine or queue.default_engine())
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="build a release"
    )
    _require_not_recipient(acting_user, release.request, action="build this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, REBUILDABLE_RELEASE_STATES, action="start a build")
        if release.request.state != RequestState.APPROVED:
            raise GovernanceError(
                code=GovernanceErrorCode.INVALID_STATE,
                message=_(
                    "Request #%(release_request_id)s is %(release_request_state)s, not approved."
                )
                % {
                    "release_request_id": release.request_id,
                    "release_request_state": release.request.state,
                },
            )
        if release.policy is None:
            raise GovernanceError(
                code=GovernanceErrorCode.POLICY_MISSING,
                message=_("%(release)s has no de-identification policy.") % {"release": release},
            )
        now = timezone.now()
        job_id = queue.new_job_id()
        _set_release_state(
            release,
            ReleaseState.BUILDING,
            build_job_id=job_id,
            build_started_at=now,
            build_error="",
            build_progress={"phase": "queued", "rows_done": 0, "rows_total": None, "eta": None},
            manifest=None,
            manifest_sha256="",
            privacy_report=None,
            built_at=None,
        )
        _audit(
            AuditAction.RELEASE_BUILD_STARTED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "policy_id": release.policy_id,
                "policy_sha256": release.policy.sha256,
                "job_id": job_id,
                "engine": engine,
            },
        )
        if enqueue:
            # After the commit: a worker must find the release 'building' under this job id,
            # and a rolled-back start must queue nothing.
            transaction.on_commit(
                partial(queue.enqueue_release_build, release.pk, job_id=job_id, engine=engine)
            )
    release.refresh_from_db()
    return release


def release_build_cancel(*, release: Release, acting_user: ActingUser) -> Release:
    """Ask the running (or queued) build of a release to stop (``queue.request_cancel``).

    The build checks the flag between batches, discards its staging area and records the
    release as failed ("build cancelled"); nothing is published. Returns the release, still
    'building' until the worker stops (a queued build stops when a worker picks it up).
    """
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="cancel a release build"
    )
    _require_not_recipient(acting_user, release.request, action="cancel this build")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.BUILDING], action="cancel the build")
        _audit(
            AuditAction.RELEASE_BUILD_CANCELLED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "job_id": release.build_job_id,
                "phase": (release.build_progress or {}).get("phase"),
                "rows_done": (release.build_progress or {}).get("rows_done"),
            },
        )
        # The flag names the job to stop; written once the cancellation has committed.
        transaction.on_commit(partial(queue.request_cancel, release.pk, release.build_job_id))
    return release


def _locked_building(release: Release, *, action: str, job_id: str | None = None) -> Release:
    """The release, locked, still 'building' and (when ``job_id`` is given) still waiting for
    that job: a late worker of an earlier (cancelled, reaped) build gets ``stale_build``."""
    locked = _lock(Release, release.pk)
    _require_state(locked, [ReleaseState.BUILDING], action=action)
    if job_id is not None and job_id != locked.build_job_id:
        raise GovernanceError(
            code=GovernanceErrorCode.STALE_BUILD,
            message=_(
                "Cannot %(action)s: %(locked)s is waiting for build job %(locked_build_job_id_or_none)s, not %(job_id_or_none)s."
            )
            % {
                "action": action,
                "locked": locked,
                "locked_build_job_id_or_none": locked.build_job_id or "(none)",
                "job_id_or_none": job_id or "(none)",
            },
        )
    return locked


def release_plan_record(
    *, release: Release, plan: Mapping[str, Any], plan_sha256: str | None = None, key_id: str = ""
) -> Release:
    """The build worker records the compiled, immutable release plan (and its key id)."""
    digest = canonical_sha256(plan)
    if plan_sha256 and plan_sha256 != digest:
        # The engine may hash its own canonical form; keep its digest but say so if asked.
        digest = plan_sha256
    with transaction.atomic():
        locked = _locked_building(release, action="record the plan")
        locked.plan = dict(plan)
        locked.plan_sha256 = digest
        if key_id:
            locked.key_id = key_id
        locked.save(update_fields=["plan", "plan_sha256", "key_id"])
        _audit(
            AuditAction.KEY_DERIVED,
            acting_user=None,
            role=None,
            subject=locked,
            details={"key_id": locked.key_id, "plan_sha256": digest},
            system="release_build",
        )
    release.refresh_from_db()
    return release


def release_build_progress(
    *,
    release: Release,
    phase: str,
    rows_done: int,
    rows_total: int | None,
    job_id: str | None = None,
) -> None:
    """Record build progress (not audited: not a transition). Raises ``invalid_state`` when the
    release is no longer building (revoked meanwhile), ``stale_build`` when it waits for
    another job than ``job_id``, so the worker can stop."""
    with transaction.atomic():
        locked = _locked_building(release, action="record build progress", job_id=job_id)
        eta: float | None = None
        started = locked.build_started_at
        if started and rows_total and rows_done > 0:
            elapsed = (timezone.now() - started).total_seconds()
            eta = round(elapsed * (rows_total - rows_done) / rows_done, 1)
        locked.build_progress = {
            "phase": phase,
            "rows_done": int(rows_done),
            "rows_total": int(rows_total) if rows_total is not None else None,
            "eta": eta,
            "updated_at": timezone.now().isoformat(),
        }
        locked.save(update_fields=["build_progress"])


def release_build_succeeded(
    *,
    release: Release,
    manifest: dict[str, Any],
    report: dict[str, Any],
    files_dir: str,
    job_id: str | None = None,
) -> Release:
    """Record the finished build of job ``job_id`` (the release's ``build_job_id`` when the
    build started). Refused (``stale_build``) when the release now waits for another job, or
    when the manifest's ``plan_digest`` is not the release's recorded ``plan_sha256``."""
    with transaction.atomic():
        locked = _locked_building(release, action="record a finished build", job_id=job_id)
        digest = manifest.get("plan_digest")
        if digest and locked.plan_sha256 and digest != locked.plan_sha256:
            raise GovernanceError(
                code=GovernanceErrorCode.STALE_BUILD,
                message=_(
                    "Cannot record a finished build: the manifest was built from plan %(str_digest_12)s..., %(locked)s records plan %(locked_plan_sha256_12)s..."
                )
                % {
                    "str_digest_12": str(digest)[:12],
                    "locked": locked,
                    "locked_plan_sha256_12": locked.plan_sha256[:12],
                },
            )
        now = timezone.now()
        progress = dict(locked.build_progress or {})
        progress.update({"phase": "done", "eta": 0})
        manifest_sha = canonical_sha256(manifest)
        _set_release_state(
            locked,
            ReleaseState.BUILT,
            manifest=manifest,
            manifest_sha256=manifest_sha,
            privacy_report=report,
            files_dir=str(files_dir),
            built_at=now,
            build_progress=progress,
        )
        files = manifest.get("files") or []
        _audit(
            AuditAction.RELEASE_BUILT,
            acting_user=None,
            role=None,
            subject=locked,
            details={
                "manifest_sha256": manifest_sha,
                "files": len(files) if isinstance(files, list) else None,
                "k": report.get("k", (report.get("report") or {}).get("k")),
            },
            system="release_build",
        )
    release.refresh_from_db()
    return release


def release_build_failed(
    *,
    release: Release,
    error: str,
    failure: Mapping[str, Any] | None = None,
    job_id: str | None = None,
) -> Release:
    """Record a failed build. ``error`` is what the steward reads (``build_error``): callers
    describe engine errors with ``governance.errors.describe_failure`` (quoted values replaced
    by '…'). The audit event, which can never be deleted, carries ``failure`` (the exception
    type, field, record number: ``governance.errors.failure_details``) or else ``error`` with
    every quoted substring redacted. ``job_id`` as in ``release_build_succeeded``."""
    with transaction.atomic():
        locked = _locked_building(release, action="record a failed build", job_id=job_id)
        progress = dict(locked.build_progress or {})
        progress["phase"] = "failed"
        _set_release_state(
            locked, ReleaseState.FAILED, build_error=str(error)[:10000], build_progress=progress
        )
        details = dict(failure) if failure is not None else {"error": redact_values(error)[:500]}
        _audit(
            AuditAction.RELEASE_BUILD_FAILED,
            acting_user=None,
            role=None,
            subject=locked,
            details=details,
            system="release_build",
        )
    release.refresh_from_db()
    return release


def release_approve(*, release: Release, acting_user: ActingUser, reason: str) -> Release:
    """The data steward approves publication after reading the privacy report. Two-person
    rule: not the person who gave the legal approval."""
    reason = _require_reason(reason, action="approve the release")
    role = _steward(acting_user, release.request, action="approve this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.BUILT], action="approve")
        _decide(
            subject=release,
            stage=Decision.Stage.RELEASE,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.APPROVE,
            reason=reason,
        )
        _set_release_state(release, ReleaseState.APPROVED, approved_at=timezone.now())
        _audit(
            AuditAction.RELEASE_APPROVED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"reason": reason, "manifest_sha256": release.manifest_sha256},
        )
    return release


def release_refuse(*, release: Release, acting_user: ActingUser, reason: str) -> Release:
    reason = _require_reason(reason, action="refuse the release")
    role = _steward(acting_user, release.request, action="refuse this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.BUILT], action="refuse")
        _decide(
            subject=release,
            stage=Decision.Stage.RELEASE,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REFUSE,
            reason=reason,
        )
        _set_release_state(release, ReleaseState.REFUSED)
        _audit(
            AuditAction.RELEASE_REFUSED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"reason": reason},
        )
    return release


def release_publish(*, release: Release, acting_user: ActingUser) -> Release:
    """Publish an approved release: requires a valid, verified IRB approval and a signed,
    effective DUA covering the purpose today. Access ends at the earliest of the DUA's and the
    IRB approval's expiry, the requested duration, and one year (then a renewal is needed)."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="publish a release"
    )
    _require_not_recipient(acting_user, release.request, action="publish this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.APPROVED], action="publish")
        request = release.request
        today = timezone.localdate()
        irb = valid_irb(request, today)
        if irb is None:
            raise GovernanceError(
                code=GovernanceErrorCode.IRB_INVALID,
                message=_(
                    "Cannot publish %(release)s: request #%(request_pk)s has no verified IRB approval valid on %(today)s."
                )
                % {"release": release, "request_pk": request.pk, "today": today},
            )
        dua = valid_dua(request, today, recipient_id=release.recipient_id)
        if dua is None:
            raise GovernanceError(
                code=GovernanceErrorCode.DUA_INVALID,
                message=_(
                    "Cannot publish %(release)s: request #%(request_pk)s has no signed, verified DUA effective on %(today)s covering purpose %(request_purpose_code)s."
                )
                % {
                    "release": release,
                    "request_pk": request.pk,
                    "today": today,
                    "request_purpose_code": request.purpose_code,
                },
            )
        last_day = min(
            dua.expires_on,
            irb.expires_on,
            today + timedelta(days=min(30 * request.requested_duration_months, MAX_ACCESS_DAYS)),
        )
        now = timezone.now()
        _set_release_state(
            release, ReleaseState.PUBLISHED, published_at=now, expires_at=_end_of_day(last_day)
        )
        _audit(
            AuditAction.RELEASE_PUBLISHED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "expires_at": release.expires_at.isoformat() if release.expires_at else None,
                "irb_id": irb.pk,
                "dua_id": dua.pk,
                "manifest_sha256": release.manifest_sha256,
            },
        )
        notifications.on_release_published(release)
    return release


def release_revoke(*, release: Release, acting_user: ActingUser, reason: str) -> Release:
    """Stop a release at once: downloads are refused from the next request on."""
    reason = _require_reason(reason, action="revoke the release")
    role = _require_role(
        acting_user,
        Role.DATA_STEWARD,
        Role.LEGAL_REVIEWER,
        Role.ADMINISTRATOR,
        action="revoke a release",
    )
    _require_not_recipient(acting_user, release.request, action="revoke this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(
            release,
            [ReleaseState.BUILT, ReleaseState.APPROVED, ReleaseState.PUBLISHED],
            action="revoke",
        )
        _decide(
            subject=release,
            stage=Decision.Stage.RELEASE,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REVOKE,
            reason=reason,
        )
        _set_release_state(
            release, ReleaseState.REVOKED, revoked_at=timezone.now(), revoke_reason=reason
        )
        _audit(
            AuditAction.RELEASE_REVOKED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"reason": reason},
        )
        notifications.on_release_revoked(release, reason)
    return release


class ExpiryReason(StrEnum):
    """Why a published release expires; a lapsed IRB approval or DUA is audited as such too."""

    TERM_ENDED = "access period ended"
    IRB_LAPSED = "IRB approval expired or invalid"
    DUA_LAPSED = "data-use agreement expired or invalid"

    @property
    def lapse_action(self) -> AuditAction | None:
        return {
            ExpiryReason.IRB_LAPSED: AuditAction.IRB_EXPIRED,
            ExpiryReason.DUA_LAPSED: AuditAction.DUA_EXPIRED,
        }.get(self)


def release_expire_reason(release: Release, now: datetime) -> ExpiryReason | None:
    """Why a published release is due to expire at ``now``, or None."""
    today = timezone.localdate(now)
    if release.expires_at is not None and release.expires_at <= now:
        return ExpiryReason.TERM_ENDED
    if valid_irb(release.request, today) is None:
        return ExpiryReason.IRB_LAPSED
    if valid_dua(release.request, today, recipient_id=release.recipient_id) is None:
        return ExpiryReason.DUA_LAPSED
    return None


def release_expire(
    *, release: Release, acting_user: ActingUser | None = None, now: datetime | None = None
) -> Release:
    """Move a published release whose term ended (or whose IRB/DUA lapsed) to expired.
    ``acting_user`` None means the scheduled job (``manage.py governance_expire``)."""
    if acting_user is not None:
        role: str | None = _require_role(
            acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="expire a release"
        )
    else:
        role = None
    now = now or timezone.now()
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.PUBLISHED], action="expire")
        why = release_expire_reason(release, now)
        if why is None:
            raise GovernanceError(
                code=GovernanceErrorCode.NOT_DUE,
                message=_("%(release)s is valid until %(release_expires_at)s; nothing to expire.")
                % {"release": release, "release_expires_at": release.expires_at},
            )
        _set_release_state(release, ReleaseState.EXPIRED, expired_at=now)
        lapsed = why.lapse_action
        if lapsed is not None:
            _audit(
                lapsed,
                acting_user=acting_user,
                role=role,
                subject=release.request,
                details={"release_id": release.pk},
                system=None if acting_user else "governance_expire",
            )
        _audit(
            AuditAction.RELEASE_EXPIRED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"why": str(why)},
            system=None if acting_user else "governance_expire",
        )
    return release


def _destroy_key(key_id: str) -> bool:
    """Crypto-shred the release key through the engine's KeyStore; False if unavailable."""
    try:
        from deid.keys import KeyStore, load_master_key
    except ImportError:
        return False
    try:
        try:
            master = load_master_key(key_file=settings.DEID_MASTER_KEY_FILE)
        except Exception:
            # Erasing a key record needs no key material: destroy even without the master.
            master = None
        store = KeyStore(Path(settings.DEID_KEYS_DIR), master)  # type: ignore[arg-type]
        store.destroy(key_id)
    except Exception as exc:
        raise GovernanceError(
            code=GovernanceErrorCode.KEY_DESTROY_FAILED,
            message=_("Could not destroy key %(key_id)s: %(type_exc_name)s: %(exc)s")
            % {"key_id": key_id, "type_exc_name": type(exc).__name__, "exc": exc},
        ) from exc
    return True


def release_destroy(*, release: Release, acting_user: ActingUser) -> Release:
    """Remove a revoked or expired release's files and destroy its key; records are kept."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="destroy a release"
    )
    _require_not_recipient(acting_user, release.request, action="destroy this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.REVOKED, ReleaseState.EXPIRED], action="destroy")
        removed = False
        if release.files_dir:
            root = Path(settings.DEID_RELEASES_DIR).resolve()
            target = Path(release.files_dir).resolve()
            if target == root or root not in target.parents:
                raise GovernanceError(
                    code=GovernanceErrorCode.UNSAFE_PATH,
                    message=_("Refusing to remove %(target)s: not inside the releases directory.")
                    % {"target": target},
                )
            if target.exists():
                # After the commit: a destruction that rolls back leaves the files in place.
                transaction.on_commit(partial(_remove_release_files, release, target))
                removed = True
        key_destroyed = _destroy_key(release.key_id) if release.key_id else False
        _set_release_state(release, ReleaseState.DESTROYED, destroyed_at=timezone.now())
        if key_destroyed:
            _audit(
                AuditAction.KEY_DESTROYED,
                acting_user=acting_user,
                role=role,
                subject=release,
                details={"key_id": release.key_id},
            )
        _audit(
            AuditAction.RELEASE_DESTROYED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "files_removed": removed,
                "key_destroyed": key_destroyed,
                "manifest_sha256": release.manifest_sha256,
            },
        )
    return release


def _remove_release_files(release: Release, target: Path) -> None:
    """Remove a destroyed release's folder (after the commit that recorded the destruction).

    Not silent when it fails: the caller gets ``files_remain`` naming the folder (the release
    is destroyed and its key gone, so nobody can download what is left)."""
    try:
        shutil.rmtree(target)
    except OSError as exc:
        raise GovernanceError(
            code=GovernanceErrorCode.FILES_REMAIN,
            message=_(
                "%(release)s is destroyed, but its files could not be removed from %(target)s: "
                "%(error)s. Remove the folder by hand."
            )
            % {"release": release, "target": target, "error": type(exc).__name__},
        ) from exc


def release_verify_files(*, release: Release) -> list[str]:
    """What is wrong with a release's files on disk (empty: every file is as published).

    The manifest on disk must be the one recorded when the build succeeded (its canonical
    SHA-256), and every file it lists must have its size and SHA-256 (``deid.sinks.
    verify_release``). Reads only; :func:`releases_verify` records the outcome.
    """
    import json

    from deid.errors import DeidError
    from deid.sinks import MANIFEST_NAME, verify_release

    if not release.files_dir:
        return ["no files folder recorded"]
    folder = Path(release.files_dir)
    try:
        on_disk = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{MANIFEST_NAME} is missing from {folder}"]
    except ValueError as exc:
        return [f"{MANIFEST_NAME} is not JSON ({exc})"]
    problems = []
    if release.manifest_sha256 and canonical_sha256(on_disk) != release.manifest_sha256:
        problems.append(f"{MANIFEST_NAME} differs from the manifest recorded at build time")
    try:
        verify_release(folder)
    except DeidError as exc:
        problems.append(str(exc))
    return problems


def releases_verify(*, system: str, states: Sequence[str] | None = None) -> dict[int, list[str]]:
    """Check every published (or the given states') release's files; audit one job event."""
    wanted = list(states or (ReleaseState.PUBLISHED,))
    results = {
        r.pk: release_verify_files(release=r)
        for r in Release.objects.filter(state__in=wanted).order_by("pk")
    }
    record_system_job(
        system,
        object_type="governance.release",
        details={
            "checked": sorted(results),
            "failed": {str(k): v[:3] for k, v in results.items() if v},
        },
    )
    return results
