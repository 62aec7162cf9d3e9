"""Full release builds at scale: local executor at growing sizes, and Spark local[2].

A build = pseudonymize 2 ids (HMAC-SHA256), generalize 5 quasi-identifiers (age,
sex, region, visit month, ICD-10), k=5 search, suppress, write Parquet (+ CSV, as the
local sink does). Input: synthetic visits as Parquet (generated once, cached).

    python -m bench.bench_build                          # 1M, 10M, 50M local; 10M Spark
    python -m bench.bench_build --rows 200000 1000000 --spark-rows 1000000   # quick
    python -m bench.bench_build --no-spark --keep-data

Each build runs in a child process; its peak memory is that process's maximum RSS
(``wait4``). For Spark, that is the Python driver only (the JVM and the Python
workers are separate processes): the ratio to local is about time.
Prints rows/s, peak memory, and ratios against the smallest local run (the
baseline measured in the same run): time should grow linearly with rows (time
ratio ~ rows ratio) and peak memory should stay flat.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
ROW_GROUP = 131_072  # rows per Parquet row group (the scanner reads whole row groups ahead)

SPEC = """\
release:
  anchor: visits
  link_column: person_id
  person_domain: person
tables:
  visits:
    table: visits
    policy:
      columns:
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        visit_id: {role: identifier, transform: pseudonymize, domain: visit}
        age: {role: quasi, hierarchy: {type: interval, widths: [5, 10, 20]}}
        sex: {role: quasi, hierarchy: {type: flat}}
        region: {role: quasi, hierarchy: {type: kr_region, from: sigungu}}
        visit_month: {role: quasi, hierarchy: {type: date, levels: [day, month, quarter, year]}}
        icd10: {role: quasi, hierarchy: {type: icd10, levels: [category, chapter]}}
        lab_value: {role: insensitive}
      privacy: {k: 5, suppression_limit: 0.05, metric: loss}
