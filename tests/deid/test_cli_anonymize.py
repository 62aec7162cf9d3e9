"""``deid anonymize`` and ``deid risk`` end to end on files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from deid.cli import main

from .test_adult import COLUMNS


def _policy_file(tmp_path: Path, adult_dir: Path, k: int, limit: float) -> Path:
    lines = ["columns:"]
    for c in COLUMNS:
        lines.append(f"  {c}: {{role: quasi, hierarchy: {adult_dir / f'adult_hierarchy_{c}.csv'}}}")
    lines.append(f"privacy: {{k: {k}, suppression_limit: {limit}, metric: loss}}")
    p = tmp_path / "policy.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_anonymize_csv_then_risk(
    tmp_path: Path, adult_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy_file(tmp_path, adult_dir, 5, 0.05)
    out, rep = tmp_path / "out.csv", tmp_path / "report.json"
    code = main(
        [
            "anonymize",
            "--input",
            str(adult_dir / "adult.csv"),
            "--sep",
            ";",
            "--policy",
            str(policy),
            "--output",
            str(out),
            "--report",
            str(rep),
        ]
    )
    assert code == 0
    report = json.loads(rep.read_text(encoding="utf-8"))
    assert round(report["info_loss"]["loss"], 4) == 0.2419
    assert report["suppressed"] == 1346
    t = pcsv.read_csv(out, parse_options=pcsv.ParseOptions(delimiter=";"))
    assert t.num_rows == 30162 - 1346
    assert "Equivalence classes: 397" in capsys.readouterr().out
    # the released file measured as it is: 5-anonymous
    assert (
        main(
            [
                "risk",
                "--input",
                str(out),
                "--sep",
                ";",
                "--policy",
                str(policy),
                "--report",
                str(tmp_path / "r2.json"),
            ]
        )
        == 0
    )
    r2 = json.loads((tmp_path / "r2.json").read_text(encoding="utf-8"))
    assert r2["k"] >= 5
    assert r2["classes"] == 397


def test_parquet_and_failure_writes_report(tmp_path: Path, adult_dir: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"sex": ["Male", "Female", "Male"], **{c: ["x"] * 3 for c in []}}), src)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        f"columns:\n  sex: {{role: quasi, hierarchy: {adult_dir / 'adult_hierarchy_sex.csv'}}}\nprivacy: {{k: 5}}\n",
        encoding="utf-8",
    )
    rep = tmp_path / "rep.json"
    code = main(
        [
            "anonymize",
            "--input",
            str(src),
            "--policy",
            str(policy),
            "--output",
            str(tmp_path / "o.parquet"),
            "--report",
            str(rep),
        ]
    )
    assert code == 2
    assert not (tmp_path / "o.parquet").exists()
    report = json.loads(rep.read_text(encoding="utf-8"))
    assert report["target_met"] is False
    assert report["best_nodes"]
    # risk on the raw input: target not met -> exit 1
    assert main(["risk", "--input", str(src), "--policy", str(policy)]) == 1


def test_bad_policy_is_reported_with_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n", encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text("columns:\n  a: {role: quasi}\n", encoding="utf-8")
    assert main(["risk", "--input", str(src), "--policy", str(policy)]) == 2
    assert "columns.a.hierarchy" in capsys.readouterr().err


def test_parquet_in_and_out(tmp_path: Path, adult_dir: Path) -> None:
    src = tmp_path / "in.parquet"
    t = pcsv.read_csv(
        adult_dir / "adult.csv",
        parse_options=pcsv.ParseOptions(delimiter=";"),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS}),
    )
    pq.write_table(t.slice(0, 5000), src)
    policy = _policy_file(tmp_path, adult_dir, 3, 0.02)
    out = tmp_path / "out.parquet"
    assert (
        main(["anonymize", "--input", str(src), "--policy", str(policy), "--output", str(out)]) == 0
    )
    released = pq.read_table(out)
    assert released.schema.names == COLUMNS
    sizes = released.group_by(COLUMNS).aggregate([([], "count_all")])["count_all"].to_pylist()
    assert min(sizes) >= 3
    assert released.num_rows >= 5000 - int(0.02 * 5000)
