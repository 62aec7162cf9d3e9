"""The batched sequencer: appends that do not wait for each other (PostgreSQL).

Certificate Transparency logs accept an entry at once and merge it into the tree within a
bounded delay; the audit log does the same. With ``AUDIT_SEQUENCER = "batched"``:

1. :func:`audit.services.record_event` inserts the event *pending*: its content and time
   in ``audit_pendingevent``, a narrow table with no secondary index. That is one plain
   INSERT in the caller's transaction: it commits or rolls back with the decision it
   records, and appenders take no lock, so they do not queue behind each other's commits.
2. Once the caller's transaction has committed, a sealer thread in the process is woken
   (:func:`wake`). It takes the chain head's row lock, reads the committed pending events
   in insertion order, gives them the next sequence numbers and hashes, inserts them into
   the chain, deletes them from the pending table and moves the head, in one transaction:
   one commit for a whole batch.
3. The database allows exactly that (PostgreSQL triggers, migration 0002): a pending row
   cannot be changed and can be deleted only once the chain holds an event naming it
   (``pending_id``); the head advances by one, or to the last event of a sealed batch.

The chain stays gap-free (sequence numbers are given only under the head's lock) and is
verified as before; pending events are not part of it yet and are reported by
``audit_verify`` with their age. A process that exits with events still pending leaves
them to the next sealer: any process's next append, ``manage.py audit_seal`` (scheduled
every minute by ``governance_schedules``), or ``audit_verify --seal``.

``"inline"`` (the default outside production, and always on SQLite, where one writer
holds the database at a time anyway) seals each event in the caller's transaction under
the head's lock, as the log always did.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from functools import cache, partial
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from audit.canonical import CONTENT_FIELDS, event_hash
from audit.models import AuditChainHead, AuditEvent, PendingEvent

__all__ = ["SEQUENCERS", "batched", "pending_events", "seal_pending", "wake"]

logger = logging.getLogger(__name__)

SEQUENCERS = ("inline", "batched")
BATCH_SIZE = 1000
#: an idle sealer thread ends after this long without a wake (the next wake starts one)
IDLE_SECONDS = 5.0
#: after a failed round (the database away) the sealer tries again this often
RETRY_SECONDS = 2.0
#: after a wake the sealer lets commits gather this long, so one transaction seals many
#: (group commit; the log's "merge delay", far below a second)
GATHER_SECONDS = 0.05

_CONTENT = CONTENT_FIELDS


class AuditSequencerError(RuntimeError):
    """The sequencer is misconfigured or the chain head is inconsistent."""


def batched(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether appends on this database are pending until sealed (``AUDIT_SEQUENCER``)."""
    mode = str(getattr(settings, "AUDIT_SEQUENCER", "inline"))
    if mode not in SEQUENCERS:
        raise AuditSequencerError(f"AUDIT_SEQUENCER: expected one of {SEQUENCERS}, got {mode!r}")
    return mode == "batched" and connections[using].vendor == "postgresql"


def append_pending(fields: dict[str, Any], *, using: str = DEFAULT_DB_ALIAS) -> AuditEvent:
    """Insert one pending event (already checked by ``record_event``) with a single
    statement; the sealer is woken when the caller's transaction commits (at once when
    there is none: the INSERT was its own transaction). Returns the event as it will be
    sealed, without its place in the chain yet (``seq``, ``hash`` and ``pk`` empty)."""
    now = timezone.now()
    connection = connections[using]
    # The driver's own cursor on Django's connection (same transaction): Django's cursor
    # wrapper cost as much CPU as the INSERT, and appends are the hot path (every download
    # appends). Errors still surface as django.db errors.
    with connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:  # server-side binding
            cursor.execute(
                _insert_pending_sql(tuple(fields)), [now, *fields.values()], prepare=True
            )
            row = cursor.fetchone()
    if row is None:  # pragma: no cover - INSERT ... RETURNING returns its row
        raise AuditSequencerError("the pending event's INSERT returned no id")
    transaction.on_commit(partial(wake, using), using=using)
    return AuditEvent(time=now, pending_id=row[0], **fields)


@cache
def _insert_pending_sql(columns: tuple[str, ...]) -> str:
    names = ", ".join(("time", *columns))
    marks = ", ".join(["%s"] * (len(columns) + 1))
    table = PendingEvent._meta.db_table
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id"  # noqa: S608


@cache
def _select_pending_sql() -> str:
    names = ", ".join(("id", "time", *_CONTENT))
    table = PendingEvent._meta.db_table
    return f"SELECT {names} FROM {table} ORDER BY id LIMIT %s"  # noqa: S608 - fixed names


