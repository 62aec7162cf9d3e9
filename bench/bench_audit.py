"""Audit log benchmark: appends per second and verification speed.

    python -m bench.bench_audit                       # PostgreSQL and SQLite, 1M events
    python -m bench.bench_audit --backend sqlite --events 50000 --appends 500   # quick

Each backend runs in its own process against a scratch database (PostgreSQL:
``deid_audit_bench`` on ``BENCH_PG_URL``, dropped afterwards; SQLite: a temp
file). Baselines measured in the same run:

* appends: a plain one-row INSERT per transaction into an unindexed table, by one
  writer and by ``--threads`` writers at once; ``record_event`` with the ``inline``
  sequencer (head lock, hash, insert, head update in the caller's transaction) and, on
  PostgreSQL, the ``batched`` one (a pending INSERT; sealed in batches after the commit,
  ``audit/sequencer.py``) are reported as ratios of the plain INSERT with as many
  writers; for ``batched`` also the rate until every event is sealed into the chain.
* verification: streaming the rows without hashing (the database's share) and
  hashing in-memory rows without a database (Python's share).

The million events for verification are generated quickly: the chain is
computed in Python and loaded in bulk (COPY on PostgreSQL, executemany on
SQLite), then ``verify_chain`` streams and recomputes it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/deid_audit_bench"


def _say(backend: str, text: str) -> None:
    print(f"[{backend}] {text}", flush=True)


# --- scratch databases ----------------------------------------------------------------------


def _pg_recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- phases (run inside the per-backend child process) -----------------------------------------


def _plain_insert_rate(n: int, threads: int = 1) -> float:
    """Plain one-row INSERTs, one transaction each, from ``threads`` writers at once."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain")
        cursor.execute("CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, payload TEXT)")
    per_thread = n // threads
    barrier = threading.Barrier(threads + 1)

    def worker(w: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with connection.cursor() as cursor:  # autocommit: one transaction per row
                    cursor.execute(
                        "INSERT INTO bench_plain (id, payload) VALUES (%s, %s)",
                        [w * per_thread + i, f"row {i}" * 10],
                    )
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    return per_thread * threads / (time.perf_counter() - start)


def _spread(values: list[float]) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f}"


def _sealed_after(start: float) -> float:
    """Seconds from ``start`` until no event is pending (the batched sequencer's lag)."""
    from audit.models import PendingEvent

    while PendingEvent.objects.exists():
        time.sleep(0.01)
    return time.perf_counter() - start


def _append_rate(n: int, threads: int, *, until_sealed: bool = False) -> float:
    from django.db import connections

    from audit.actions import AuditAction
    from audit.services import Actor, record_event

    per_thread = n // threads
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            actor = Actor(
                user_id=w + 1, username=f"user{w}", role="requester", client_ip="10.0.0.1"
            )
            barrier.wait()
            for i in range(per_thread):
                record_event(
                    action=AuditAction.FILE_DOWNLOADED,
                    actor=actor,
                    object_type="governance.release",
                    object_id=i,
                    details={"file": f"part-{i}.parquet", "bytes_sent": 1 << 20},
                )
        except BaseException as exc:
            errors.append(exc)
            raise
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = _sealed_after(start) if until_sealed else time.perf_counter() - start
    if errors:
        raise errors[0]
    return per_thread * threads / elapsed


