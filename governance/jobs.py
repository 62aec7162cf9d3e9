"""The worker side of release builds (django-q2): run a queued build, report, reap, retry.

The queue itself (job ids, enqueueing after commit, cancel flags) is
:mod:`governance.queue`; this module runs what it queued:

- ``run_release_build(release_id, job_id, engine)``: the task a worker runs. It only runs
  the build the release is waiting for (its ``build_job_id``, committed before the job
  was queued): a stale delivery of an older job (django-q re-delivers a job whose worker
  died) is skipped.
- A lease file per running build (host, pid, heartbeat) in
  ``DEID_RELEASES_DIR/.jobs/``. ``reap_lost_builds()`` marks a 'building'
  release whose worker died (pid gone on this host, or no heartbeat for
  ``DEID_BUILD_STALE_SECONDS``) as failed. It runs when a worker process
  starts (the cluster replaces a killed worker at once), before every build,
  and in ``manage.py release_build``.
- Cancellation: the build checks the release's cancel flag between batches and
  stops, nothing published.
- Retries: transient errors (database or file-system hiccups) are retried
  ``DEID_BUILD_RETRIES`` times with back-off, each attempt from a clean
  staging area. Privacy and policy errors are never retried: they fail loudly.
- Progress (phase, rows done, rows total, rate, ETA) is written to the release
  through ``release_build_progress`` at most once a second.
- ``build_release_for``: the same code path in this process (demo, tests,
  ``manage.py release_build --sync``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from deid.errors import DeidError
from governance import build, services
from governance.errors import (
    GovernanceError,
    GovernanceErrorCode,
    describe_failure,
    failure_details,
)
from governance.models import Release, ReleaseState
from governance.queue import (
    cancel_requested,
    check_engine,
    clear_cancel,
    lease_path,
)
from governance.roles import ActingUser

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int | None], None]


class BuildCancelled(Exception):
    """Raised between batches when the release's cancel flag is set."""


def _setting_int(name: str, default: int) -> int:
    return int(getattr(settings, name, default))  # config/settings.py reads the environment


# --- the worker process: reap lost builds when it (re)starts -------------------------


def _on_post_spawn(sender: Any, proc_name: str = "", **kwargs: Any) -> None:
    """A (re)started worker fails the builds whose worker died."""
    try:
        close_old_connections()
        reaped = reap_lost_builds()
        if reaped:
            logger.warning("worker %s: marked lost builds as failed: %s", proc_name, reaped)
    except Exception:  # the worker must start even if the database is briefly away
        logger.exception("reaping lost builds failed")


def connect_worker_signals() -> None:
    """Connect the django-q worker signals (idempotent; at import and in ``GovernanceConfig.ready``)."""
    from django_q.signals import post_spawn

    post_spawn.connect(_on_post_spawn, dispatch_uid="deid-jobs-post-spawn", weak=False)


connect_worker_signals()


# --- leases: who runs a build, and is it still alive -------------------------


def _proc_start_ticks(pid: int) -> str | None:
    """The kernel's start time of a process (guards against pid reuse), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) after the parenthesised command name.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_alive(pid: int, start_ticks: str | None) -> bool:
    if Path("/proc").is_dir():
        current = _proc_start_ticks(pid)
        return current is not None and (start_ticks is None or current == start_ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Lease:
    release_id: int
    job_id: str
    host: str
    pid: int
    pid_start: str | None
    started_at: float
    heartbeat_at: float
    phase: str = "starting"

    def beat(self) -> None:
        self.heartbeat_at = time.time()
        self.write()

    def write(self) -> None:
        path = lease_path(self.release_id)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(self.__dict__))
        tmp.replace(path)

    @classmethod
    def read(cls, release_id: int) -> Lease | None:
        try:
            data = json.loads(lease_path(release_id).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def lost(self, *, stale_after: float, now: float | None = None) -> str | None:
        """Why this lease's worker is gone, or None if it may still be working."""
        now = time.time() if now is None else now
        if self.host == socket.gethostname():
            if _pid_alive(self.pid, self.pid_start):
                return None
            return f"worker process {self.pid} on {self.host} is gone"
        # Another host: its heartbeat thread rewrites the lease every few seconds.
        if now - self.heartbeat_at > stale_after:
            return f"no heartbeat from worker {self.pid} on {self.host} for {now - self.heartbeat_at:.0f} s"
        return None


def _new_lease(release_id: int, job_id: str) -> Lease:
    now = time.time()
    pid = os.getpid()
    lease = Lease(
        release_id=release_id,
        job_id=job_id,
        host=socket.gethostname(),
        pid=pid,
        pid_start=_proc_start_ticks(pid),
        started_at=now,
        heartbeat_at=now,
    )
    lease.write()
    return lease


def _drop_lease(lease: Lease) -> None:
    current = Lease.read(lease.release_id)
    if current is not None and current.job_id == lease.job_id and current.pid == lease.pid:
        lease_path(lease.release_id).unlink(missing_ok=True)


