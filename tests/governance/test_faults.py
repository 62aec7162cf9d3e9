"""Faults in a real deployment (separate processes, a real worker): the database restarted
under a running build, the disk full while publishing, a backup restored elsewhere.

Each leaves nothing half-published and loses no audit row: the outcome is read from the
database and the release folder as an operator would, and ``manage.py audit_verify``
recomputes the whole chain afterwards.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.governance.jobs_harness import (
    Deployment,
    deployment,
    deployment_on,
    private_postgres,
    private_postgres_available,
    production_server,
    published,
    published_release,
    release_row,
    setup_release,
    wait_for,
)

pytestmark = pytest.mark.slow


def _audit_actions(dep: Deployment, release_id: int) -> list[str]:
    actions: list[str] = dep.python(
        f"""
        from audit.models import AuditEvent
        result = list(AuditEvent.objects.filter(
            object_type="governance.release", object_id="{release_id}"
        ).order_by("seq").values_list("action", flat=True))
        """
    )
    return actions


def _chain_verifies(dep: Deployment) -> str:
    out = dep.manage("audit_verify", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _files_verify(dep: Deployment) -> str:
    out = dep.manage("release_verify", "--all-states", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _transforming(dep: Deployment, release_id: int) -> Any:
    lease_path = dep.releases_dir / ".jobs" / f"release-{release_id}.lease.json"

    def check() -> Any:
        try:
            lease = json.loads(lease_path.read_text())
        except (OSError, ValueError):
            return None
        return lease if lease["phase"].startswith("transform:") else None

    return wait_for(check, timeout=120, what=f"the worker to transform\n{dep.worker_log()}")


@pytest.mark.skipif(bool(private_postgres_available()), reason=str(private_postgres_available()))
def test_the_database_restarted_during_a_build(tmp_path: Path) -> None:
    """A fast restart cuts every connection mid-transform. The worker's progress writes fail
    (advisory, logged); if recording the outcome fails too, the attempt is retried from a
    clean staging area. Either way the release is built once, with every audit row and a
    verifying chain."""
    with private_postgres() as pg:
        pg.create_database("deid_fault")
        with deployment_on(tmp_path, pg.url("deid_fault")) as dep:
            dep.env["DEID_BUILD_BATCH_ROWS"] = "100"  # many batches: the restart lands mid-build
            info = setup_release(dep, patients=1500)
            rid, steward = info["release"], info["steward"]
            dep.start_worker()
            dep.manage("release_build", str(rid), "--user", steward, "--no-wait")
            _transforming(dep, rid)
            pg.restart()

            def settled() -> Any:
                try:
                    row = release_row(dep, rid)
                except Exception:  # the server is still coming back
                    return None
                return row if row[0] != "building" else None

            state, error, files_dir, manifest_sha, _ = wait_for(
                settled, timeout=180, what=f"the build to end\n{dep.worker_log()}"
            )
            log = dep.worker_log()
            assert state == "built", f"{error}\n{log}"
            # The restart is felt either by a progress write (advisory: logged, the build goes
            # on over a fresh connection) or by recording the outcome (the attempt is retried
            # from a clean staging area); which one depends on where the transform was.
            felt = ("attempt 1 failed; retrying", "could not record progress")
            assert any(sign in log for sign in felt), f"the restart did not hit the build\n{log}"
            assert published(dep, rid) == {"release_dir": True, "staging": []}
            assert files_dir
            assert manifest_sha
            assert "1 release(s) checked, 0 failed." in _files_verify(dep)
            actions = _audit_actions(dep, rid)
            assert actions.count("release.build_started") == 1
            assert actions.count("release.built") == 1
            assert "release.build_failed" not in actions
            assert "audit chain intact" in _chain_verifies(dep)


def test_a_full_disk_while_publishing_publishes_nothing(tmp_path: Path) -> None:
    """The releases folder is a 96 KiB tmpfs: the build runs out of space while it writes its
    staging files. The release fails with the error, the staging folder is gone, nothing is
    published, every audit row is there; with space again the rebuild succeeds."""
    with deployment(tmp_path, "sqlite") as dep:
        info = setup_release(dep, patients=1500)
        rid, steward = info["release"], info["steward"]
        dep.releases_dir.mkdir(parents=True, exist_ok=True)
        mount = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(dep.releases_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mount.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
        try:
            dep.env["DEID_BUILD_RETRIES"] = "0"
            out = dep.manage(
                "release_build", str(rid), "--user", steward, "--sync", "--quiet", check=False
            )
            assert out.returncode != 0
            state, error, files_dir, manifest_sha, _ = release_row(dep, rid)
            assert state == "failed"
            assert "No space left on device" in error
            assert (files_dir, manifest_sha) == ("", "")
            assert published(dep, rid) == {"release_dir": False, "staging": []}
            used = subprocess.run(
                ["du", "-sb", str(dep.releases_dir)], capture_output=True, text=True, check=True
            )
            assert int(used.stdout.split()[0]) < 8192, "the staging files were removed"
        finally:
            subprocess.run(["umount", str(dep.releases_dir)], check=False)
        actions = _audit_actions(dep, rid)
        assert actions[0] == "release.build_started"
        assert actions[-1] == "release.build_failed"
        _chain_verifies(dep)
        out = dep.manage("release_build", str(rid), "--user", steward, "--sync", "--quiet")
        assert release_row(dep, rid)[0] == "built", out.stdout + out.stderr
        assert published(dep, rid) == {"release_dir": True, "staging": []}


@pytest.mark.skipif(bool(private_postgres_available()), reason=str(private_postgres_available()))
def test_backup_and_restore_give_the_same_pseudonyms_and_a_verifying_chain(
    tmp_path: Path,
) -> None:
    """``pg_dump`` of the database and a copy of the key store, restored on another server
    into another deployment: the audit chain verifies there, and the restored plan and keys
    rebuild the release's files byte for byte (the same pseudonyms)."""
    with private_postgres(port=5498) as pg:
        pg.create_database("deid_origin")
        (tmp_path / "origin").mkdir()
        with deployment_on(tmp_path / "origin", pg.url("deid_origin")) as dep:
            info = setup_release(dep, patients=600)
            rid, steward = info["release"], info["steward"]
            dep.manage("release_build", str(rid), "--user", steward, "--sync", "--quiet")
            built = dep.python(
                f"""
                from governance.models import Release
                result = Release.objects.get(pk={rid}).manifest["files"]
                """
            )
            dump = tmp_path / "deid.dump"
            subprocess.run(
                [
                    "pg_dump",
                    "-Fc",
                    "-f",
                    str(dump),
                    pg.url("deid_origin").replace("postgres://", "postgresql://"),
                ],
                check=True,
                timeout=120,
            )
            keys = dep.var_dir / "keys"
            cdw = dep.python(
                "from django.conf import settings\nresult = str(settings.DEID_CDW_URL)"
            )

        pg.create_database("deid_restored")
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "-d",
                pg.url("deid_restored").replace("postgres://", "postgresql://"),
                str(dump),
            ],
            check=True,
            timeout=120,
        )
        (tmp_path / "restored").mkdir()
        restored = Deployment(tmp_path / "restored" / "var", pg.url("deid_restored"))
        restored.var_dir.mkdir()
        subprocess.run(["cp", "-a", str(keys), str(restored.var_dir / "keys")], check=True)
        restored.env["DEID_CDW_URL"] = cdw  # the hospital's CDW, unchanged
        assert "audit chain intact" in _chain_verifies(restored)
        rebuilt = restored.python(
            f"""
            from pathlib import Path
            from django.conf import settings
            from deid.pipeline import build_release
            from deid.plan import ReleasePlan
            from deid.sources import open_source
            from governance.build import _batch_size, keystore
            from governance.models import Release
            release = Release.objects.get(pk={rid})
            manifest = build_release(
                ReleasePlan.from_dict(release.plan), source=open_source(settings.DEID_CDW_URL),
                keystore=keystore(), releases_dir=Path(settings.VAR_DIR) / "rebuilt",
                batch_size=_batch_size(),
            )
            result = [f.to_dict() for f in manifest.files]
            """
        )

        def by_name(files: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
            return {f["name"]: (f["sha256"], f["rows"]) for f in files}

        assert by_name(rebuilt) == by_name(built)
        assert any(name.startswith("person") for name in by_name(built))


@pytest.mark.skipif(bool(private_postgres_available()), reason=str(private_postgres_available()))
def test_the_database_restarted_during_a_download(tmp_path: Path) -> None:
    """A recipient reads a 48 MiB file slowly through gunicorn; PostgreSQL restarts mid-stream.
    The next permission check cannot be answered, so the stream stops (fail closed) with a
    short body; the download's record waits for the database and is kept
    (``stopped: check_failed``); a new download completes and verifies; the chain verifies."""
    import hashlib
    import random
    import time

    import requests

    size = 48 * 1024 * 1024
    with private_postgres(port=5497) as pg:
        pg.create_database("deid_download")
        with deployment_on(tmp_path, pg.url("deid_download")) as dep:
            info = published_release(dep, {"big.bin": size})
            rid, token = info["release"], info["token"]
            url_path = f"/api/v1/releases/{rid}/files/big.bin"
            headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
            with production_server(dep) as (_server, base):
                progress = {"got": 0, "restarted": False}

                def read_slowly() -> None:
                    with requests.get(
                        base + url_path, headers=headers, stream=True, timeout=60
                    ) as r:
                        assert r.status_code == 200
                        for chunk in r.iter_content(1024 * 1024):
                            progress["got"] += len(chunk)
                            if progress["got"] >= 10 * 1024 * 1024 and not progress["restarted"]:
                                pg.restart()
                                progress["restarted"] = True
                            time.sleep(0.02)  # a slow reader: the server waits on it

                with pytest.raises(requests.RequestException):  # the body ends short
                    read_slowly()
                assert progress["restarted"]
                assert progress["got"] < size

                def recorded() -> Any:
                    details: list[dict[str, Any]] = dep.python(
                        """
                        from audit.models import AuditEvent
                        result = [e.details for e in AuditEvent.objects.filter(
                            action="file.downloaded")]
                        """
                    )
                    return details or None

                (first,) = wait_for(recorded, timeout=90, what="the broken download's record")
                assert first["completed"] is False
                assert first["stopped"] == "check_failed"
                assert first["bytes_sent"] < size

                body = requests.get(base + url_path, headers=headers, timeout=120).content
                expected = random.Random("big.bin").randbytes(size)
                assert hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()
            events = wait_for(
                lambda: len(recorded() or []) == 2 and recorded(), timeout=60, what="2 records"
            )
            assert [e["completed"] for e in events] == [False, True]
            assert "audit chain intact" in _chain_verifies(dep)
