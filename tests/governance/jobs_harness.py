"""A throw-away deployment for job tests: its own var/ directory and database, real processes.

The worker (``manage.py qcluster``) is a separate process, so it cannot see
pytest-django's in-memory test database: each test gets a fresh SQLite file or a
fresh PostgreSQL database, migrated by ``manage.py migrate``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


class Deployment:
    def __init__(self, var_dir: Path, database_url: str) -> None:
        self.var_dir = var_dir
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DEID_VAR_DIR": str(var_dir),
            "DATABASE_URL": database_url,
            "DEID_MASTER_KEY_FILE": str(var_dir / "keys" / "master.key"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "DEID_WORKERS": "1",
            "DJANGO_LOG_LEVEL": "INFO",
        }
        self.env.pop("REDIS_URL", None)
        self.env.pop("DEID_MASTER_KEY", None)
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def releases_dir(self) -> Path:
        return self.var_dir / "releases"

    def manage(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def python(self, code: str, *, timeout: float = 300) -> Any:
        """Run ``code`` in a Django process of this deployment; it sets ``result`` (JSON)."""
        script = (
            "import json, django\ndjango.setup()\nresult = None\n"
            + textwrap.dedent(code)
            + "\nprint('@@RESULT@@' + json.dumps(result))\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"script failed:\n{script}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        line = next(x for x in proc.stdout.splitlines() if x.startswith("@@RESULT@@"))
        return json.loads(line[len("@@RESULT@@") :])

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.var_dir / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def worker_log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.var_dir.glob("worker-*.log"))
        )

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.workers.clear()


@contextmanager
def deployment(tmp_path: Path, backend: str) -> Iterator[Deployment]:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    dbname = None
    if backend == "sqlite":
        url = f"sqlite:///{var_dir / 'db.sqlite3'}"
    else:
        import psycopg

        dbname = f"deid_jobs_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = f"postgres://postgres@127.0.0.1:5432/{dbname}"
    dep = Deployment(var_dir, url)
    try:
        dep.manage("migrate", "--noinput", "-v", "0")
        yield dep
    finally:
        dep.stop_workers()
        if dbname is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.25, what: str
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# A release spec over the synthetic CDW without free text (the PHI scrubber is slow and
# is tested elsewhere): person is the anchor (k=5), visits and labs are linked.
RELEASE_SPEC = """\
release:
  anchor: person
  link_column: person_id
  person_domain: person
  date_shift: {max_days: 30, allow_zero: false}
tables:
  person:
    query: >-
      SELECT p.person_id, p.registration_no, p.patient_name, p.gender_source_value,
             p.year_of_birth, l.sido || ' ' || l.sigungu AS region
      FROM person p JOIN location l ON l.location_id = p.location_id
      ORDER BY p.person_id
    policy:
      columns:
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        registration_no: {role: identifier, transform: pseudonymize, domain: registration}
        patient_name: {role: identifier, transform: drop}
        gender_source_value: {role: quasi, hierarchy: {type: flat}}
        year_of_birth: {role: quasi, hierarchy: {type: interval, widths: [5, 10, 20]}}
        region: {role: quasi, hierarchy: {type: kr_region, from: sigungu}}
      privacy: {k: 5, suppression_limit: 0.05, metric: loss}
  visit_occurrence:
    policy:
      columns:
        visit_occurrence_id: {role: identifier, transform: pseudonymize, domain: visit}
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        visit_source_value: {role: insensitive}
        visit_start_date:
          role: quasi
          date_shift: true
          hierarchy: {type: date, levels: [day, month, quarter, year]}
          options: {level: 1}
  measurement:
    policy:
      columns:
        measurement_id: {role: identifier, transform: pseudonymize, domain: measurement}
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        measurement_name: {role: insensitive}
        value_as_number: {role: insensitive}
"""

SETUP_RELEASE = """
import hashlib, os
from django.conf import settings
from deid.keys import generate_master_key_file
from fixtures.synthetic_cdw import generate
from governance import services
from governance.models import DeidPolicy
from tests.governance.factories import World
from tests.governance.jobs_harness import RELEASE_SPEC

generate_master_key_file(settings.DEID_MASTER_KEY_FILE, overwrite=True)
generate(settings.DEID_CDW_URL, patients=PATIENTS, seed=7)
world = World()
request = world.approved()
release = services.release_create(request=request, acting_user=world.steward)
# The steward's release spec (stored as the services store a policy).
policy = DeidPolicy.objects.create(
    request=request, policy_yaml=RELEASE_SPEC, digest={},
    sha256=hashlib.sha256(RELEASE_SPEC.encode()).hexdigest(), set_by=world.steward,
)
release.policy = policy
release.save(update_fields=["policy"])
result = {"release": release.pk, "steward": world.steward.username}
"""


def setup_release(dep: Deployment, *, patients: int) -> dict[str, Any]:
    """Generate the CDW and a release ready to build; return its id and the steward's name."""
    result: dict[str, Any] = dep.python(SETUP_RELEASE.replace("PATIENTS", str(int(patients))))
    return result