def pending_events(using: str = DEFAULT_DB_ALIAS) -> tuple[int, float | None]:
    """(events waiting to be sealed, age of the oldest in seconds)."""
    pending = PendingEvent.objects.using(using).all()
    oldest = pending.order_by("id").values_list("time", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else None
    return pending.count(), age


def _locked_head(using: str) -> tuple[int, str]:
    table = connections[using].ops.quote_name(AuditChainHead._meta.db_table)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT seq, hash FROM {table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [AuditChainHead.SINGLETON_ID],
        )
        row = cursor.fetchone()
    if row is None:
        raise AuditSequencerError(
            "the audit chain head row is missing; run `manage.py audit_verify` and restore it"
        )
    return int(row[0]), str(row[1])


def _seal_batch(using: str, batch_size: int) -> int:
    connection = connections[using]
    events = connection.ops.quote_name(AuditEvent._meta.db_table)
    pending = connection.ops.quote_name(PendingEvent._meta.db_table)
    head = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with transaction.atomic(using=using):
        seq, prev_hash = _locked_head(using)  # waits for a sealer already at work
        with psycopg.Cursor(connection.connection) as raw:
            raw.execute(_select_pending_sql(), [batch_size], prepare=True)
            rows = raw.fetchall()
        if not rows:
            return 0
        sealed = []
        for row in rows:
            seq += 1
            fields = dict(zip(_CONTENT, row[2:], strict=True))
            digest = event_hash(seq=seq, time=row[1], prev_hash=prev_hash, **fields)
            sealed.append((seq, row[1], *row[2:], prev_hash, digest, row[0]))
            prev_hash = digest
        columns = ("seq", "time", *_CONTENT, "prev_hash", "hash", "pending_id")
        with connection.cursor() as cursor:
            # COPY: the whole batch in one statement, not one INSERT per event
            with cursor.cursor.copy(f"COPY {events} ({', '.join(columns)}) FROM STDIN") as copy:
                for values in sealed:
                    copy.write_row(values)
            cursor.execute(
                f"DELETE FROM {pending} WHERE id = ANY(%s)",  # noqa: S608 - fixed names
                [[row[0] for row in rows]],
            )
            cursor.execute(
                f"UPDATE {head} SET seq = %s, hash = %s WHERE id = %s",  # noqa: S608
                [seq, prev_hash, AuditChainHead.SINGLETON_ID],
            )
    return len(rows)


def seal_pending(*, using: str = DEFAULT_DB_ALIAS, batch_size: int = BATCH_SIZE) -> int:
    """Seal every committed pending event, batch by batch; return how many were sealed.

    Each batch is one transaction under the head's lock. After each commit the pending
    rows are looked for again, so an event committed while a batch was being sealed is
    taken by the next one: nothing is left behind by a race between sealers."""
    if connections[using].vendor != "postgresql":
        return 0  # inline appends are sealed already
    total = 0
    while True:
        count = _seal_batch(using, batch_size)
        if count == 0:
            return total
        total += count


# --- the sealer thread ------------------------------------------------------------------------


class _Sealer:
    """One daemon thread per process, started by a wake (after a fork, anew) and ended
    when idle: it touches the database only when something was committed, or to retry a
    round that failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._aliases: set[str] = set()
        self._woken = 0  # wakes so far, and how many of them a finished round covered
        self._covered = 0

    def wake(self, using: str) -> None:
        with self._lock:
            self._woken += 1
            self._aliases.add(using)
            self._wake.set()
            alive = self._thread is not None and self._thread.is_alive()
            if not alive or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        failed = False
        while True:
            if not self._wake.wait(RETRY_SECONDS if failed else IDLE_SECONDS) and not failed:
                with self._lock:
                    if not self._wake.is_set():
                        self._thread = None  # idle: the next wake starts a new thread
                        for using in self._aliases:
                            connections[using].close()  # an idle sealer holds no connection
                        return
                continue
            time.sleep(GATHER_SECONDS)
            self._wake.clear()
            woken = self._woken
            failed = False
            for using in sorted(self._aliases):
                try:
                    seal_pending(using=using)
                except Exception:  # the database may be away: try again shortly
                    logger.warning(
                        "sealing pending audit events failed; retrying in %s s",
                        RETRY_SECONDS,
                        exc_info=True,
                    )
                    failed = True
                    connections[using].close()
            if not failed:
                self._covered = woken

    def drain(self) -> None:
        """At exit: seal what this process appended since the sealer's last round, once
        (best effort; what is left waits for ``audit_seal``)."""
        if self._woken <= self._covered:
            return
        for using in sorted(self._aliases):
            try:
                seal_pending(using=using)
            except Exception:
                logger.warning("pending audit events left for the next sealer at exit")


_SEALER = _Sealer()
atexit.register(_SEALER.drain)


def wake(using: str = DEFAULT_DB_ALIAS) -> Any:
    """Ask this process's sealer to seal what has been committed (``transaction.on_commit``)."""
    _SEALER.wake(using)
