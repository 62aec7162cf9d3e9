"""Keyed hashing of short ids: ``deid.pseudonym.pseudonymize`` vs a plain ``hmac.digest`` loop.

    python -m bench.bench_pseudonym            # 10 million ids (full size)
    python -m bench.bench_pseudonym --n 1000000

Prints values/s per core for the vectorized pseudonymizer (HMAC-SHA256, 128-bit
truncation, base32) and for a plain Python ``hmac.digest`` loop (measured on a
sample of the same ids, in the same run), their ratio, and checks that both give
the same digests. Single-threaded: polars-hash hashes one column on one core.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import os
import time

import numpy as np
import pyarrow as pa

from deid.pseudonym import pseudonymize


def _ids(n: int) -> pa.Array:
    # Short hospital-style ids: 8-digit registration numbers as text.
    rng = np.random.default_rng(7)
    nums = rng.integers(10_000_000, 99_999_999, size=n)
    return pa.array(nums).cast(pa.string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of ids")
    parser.add_argument("--baseline-n", type=int, default=1_000_000, help="ids for the hmac loop")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    key = os.urandom(32).hex().encode()  # a domain key as deid.keys makes them
    ids = _ids(args.n)
    print(
        f"ids: {args.n:,} short ids ({ids.nbytes / 1e6:.0f} MB), cores on machine: {os.cpu_count()}"
    )

    # Baseline: plain hmac.digest loop on a sample (same run).
    sample = ids.slice(0, min(args.baseline_n, args.n)).to_pylist()
    t = time.perf_counter()
    base = [hmac.digest(key, v.encode(), "sha256") for v in sample]
    base_s = time.perf_counter() - t
    base_rate = len(sample) / base_s
    print(
        f"hmac.digest loop   : {base_rate / 1e6:6.2f} M values/s ({len(sample):,} in {base_s:.2f} s)"
    )

    best = float("inf")
    out = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        out = pseudonymize(ids, key)
        best = min(best, time.perf_counter() - t)
    assert out is not None
    rate = args.n / best
    print(
        f"deid pseudonymize  : {rate / 1e6:6.2f} M values/s ({args.n:,} in {best:.2f} s, best of {args.repeat})"
    )
    print(f"ratio to hmac loop : {rate / base_rate:6.1f}x   (goal: >= 4 M values/s per core)")

    # Same function: check a sample against the baseline digests.
    got = out.slice(0, 1000).to_pylist()
    want = [base64.b32encode(d[:16]).decode().rstrip("=").lower() for d in base[:1000]]
    assert got == want, "pseudonyms differ from standard HMAC-SHA256"
    print("check              : first 1,000 pseudonyms equal truncated hmac.digest (base32)")


if __name__ == "__main__":
    main()
