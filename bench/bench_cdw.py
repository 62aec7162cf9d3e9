"""Synthetic CDW generation and source streaming rates.

    python -m bench.bench_cdw                      # 100,000 patients, SQLite (+ PostgreSQL)
    python -m bench.bench_cdw --patients 20000 --no-postgres      # quick

Generation: patients/s and rows/s of ``fixtures.synthetic_cdw.generate`` into a
temp SQLite file (and into ``deid_cdw_bench`` on ``BENCH_PG_URL`` unless
``--no-postgres``).

Streaming: rows/s of every CDW table through ``SqlSource.batches`` and, for
SQLite, through ``ParquetSource`` on the same rows; each as a ratio of the
baseline measured in the same run: a bare DB-API cursor ``fetchmany`` of the
same rows into Python tuples (no Arrow), the least any SQL source must pay.
Peak Arrow memory while streaming shows that memory is bounded by the batch
size, not by the table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, make_url, text

from deid.sources import ParquetSource, SqlSource
from deid.sources.cdw_schema import CDW_TABLES
from fixtures.synthetic_cdw import generate

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _baseline(url: str, batch_size: int) -> tuple[int, float]:
    engine = create_engine(url)
    raw = engine.raw_connection()
    rows = 0
    began = time.perf_counter()
    try:
        for table in CDW_TABLES:
            cur = raw.cursor()
            cur.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 (our table names)
            while chunk := cur.fetchmany(batch_size):
                rows += len(chunk)
            cur.close()
    finally:
        raw.close()
        engine.dispose()
    return rows, time.perf_counter() - began


def _stream(source: SqlSource | ParquetSource, batch_size: int) -> tuple[int, float, int]:
    pool = pa.default_memory_pool()
    pool.release_unused()
    start_bytes = pool.bytes_allocated()
    peak = 0
    rows = 0
    began = time.perf_counter()
    for table in CDW_TABLES:
        for batch in source.batches(table, batch_size=batch_size):
            rows += batch.num_rows
            peak = max(peak, pool.bytes_allocated() - start_bytes)
    return rows, time.perf_counter() - began, peak


def _run(label: str, url: str, patients: int, seed: int, batch_size: int, tmp: Path) -> None:
    summary = generate(url, patients=patients, seed=seed)
    print(f"\n== {label}: {summary.url}")
    print(
        f"generate  {patients:,} patients, {summary.total_rows:,} rows in {summary.seconds:.1f} s: "
        f"{summary.patients_per_second:,.0f} patients/s, "
        f"{summary.total_rows / summary.seconds:,.0f} rows/s"
    )
    base_rows, base_s = _baseline(url, batch_size)
    base_rate = base_rows / base_s
    print(f"baseline  DB-API fetchmany, tuples only: {base_rate:,.0f} rows/s")
    with SqlSource(url) as source:
        rows, secs, peak = _stream(source, batch_size)
        assert rows == base_rows, (rows, base_rows)
        rate = rows / secs
        print(
            f"SqlSource {rows:,} rows in {secs:.1f} s: {rate:,.0f} rows/s "
            f"({rate / base_rate:.2f}x baseline), peak Arrow memory {peak / 2**20:.0f} MiB "
            f"at batch_size {batch_size:,}"
        )
        if label == "sqlite":
            pdir = tmp / "parquet"
            pdir.mkdir()
            for table in CDW_TABLES:
                with pq.ParquetWriter(pdir / f"{table}.parquet", source.schema(table)) as w:
                    for batch in source.batches(table, batch_size=batch_size):
                        w.write_batch(batch)
            prows, psecs, ppeak = _stream(ParquetSource(pdir), batch_size)
            prate = prows / psecs
            print(
                f"Parquet   {prows:,} rows in {psecs:.1f} s: {prate:,.0f} rows/s "
                f"({prate / base_rate:.2f}x baseline), peak Arrow memory {ppeak / 2**20:.0f} MiB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_cdw_") as tmp:
        path = Path(tmp) / "cdw.sqlite3"
        _run("sqlite", f"sqlite:///{path}", args.patients, args.seed, args.batch_size, Path(tmp))
        if args.no_postgres:
            return
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        db = "deid_cdw_bench"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}"'))
                conn.execute(text(f'CREATE DATABASE "{db}"'))
            url = make_url(PG_URL).set(database=db).render_as_string(hide_password=False)
            _run("postgresql", url, args.patients, args.seed, args.batch_size, Path(tmp))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
