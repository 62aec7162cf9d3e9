"""Adult with ARX's hierarchies: the loss, levels, classes and suppression ARX reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest

from deid.anonymize import anonymize_table, count_batch, generalize_batch, search
from deid.policy import Policy, parse_policy

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


def adult_table(adult_dir: Path) -> pa.Table:
    return pcsv.read_csv(
        adult_dir / "adult.csv",
        parse_options=pcsv.ParseOptions(delimiter=";"),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS}),
    )


def adult_policy(adult_dir: Path, **privacy: Any) -> Policy:
    cols: dict[str, Any] = {
        c: {"role": "quasi", "hierarchy": f"adult_hierarchy_{c}.csv"} for c in COLUMNS
    }
    return parse_policy({"columns": cols, "privacy": {"metric": "loss", **privacy}}, adult_dir)


@pytest.fixture(scope="module")
def table(adult_dir: Path) -> pa.Table:
    return adult_table(adult_dir)


# REFERENCE.md: ARX, k=5, metric loss
@pytest.mark.parametrize(
    ("limit", "levels", "suppressed", "classes", "loss"),
    [
        (0.0, [0, 4, 1, 1, 3, 2, 2, 1, 0], 0, 24, 0.5732),
        (0.05, [0, 3, 0, 0, 2, 1, 1, 2, 0], 1346, 397, 0.2419),
    ],
)
def test_matches_arx(
    adult_dir: Path,
    table: pa.Table,
    limit: float,
    levels: list[int],
    suppressed: int,
    classes: int,
    loss: float,
) -> None:
    policy = adult_policy(adult_dir, k=5, suppression_limit=limit)
    out, report = anonymize_table(table, policy)
    r = report.to_dict()
    assert round(r["info_loss"]["loss"], 4) == loss
    assert r["suppressed"] == suppressed
    assert r["classes"] == classes
    assert r["records_out"] == table.num_rows - suppressed == out.num_rows
    assert [r["levels"][c] for c in COLUMNS] == levels  # ARX's node (no tie on Adult)
    # independent check 1: a plain group-by on the released rows
    sizes = out.group_by(COLUMNS).aggregate([([], "count_all")])["count_all"].to_pylist()
    assert min(sizes) >= 5
    assert len(sizes) == classes
    assert r["k"] == min(sizes)
    # independent check 2: pycanon
    from pycanon import anonymity

    assert anonymity.k_anonymity(out.to_pandas(), COLUMNS) >= 5
    # suppressed records are whole classes of the generalized input smaller than k
    full = pa.Table.from_batches(
        [generalize_batch(b, policy, _no_suppression(policy, r)) for b in table.to_batches()]
    )
    g = full.group_by(COLUMNS).aggregate([([], "count_all")])
    small = pc.less(g["count_all"], 5)
    assert (pc.sum(g.filter(small)["count_all"]).as_py() or 0) == suppressed


def _no_suppression(policy: Policy, report: dict[str, Any]) -> Any:
    from deid.anonymize import Anonymization
    from deid.report import PrivacyReport

    return Anonymization(
        policy.quasi_identifiers, report["levels"], (), PrivacyReport({}), policy.digest()
    )


def test_search_on_frequency_table_equals_search_on_batches(
    adult_dir: Path, table: pa.Table
) -> None:
    policy = adult_policy(adult_dir, k=5, suppression_limit=0.05)
    parts = [count_batch(b, policy) for b in table.to_batches(max_chunksize=7000)]
    merged = parts[0].merge(parts[1:])
    assert merged.total == table.num_rows
    a = search(merged, policy)
    b = search(count_batch(table, policy), policy)
    assert a.levels == b.levels
    assert a.report["info_loss"] == b.report["info_loss"]
