"""The batched sequencer: appends pending at once, sealed in batches into one gap-free chain."""

from __future__ import annotations

import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.utils import InternalError, ProgrammingError

from audit import sequencer
from audit.actions import AuditAction
from audit.models import AuditEvent, PendingEvent
from audit.services import Actor, record_event
from audit.verify import verify_chain

THREADS = 8
PER_THREAD = 40

# The trigger's refusal: integrity_constraint_violation (PostgreSQL), surfaced by Django as
# IntegrityError; psycopg may report a failed transaction as InternalError/ProgrammingError.
REFUSED = (IntegrityError, InternalError, ProgrammingError)


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the batched sequencer is PostgreSQL's (SQLite always seals inline)")


def _append(i: int) -> AuditEvent:
    return record_event(
        action=AuditAction.FILE_DOWNLOADED,
        actor=Actor(username=f"writer{i % THREADS}", role="requester"),
        object_type="governance.release",
        object_id=str(i),
        details={"i": i},
    )


@pytest.mark.django_db(transaction=True)
def test_eight_writers_append_pending_and_the_sealer_makes_one_gap_free_chain(settings) -> None:
    _postgres_only()
    settings.AUDIT_SEQUENCER = "batched"
    start = AuditEvent.objects.order_by("-seq").first()
    first_seq = (start.seq if start is not None else 0) + 1
    barrier = threading.Barrier(THREADS)
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    class Rollback(Exception):
        pass

    def writer(w: int) -> None:
        try:
            barrier.wait()
            for k in range(PER_THREAD):
                i = w * PER_THREAD + k
                try:
                    with transaction.atomic():
                        event = _append(i)
                        assert event.seq is None, "a batched append takes no place in the chain yet"
                        if k % 5 == 4:  # every fifth decision fails after auditing
                            raise Rollback
                    with lock:
                        committed.append(event.pending_id)
                except Rollback:
                    pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    deadline = time.monotonic() + 30
    while PendingEvent.objects.filter(pk__in=committed).exists():
        assert time.monotonic() < deadline, "the sealer thread did not seal the commits"
        time.sleep(0.05)
    sealed = AuditEvent.objects.filter(pending_id__in=committed)
    seqs = sorted(sealed.values_list("seq", flat=True))
    assert len(seqs) == THREADS * PER_THREAD * 4 // 5  # rolled-back appends left nothing
    assert seqs == list(range(first_seq, first_seq + len(seqs))), "gap-free, no fork"
    assert not PendingEvent.objects.exists()
    report = verify_chain(include_stored_checkpoints=False)
    assert report.ok, report.problems
    assert report.pending == 0


@pytest.mark.django_db
def test_a_pending_event_cannot_be_changed_and_leaves_only_into_the_chain(settings) -> None:
    _postgres_only()
    settings.AUDIT_SEQUENCER = "batched"
    event = _append(1)  # the test's transaction never commits: it stays pending
    assert event.seq is None
    pending_id = event.pending_id
    attempts = [
        ("UPDATE audit_pendingevent SET details_json = '{}' WHERE id = %s", "edit it"),
        ("DELETE FROM audit_pendingevent WHERE id = %s", "delete it outside the chain"),
        ("DELETE FROM audit_pendingevent WHERE id >= %s", "delete it among others"),
        ("UPDATE audit_auditchainhead SET seq = seq + 5", "move the head past the chain"),
    ]
    for statement, what in attempts:
        params = [pending_id] if "%s" in statement else []
        with pytest.raises(REFUSED), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
        assert PendingEvent.objects.filter(pk=pending_id).exists(), what
    assert sequencer.seal_pending() >= 1
    assert not PendingEvent.objects.filter(pk=pending_id).exists()
    sealed = AuditEvent.objects.get(pending_id=pending_id)
    assert sealed.details == {"i": 1}
    assert sealed.time == event.time
    assert verify_chain(include_stored_checkpoints=False).ok


@pytest.mark.django_db
def test_pending_events_are_reported_by_verify_and_sealed_by_audit_seal(settings) -> None:
    _postgres_only()
    settings.AUDIT_SEQUENCER = "batched"
    _append(2)
    _append(3)
    report = verify_chain(include_stored_checkpoints=False)
    assert report.ok, "pending events are not damage"
    assert report.pending >= 2
    out = StringIO()
    call_command("audit_verify", "--no-stored-checkpoints", stdout=out)
    assert "event(s) pending, not yet sealed" in out.getvalue()
    out = StringIO()
    call_command("audit_seal", stdout=out)
    assert "still pending" in out.getvalue()
    assert "; 0 still pending" in out.getvalue()
    report = verify_chain(include_stored_checkpoints=False)
    assert report.ok
    assert report.pending == 0


@pytest.mark.django_db
def test_sqlite_always_seals_inline(settings) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    settings.AUDIT_SEQUENCER = "batched"
    assert not sequencer.batched()
    assert _append(4).seq is not None


@pytest.mark.django_db
def test_the_chain_keeps_only_the_indexes_its_queries_use() -> None:
    """Every sealed event pays for each index of the chain table (migration 0003)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "audit_auditevent")
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"]}
    assert not [name for name in constraints if name.endswith("_like")]
    assert ("object_type",) not in indexed
    assert ("object_id",) not in indexed
    assert ("object_type", "object_id") in indexed  # serves the filter by type too
    for column in ("seq", "hash", "pending_id", "time", "action", "actor_username"):
        assert (column,) in indexed, column
