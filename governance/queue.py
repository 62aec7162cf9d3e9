"""The build queue: what the services need to start or stop a build, and nothing of the worker.

Who calls whom (no import circle): :mod:`governance.services` starts a build and, once its
transaction has committed (``transaction.on_commit``), calls :func:`enqueue_release_build`;
a worker runs :func:`governance.jobs.run_release_build`, which runs
:mod:`governance.build` and records the outcome through the services.

- The job id is chosen by the service (:func:`new_job_id`) and stored on the release in
  the same transaction as its 'building' state and the audit event, then passed to the
  task: a worker never sees a job whose release has not committed, and a delivery whose
  job id is not the release's ``build_job_id`` is stale and skipped.
- The embedded default queues jobs in the database (django-q2's ORM broker);
  ``REDIS_URL`` switches the queue to Redis. A worker is ``manage.py qcluster``.
- Cancellation is a flag file per release in ``DEID_RELEASES_DIR/.jobs/`` naming the job
  to stop; the build checks it between batches.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

#: Engines a build can run on.
ENGINES = ("local", "spark")

#: The task a worker runs (a dotted path: the queue imports nothing of the worker).
TASK_FUNC = "governance.jobs.run_release_build"


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    return engine


def default_engine() -> str:
    engine = str(settings.DEID_BUILD_ENGINE)
    if engine not in ENGINES:
        raise ValueError(f"DEID_BUILD_ENGINE: expected one of {ENGINES}, got {engine!r}")
    return engine


def new_job_id() -> str:
    """A fresh build job id (stored as the release's ``build_job_id``)."""
    return uuid.uuid4().hex


def enqueue_release_build(release_id: int, *, job_id: str, engine: str) -> str:
    """Queue the build of a release as job ``job_id``; return the queue's task id.

    Called after the commit that set the release 'building' with this job id."""
    from django_q.tasks import async_task

    check_engine(engine)
    task_id: str = async_task(
        TASK_FUNC,
        release_id,
        job_id=job_id,
        engine=engine,
        task_name=f"release-{release_id}-build-{job_id[:8]}",
        group="release-build",
    )
    logger.info(
        "queued build of release %s on %s as job %s (task %s)", release_id, engine, job_id, task_id
    )
    return task_id


# --- the jobs folder: leases and cancel flags -----------------------------------------


def jobs_dir() -> Path:
    path = Path(settings.DEID_RELEASES_DIR) / ".jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def lease_path(release_id: int) -> Path:
    return jobs_dir() / f"release-{int(release_id)}.lease.json"


def cancel_path(release_id: int) -> Path:
    return jobs_dir() / f"release-{int(release_id)}.cancel"


def request_cancel(release_id: int, job_id: str) -> None:
    """Ask job ``job_id`` of a release to stop (it checks between batches)."""
    cancel_path(release_id).write_text(job_id)


def cancel_requested(release_id: int, job_id: str) -> bool:
    try:
        return cancel_path(release_id).read_text() == job_id
    except OSError:
        return False


def clear_cancel(release_id: int) -> None:
    cancel_path(release_id).unlink(missing_ok=True)