def reap_lost_builds(*, stale_after: float | None = None) -> list[int]:
    """Mark 'building' releases whose worker died as failed; return their ids.

    A build whose job has not started yet (no lease) is left alone: it is waiting
    for a free worker.
    """
    stale = float(
        stale_after if stale_after is not None else _setting_int("DEID_BUILD_STALE_SECONDS", 300)
    )
    reaped: list[int] = []
    for release in Release.objects.filter(state=ReleaseState.BUILDING).only("pk", "build_job_id"):
        lease = Lease.read(release.pk)
        if lease is None or lease.job_id != release.build_job_id:
            continue
        why = lease.lost(stale_after=stale)
        if why is None:
            continue
        error = (
            f"build lost: {why} (during {lease.phase}); nothing was published. "
            "Start the build again: the rebuild writes the same files."
        )
        # Staging first: once the release reads 'failed', nothing of the build remains.
        build.discard_staging(release_id=release.pk)
        _record_failure(release_id=release.pk, job_id=lease.job_id, error=error)
        lease_path(release.pk).unlink(missing_ok=True)
        reaped.append(release.pk)
    return reaped


# --- progress -----------------------------------------------------------------


class ProgressReporter:
    """Throttled progress writes, heartbeat and cancel checks, called between batches."""

    def __init__(
        self,
        *,
        release_id: int,
        lease: Lease,
        forward: ProgressFn | None = None,
        min_interval: float = 1.0,
    ) -> None:
        self.release_id = release_id
        self.lease = lease
        self.forward = forward
        self.min_interval = min_interval
        self._last_write = 0.0
        self._phase: str | None = None

    def __call__(self, phase: str, rows_done: int, rows_total: int | None) -> None:
        if cancel_requested(self.release_id, self.lease.job_id):
            raise BuildCancelled(f"cancelled during {phase} after {rows_done} rows")
        if self.forward is not None:
            self.forward(phase, rows_done, rows_total)
        now = time.monotonic()
        done = rows_total is not None and rows_done >= rows_total
        if phase == self._phase and not done and now - self._last_write < self.min_interval:
            return
        self._phase = phase
        self._last_write = now
        self.lease.phase = phase
        self.lease.beat()
        try:
            _record_progress(
                release_id=self.release_id,
                phase=phase,
                rows_done=rows_done,
                rows_total=rows_total,
                job_id=self.lease.job_id,
            )
        except DatabaseError:
            # Progress is advisory: a locked SQLite file must not kill a build.
            logger.warning("could not record progress of release %s", self.release_id)


def _record_progress(
    *, release_id: int, phase: str, rows_done: int, rows_total: int | None, job_id: str
) -> None:
    release = Release.objects.get(pk=release_id)
    services.release_build_progress(
        release=release, phase=phase, rows_done=rows_done, rows_total=rows_total, job_id=job_id
    )


def _record_failure(
    *, release_id: int, job_id: str, error: str, failure: dict[str, Any] | None = None
) -> None:
    release = Release.objects.get(pk=release_id)
    if release.state != ReleaseState.BUILDING or release.build_job_id != job_id:
        return
    try:
        services.release_build_failed(release=release, error=error, failure=failure, job_id=job_id)
    except GovernanceError as exc:
        if exc.code not in (GovernanceErrorCode.STALE_BUILD, GovernanceErrorCode.INVALID_STATE):
            raise
        # Moved on under the lock (cancelled, rebuilt): this job's outcome no longer counts.
        logger.info(
            "release %s no longer waits for job %s: failure not recorded", release_id, job_id
        )


# --- running a build ------------------------------------------------------------

#: Errors worth another attempt: the database or file system hiccuped.
_TRANSIENT: tuple[type[BaseException], ...] = (DatabaseError, OSError, ConnectionError)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DeidError | BuildCancelled):
        return False
    try:
        from sqlalchemy.exc import OperationalError as SAOperationalError
    except ImportError:  # pragma: no cover
        return isinstance(exc, _TRANSIENT)
    return isinstance(exc, (*_TRANSIENT, SAOperationalError))


def _heartbeat(lease: Lease, stop: threading.Event, every: float = 10.0) -> None:
    """Keep the lease fresh while a long step (a search, a Spark stage) reports nothing."""
    while not stop.wait(every):
        try:
            lease.beat()
        except OSError:
            logger.warning("could not refresh the lease of release %s", lease.release_id)


def _describe_failure(exc: BaseException) -> str:
    """The failure as the steward reads it: no source value (quoted values become '…'), never
    key material (errors carry only key ids). See ``governance.errors.describe_failure``."""
    return describe_failure(exc)


