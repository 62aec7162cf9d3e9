"""``deid cdw-generate``: fill a database with the seeded synthetic Gangwon CDW."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

DEFAULT_URL = "sqlite:///var/cdw.sqlite3"


def add_parsers(subparsers: Any) -> None:
    """Register ``cdw-generate`` on the ``deid`` command line."""
    p = subparsers.add_parser(
        "cdw-generate",
        help="(re)create and fill the synthetic CDW at a SQLAlchemy URL",
        description=(
            "Drop and recreate the CDW tables at URL and fill them with a seeded synthetic "
            "population of Gangwon hospital patients. Same seed, same data."
        ),
    )
    p.add_argument(
        "--url",
        default=os.environ.get("DEID_CDW_URL", DEFAULT_URL),
        help="SQLAlchemy URL (default: $DEID_CDW_URL or %(default)s)",
    )
    p.add_argument(
        "--patients", type=int, default=10_000, help="number of patients (default 10000)"
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--parquet", metavar="DIR", help="also export every table to DIR/<table>.parquet"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # The generator lives in the ``fixtures`` package (installed with the project):
    # imported here so that ``deid`` itself never depends on it.
    synthetic_cdw: Any = importlib.import_module("fixtures.synthetic_cdw")
    if args.patients < 1:
        print(
            f"deid cdw-generate: --patients must be positive, got {args.patients}", file=sys.stderr
        )
        return 2

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(
                f"\r  patients {done:,}/{total:,} ({100 * done / total:.0f}%)",
                end="",
                file=sys.stderr,
            )

    summary = synthetic_cdw.generate(
        args.url, patients=args.patients, seed=args.seed, progress=progress
    )
    if not args.quiet:
        print(file=sys.stderr)
    print(f"synthetic CDW written to {summary.url} (seed {summary.seed})")
    for table, rows in summary.counts.items():
        print(f"  {table:<22} {rows:>12,} rows")
    print(
        f"  {summary.total_rows:,} rows in {summary.seconds:.1f} s "
        f"({summary.patients_per_second:,.0f} patients/s)"
    )
    if args.parquet:
        files = synthetic_cdw.export_parquet(args.url, args.parquet)
        print(f"Parquet copy: {len(files)} tables in {args.parquet}")
    return 0
