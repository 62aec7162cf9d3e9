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


def _occupation_policy(adult_dir: Path, **privacy: Any) -> Policy:
    cols: dict[str, Any] = {
        c: {"role": "quasi", "hierarchy": f"adult_hierarchy_{c}.csv"}
        for c in COLUMNS
        if c != "occupation"
    }
    cols["occupation"] = {"role": "sensitive", "hierarchy": "adult_hierarchy_occupation.csv"}
    return parse_policy({"columns": cols, "privacy": {"metric": "loss", **privacy}}, adult_dir)


def _classes(out: pa.Table) -> dict[tuple[Any, ...], list[str]]:
    qi = [c for c in COLUMNS if c != "occupation"]
    groups: dict[tuple[Any, ...], list[str]] = {}
    cols = [out[c].to_pylist() for c in qi]
    for key, s in zip(zip(*cols, strict=True), out["occupation"].to_pylist(), strict=True):
        groups.setdefault(key, []).append(s)
    return groups


def test_adult_l_diversity_checked_by_pycanon(adult_dir: Path, table: pa.Table) -> None:
    from pycanon import anonymity

    qi = [c for c in COLUMNS if c != "occupation"]
    policy = _occupation_policy(
        adult_dir, k=5, suppression_limit=0.04, l_diversity={"column": "occupation", "l": 3}
    )
    out, report = anonymize_table(table, policy)
    df = out.to_pandas()
    assert anonymity.k_anonymity(df, qi) >= 5
    assert anonymity.l_diversity(df, qi, ["occupation"]) >= 3
    assert report["l"] >= 3
    # ARX Example22: entropy l-diversity 5, 4% suppression
    policy = _occupation_policy(
        adult_dir,
        k=1,
        suppression_limit=0.04,
        l_diversity={"column": "occupation", "l": 5, "variant": "entropy"},
    )
    out, report = anonymize_table(table, policy)
    assert anonymity.entropy_l_diversity(out.to_pandas(), qi, ["occupation"]) >= 5 - 1e-9
    assert report["suppressed"] <= int(0.04 * table.num_rows)


def test_adult_hierarchical_t_closeness_checked_independently(
    adult_dir: Path, table: pa.Table
) -> None:
    import math
    from collections import Counter

    policy = _occupation_policy(
        adult_dir, k=5, t_closeness={"column": "occupation", "t": 0.2, "distance": "hierarchical"}
    )
    out, report = anonymize_table(table, policy)
    rows = [
        line.split(";")
        for line in (adult_dir / "adult_hierarchy_occupation.csv").read_text().splitlines()
        if line
    ]
    height = len(rows[0]) - 1
    overall = Counter(table["occupation"].to_pylist())
    n = table.num_rows

    def emd(values: list[str]) -> float:
        # Li et al.: sum over inner nodes of level/height * min(positive, negative extra)
        p = Counter(values)
        extra = {r[0]: p.get(r[0], 0) / len(values) - overall[r[0]] / n for r in rows}
        cost = 0.0
        for level in range(1, height + 1):
            groups: dict[str, list[float]] = {}
            for r in rows:
                groups.setdefault(r[level], []).append(0.0)
            nxt: dict[str, float] = {}
            child_extra: dict[str, list[float]] = {}
            seen: set[tuple[str, str]] = set()
            for r in rows:
                child, parent = r[level - 1], r[level]
                if (child, parent) in seen:
                    continue
                seen.add((child, parent))
                child_extra.setdefault(parent, []).append(extra[child])
            for parent, ex in child_extra.items():
                pos = sum(e for e in ex if e > 0)
                neg = -sum(e for e in ex if e < 0)
                cost += level / height * min(pos, neg)
                nxt[parent] = pos - neg
            extra = nxt
        return cost

    worst = max(emd(v) for v in _classes(out).values())
    assert worst <= 0.2 + 1e-9
    assert math.isclose(worst, report["t"], rel_tol=1e-9)
    assert report["k"] >= 5