"""

SIGUNGU = [
    "춘천시", "원주시", "강릉시", "동해시", "태백시", "속초시", "삼척시", "홍천군", "횡성군",
    "영월군", "평창군", "정선군", "철원군", "화천군", "양구군", "인제군", "고성군", "양양군",
]  # fmt: skip
ICD10 = [
    "E11.9", "E11.6", "I10", "I25.1", "J45.9", "K21.0", "M54.5", "N18.3", "F32.9", "C34.1",
    "E78.5", "I48.9", "J44.1", "K29.7", "M17.1", "G47.3", "L40.0", "H25.9", "D50.9", "B18.1",
]  # fmt: skip


def generate(path: Path, rows: int, *, seed: int = 1, chunk: int = 1_000_000) -> None:
    """Synthetic visits, one per person (the anchor: k counts records, so the build
    refuses an anchor with several rows per person), in shuffled person order;
    Gangwon regions, 12 visit months, 20 diagnoses."""
    rng = np.random.default_rng(seed)
    regions = pa.array([f"강원특별자치도 {s}" for s in SIGUNGU])
    codes = pa.array(ICD10)
    months = np.array([np.datetime64(f"2024-{m:02d}-01") for m in range(1, 13)])
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        visit_id = np.arange(done, done + n, dtype=np.int64) + 10_000_000
        person_id = rng.permutation(n).astype(np.int64) + done + 1_000_000
        age = np.clip(rng.normal(55, 18, n), 18, 89).astype(np.int64)
        batch = pa.record_batch(
            {
                "person_id": person_id,
                "visit_id": visit_id,
                "age": age,
                "sex": pa.array(np.where(rng.random(n) < 0.5, "M", "F")),
                "region": regions.take(pa.array(rng.integers(0, len(SIGUNGU), n))),
                "visit_month": pa.array(months[rng.integers(0, 12, n)], pa.date32()),
                "icd10": codes.take(pa.array(rng.zipf(1.6, n) % len(ICD10))),
                "lab_value": np.round(rng.normal(6.5, 1.2, n), 1),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(str(tmp), batch.schema)
        writer.write_batch(batch, row_group_size=ROW_GROUP)
        done += n
    assert writer is not None
    writer.close()
    tmp.replace(path)


def _dataset(data_dir: Path, rows: int) -> Path:
    folder = data_dir / f"visits-v3-{rows}"  # v3: one visit per person, 128 Ki-row groups
    path = folder / "visits.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        generate(path, rows)
        print(f"  generated {rows:,} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return folder


# --- child: one build --------------------------------------------------------------


def _child(args: argparse.Namespace) -> None:
    import yaml

    from deid.keys import KeyRef, KeyStore, generate_master_key_file
    from deid.plan import compile_plan

    work = Path(args.work)
    keys = work / "keys"
    master_file = keys / "master.key"
    master = generate_master_key_file(master_file, overwrite=True)
    store = KeyStore(keys, master)
    key_id = store.create_release_key(release_id="bench", recipient_org_id="org")
    plan = compile_plan(
        yaml.safe_load(SPEC),
        release_id="bench",
        recipient_org_id="org",
        key_id=key_id,
        source=args.source,
        created_at="2026-01-01T00:00:00+00:00",
    )
    out = work / "releases"
    t0 = time.perf_counter()
    if args.engine == "local":
        from deid.engines.local import build_release_local
        from deid.sources.files import ParquetSource

        manifest = build_release_local(
            plan,
            source=ParquetSource(args.source),
            keystore=store,
            releases_dir=out,
            batch_size=args.batch_size,
        )
    else:
        from deid.engines.spark import build_release_spark, spark_session

        spark = spark_session(args.master)
        t0 = time.perf_counter()  # the JVM start is not the build
        manifest = build_release_spark(
            plan,
            source=args.source,
            key_ref=KeyRef(str(keys), key_id, str(master_file)),
            releases_dir=out,
            batch_size=args.batch_size,
            spark=spark,
        )
    seconds = time.perf_counter() - t0
    report = manifest.privacy_report
    print(
        json.dumps(
            {
                "seconds": seconds,
                "records_in": report["records_in"],
                "records_released": report["records_released"],
                "levels": report["levels"],
                "bytes_out": sum(f.size for f in manifest.files),
            }
        )
    )


def _run_child(engine: str, source: Path, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-build-", dir=args.data_dir))
    cmd = [
        sys.executable,
        "-m",
        "bench.bench_build",
        "--child",
        "--engine",
        engine,
        "--source",
        str(source),
        "--work",
        str(work),
        "--batch-size",
        str(args.batch_size),
        "--master",
        args.master,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} build of {source} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    parser.add_argument("--spark-rows", type=int, default=10_000_000)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "bench"))
    parser.add_argument("--keep-data", action="store_true", help="keep the generated Parquet")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    args.data_dir = str(data_dir)
    sizes = sorted(set(args.rows))
    print(f"release build bench: batch {args.batch_size:,} rows, {os.cpu_count()} cores")
    print(f"{'engine':<14}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak MB':>10}"
          f"{'time x':>8}{'rows x':>8}{'mem x':>7}")  # fmt: skip
    results: dict[tuple[str, int], dict[str, Any]] = {}
    base: dict[str, Any] | None = None
    base_rows = sizes[0]
    used: list[Path] = []
    for rows in sizes:
        src = _dataset(data_dir, rows)
        used.append(src)
        r = _run_child("local", src / "visits.parquet", args)
        results[("local", rows)] = r
        base = base or r
        print(
            f"{'local':<14}{rows:>12,}{r['seconds']:>10.1f}{rows / r['seconds']:>12,.0f}"
            f"{r['peak_mb']:>10.0f}{r['seconds'] / base['seconds']:>8.1f}"
            f"{rows / base_rows:>8.1f}{r['peak_mb'] / base['peak_mb']:>7.2f}",
            flush=True,
        )
    if not args.no_spark:
        rows = args.spark_rows
        src = _dataset(data_dir, rows)
        used.append(src)
        if ("local", rows) not in results:
            results[("local", rows)] = _run_child("local", src / "visits.parquet", args)
        local = results[("local", rows)]
        r = _run_child("spark", src / "visits.parquet", args)
        same = r["records_released"] == local["records_released"] and r["levels"] == local["levels"]
        print(
            f"{'spark ' + args.master:<14}{rows:>12,}{r['seconds']:>10.1f}"
            f"{rows / r['seconds']:>12,.0f}{r['peak_mb']:>10.0f}"
            f"   spark/local time {r['seconds'] / local['seconds']:.2f}"
            f" (local {local['seconds']:.1f} s); same levels and records: {same}",
            flush=True,
        )
    if not args.keep_data:
        for src in used:
            shutil.rmtree(src, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
