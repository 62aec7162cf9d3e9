"""``deid anonymize`` and ``deid risk``: files in, files and a privacy report out."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from deid.anonymize import anonymize_table, measure_risk
from deid.errors import DataError, PrivacyTargetNotMet
from deid.policy import load_policy

_PARQUET = (".parquet", ".pq")


def read_input(path: Path, sep: str) -> pa.Table:
    """CSV (every column read as text, so codes keep leading zeros) or Parquet by extension."""
    if not path.is_file():
        raise DataError(f"input file {str(path)!r} does not exist")
    if path.suffix.lower() in _PARQUET:
        try:
            return pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"cannot read Parquet {str(path)!r}: {exc}") from None
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            names = next(csv.reader(f, delimiter=sep), [])
        return pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(delimiter=sep),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                null_values=[],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataError(f"cannot read CSV {str(path)!r} (separator {sep!r}): {exc}") from None


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_output(table: pa.Table, path: Path, sep: str) -> None:
    if path.suffix.lower() in _PARQUET:
        _atomic_write(path, lambda p: pq.write_table(table, p))
    else:

        def write_csv(p: Path) -> None:
            # plain values like the input; quotes only when a value holds the separator
            try:
                opts = pcsv.WriteOptions(delimiter=sep, quoting_style="none")
                pcsv.write_csv(table, p, write_options=opts)
            except pa.ArrowInvalid:
                opts = pcsv.WriteOptions(delimiter=sep, quoting_style="needed")
                pcsv.write_csv(table, p, write_options=opts)

        _atomic_write(path, write_csv)


def _write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _population(args: argparse.Namespace) -> pa.Table | None:
    if getattr(args, "population", None) is None:
        return None
    return read_input(Path(args.population), args.sep)


def _cmd_anonymize(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    table = read_input(Path(args.input), args.sep)
    try:
        out, report = anonymize_table(table, policy, population=_population(args))
    except PrivacyTargetNotMet as exc:
        if args.report:
            _write_json({"target_met": False, "error": str(exc), **exc.report}, Path(args.report))
        raise
    write_output(out, Path(args.output), args.sep)
    data = report.to_dict()
    data["target_met"] = True
    if args.report:
        _write_json(data, Path(args.report))
    print(report.summary())
    return 0


def _cmd_risk(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    table = read_input(Path(args.input), args.sep)
    report = measure_risk(table, policy, population=_population(args))
    if args.report:
        _write_json(report.to_dict(), Path(args.report))
    print(report.summary())
    if not report.to_dict().get("target_met", True):
        print(
            f"privacy target NOT met: {report['failing_records']} records in "
            f"{report['failing_classes']} classes fail it",
            file=sys.stderr,
        )
        return 1
    return 0


def add_parsers(subparsers: Any) -> None:
    """Register ``anonymize`` and ``risk``."""
    a = subparsers.add_parser(
        "anonymize",
        help="generalize and suppress a table to meet a policy's privacy target",
        description="Optimal generalization + suppression (ARX-grade) of a CSV or Parquet file.",
    )
    a.add_argument("--input", required=True, help="CSV or Parquet (by extension)")
    a.add_argument("--sep", default=",", help="CSV separator (default ',')")
    a.add_argument("--policy", required=True, help="policy YAML")
    a.add_argument(
        "--output", required=True, help="output CSV or Parquet (suppressed records left out)"
    )
    a.add_argument("--report", help="privacy report JSON")
    a.add_argument("--population", help="population table for journalist/marketer risk")
    a.set_defaults(func=_cmd_anonymize)
    r = subparsers.add_parser(
        "risk",
        help="measure k, l, t and re-identification risk of a table as it is",
        description="Measure only: no transformation.",
    )
    r.add_argument("--input", required=True, help="CSV or Parquet (by extension)")
    r.add_argument("--sep", default=",", help="CSV separator (default ',')")
    r.add_argument("--policy", required=True, help="policy YAML")
    r.add_argument("--report", help="write the report JSON here")
    r.add_argument("--population", help="population table for journalist/marketer risk")
    r.set_defaults(func=_cmd_risk)
