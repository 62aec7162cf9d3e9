"""Genome and lifelog release transforms against plain baselines, in the same run.

    python -m bench.bench_kinds                       # 1,000 samples x 10,000 variants; 500 devices x 7 days
    python -m bench.bench_kinds --samples 300 --variants 3000 --devices 100 --days 3

Genome: variants/s of the release transform (``deid.genome.release.build_genome``:
sample subset and rename, header rebuild, carrier counting, rare-variant suppression,
AC/AN/AF recomputed, bgzip, read-back measurement, Crypt4GH encryption) against a
plain pysam read + write of the same file without any transform (the baseline the
issue names), and the share of the time each step takes.

Lifelog: minute rows/s of the lifelog transform (linkage, pseudonyms, date shift,
windowed aggregation, per chunk of devices) against a plain polars group-by of the
same minutes into hour windows (no linkage, no shift, no per-device chunking).

Both print wall-clock and CPU (process) time: the machine is shared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pysam

from deid.dates import date_shift_days
from deid.genome.c4gh import generate_keypair
from deid.genome.release import build_genome
from deid.genome.spec import parse_genome_spec
from deid.lifelog.release import local_batches, minutes_path, released_devices, source_devices
from deid.lifelog.spec import parse_lifelog_spec
from deid.transform import PersonSet
from fixtures.genome import generate_genome
from fixtures.lifelog import generate_lifelog

KEY = b"b" * 32


def _timed(fn):  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def bench_genome(root: Path, samples: int, variants: int, persons: list[int]) -> None:
    summary = generate_genome(root / "genome", persons, seed=1, samples=samples, variants=variants)
    public = generate_keypair(root / "r.sec", root / "r.pub")
    vcf = summary.vcf
    n = summary.variants

    def plain() -> int:
        with (
            pysam.VariantFile(str(vcf)) as src,
            pysam.VariantFile(str(root / "plain.vcf.gz"), "wz", header=src.header) as out,
        ):
            count = 0
            for rec in src:
                out.write(rec)
                count += 1
        return count

    _, base_wall, base_cpu = _timed(plain)
    keep = PersonSet(pa.array(persons[: int(len(persons) * 0.9)], pa.int64()))
    spec = parse_genome_spec({"source": str(root / "genome"), "recipient_public_key": public})
    staging = root / "staging"
    staging.mkdir()
    (_, report), wall, cpu = _timed(
        lambda: build_genome(spec, staging=staging, contains=keep.contains, person_key=KEY)
    )
    print(
        f"genome: {samples:,} samples x {n:,} variants "
        f"({report['variants_released']:,} released, {report['variants_suppressed_rare']:,} "
        f"rare suppressed, {report['samples_released']:,} samples released)"
    )
    print(
        f"  plain pysam read+write:  {n / base_wall:10,.0f} variants/s  ({n / base_cpu:,.0f} per CPU-s)"
    )
    print(f"  release transform:       {n / wall:10,.0f} variants/s  ({n / cpu:,.0f} per CPU-s)")
    print(f"  ratio transform/plain:   {base_wall / wall:.2f}x wall, {base_cpu / cpu:.2f}x CPU")


def bench_lifelog(root: Path, devices: int, days: int, persons: list[int]) -> None:
    summary = generate_lifelog(root / "lifelog", persons, seed=1, devices=devices, days=days)
    rows = summary.rows

    def plain() -> int:
        df = pl.read_parquet(summary.path)
        out = df.group_by("device_id", pl.col("ts").dt.truncate("60m")).agg(
            pl.col("steps").sum(),
            pl.col("heart_rate").mean().alias("hr_mean"),
            pl.col("heart_rate").min().alias("hr_min"),
            pl.col("heart_rate").max().alias("hr_max"),
        )
        return out.height

    _, base_wall, base_cpu = _timed(plain)
    spec = parse_lifelog_spec({"source": str(root / "lifelog")})
    keep = PersonSet(pa.array(persons, pa.int64()))

    def transform() -> int:
        table = released_devices(
            spec,
            device_ids=source_devices(minutes_path(spec)),
            contains=keep.contains,
            person_key=KEY,
            shift=lambda p: date_shift_days(p, KEY, max_days=30),
        )
        return sum(t.num_rows for t in local_batches(spec, table))

    windows, wall, cpu = _timed(transform)
    print(f"lifelog: {devices:,} devices x {days} days = {rows:,} minutes -> {windows:,} windows")
    print(
        f"  plain polars group-by:   {rows / base_wall:12,.0f} rows/s  ({rows / base_cpu:,.0f} per CPU-s)"
    )
    print(f"  release transform:       {rows / wall:12,.0f} rows/s  ({rows / cpu:,.0f} per CPU-s)")
    print(f"  ratio transform/plain:   {base_wall / wall:.2f}x wall, {base_cpu / cpu:.2f}x CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    persons = list(range(1, 20_001))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_genome(root, args.samples, args.variants, persons)
        bench_lifelog(root, args.devices, args.days, persons)


if __name__ == "__main__":
    main()
