"""Engine benchmark: Adult optimal search vs ARX/anjana, and 10M-row generalization.

Prints, measured in the same run on this machine:

1. Adult (9 QIs, ARX hierarchies, k=5, metric loss) at 0% and 5% suppression:
   search time and search + transform time (median of --repeat runs after a
   warm-up, CSV loading excluded), the loss, nodes checked; ARX's published
   search times (REFERENCE.md) and anjana on the same configuration (its
   k_anonymity), with the ratio.
2. N synthetic rows (4 QIs, 1 sensitive): count pass, search, and the
   generalization + suppression pass in rows/s per core (CPU time of this
   single process), and peak memory.

Usage: python -m bench.bench_engine [--rows 10000000] [--repeat 3] [--skip-anjana]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from deid.anonymize import count_batch, generalize_batch, search
from deid.policy import Policy, parse_policy

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT.parent / "shared" / "data" / "adult"
COLUMNS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
    "salary-class",
]
ARX_SECONDS = {0.0: 0.07, 0.05: 1.1}  # REFERENCE.md: ARX search time on a 2-core machine


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median wall seconds, median CPU seconds, last result) after one warm-up."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def adult_policy(limit: float) -> Policy:
    cols: dict[str, Any] = {
        c: {"role": "quasi", "hierarchy": f"adult_hierarchy_{c}.csv"} for c in COLUMNS
    }
    return parse_policy(
        {"columns": cols, "privacy": {"k": 5, "suppression_limit": limit, "metric": "loss"}}, ADULT
    )


def bench_adult(repeat: int, skip_anjana: bool) -> None:
    if not (ADULT / "adult.csv").is_file():
        print(f"adult: skipped ({ADULT} not found)")
        return
    table = pcsv.read_csv(
        ADULT / "adult.csv",
        parse_options=pcsv.ParseOptions(delimiter=";"),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS}),
    )
    print(
        f"== Adult: {table.num_rows} records, 9 QIs, k=5, metric loss (median of {repeat}, after warm-up)"
    )
    print(
        f"{'supp':>5} {'loss':>7} {'checked':>8} {'search s':>9} {'cpu s':>7} {'ARX s':>6} "
        f"{'ARX/wall':>8} {'ARX/cpu':>8} {'+count+transform s':>19} {'anjana s':>9} {'anjana/ours':>11}"
    )
    for limit in (0.0, 0.05):
        policy = adult_policy(limit)
        freq = count_batch(table, policy)
        s_wall, s_cpu, anon = _timed(lambda p=policy, f=freq: search(f, p), repeat)

        def full(p: Policy = policy) -> pa.Table:
            a = search(count_batch(table, p), p)
            return pa.Table.from_batches([generalize_batch(b, p, a) for b in table.to_batches()])

        f_wall, _, out = _timed(full, repeat)
        assert (
            min(out.group_by(COLUMNS).aggregate([([], "count_all")])["count_all"].to_pylist()) >= 5
        )
        an_wall = float("nan")
        if not skip_anjana:
            an_wall = _anjana(table, limit, max(1, min(repeat, 2)))
        rep = anon.report
        arx = ARX_SECONDS[limit]
        print(
            f"{100 * limit:4.0f}% {rep['info_loss']['loss']:7.4f} {rep['search']['checked']:8d} "
            f"{s_wall:9.4f} {s_cpu:7.4f} {arx:6.2f} {arx / s_wall:7.1f}x {arx / s_cpu:7.1f}x {f_wall:19.4f} "
            f"{an_wall:9.3f} {an_wall / f_wall:10.1f}x"
        )


def _anjana(table: pa.Table, limit: float, repeat: int) -> float:
    try:
        import pandas as pd
        from anjana.anonymity import k_anonymity
    except ImportError:
        return float("nan")
    df = table.to_pandas()
    hierarchies = {
        c: dict(pd.read_csv(ADULT / f"adult_hierarchy_{c}.csv", sep=";", header=None, dtype=str))
        for c in COLUMNS
    }

    def run() -> Any:
        with contextlib.redirect_stdout(io.StringIO()):  # anjana prints
            return k_anonymity(df, [], COLUMNS, 5, limit * 100, hierarchies)

    wall, _, _ = _timed(run, repeat)
    return wall


def synthetic(rows: int, seed: int = 20261129) -> pa.Table:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(48, 18, rows), 0, 99).astype(np.int64)
    sex = np.where(rng.random(rows) < 0.52, "F", "M")
    zip_pool = np.array([f"{z:05d}" for z in range(24000, 26500, 25)])  # 100 postcodes
    zips = zip_pool[np.minimum(rng.zipf(1.3, rows) - 1, len(zip_pool) - 1)]
    start = np.datetime64("2020-01-01")
    days = (start + rng.integers(0, 3 * 365, rows)).astype("datetime64[D]")
    dx_pool = np.array([f"{c}{n:02d}" for c in "EIJKN" for n in range(10)])
    dx = dx_pool[rng.integers(0, len(dx_pool), rows)]
    return pa.table(
        {
            "age": pa.array(age),
            "sex": pa.array(sex),
            "zip": pa.array(zips),
            "admitted": pa.array(days),
            "dx": pa.array(dx),
        }
    )


SYNTH_POLICY = {
    "columns": {
        "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [5, 10, 20]}},
        "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
        "zip": {"role": "quasi", "hierarchy": {"type": "prefix", "keep": [4, 3, 2]}},
        "admitted": {
            "role": "quasi",
            "hierarchy": {"type": "date", "levels": ["day", "month", "quarter", "year"]},
        },
        "dx": {"role": "sensitive"},
    },
    "privacy": {"k": 5, "suppression_limit": 0.02, "metric": "loss"},
}


def bench_synthetic(rows: int, batch: int) -> None:
    print(
        f"== Synthetic: {rows:,} rows, 4 QIs (age, sex, zip, date) + 1 sensitive, k=5, 2% suppression"
    )
    table = synthetic(rows)
    pool = pa.default_memory_pool()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    policy = parse_policy(SYNTH_POLICY, Path("."))
    batches = table.to_batches(max_chunksize=batch)
    arrow0 = pool.bytes_allocated()
    tracemalloc.start()

    c0, w0 = time.process_time(), time.perf_counter()
    freq = count_batch(batches[0], policy).merge([count_batch(b, policy) for b in batches[1:]])
    count_cpu, count_wall = time.process_time() - c0, time.perf_counter() - w0

    c0, w0 = time.process_time(), time.perf_counter()
    anon = search(freq, policy)
    search_cpu, search_wall = time.process_time() - c0, time.perf_counter() - w0

    c0, w0 = time.process_time(), time.perf_counter()
    out_rows = 0
    for b in batches:
        out_rows += generalize_batch(b, policy, anon).num_rows
    gen_cpu, gen_wall = time.process_time() - c0, time.perf_counter() - w0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # baseline in the same run: a plain multi-column group-by of the raw QIs (pyarrow)
    c0 = time.process_time()
    table.select(["age", "sex", "zip", "admitted"]).group_by(
        ["age", "sex", "zip", "admitted"], use_threads=False
    ).aggregate([([], "count_all")])
    base_cpu = time.process_time() - c0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rep = anon.report
    print(f"   distinct QI+sensitive combinations: {freq.distinct:,}; levels {rep['levels']}")
    print(
        f"   suppressed {rep['suppressed']:,} ({100 * rep['suppressed_share']:.2f}%), k reached {rep['k']}, "
        f"loss {rep['info_loss']['loss']:.4f}, {rep['search']['checked']} of {rep['search']['lattice_size']} nodes"
    )
    print(
        f"   count pass      : {rows / count_cpu / 1e6:6.2f} M rows/s per core ({count_wall:.2f} s wall)"
    )
    print(
        f"   search          : {search_wall:6.2f} s wall, {search_cpu:.2f} s CPU (on the frequency table)"
    )
    print(
        f"   generalize+suppress: {rows / gen_cpu / 1e6:6.2f} M rows/s per core ({gen_wall:.2f} s wall, "
        f"{out_rows:,} rows out)  goal >= 2 M"
    )
    print(
        f"   baseline: pyarrow 4-column group-by of the raw rows {rows / base_cpu / 1e6:6.2f} M rows/s per core"
    )
    print(
        f"   peak memory of the passes: numpy/Python {traced_peak / 2**20:.0f} MiB (tracemalloc), "
        f"Arrow pool peak {pool.max_memory() / 2**20:.0f} MiB of which {arrow0 / 2**20:.0f} MiB is the input"
    )
    print(
        f"   peak memory: process RSS {rss1 / 1024:.0f} MiB (input table {table.nbytes / 2**20:.0f} MiB, "
        f"RSS before the passes {rss0 / 1024:.0f} MiB), Arrow pool peak {pool.max_memory() / 2**20:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-anjana", action="store_true")
    parser.add_argument("--only", choices=["adult", "synthetic"])
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    print(
        f"python {sys.version.split()[0]}, pyarrow {pa.__version__}, numpy {np.__version__}, cores {os.cpu_count()}"
    )
    if args.only in (None, "adult"):
        bench_adult(args.repeat, args.skip_anjana)
    if args.only in (None, "synthetic"):
        bench_synthetic(args.rows, args.batch)


if __name__ == "__main__":
    main()
