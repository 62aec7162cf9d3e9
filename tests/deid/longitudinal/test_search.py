"""The (k, k^m) search: its nodes meet the target, its choice is optimal, its bounds hold."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid.errors import PrivacyTargetNotMet
from deid.longitudinal.search import LongitudinalSearch, dense_ids
from tests.deid.longitudinal.oracle import violations
from tests.deid.longitudinal.world import draw_world, plan_for, searcher_for, spec_for

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def released(s: LongitudinalSearch, anchor_levels: tuple[int, ...], event_levels: tuple[int, ...]):
    """The classes and item lists the node releases, decoded to labels (not codes)."""
    d = s.data
    a = s.anchor_state(anchor_levels)
    assert a is not None
    ev = s.evaluate(a, event_levels, keep_mask=True)
    classes = {}
    for p in np.flatnonzero(a.kept):
        classes[int(p)] = tuple(
            d.anchor_mats[j].labels[anchor_levels[j]][
                int(d.anchor_mats[j].codes[anchor_levels[j]][d.anchor_leaf[j][p]])
            ]
            for j in range(len(anchor_levels))
        )
    events: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for e in range(d.n_events):
        p = int(d.person_of[e])
        if p not in classes or (ev.suppressed_mask is not None and ev.suppressed_mask[e]):
            continue
        t = int(d.table_of[e])
        item = [d.tables[t]]
        for ci in d.table_columns[t]:
            col = d.columns[ci]
            lv = event_levels[ci]
            item.append(col.mat.labels[lv][int(col.mat.codes[lv][col.leaf[e]])])
        events[p].append(tuple(item))
    return ev, classes, events


def test_dense_ids_packs_any_number_of_columns() -> None:
    rng = np.random.default_rng(1)
    cols = [rng.integers(0, 1 << 20, 500) for _ in range(5)]
    ids, n = dense_ids(cols, [1 << 20] * 5)
    rows = list(zip(*(c.tolist() for c in cols), strict=True))
    order = sorted(set(rows))
    assert n == len(order)
    assert [order[i] for i in ids.tolist()] == rows


@given(
    seed=st.integers(0, 10_000),
    persons=st.integers(6, 40),
    k=st.integers(2, 4),
    m=st.integers(1, 3),
)
@SETTINGS
def test_every_feasible_node_releases_k_km_anonymous_events(seed, persons, k, m) -> None:
    """At any node the suppression leaves no combination of <= m events below k (oracle)."""
    world = draw_world(seed, persons)
    s = searcher_for(world, plan_for(spec_for(k=k, m=m, limit=1.0), "rk", "x"))
    rng = np.random.default_rng(seed)
    anchors = [lv for lv in s.anchor_lattice() if s.anchor_state(lv) is not None]
    nodes = s.event_lattice()
    for _ in range(3):
        al = anchors[int(rng.integers(len(anchors)))]
        el = nodes[int(rng.integers(len(nodes)))]
        ev, classes, events = released(s, al, el)
        assert ev.feasible, ev.reason
        assert violations(classes, events, k=k, m=m) == []
        assert ev.suppressed_events == int(ev.suppressed_mask.sum())
        assert ev.lower_bound <= ev.loss + 1e-12


@given(seed=st.integers(0, 10_000), persons=st.integers(8, 30), k=st.integers(2, 3))
@SETTINGS
def test_search_is_optimal_against_every_node(seed, persons, k) -> None:
    """Branch and bound finds the least loss of an exhaustive evaluation of the lattice."""
    world = draw_world(seed, persons)
    spec = spec_for(k=k, m=2, limit=0.4, min_kept=0.5)
    s = searcher_for(world, plan_for(spec, "rk", "x"))
    best = math.inf
    for al in s.anchor_lattice():
        a = s.anchor_state(al)
        if a is None:
            continue
        for el in s.event_lattice():
            ev = s.evaluate(a, el)
            if ev.feasible:
                best = min(best, ev.loss)
    fresh = searcher_for(world, plan_for(spec, "rk", "x"))
    if math.isinf(best):
        with pytest.raises(PrivacyTargetNotMet):
            fresh.run()
        return
    result = fresh.run()
    assert result.best.feasible
    assert result.best.loss == pytest.approx(best, abs=1e-12)


@given(seed=st.integers(0, 10_000), persons=st.integers(6, 30))
@SETTINGS
def test_table_bounds_never_exceed_what_the_node_suppresses(seed, persons) -> None:
    """Forced rows per table, and the node's own, are lower bounds of the suppression."""
    world = draw_world(seed, persons)
    s = searcher_for(world, plan_for(spec_for(k=3, m=2, limit=1.0), "rk", "x"))
    for al in s.anchor_lattice()[:4]:
        a = s.anchor_state(al)
        if a is None:
            continue
        for el in s.event_lattice():
            ev = s.evaluate(a, el)
            rows = sum(s.table_bound(a, t, el)[0] for t in range(len(s.data.tables)))
            extra = sum(s.table_bound(a, t, el)[1] for t in range(len(s.data.tables)))
            # both are lower bounds of any suppression that meets the target
            assert rows <= ev.suppressed_events
            assert ev.forced_events <= ev.suppressed_events
            assert s.base_loss(a, el) + extra <= ev.loss * s.total_cells + 1e-9


def test_loss_counts_every_cell_as_arx_does() -> None:
    """Recomputed from the released labels: generalized cells by leaves, suppressed cells 1."""
    world = draw_world(7, 30)
    s = searcher_for(world, plan_for(spec_for(k=3, m=2, limit=1.0), "rk", "x"))
    al = next(lv for lv in s.anchor_lattice() if s.anchor_state(lv) is not None)
    el = s.event_lattice()[len(s.event_lattice()) // 2]
    ev, classes, events = released(s, al, el)
    d = s.data

    def cost(mat, level, label):
        if label == "*":
            return 1.0
        leaves = sum(1 for code in mat.codes[level] if mat.labels[level][code] == label)
        return (leaves - 1) / max(mat.total_leaves - 1, 1)

    total = 0.0
    cells = d.n_persons * len(al)
    for p in range(d.n_persons):
        if p not in classes:
            total += len(al)
            continue
        total += sum(cost(d.anchor_mats[j], al[j], classes[p][j]) for j in range(len(al)))
    kept_cells = 0.0
    for items in events.values():
        for item in items:
            t = d.tables.index(item[0])
            cols = d.table_columns[t]
            kept_cells += sum(
                cost(d.columns[ci].mat, el[ci], label)
                for ci, label in zip(cols, item[1:], strict=True)
            )
    n_cells = [len(d.table_columns[int(t)]) for t in d.table_of]
    cells += sum(n_cells)
    released_events = sum(len(v) for v in events.values())
    lost_cells = sum(n_cells) - sum(
        len(d.table_columns[d.tables.index(i[0])]) for v in events.values() for i in v
    )
    assert released_events == d.n_events - ev.suppressed_events - sum(
        1 for e in range(d.n_events) if int(d.person_of[e]) not in classes
    )
    assert ev.loss == pytest.approx((total + kept_cells + lost_cells) / cells, abs=1e-12)


def test_unreachable_target_names_the_closest_nodes() -> None:
    world = draw_world(3, 12, max_visits=6)
    s = searcher_for(world, plan_for(spec_for(k=6, m=2, limit=0.0, min_kept=1.0), "rk", "x"))
    with pytest.raises(PrivacyTargetNotMet) as info:
        s.run()
    report = info.value.report
    assert "k=6" in str(info.value)
    assert report["evaluated"] + report["pruned_by_forced"] > 0
    assert "best_nodes" in report
