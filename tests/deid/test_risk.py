"""Prosecutor, journalist and marketer risk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from deid.anonymize import anonymize_table, measure_risk
from deid.policy import parse_policy
from deid.risk import population_risk, prosecutor_risk


def test_prosecutor_risk() -> None:
    r = prosecutor_risk(np.array([2, 5, 3], dtype=np.int64), threshold=0.25)
    assert r["highest"] == pytest.approx(0.5)
    assert r["average"] == pytest.approx(3 / 10)  # classes / records
    assert r["records_above_threshold"] == pytest.approx((2 + 3) / 10)


def test_population_risk() -> None:
    r = population_risk(
        np.array([2, 5], dtype=np.int64), np.array([10, 5], dtype=np.int64), threshold=0.15
    )
    assert r["journalist"]["highest"] == pytest.approx(0.2)
    assert r["marketer"]["average"] == pytest.approx((2 / 10 + 5 / 5) / 7)
    assert r["journalist"]["records_above_threshold"] == pytest.approx(5 / 7)


def _policy() -> object:
    return parse_policy(
        {
            "columns": {
                "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [10]}},
                "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
            },
            "privacy": {"k": 2, "risk_threshold": 0.3},
        },
        Path("."),
    )


def test_journalist_and_marketer_with_a_population_table() -> None:
    rng = np.random.default_rng(0)
    pop = pa.table({"age": rng.integers(20, 60, 2000), "sex": rng.choice(["M", "F"], 2000)})
    sample = pop.slice(0, 200)
    _, report = anonymize_table(sample, _policy(), population=pop)
    risk = report["risk"]
    assert set(risk) == {"prosecutor", "journalist", "marketer"}
    assert risk["journalist"]["highest"] <= risk["prosecutor"]["highest"]
    assert 0 < risk["marketer"]["average"] <= risk["prosecutor"]["average"]


def test_measure_risk_of_raw_table() -> None:
    t = pa.table({"age": [30, 30, 31, 40], "sex": ["M", "M", "F", "F"]})
    r = measure_risk(t, _policy()).to_dict()
    assert r["k"] == 1
    assert r["classes"] == 3
    assert r["failing_records"] == 2
    assert r["target_met"] is False
    assert r["risk"]["prosecutor"]["highest"] == 1.0
