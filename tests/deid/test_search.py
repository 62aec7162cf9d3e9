"""The lattice search: optimal against brute force, pruning exact, failure loud."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from deid.anonymize import anonymize_table, count_batch, search
from deid.errors import PolicyError, PrivacyTargetNotMet
from deid.policy import Policy, parse_policy
from deid.search import evaluate_node, optimal_node, prepare

# --- an independent, slow oracle: brute force in plain Python ---


def node_classes(
    table: pa.Table, policy: Policy, levels: dict[str, int]
) -> tuple[list[tuple[Any, ...]], list[Any]]:
    hier = policy.hierarchies()
    qi = policy.quasi_identifiers
    cols = [hier[q].generalize(table[q], levels[q]).to_pylist() for q in qi]
    keys = list(zip(*cols, strict=True)) if qi else [()] * table.num_rows
    sens = policy.protected_sensitive
    svals = table[sens].cast(pa.string()).to_pylist() if sens else [None] * table.num_rows
    return keys, svals


def class_ok(
    policy: Policy, size: int, values: list[Any], overall: dict[Any, float], order: list[Any]
) -> bool:
    pr = policy.privacy
    if size < pr.k:
        return False
    cnt = Counter(values)
    if pr.l_diversity is not None:
        ld = pr.l_diversity
        if ld.variant == "distinct" and len(cnt) < ld.l:
            return False
        if ld.variant == "entropy":
            h = -sum(c / size * math.log(c / size) for c in cnt.values())
            if h < math.log(ld.l) - 1e-12:
                return False
        if ld.variant == "recursive":
            r = sorted(cnt.values(), reverse=True)
            tail = sum(r[int(ld.l) - 1 :])
            assert ld.c is not None
            if not r[0] < ld.c * tail - 1e-12:
                return False
    if pr.t_closeness is not None:
        tc = pr.t_closeness
        p = {v: cnt.get(v, 0) / size for v in overall}
        if tc.distance == "equal":
            emd = 0.5 * sum(abs(p[v] - overall[v]) for v in overall)
        elif tc.distance == "ordered":
            acc, emd = 0.0, 0.0
            for v in order:
                acc += p[v] - overall[v]
                emd += abs(acc)
            emd /= max(len(order) - 1, 1)
        else:
            raise NotImplementedError
        if emd > tc.t + 1e-12:
            return False
    return True


def loss_of(table: pa.Table, policy: Policy, levels: dict[str, int], bad_keys: set[Any]) -> float:
    hier = policy.hierarchies()
    qi = policy.quasi_identifiers
    keys, _ = node_classes(table, policy, levels)
    n = table.num_rows
    per = []
    for j, q in enumerate(qi):
        h = hier[q]
        leaves = h.domain() or sorted({v for v in table[q].cast(pa.string()).to_pylist()})
        under: Counter[Any] = Counter(h.generalize(pa.array(leaves), levels[q]).to_pylist())
        total = len(leaves)
        cost = 0.0
        for key in keys:
            if key in bad_keys:
                cost += 1.0
            else:
                cost += (under[key[j]] - 1) / max(total - 1, 1)
        per.append(cost / n)
    return math.prod(1 + x for x in per) ** (1 / len(per)) - 1 if per else 0.0


def _sensitive_distribution(table: pa.Table, policy: Policy) -> tuple[dict[Any, float], list[Any]]:
    sens = policy.protected_sensitive
    if not sens:
        return {}, []
    n = table.num_rows
    allv = table[sens].cast(pa.string()).to_pylist()
    overall = {v: c / n for v, c in Counter(allv).items()}

    def sk(v: Any) -> tuple[int, float, str]:
        try:
            return (0, float(v), v)
        except (TypeError, ValueError):
            return (1, 0.0, str(v))

    return overall, sorted(overall, key=sk)


def _brute_value(table: pa.Table, policy: Policy, levels: dict[str, int]) -> float | None:
    """The metric of one node from its definition, or None when the node is infeasible."""
    hier = policy.hierarchies()
    qi = policy.quasi_identifiers
    n = table.num_rows
    max_out = math.floor(policy.privacy.suppression_limit * n + 1e-9)
    overall, order = _sensitive_distribution(table, policy)
    keys, svals = node_classes(table, policy, levels)
    groups: dict[Any, list[Any]] = {}
    for key, s in zip(keys, svals, strict=True):
        groups.setdefault(key, []).append(s)
    bad = {
        key for key, vals in groups.items() if not class_ok(policy, len(vals), vals, overall, order)
    }
    suppressed = sum(len(groups[key]) for key in bad)
    if suppressed > max_out:
        return None
    metric = policy.privacy.metric
    if metric == "loss":
        return loss_of(table, policy, levels, bad)
    if metric == "height":
        return float(sum(levels.values()))
    if metric == "precision":
        return sum(
            ((n - suppressed) * (levels[q] / (hier[q].height - 1)) + suppressed) / n for q in qi
        ) / len(qi)
    if metric == "discernibility":
        return float(
            sum(len(v) ** 2 if key not in bad else n * len(v) for key, v in groups.items())
        )
    if metric == "non_uniform_entropy":
        value = 0.0
        for q in qi:
            orig = hier[q].generalize(table[q], 0).to_pylist()
            gen = hier[q].generalize(table[q], levels[q]).to_pylist()
            f_orig, f_gen = Counter(orig), Counter(gen)
            value += sum(-math.log2(f_orig[o] / f_gen[g]) for o, g in zip(orig, gen, strict=True))
            in_supp = Counter(g for key, g in zip(keys, gen, strict=True) if key in bad)
            value += sum(-c * math.log2(c / suppressed) for c in in_supp.values())
        return value
    raise NotImplementedError(metric)


def brute_force(table: pa.Table, policy: Policy) -> tuple[float, dict[str, int]] | None:
    """(optimal value, a node reaching it) over every node, or None when nothing is feasible."""
    hier = policy.hierarchies()
    qi = policy.quasi_identifiers
    best: tuple[float, dict[str, int]] | None = None
    for combo in itertools.product(*[range(hier[q].height) for q in qi]):
        levels = dict(zip(qi, combo, strict=True))
        value = _brute_value(table, policy, levels)
        if value is not None and (best is None or value < best[0] - 1e-12):
            best = (value, levels)
    return best


def _table(seed: int, n: int = 300) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "age": rng.integers(18, 90, n),
            "zip": [f"{z:05d}" for z in rng.integers(24000, 24400, n)],
            "sex": rng.choice(["M", "F"], n),
            "dx": rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
        }
    )


def _policy(**privacy: Any) -> Any:
    return parse_policy(
        {
            "columns": {
                "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [5, 10, 30]}},
                "zip": {"role": "quasi", "hierarchy": {"type": "prefix", "keep": [4, 3, 2]}},
                "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
                "dx": {"role": "sensitive"},
            },
            "privacy": privacy,
        },
        Path("."),
    )


@pytest.mark.parametrize(
    "privacy",
    [
        {"k": 3},
        {"k": 5, "suppression_limit": 0.05},
        {"k": 2, "suppression_limit": 0.1, "l_diversity": {"column": "dx", "l": 2}},
        {
            "k": 2,
            "suppression_limit": 0.05,
            "l_diversity": {"column": "dx", "l": 2, "variant": "entropy"},
        },
        {"k": 2, "l_diversity": {"column": "dx", "l": 3, "variant": "recursive", "c": 3}},
        {"k": 2, "suppression_limit": 0.1, "t_closeness": {"column": "dx", "t": 0.3}},
        {"k": 2, "t_closeness": {"column": "dx", "t": 0.25, "distance": "ordered"}},
    ],
)
def test_optimal_matches_brute_force(privacy: dict[str, Any]) -> None:
    table = _table(7)
    policy = _policy(metric="loss", **privacy)
    oracle = brute_force(table, policy)
    assert oracle is not None
    anon = search(count_batch(table, policy), policy)
    assert anon.report["info_loss"]["loss"] == pytest.approx(oracle[0], abs=1e-9)


def test_every_metric_is_optimal_against_brute_force() -> None:
    """The oracle is the plain-Python brute force above (every node, its classes and the
    metric from its definition), not the engine's own ``evaluate_node``."""
    table = _table(3)
    for metric in ("loss", "precision", "height", "discernibility", "non_uniform_entropy"):
        policy = _policy(k=4, suppression_limit=0.04, metric=metric)
        oracle = brute_force(table, policy)
        assert oracle is not None, metric
        p = prepare(count_batch(table, policy), policy)
        best, stats, _ = optimal_node(p, max_nodes=10_000)
        assert best is not None, metric
        assert best.value == pytest.approx(oracle[0], rel=1e-9, abs=1e-9), metric
        # the node found reaches the oracle's optimum when the brute force values it
        levels = dict(zip(policy.quasi_identifiers, best.levels, strict=True))
        assert _brute_value(table, policy, levels) == pytest.approx(oracle[0], rel=1e-9), metric
        assert stats.checked <= stats.lattice_size


