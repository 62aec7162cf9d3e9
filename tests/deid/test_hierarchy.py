"""Hierarchies: ARX CSV, built-in builders, vectorized generalize, materialization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from deid.errors import DataError, PolicyError
from deid.hierarchy import BUILDERS, build_hierarchy


def test_arx_csv_generalize_and_leaf_counts(adult_dir: Path) -> None:
    h = build_hierarchy("adult_hierarchy_age.csv", field="h", base_dir=adult_dir)
    assert h.height == 5
    vals = pa.array(["39", "50", "17", None])
    assert h.generalize(vals, 0).to_pylist() == ["39", "50", "17", None]
    assert h.generalize(vals, 1).to_pylist() == [
        "35-39",
        "45-49",
        "15-19",
        None,
    ]  # as in ARX's file
    assert h.generalize(vals, 4).to_pylist() == ["*"] * 4
    # ints are accepted and give the same strings
    assert (
        h.generalize(pa.array([39, 50]), 2).to_pylist()
        == h.generalize(pa.array(["39", "50"]), 2).to_pylist()
    )
    mat = h.materialize(["39", "50"])
    assert mat.total_leaves == 100  # all rows of the file, not only the values seen
    code = mat.codes[1][mat.leaves.index("39")]
    assert mat.leaf_count[1][code] == 5
    assert mat.loss_cost(1)[code] == pytest.approx(4 / 99)
    with pytest.raises(DataError, match="not in the hierarchy"):
        h.generalize(pa.array(["39", "200"]), 1)


def test_interval_builder() -> None:
    h = build_hierarchy({"type": "interval", "widths": [5, 10]}, field="h", base_dir=Path("."))
    assert h.height == 4
    assert h.generalize(pa.array([0, 4, 5, 12, None]), 1).to_pylist() == [
        "0-4",
        "0-4",
        "5-9",
        "10-14",
        None,
    ]
    assert h.generalize(pa.array([0, 4, 5, 12]), 2).to_pylist() == ["0-9", "0-9", "0-9", "10-19"]
    f = build_hierarchy(
        {"type": "interval", "widths": [0.5], "integer": False}, field="h", base_dir=Path(".")
    )
    assert f.generalize(pa.array([1.2, 1.7]), 1).to_pylist() == ["[1, 1.5)", "[1.5, 2)"]
    with pytest.raises(DataError):
        h.generalize(pa.array(["abc"]), 1)


def test_date_builder_truncates() -> None:
    h = build_hierarchy(
        {"type": "date", "levels": ["day", "month", "quarter", "year"]},
        field="h",
        base_dir=Path("."),
    )
    v = pa.array(["2021-05-17", "2021-11-02", None])
    assert h.generalize(v, 1).to_pylist() == ["2021-05", "2021-11", None]
    assert h.generalize(v, 2).to_pylist() == ["2021-Q2", "2021-Q4", None]
    assert h.generalize(v, 3).to_pylist() == ["2021", "2021", None]
    assert h.generalize(v, 4).to_pylist() == ["*", "*", "*"]
    import datetime as dt

    assert h.generalize(pa.array([dt.date(2020, 2, 29)]), 1).to_pylist() == ["2020-02"]
    with pytest.raises(DataError):
        h.generalize(pa.array(["2021-02-30"]), 1)


def test_prefix_and_icd10() -> None:
    zipcode = build_hierarchy({"type": "prefix", "keep": [4, 2]}, field="h", base_dir=Path("."))
    assert zipcode.generalize(pa.array(["24341"]), 1).to_pylist() == ["2434*"]
    assert zipcode.generalize(pa.array(["24341"]), 2).to_pylist() == ["24***"]
    icd = build_hierarchy(
        {"type": "icd10", "levels": ["category", "block", "chapter"]}, field="h", base_dir=Path(".")
    )
    v = pa.array(["E11.9", "I10", "e11.2"])
    assert icd.generalize(v, 0).to_pylist() == ["E11.9", "I10", "E11.2"]
    assert icd.generalize(v, 1).to_pylist() == ["E11", "I10", "E11"]
    assert icd.generalize(v, 2).to_pylist() == ["E10-E14", "I10-I15", "E10-E14"]
    assert icd.generalize(v, 3).to_pylist() == ["IV (E00-E90)", "IX (I00-I99)", "IV (E00-E90)"]


def test_kr_region() -> None:
    h = build_hierarchy({"type": "kr_region"}, field="h", base_dir=Path("."))
    v = pa.array(["강원특별자치도 춘천시 신북읍", "춘천시 신북읍"])
    assert h.generalize(v, 0).to_pylist() == ["강원특별자치도 춘천시 신북읍"] * 2
    assert h.generalize(v, 1).to_pylist() == ["강원특별자치도 춘천시"] * 2
    assert h.generalize(v, 2).to_pylist() == ["강원특별자치도"] * 2
    with pytest.raises(DataError, match="not in the Korean"):
        h.generalize(pa.array(["화성시 없는동"]), 1)
    g = build_hierarchy({"type": "kr_region", "from": "sigungu"}, field="h", base_dir=Path("."))
    assert g.height == 3
    assert g.generalize(pa.array(["강원특별자치도 원주시"]), 1).to_pylist() == ["강원특별자치도"]


def test_ordered_grouping_and_registry() -> None:
    h = build_hierarchy(
        {"type": "ordered", "order": ["I", "II", "III", "IV"], "sizes": [2]},
        field="h",
        base_dir=Path("."),
    )
    assert h.generalize(pa.array(["I", "III", "IV"]), 1).to_pylist() == [
        "I..II",
        "III..IV",
        "III..IV",
    ]
    assert set(BUILDERS) >= {"csv", "interval", "date", "prefix", "icd10", "kr_region", "ordered"}
    with pytest.raises(PolicyError) as info:
        build_hierarchy(
            {"type": "ordered", "order": [1], "sizes": [1]},
            field="columns.x.hierarchy",
            base_dir=Path("."),
        )
    assert info.value.field == "columns.x.hierarchy.sizes"


def test_generalize_is_vectorized_over_many_rows() -> None:
    h = build_hierarchy({"type": "interval", "widths": [10]}, field="h", base_dir=Path("."))
    v = pa.array(np.arange(200_000) % 97)
    out = h.generalize(v, 1)
    assert len(out) == 200_000
    assert out[96].as_py() == "90-99"
