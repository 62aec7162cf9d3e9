"""Keyed hashing of short ids: ``deid.pseudonym.pseudonymize`` vs a plain ``hmac.digest`` loop.

    python -m bench.bench_pseudonym            # 10 million ids (full size)
    python -m bench.bench_pseudonym --n 1000000
    DEID_NATIVE=0 python -m bench.bench_pseudonym   # the polars-hash path instead of C

Prints values/s for the vectorized pseudonymizer (HMAC-SHA256, 128-bit truncation,
base32) and for a plain Python ``hmac.digest`` loop (measured on a sample of the same
ids, in the same run), their ratio, and checks that both give the same digests.
Single-threaded. Rates per CPU-second (process time) are printed beside wall-clock
rates because the machine is shared.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import os
import time

import numpy as np
import pyarrow as pa

from deid import _hmac_native
from deid.pseudonym import pseudonymize


def _ids(n: int) -> pa.Array:
    # Short hospital-style ids: 8-digit registration numbers as text.
    rng = np.random.default_rng(7)
    nums = rng.integers(10_000_000, 99_999_999, size=n)
    return pa.array(nums).cast(pa.string())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of ids")
    parser.add_argument("--baseline-n", type=int, default=1_000_000, help="ids for the hmac loop")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    key = os.urandom(32).hex().encode()  # a domain key as deid.keys makes them
    ids = _ids(args.n)
    backend = "native C (SHA-NI if present)" if _hmac_native.available() else "polars-hash"
    print(f"ids: {args.n:,} short ids, backend: {backend}, cores on machine: {os.cpu_count()}")

    # Baseline: a plain hmac.digest loop on a sample of the same ids, in this run.
    sample = ids.slice(0, min(args.baseline_n, args.n)).to_pylist()
    t, c = time.perf_counter(), time.process_time()
    base = [hmac.digest(key, v.encode(), "sha256") for v in sample]
    base_wall = len(sample) / (time.perf_counter() - t)
    base_cpu = len(sample) / (time.process_time() - c)
    print(
        f"hmac.digest loop   : {base_wall / 1e6:6.2f} M/s wall, {base_cpu / 1e6:6.2f} M/s per "
        f"CPU-second ({len(sample):,} ids)"
    )

    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        out = pseudonymize(ids, key)
        best_wall = min(best_wall, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    assert out is not None
    wall, cpu = args.n / best_wall, args.n / best_cpu
    print(
        f"deid pseudonymize  : {wall / 1e6:6.2f} M/s wall, {cpu / 1e6:6.2f} M/s per CPU-second "
        f"({args.n:,} ids, best of {args.repeat})"
    )
    print(
        f"ratio to hmac loop : {wall / base_wall:6.1f}x wall, {cpu / base_cpu:6.1f}x CPU "
        "(goal: >= 4 M values/s per core)"
    )

    # Same function: check a sample against the baseline digests.
    got = out.slice(0, 1000).to_pylist()
    want = [base64.b32encode(d[:16]).decode().rstrip("=").lower() for d in base[:1000]]
    assert got == want, "pseudonyms differ from standard HMAC-SHA256"
    print("check              : first 1,000 pseudonyms equal truncated hmac.digest (base32)")


if __name__ == "__main__":
    main()
