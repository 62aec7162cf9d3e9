"""Helpers for the audit tests: appending, tampering below the triggers, verifying."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.actions import AuditAction
from audit.checkpoints import public_key_pem
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import Actor, record_event

SQLITE_TRIGGERS = (
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_checkpoint_no_update",
    "audit_checkpoint_no_delete",
    "audit_head_no_delete",
    "audit_head_advance",
)
AUDIT_TABLES = ("audit_auditevent", "audit_auditcheckpoint", "audit_auditchainhead")


def append_events(n: int, *, action: AuditAction = AuditAction.FILE_DOWNLOADED) -> list[AuditEvent]:
    return [
        record_event(
            action=action,
            actor=Actor(user_id=7, username="recipient", role="requester", client_ip="10.0.0.1"),
            object_type="governance.release",
            object_id=i,
            details={"file": f"part-{i}.parquet", "bytes_sent": 1000 + i},
        )
        for i in range(n)
    ]


def bypass_triggers() -> None:
    """Remove the append-only protection inside the current test transaction.

    Only for tests: the test's transaction rolls back, triggers and all. This is
    what an attacker with DDL rights (or direct file access on SQLite) can do.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        elif connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:  # pragma: no cover
            pytest.skip(f"no trigger bypass for {connection.vendor}")


@contextmanager
def triggers_off() -> Iterator[None]:
    """Bypass the triggers for a moment, then put them back (inside the test transaction)."""
    bypass_triggers()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for table in AUDIT_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            elif connection.vendor == "sqlite":
                migration = importlib.import_module("audit.migrations.0001_initial")
                for statement in migration.SQLITE_UP:
                    cursor.execute(statement)


@pytest.fixture(autouse=True)
def _no_foreign_checkpoints(request: pytest.FixtureRequest) -> None:
    """Hide checkpoints left by other test modules' transactional tests (signed with keys
    these tests do not trust) for the length of one test; the test's rollback restores them.

    The audit tables are never flushed between tests (see audit/models.py), so the
    suite's log keeps growing; the chain itself stays valid.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("transaction") or (marker.args and marker.args[0]):
        return
    request.getfixturevalue("db")
    if AuditCheckpoint.objects.exists():
        with triggers_off(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditcheckpoint")


def sql(statement: str, params: list[object] | tuple[object, ...] = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def run_verify(*args: str) -> tuple[int, str]:
    """(exit code, message) of ``manage.py audit_verify``."""
    try:
        call_command("audit_verify", *args, stdout=_Sink(), stderr=_Sink())
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, "intact"


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def signing_key(tmp_path: Path, settings: object) -> Callable[[], tuple[Ed25519PrivateKey, Path]]:
    """A fresh audit signing key configured as settings.AUDIT_SIGNING_KEY_FILE."""
    key_file = tmp_path / "keys" / "audit_signing.key"
    settings.AUDIT_SIGNING_KEY_FILE = key_file  # type: ignore[attr-defined]
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"  # type: ignore[attr-defined]

    def make() -> tuple[Ed25519PrivateKey, Path]:
        from audit.checkpoints import load_signing_key

        key = load_signing_key(key_file, create=True, strict_permissions=True)
        pub = tmp_path / "audit_public.pem"
        pub.write_bytes(public_key_pem(key.public_key()))
        return key, pub

    return make
