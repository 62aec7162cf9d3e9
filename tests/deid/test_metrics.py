"""ARX metrics on a hand-computed example, and the lower bounds used for pruning."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from deid.anonymize import count_batch
from deid.metrics import evaluate_metrics, lower_bound_grid
from deid.policy import parse_policy
from deid.search import evaluate_node, prepare

# a: 4 leaves {1,2,3,4} -> {lo, hi} -> *; b: 2 leaves {x, y} -> *
POLICY = {
    "columns": {
        "a": {
            "role": "quasi",
            "hierarchy": {
                "type": "table",
                "rows": [["1", "lo", "*"], ["2", "lo", "*"], ["3", "hi", "*"], ["4", "hi", "*"]],
            },
        },
        "b": {"role": "quasi", "hierarchy": {"type": "flat"}},
    },
    "privacy": {"k": 2, "suppression_limit": 0.5},
}
TABLE = pa.table({"a": ["1", "2", "3", "3", "4", "1"], "b": ["x", "x", "y", "y", "y", "y"]})


def _eval(levels: tuple[int, int]) -> dict[str, float]:
    policy = parse_policy(POLICY, Path("."))
    p = prepare(count_batch(TABLE, policy), policy)
    ev = evaluate_node(p, levels, decode=True)
    return evaluate_metrics(ev.levels, p.costs, ev.sizes, ev.codes, ev.bad, p.n_records)


def test_metrics_at_a_node_with_suppression() -> None:
    # node (1, 0): classes (lo,x)=2, (hi,y)=3, (lo,y)=1 -> the last one is suppressed
    m = _eval((1, 0))
    # loss a: 5 records cost (2-1)/(4-1) = 1/3, 1 suppressed costs 1 -> (5/3 + 1)/6
    loss_a = (5 / 3 + 1) / 6
    loss_b = (0 + 1) / 6
    assert m["loss"] == pytest.approx(math.sqrt((1 + loss_a) * (1 + loss_b)) - 1)
    # precision: a level 1/2, b level 0; suppressed counts 1
    assert m["precision"] == pytest.approx(((5 * 0.5 + 1) / 6 + (0 + 1) / 6) / 2)
    assert m["height"] == 1
    assert m["discernibility"] == 2**2 + 3**2 + 1 * 6
    # NUE a: input freqs a: 1->2, 2->1, 3->2, 4->1; lo->3, hi->3
    nue_a = -(
        2 * math.log2(2 / 3) + 1 * math.log2(1 / 3) + 2 * math.log2(2 / 3) + 1 * math.log2(1 / 3)
    )
    # suppressed record: one value among one suppressed -> log2(1/1) = 0 for both attributes
    assert m["non_uniform_entropy"] == pytest.approx(nue_a)


def test_bottom_node_has_zero_generalization_loss() -> None:
    m = _eval((0, 0))
    # every class is a single record or (3,y) x2: suppressed 4 of 6 -> over the limit, still measured
    assert m["height"] == 0


def test_lower_bounds_are_below_the_values() -> None:
    policy = parse_policy(POLICY, Path("."))
    p = prepare(count_batch(TABLE, policy), policy)
    for metric in ("loss", "precision", "height", "non_uniform_entropy", "discernibility"):
        lb = lower_bound_grid(metric, p.costs, p.n_records)
        for node in np.ndindex(*p.heights):
            ev = evaluate_node(p, node)
            val = (
                evaluate_metrics(ev.levels, p.costs, ev.sizes, ev.codes, ev.bad, p.n_records)[
                    metric
                ]
                if ev.feasible
                else None
            )
            if val is not None:
                assert lb[node] <= val + 1e-9, (metric, node)
        # monotone along every axis
        for ax in range(lb.ndim):
            assert np.all(np.diff(lb, axis=ax) >= -1e-12), metric