def _log_failure(message: str, *args: Any, exc: BaseException, level: int) -> None:
    """Log a build failure with its type, field, record number and stack frames, never its
    message (an engine message may quote a source value)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.log(level, message + " %s\n%s", *args, failure_details(exc), frames)


def _reset_connections() -> None:
    """Drop broken or stale database connections before (re)trying a build.

    Only outside a transaction: inside one (a caller's ``atomic`` block, or a test's)
    Django would close the connection under the caller's feet.
    """
    if not connection.in_atomic_block:
        close_old_connections()


def run_job(
    *,
    release_id: int,
    job_id: str,
    engine: str,
    progress: ProgressFn | None = None,
    retries: int | None = None,
    backoff: float = 2.0,
) -> dict[str, Any]:
    """Run one queued build of a release in this process (the worker and ``--sync`` path).

    Records the outcome through the governance services and returns a short,
    secret-free summary (the job's result in django-q).
    """
    check_engine(engine)
    max_retries = _setting_int("DEID_BUILD_RETRIES", 2) if retries is None else retries
    lease = _new_lease(release_id, job_id)
    reporter = ProgressReporter(release_id=release_id, lease=lease, forward=progress)
    stop = threading.Event()
    heartbeat = threading.Thread(
        target=_heartbeat, args=(lease, stop), name=f"lease-{release_id}", daemon=True
    )
    heartbeat.start()
    attempt = 0
    try:
        while True:
            attempt += 1
            try:
                if cancel_requested(release_id, job_id):
                    raise BuildCancelled("cancelled before the build started")
                release = build.execute_build(
                    release_id=release_id, engine=engine, progress=reporter, job_id=job_id
                )
                return {
                    "release": release_id,
                    "status": "built",
                    "engine": engine,
                    "attempts": attempt,
                    "state": release.state,
                }
            except BuildCancelled as exc:
                build.discard_staging(release_id=release_id)
                _record_failure(
                    release_id=release_id, job_id=job_id, error=f"build cancelled: {exc}"
                )
                return {"release": release_id, "status": "cancelled", "attempts": attempt}
            except Exception as exc:
                build.discard_staging(release_id=release_id)
                if _is_transient(exc) and attempt <= max_retries:
                    delay = backoff ** (attempt - 1)
                    _log_failure(
                        "build of release %s, attempt %s failed; retrying in %.0f s:",
                        release_id,
                        attempt,
                        delay,
                        exc=exc,
                        level=logging.WARNING,
                    )
                    time.sleep(delay)
                    _reset_connections()
                    continue
                error = _describe_failure(exc)
                failure = failure_details(exc)
                if attempt > 1:
                    error += f" (after {attempt} attempts)"
                    failure["attempts"] = attempt
                _record_failure(release_id=release_id, job_id=job_id, error=error, failure=failure)
                _log_failure(
                    "build of release %s failed:", release_id, exc=exc, level=logging.ERROR
                )
                return {
                    "release": release_id,
                    "status": "failed",
                    "attempts": attempt,
                    "error": error,
                }
    finally:
        stop.set()
        heartbeat.join()
        _drop_lease(lease)
        clear_cancel(release_id)


def run_release_build(
    release_id: int, job_id: str | None = None, engine: str = "local"
) -> dict[str, Any]:
    """The django-q task: build a release if it is still waiting for job ``job_id``.

    The service queued the job after its transaction committed, so the release's state and
    ``build_job_id`` are already visible: there is nothing to wait for."""
    _reset_connections()
    reap_lost_builds()
    release = Release.objects.filter(pk=release_id).only("state", "build_job_id").first()
    if release is None:
        return {"release": release_id, "status": "skipped", "reason": "no such release"}
    if release.state != ReleaseState.BUILDING or not job_id or release.build_job_id != job_id:
        logger.info("release %s is not waiting for job %s: skipped", release_id, job_id)
        reason = (
            f"release is {release.state}"
            if release.state != ReleaseState.BUILDING
            else f"release waits for job {release.build_job_id or '(none)'}"
        )
        return {"release": release_id, "status": "skipped", "reason": reason}
    lease = Lease.read(release_id)
    if (
        lease is not None
        and lease.job_id == job_id
        and lease.lost(stale_after=float(_setting_int("DEID_BUILD_STALE_SECONDS", 300))) is None
    ):
        return {"release": release_id, "status": "skipped", "reason": "already running"}
    return run_job(release_id=release_id, job_id=job_id, engine=engine)


def build_release_for(
    *,
    release: Release,
    acting_user: ActingUser,
    engine: str = "local",
    progress: ProgressFn | None = None,
) -> Release:
    """Start and run a build synchronously in this process (the worker's code path).

    Returns the release afterwards: 'built', or 'failed' with ``build_error`` set.
    """
    release = services.release_build_start(
        release=release, acting_user=acting_user, engine=engine, enqueue=False
    )
    run_job(release_id=release.pk, job_id=release.build_job_id, engine=engine, progress=progress)
    release.refresh_from_db()
    return release


def ping(value: str) -> str:
    """A no-op task: proves a worker is consuming the queue (used by tests and ops)."""
    return f"pong:{value}"


def enqueue_ping(value: str) -> str:
    from django_q.tasks import async_task

    task_id: str = async_task("governance.jobs.ping", value, task_name=f"ping-{value}")
    return task_id
