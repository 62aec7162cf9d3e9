"""Background release builds: a real ``qcluster`` worker process, the ORM broker, crash safety."""

from __future__ import annotations

import pytest

from tests.governance.jobs_harness import deployment, postgres_available

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not reachable"),
        ],
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_qcluster_worker_process_runs_a_job_from_the_orm_broker(tmp_path, backend):
    with deployment(tmp_path, backend) as dep:
        task_id = dep.python(
            """
            from governance.jobs import enqueue_ping
            from django_q.models import OrmQ
            result = [enqueue_ping("hello"), OrmQ.objects.count()]
            """
        )
        assert task_id[1] == 1, "the job is queued in the database, not run in-process"
        worker = dep.start_worker()
        done = dep.python(
            f"""
            import time
            from django_q.models import Task, OrmQ
            deadline = time.monotonic() + 90
            task = None
            while time.monotonic() < deadline:
                task = Task.objects.filter(id={task_id[0]!r}).first()
                if task is not None:
                    break
                time.sleep(0.25)
            result = None if task is None else [task.success, task.result, OrmQ.objects.count()]
            """,
            timeout=120,
        )
        assert worker.poll() is None, dep.worker_log()
        assert done is not None, f"no worker picked up the job:\n{dep.worker_log()}"
        assert done == [True, "pong:hello", 0]
