"""Background release builds: a real ``qcluster`` worker process, the ORM broker, crash safety."""

from __future__ import annotations

import pytest

from tests.governance.jobs_harness import deployment, postgres_available
from tests.governance.jobs_harness import published as _published
from tests.governance.jobs_harness import release_row as _release_row

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
                # The worker saves the result, then acknowledges (deletes) the queue row.
                if task is not None and not OrmQ.objects.exists():
                    break
                time.sleep(0.25)
            result = None if task is None else [task.success, task.result, OrmQ.objects.count()]
            """,
            timeout=120,
        )
        assert worker.poll() is None, dep.worker_log()
        assert done is not None, f"no worker picked up the job:\n{dep.worker_log()}"
        assert done == [True, "pong:hello", 0]


@pytest.mark.slow
def test_killing_the_worker_mid_build_fails_the_release_and_a_rebuild_gives_the_same_files(
    tmp_path,
):
    import json
    import os
    import signal

    from tests.governance.jobs_harness import setup_release, wait_for

    with deployment(tmp_path, "sqlite") as dep:
        dep.env["DEID_BUILD_BATCH_ROWS"] = "100"  # many batches: the kill lands mid-build
        info = setup_release(dep, patients=1500)
        rid, steward = info["release"], info["steward"]
        dep.start_worker()
        dep.manage("release_build", str(rid), "--user", steward, "--no-wait")
        lease_path = dep.releases_dir / ".jobs" / f"release-{rid}.lease.json"

        def transforming():
            try:
                lease = json.loads(lease_path.read_text())
            except (OSError, ValueError):
                return None
            return lease if lease["phase"].startswith("transform:") else None

        lease = wait_for(
            transforming, timeout=120, what=f"the worker to transform\n{dep.worker_log()}"
        )
        # Freeze it mid-build (it may hold the SQLite lock: only look at files), then kill it.
        os.kill(lease["pid"], signal.SIGSTOP)
        assert _published(dep, rid)["staging"], "the build is writing to its staging folder"
        assert not _published(dep, rid)["release_dir"]
        os.kill(lease["pid"], signal.SIGKILL)

        # The cluster replaces the dead worker; the new one fails the orphaned build.
        failed = wait_for(
            lambda: (row := _release_row(dep, rid))[0] != "building" and row,
            timeout=60,
            what="the lost build to be marked failed",
        )
        state, error, files_dir, manifest_sha, plan_sha_after = failed
        assert state == "failed", dep.worker_log()
        assert f"worker process {lease['pid']}" in error
        assert "nothing was published" in error
        assert files_dir == ""
        assert manifest_sha == ""
        assert _published(dep, rid) == {"release_dir": False, "staging": []}
        assert plan_sha_after, "the plan was recorded before the transform pass"
        plan_sha = plan_sha_after

        # Rebuild through the queue: the same plan and key, so the same files.
        out = dep.manage("release_build", str(rid), "--user", steward, "--quiet", timeout=300)
        assert "built" in out.stdout, out.stdout + out.stderr + dep.worker_log()
        state, error, files_dir, manifest_sha, plan_sha_rebuilt = _release_row(dep, rid)
        assert state == "built"
        assert plan_sha_rebuilt == plan_sha
        reference = dep.python(
            f"""
            from pathlib import Path
            from deid.pipeline import build_release
            from deid.plan import ReleasePlan
            from deid.sinks import verify_release
            from deid.sources import open_source
            from django.conf import settings
            from governance.build import _batch_size, keystore
            from governance.models import Release
            release = Release.objects.get(pk={rid})
            built = verify_release(release.files_dir)
            ref = build_release(
                ReleasePlan.from_dict(release.plan), source=open_source(settings.DEID_CDW_URL),
                keystore=keystore(), releases_dir=Path(settings.VAR_DIR) / "reference",
                batch_size=_batch_size(),  # Parquet row groups follow the batches
            )
            files = lambda m: sorted((f.name, f.rows, f.sha256) for f in m.files)
            result = [files(built), files(ref), built.sha256 == ref.sha256]
            """
        )
        built_files, reference_files, same_manifest = reference
        assert built_files == reference_files
        assert same_manifest
        assert {f[0] for f in built_files} >= {"person.parquet", "measurement.csv"}


# --- the job runner in-process: cancel, retries, stale deliveries --------------------


@pytest.fixture
def building(db, settings, tmp_path):
    from governance import services
    from tests.governance.factories import World

    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    world = World()
    release = services.release_create(request=world.approved(), acting_user=world.steward)
    release = services.release_build_start(
        release=release, acting_user=world.steward, enqueue=False
    )
    return release


def _fake_success(release_id, job_id=None):
    from governance import services
    from governance.models import Release
    from tests.governance.factories import MANIFEST, REPORT

    return services.release_build_succeeded(
        release=Release.objects.get(pk=release_id),
        manifest=MANIFEST,
        report=REPORT,
        files_dir="",
        job_id=job_id,
    )


def test_a_cancel_flag_stops_the_build_between_batches(building, monkeypatch):
    from governance import build, jobs, queue

    seen = []

    def execute(*, release_id, engine, progress, job_id=None):
        for i in range(50):
            if i == 3:
                queue.request_cancel(release_id, job_id)
            progress("transform:person", i * 100, 5000)
            seen.append(i)
        raise AssertionError("the cancel flag was not honoured")

    monkeypatch.setattr(build, "execute_build", execute)
    outcome = jobs.run_job(release_id=building.pk, job_id=building.build_job_id, engine="local")
    building.refresh_from_db()
    assert outcome["status"] == "cancelled"
    assert seen == [0, 1, 2]
    assert building.state == "failed"
    assert "cancelled" in building.build_error
    assert not list(queue.jobs_dir().iterdir()), "lease and cancel flag are cleaned up"


def test_transient_errors_are_retried_and_privacy_failures_are_not(building, monkeypatch):
    from django.db import OperationalError

    from deid.errors import PrivacyTargetNotMet
    from governance import build, jobs

    monkeypatch.setattr(jobs.time, "sleep", lambda s: None)
    calls = []

    def flaky(*, release_id, engine, progress, job_id=None):
        calls.append(engine)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return _fake_success(release_id, job_id)

    monkeypatch.setattr(build, "execute_build", flaky)
    outcome = jobs.run_job(release_id=building.pk, job_id=building.build_job_id, engine="local")
    building.refresh_from_db()
    assert outcome["attempts"] == 2
    assert building.state == "built"

    # A privacy target that cannot be met fails at once, with its report.
    from governance import services

    building.state = "failed"
    building.save(update_fields=["state"])
    release = services.release_build_start(
        release=building, acting_user=building.created_by, enqueue=False
    )
    calls.clear()

    def unmet(*, release_id, engine, progress, job_id=None):
        calls.append(engine)
        raise PrivacyTargetNotMet("k=5 needs 40% suppression", {"best_nodes": [{"suppressed": 40}]})

    monkeypatch.setattr(build, "execute_build", unmet)
    outcome = jobs.run_job(release_id=release.pk, job_id=release.build_job_id, engine="local")
    release.refresh_from_db()
    assert calls == ["local"]
    assert release.state == "failed"
    assert "PrivacyTargetNotMet" in release.build_error
    assert '"suppressed": 40' in release.build_error


def test_a_stale_delivery_of_an_old_job_is_skipped(building, monkeypatch):
    from governance import build, jobs

    monkeypatch.setattr(build, "execute_build", lambda **kw: pytest.fail("must not build"))
    outcome = jobs.run_release_build(building.pk, "an-older-job")
    assert outcome["status"] == "skipped"
    building.refresh_from_db()
    assert building.state == "building"