def test_target_not_met_raises_with_best_nodes() -> None:
    table = _table(1, n=20)
    policy = _policy(k=25)  # more than the records: impossible
    with pytest.raises(PrivacyTargetNotMet) as info:
        search(count_batch(table, policy), policy)
    rep = info.value.report
    assert rep["best_nodes"]
    assert rep["best_nodes"][0]["suppressed"] == 20
    assert rep["max_suppressed"] == 0


def test_lattice_limit_is_a_policy_error() -> None:
    table = _table(2)
    policy = _policy(k=2, max_lattice_nodes=10)
    with pytest.raises(PolicyError) as info:
        search(count_batch(table, policy), policy)
    assert info.value.field == "privacy.max_lattice_nodes"


def test_suppression_never_exceeds_limit_and_output_is_k_anonymous() -> None:
    table = _table(11, n=500)
    policy = _policy(k=6, suppression_limit=0.03)
    out, report = anonymize_table(table, policy)
    assert report["suppressed"] <= int(0.03 * 500)
    sizes = (
        out.group_by(["age", "zip", "sex"]).aggregate([([], "count_all")])["count_all"].to_pylist()
    )
    assert min(sizes) >= 6


@pytest.mark.parametrize(("k", "limit"), [(3, 0.0), (4, 0.05), (2, 0.02)])
def test_marginal_pruning_keeps_the_optimum_on_a_larger_lattice(k: int, limit: float) -> None:
    # 7 QIs of height 3: 2187 nodes, enough for the pair-marginal pruning to run
    rng = np.random.default_rng(k)
    n = 400
    cols: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for j in range(7):
        leaves = int(rng.integers(3, 9))
        rows = [[f"v{i}", f"g{i % 2}", "*"] for i in range(leaves)]
        cols[f"q{j}"] = {"role": "quasi", "hierarchy": {"type": "table", "rows": rows}}
        data[f"q{j}"] = [f"v{x}" for x in rng.zipf(1.6, n) % leaves]
    for metric in ("loss", "discernibility"):
        policy = parse_policy(
            {"columns": cols, "privacy": {"k": k, "suppression_limit": limit, "metric": metric}},
            Path("."),
        )
        p = prepare(count_batch(pa.table(data), policy), policy)
        best, stats, _ = optimal_node(p, max_nodes=10_000)
        values = [
            ev.value for ev in (evaluate_node(p, c) for c in np.ndindex(*p.heights)) if ev.feasible
        ]
        assert best is not None
        assert best.value == pytest.approx(min(values), rel=1e-12)
        assert stats.checked < stats.lattice_size
