"""Privacy models per class: k, l (distinct, entropy, recursive), t (equal, ordered, hierarchical)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deid.privacy import (
    DistinctL,
    EntropyL,
    KAnonymity,
    Pairs,
    RecursiveCL,
    SensitiveDomain,
    TCloseness,
)


def _pairs(classes: list[dict[int, int]], n_values: int) -> tuple[np.ndarray, Pairs]:
    cls, val, cnt = [], [], []
    for i, c in enumerate(classes):
        for v, n in sorted(c.items()):
            cls.append(i)
            val.append(v)
            cnt.append(n)
    sizes = np.array([sum(c.values()) for c in classes], dtype=np.int64)
    return sizes, Pairs(
        np.array(cls, dtype=np.int64),
        np.array(val, dtype=np.int64),
        np.array(cnt, dtype=np.int64),
        len(classes),
        n_values,
    )


def test_k_and_distinct_l() -> None:
    sizes, pairs = _pairs([{0: 3, 1: 2}, {0: 4}, {0: 1, 1: 1, 2: 1}], 3)
    assert KAnonymity(3).evaluate(sizes, None)[0].tolist() == [True, True, True]
    assert KAnonymity(5).evaluate(sizes, None)[0].tolist() == [True, False, False]
    ok, val = DistinctL(2).evaluate(sizes, pairs)
    assert ok.tolist() == [True, False, True]
    assert val.tolist() == [2, 1, 3]


def test_entropy_l() -> None:
    sizes, pairs = _pairs([{0: 1, 1: 1}, {0: 3, 1: 1}, {0: 2, 1: 2, 2: 2}], 3)
    ok, val = EntropyL(2).evaluate(sizes, pairs)
    assert ok.tolist() == [True, False, True]
    assert val[0] == pytest.approx(2.0)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert val[1] == pytest.approx(math.exp(h))


def test_recursive_cl() -> None:
    # r = (5, 3, 2): (c=2, l=2): 5 < 2*(3+2) holds; (c=1, l=2): 5 < 5 fails; (c=3, l=3): 5 < 6 holds
    sizes, pairs = _pairs([{0: 5, 1: 3, 2: 2}, {0: 4}], 3)
    assert RecursiveCL(2, 2).evaluate(sizes, pairs)[0].tolist() == [True, False]
    assert RecursiveCL(1, 2).evaluate(sizes, pairs)[0].tolist() == [False, False]
    ok, best = RecursiveCL(3, 3).evaluate(sizes, pairs)
    assert ok.tolist() == [True, False]
    assert best.tolist() == [3.0, 1.0]


def test_t_closeness_equal_and_ordered() -> None:
    q = np.array([0.5, 0.25, 0.25])
    dom = SensitiveDomain(("a", "b", "c"), q, np.array([0, 1, 2]))
    sizes, pairs = _pairs([{0: 2, 1: 1, 2: 1}, {2: 4}], 3)
    emd = TCloseness(0.3, "equal", dom).emd(sizes, pairs)
    assert emd.tolist() == pytest.approx([0.0, 0.75])
    # ordered: cumulative differences (-0.5, -0.75, 0) / (m-1)
    emd_o = TCloseness(0.3, "ordered", dom).emd(sizes, pairs)
    assert emd_o.tolist() == pytest.approx([0.0, (0.5 + 0.75) / 2])


def test_t_closeness_hierarchical_li_et_al_example() -> None:
    # leaves a,b under X; c,d under Y; root over X,Y; height 2.
    q = np.array([0.25, 0.25, 0.25, 0.25])
    dom = SensitiveDomain(
        ("a", "b", "c", "d"),
        q,
        np.arange(4),
        tree_levels=(1, 1, 2),
        tree_children=((0, 1), (2, 3), (4, 5)),
        tree_height=2,
    )
    # p = (0.5, 0.5, 0, 0): move 0.5 mass across the root: cost 0.5 * 2/2 = 0.5
    sizes, pairs = _pairs([{0: 1, 1: 1}, {0: 1, 2: 1}, {0: 1, 1: 1, 2: 1, 3: 1}, {0: 2}], 4)
    emd = TCloseness(0.2, "hierarchical", dom).emd(sizes, pairs)
    # class 1: p=(.5,0,.5,0): within X move .25 (cost .25*1/2), within Y .25 (.25*1/2) = .25
    # class 3: p=(1,0,0,0): within X .25*1/2, across root .5*2/2 -> .125 + .5
    assert emd.tolist() == pytest.approx([0.5, 0.25, 0.0, 0.625])