def release_row(dep: Deployment, release_id: int) -> Any:
    """The release's state, error and output as the database holds them (no Django here)."""
    if dep.database_url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(dep.database_url.removeprefix("sqlite:///"), timeout=30)
    else:
        import psycopg

        conn = psycopg.connect(dep.database_url.replace("postgres://", "postgresql://"))
    try:
        cur = conn.cursor()
        sql = "SELECT state, build_error, files_dir, manifest_sha256, plan_sha256 FROM governance_release WHERE id = "
        cur.execute(sql + str(int(release_id)))
        return cur.fetchone()
    finally:
        conn.close()


def published(dep: Deployment, release_id: int) -> dict[str, Any]:
    root = dep.releases_dir
    return {
        "release_dir": (root / str(release_id)).exists(),
        "staging": sorted(p.name for p in root.glob(f".staging-{release_id}-*")),
    }


# --- a private PostgreSQL server, to restart under a running deployment ------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on its own port (the suite's server is never touched)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.data = root / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log")]
        command += ["-o", options, "-w", *args]
        subprocess.run(
            ["su", "postgres", "-c", " ".join(f"'{c}'" for c in command)],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def restart(self) -> None:
        """A fast restart: every open connection is cut, as in a failover."""
        self._ctl("-m", "fast", "restart")

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


def private_postgres_available() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (to run initdb as the postgres user)"
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL server binaries in {PG_BIN}"
    return None


@contextmanager
def private_postgres(port: int = 5499) -> Iterator[PrivatePostgres]:
    # Its own folder under /tmp: the postgres user cannot enter pytest's (root's) tmp_path.
    root = Path(tempfile.mkdtemp(prefix="deid-pg-"))
    root.chmod(0o755)
    subprocess.run(["chown", "postgres", str(root)], check=True)
    subprocess.run(
        ["su", "postgres", "-c", f"{PG_BIN / 'initdb'} -D {root / 'data'} -A trust -U postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = PrivatePostgres(root, port)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def deployment_on(var_root: Path, database_url: str) -> Iterator[Deployment]:
    """A deployment on a database that exists already (e.g. on a private server)."""
    var_dir = var_root / "var"
    var_dir.mkdir()
    dep = Deployment(var_dir, database_url)
    try:
        dep.manage("migrate", "--noinput", "-v", "0")
        yield dep
    finally:
        dep.stop_workers()


# --- the production web server of a deployment -------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def production_server(dep: Deployment, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """gunicorn (``config/gunicorn.conf.py``) in production mode on a free loopback port,
    behind a pretend TLS proxy (send ``X-Forwarded-Proto: https``); yields (process, URL)."""
    import secrets

    import requests

    keys = dep.var_dir / "keys"
    keys.mkdir(exist_ok=True)
    port = _free_port()
    server_env = {
        **dep.env,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "AUDIT_SIGNING_KEY_FILE": str(keys / "audit_signing.key"),
        "DEID_TRUSTED_PROXIES": "127.0.0.1",
        "DEID_API_RATE": "1000000/min",
        "DEID_DOWNLOAD_RATE": "1000000/min",
        "DEID_BIND": f"127.0.0.1:{port}",
        "DEID_WEB_WORKERS": "2",
        "DEID_WEB_THREADS": "16",
        **env,
    }
    log = (dep.var_dir / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-c",
            "config/gunicorn.conf.py",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            answer = requests.get(
                f"{base}/api/v1/",
                headers={"X-Forwarded-Proto": "https"},
                timeout=2,
                allow_redirects=False,
            )
            return answer.status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=60, what=f"gunicorn to answer\n{dep.var_dir / 'gunicorn.log'}")
        yield proc, base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


PUBLISHED_RELEASE = """
from pathlib import Path
import random
from django.conf import settings
from tests.governance.api_support import make_world, write_release_files
a, _b = make_world(Path(settings.DEID_RELEASES_DIR))
write_release_files(
    a.release,
    {name: random.Random(name).randbytes(size) for name, size in FILES.items()},
    Path(settings.DEID_RELEASES_DIR),
)
result = {"release": a.release.pk, "token": a.token}
"""


def published_release(dep: Deployment, files: dict[str, int]) -> dict[str, Any]:
    """A published release of ``files`` (name -> size; the bytes are seeded by the name:
    ``random.Random(name).randbytes(size)``), with a recipient's API token."""
    result: dict[str, Any] = dep.python(PUBLISHED_RELEASE.replace("FILES", repr(files)))
    return result