def _generate(start_seq: int, prev_hash: str, n: int) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of chained rows, computed in Python."""
    from audit.canonical import canonical_json, row_event_hash

    actions = ("file.downloaded", "request.submitted", "auth.login", "release.published")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    chunk: list[tuple[Any, ...]] = []
    for i in range(n):
        seq = start_seq + i
        fields = (
            seq,
            t0 + timedelta(milliseconds=seq),
            (i % 97) + 1,
            f"user{i % 97}",
            "requester",
            f"{i % 13:012x}",
            "",
            f"10.0.{i % 250}.{i % 199}",
            actions[i % 4],
            "governance.release",
            str(i % 5000),
            canonical_json({"file": f"part-{i % 50}.parquet", "bytes_sent": i * 17}),
            prev_hash,
        )
        prev_hash = row_event_hash(*fields)
        chunk.append((*fields, prev_hash))
        if len(chunk) == 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _bulk_load(n: int) -> tuple[float, float]:
    """Append n generated events; return (hash rate, load rate) in events/s."""
    from django.db import connection, transaction

    from audit.models import AuditChainHead

    head = AuditChainHead.objects.get(pk=1)
    hash_time = 0.0
    load_time = 0.0
    last: tuple[Any, ...] | None = None
    from audit.canonical import EVENT_COLUMNS

    columns = ", ".join(EVENT_COLUMNS)
    gen = _generate(head.seq + 1, head.hash, n)
    while True:
        t = time.perf_counter()
        chunk = next(gen, None)
        hash_time += time.perf_counter() - t
        if chunk is None:
            break
        t = time.perf_counter()
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            raw = connection.connection
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy,
            ):
                for row in chunk:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO audit_auditevent ({columns}) VALUES ({placeholders})",  # noqa: S608
                    [(r[0], adapt(r[1]), *r[2:]) for r in chunk],
                )
        load_time += time.perf_counter() - t
        last = chunk[-1]
    assert last is not None
    _set_head(last[0], last[-1])
    return n / hash_time, n / load_time


def _set_head(seq: int, head_hash: str) -> None:
    """Move the head past the bulk-loaded rows (the trigger allows +1 steps only)."""
    import importlib

    from django.db import connection

    migration = importlib.import_module("audit.migrations.0001_initial")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER audit_head_advance")
            cursor.execute("UPDATE audit_auditchainhead SET seq = %s, hash = %s", [seq, head_hash])
            cursor.execute("ALTER TABLE audit_auditchainhead ENABLE TRIGGER audit_head_advance")
        else:
            cursor.execute("DROP TRIGGER audit_head_advance")
            cursor.execute("UPDATE audit_auditchainhead SET seq = %s, hash = %s", [seq, head_hash])
            cursor.execute(next(s for s in migration.SQLITE_UP if "audit_head_advance" in s))


def _stream_rate() -> tuple[int, float]:
    from audit.models import AuditEvent
    from audit.verify import COLUMNS

    start = time.perf_counter()
    count = 0
    for _row in AuditEvent.objects.order_by("seq").values_list(*COLUMNS).iterator(10_000):
        count += 1
    return count, count / (time.perf_counter() - start)


def run_backend(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audit.verify import verify_chain

    backend = connection.vendor
    call_command("migrate", verbosity=0)
    _say(backend, f"database {connection.settings_dict['NAME']}")

    from django.conf import settings

    writers = [1] + ([args.threads] if backend == "postgresql" and args.threads > 1 else [])
    for n_writers in writers:
        # Rounds interleave the baseline and the appends, so a slow moment of the machine
        # falls on both; each figure is the median of its rounds, each ratio the median of
        # the rounds' ratios.
        rounds: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            plain = _plain_insert_rate(args.appends, n_writers)
            rounds.setdefault("plain", []).append(plain)
            settings.AUDIT_SEQUENCER = "inline"
            rounds.setdefault("inline", []).append(_append_rate(args.appends, n_writers))
            if backend == "postgresql":
                settings.AUDIT_SEQUENCER = "batched"
                rounds.setdefault("batched", []).append(_append_rate(args.appends, n_writers))
                rounds.setdefault("sealed", []).append(
                    _append_rate(args.appends, n_writers, until_sealed=True)
                )
        _say(
            backend,
            f"baseline plain INSERT, {n_writers} writer(s), 1 row/tx: "
            f"{statistics.median(rounds['plain']):,.0f} rows/s "
            f"(median of {args.rounds} rounds: {_spread(rounds['plain'])})",
        )
        names = {
            "inline": (f"record_event inline, {n_writers} writer(s)", "appends"),
            "batched": (f"record_event batched, {n_writers} writer(s)", "appends"),
            "sealed": ("  ... until every event is sealed", "events"),
        }
        for key, (name, what) in names.items():
            if key in rounds:
                ratios = [r / p for r, p in zip(rounds[key], rounds["plain"], strict=True)]
                _say(
                    backend,
                    f"{name}: {statistics.median(rounds[key]):,.0f} {what}/s "
                    f"({statistics.median(ratios):.2f}x plain INSERT; rounds "
                    f"{', '.join(f'{r:.2f}' for r in ratios)})",
                )
    settings.AUDIT_SEQUENCER = "inline"
    report = verify_chain(include_stored_checkpoints=False)
    assert report.ok, report.problems
    assert report.pending == 0, report.pending
    _say(backend, f"chain after the appends: {report.events:,} events, intact, none pending")
    hash_rate, load_rate = _bulk_load(args.events)
    _say(
        backend,
        f"generated {args.events:,} chained events: hashing {hash_rate:,.0f}/s in Python, "
        f"bulk load {load_rate:,.0f}/s",
    )
    if backend == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_auditevent")
    streamed, stream_rate = _stream_rate()
    _say(backend, f"baseline stream {streamed:,} rows without hashing: {stream_rate:,.0f} rows/s")
    start = time.perf_counter()
    report = verify_chain(include_stored_checkpoints=False, chunk_size=10_000)
    elapsed = time.perf_counter() - start
    assert report.ok, report.problems
    rate = report.events / elapsed
    _say(
        backend,
        f"verify_chain: {report.events:,} events in {elapsed:.1f} s = {rate:,.0f} events/s "
        f"({rate / stream_rate:.2f}x streaming alone, {rate / hash_rate:.2f}x hashing alone)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per figure")
    parser.add_argument("--run-backend", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.run_backend:
        run_backend(args)
        return

    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    child_args = [
        "--events",
        str(args.events),
        "--appends",
        str(args.appends),
        "--threads",
        str(args.threads),
        "--rounds",
        str(args.rounds),
        "--run-backend",
    ]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="bench_audit_") as tmp:
            env = dict(os.environ)
            env["DEID_VAR_DIR"] = tmp
            env["AUDIT_SIGNING_KEY_FILE"] = os.path.join(tmp, "audit.key")
            if backend == "postgres":
                url = os.environ.get("BENCH_PG_URL", DEFAULT_PG)
                _pg_recreate(url)
                env["DATABASE_URL"] = url
            else:
                env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
            try:
                subprocess.run(
                    [sys.executable, "-m", "bench.bench_audit", *child_args], env=env, check=True
                )
            finally:
                if backend == "postgres":
                    _pg_recreate(env["DATABASE_URL"], drop_only=True)


if __name__ == "__main__":
    main()
