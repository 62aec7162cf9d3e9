"""Globally optimal full-domain generalization with record suppression.

The lattice has one node per combination of hierarchy levels. A node is
*feasible* when the records in classes that fail the privacy models (smaller
than k, not l-diverse, not t-close) are at most ``floor(limit * records)``;
those classes are suppressed. The answer is the feasible node with the lowest
value of the metric (ties: fewer levels, then lexicographic).

Nodes are evaluated on the frequency table of distinct combinations: the
codes of a row at the node's levels are packed into one int64 key together
with the row's count, and one sort gives classes and sizes (no rescans of
records, no multi-column group-by). Coarse nodes, whose possible classes are
fewer than the rows, use a dense index and one ``bincount`` instead.

Pruning, exact:
- every metric's generalization-only value is a monotone lower bound (LB)
  computed for all nodes from marginals; only nodes with LB below the best
  value found can matter;
- when feasibility is monotone (k-anonymity and distinct l-diversity with
  suppression; every model without suppression), a feasible node makes its
  whole up-set feasible and an infeasible one its whole down-set infeasible.
  The search first descends greedily from the top to a good feasible node,
  then resolves the remaining candidates top-down (the unresolved candidate
  with the largest down-set first, so one infeasible answer settles many).
- when it is not monotone (entropy / recursive l-diversity or t-closeness
  with suppression), every candidate with LB below the best is evaluated;
  the monotone part of the models (k, and the distinct l that entropy and
  recursive l imply) still settles whole down-sets when it fails.
- before any evaluation, projections on one attribute (and on pairs, when
  that is cheap next to the lattice) whose classes smaller than k already
  hold more records than the limit settle whole down-sets as infeasible.
- for discernibility, whose LB from marginals is weak, each evaluated node's
  sum of squared class sizes bounds its whole up-set.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError
from deid.frequency import COUNT, FrequencyTable
from deid.hierarchy import Hierarchy, Materialized
from deid.metrics import (
    AttributeCosts,
    attribute_costs,
    discernibility_star,
    evaluate_metrics,
    lower_bound_grid,
)
from deid.policy import Policy
from deid.privacy import (
    ClassModel,
    KAnonymity,
    Pairs,
    SensitiveDomain,
    build_models,
    monotone_part,
    predicate_is_monotone,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Problem:
    """Everything the search needs, derived once from the frequency table."""

    qi: tuple[str, ...]
    hierarchies: tuple[Hierarchy, ...]
    mats: tuple[Materialized, ...]
    heights: tuple[int, ...]
    rowcodes: tuple[tuple[IntArray, ...], ...]  # [qi][level] -> code per row (general path)
    counts: IntArray
    n_records: int
    sensitive: str | None
    sens_codes: IntArray | None
    sdomain: SensitiveDomain | None
    costs: tuple[AttributeCosts, ...]
    models: tuple[ClassModel, ...]
    max_outliers: int
    metric: str
    offsets: tuple[int, ...]
    bits: tuple[int, ...]
    sbits: int
    cbits: int
    extra_monotone: tuple[ClassModel, ...] = ()  # implied monotone models (pruning only)
    cards: tuple[tuple[int, ...], ...] = ()  # [qi][level] -> number of codes
    fcounts: FloatArray | None = None  # counts as float64 (bincount weights)
    shifted: tuple[tuple[IntArray, ...], ...] = ()  # rowcodes << (offset + cbits), packed path
    base_key: IntArray | None = None  # (sens code << cbits) | count, packed path

    @property
    def packable(self) -> bool:
        return self.base_key is not None


@dataclass
class NodeEval:
    """Classes of one node: sizes, generalized codes per QI, failing mask, model values."""

    levels: tuple[int, ...]
    sizes: IntArray
    codes: tuple[IntArray, ...]
    bad: BoolArray
    pairs: Pairs | None
    model_values: dict[str, FloatArray]
    suppressed: int
    feasible: bool
    value: float = math.nan
    #: records failing the monotone part of the models (k, distinct l)
    mono_suppressed: int = 0


@dataclass
class SearchStats:
    lattice_size: int = 0
    checked: int = 0
    seconds: float = 0.0
    monotone: bool = True
    best_nodes: list[dict[str, object]] = field(default_factory=list)


def _bitlen(n: int) -> int:
    return max(1, int(n - 1).bit_length()) if n > 1 else 1


def _sensitive_domain(
    policy: Policy, column: str, values: list[str | None], counts: FloatArray
) -> SensitiveDomain:
    total = counts.sum()
    q = counts / total if total else counts

    # order for ordered distance: numeric when every value is a number, else lexicographic
    def sort_key(v: str | None) -> tuple[int, float, str]:
        if v is None:
            return (2, 0.0, "")
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    order = np.array(sorted(range(len(values)), key=lambda i: sort_key(values[i])), dtype=np.int64)
    spec = policy.columns[column]
    tcl = policy.privacy.t_closeness
    if tcl is None or tcl.distance != "hierarchical":
        return SensitiveDomain(tuple(values), q, order)
    h = spec.build_hierarchy()
    try:
        mat = h.materialize(values)
    except DataError as exc:
        raise DataError(exc.message, field=column) from None
    leaf_of = {v: i for i, v in enumerate(mat.leaves)}
    idx = np.array([leaf_of[v] for v in values], dtype=np.int64)
    # inner nodes per level >= 1: children are nodes of the level below (leaves = value ids)
    levels: list[int] = []
    children: list[tuple[int, ...]] = []
    prev_ids: dict[int, int] = {}  # code at previous level -> node id
    for i, leaf in enumerate(idx.tolist()):
        prev_ids.setdefault(int(mat.codes[0][leaf]), i)
    # nodes at level 0 are the values themselves (ids 0..n-1), one per distinct leaf
    node_count = len(values)
    prev_code_of_value = mat.codes[0][idx]
    for level in range(1, mat.height):
        codes_l = mat.codes[level][idx]
        ids: dict[int, int] = {}
        groups: dict[int, set[int]] = {}
        for pc_, c in zip(prev_code_of_value.tolist(), codes_l.tolist(), strict=True):
            groups.setdefault(int(c), set()).add(prev_ids[int(pc_)])
        for c in sorted(groups):
            levels.append(level)
            children.append(tuple(sorted(groups[c])))
            ids[c] = node_count
            node_count += 1
        prev_ids = ids
        prev_code_of_value = codes_l
    return SensitiveDomain(tuple(values), q, order, tuple(levels), tuple(children), mat.height - 1)


def prepare(freq: FrequencyTable, policy: Policy) -> Problem:
    """Materialize hierarchies over the table's values and precompute costs."""
    qi = policy.quasi_identifiers
    hier = policy.hierarchies()
    sensitive = policy.protected_sensitive
    table = freq.encoded
    for name in [*qi, *([sensitive] if sensitive else [])]:
        if name not in table.column_names:
            raise DataError(f"column {name!r} of the policy is not in the data", field=name)
    counts = np.asarray(table[COUNT].to_numpy(), dtype=np.int64)
    n = int(counts.sum())
    mats: list[Materialized] = []
    leaf_idxs: list[IntArray] = []
    costs: list[AttributeCosts] = []
    heights: list[int] = []
    bits: list[int] = []
    for name in qi:
        h = hier[name]
        # normalize and index distinct values only, then map rows by dictionary index
        enc = pc.dictionary_encode(table[name].combine_chunks())
        try:
            dict_leaf = h.leaf(enc.dictionary)
            distinct = pc.unique(dict_leaf).to_pylist()
            if enc.null_count or dict_leaf.null_count:
                distinct = [*distinct, None]
            mat = h.materialize(distinct)
            dict_idx = mat.index(dict_leaf, name)
        except DataError as exc:
            raise DataError(exc.message, field=name) from None
        null_leaf = mat.leaves.index(None) if None in mat.leaves else -1
        lookup = np.append(dict_idx, null_leaf)
        ind = pc.fill_null(enc.indices, len(dict_idx)).to_numpy(zero_copy_only=False)
        leaf_idx = lookup[np.asarray(ind, dtype=np.int64)]
        mats.append(mat)
        heights.append(mat.height)
        leaf_idxs.append(leaf_idx)
        costs.append(attribute_costs(mat, leaf_idx, counts))
        bits.append(_bitlen(len(mat.leaves)))
    sens_codes: IntArray | None = None
    sdomain: SensitiveDomain | None = None
    sbits = 0
    if sensitive is not None:
        col = table[sensitive].combine_chunks()
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        enc = pc.dictionary_encode(col)
        values: list[str | None] = enc.dictionary.to_pylist()
        codes = np.asarray(
            pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        if enc.null_count:
            values.append(None)
        sens_codes = codes
        svals = np.bincount(codes, weights=counts, minlength=len(values)).astype(np.float64)
        sdomain = _sensitive_domain(policy, sensitive, values, svals)
        sbits = _bitlen(len(values))
    offsets = []
    acc = sbits
    for b in reversed(bits):
        offsets.append(acc)
        acc += b
    offsets.reverse()
    cbits = _bitlen(int(counts.max()) + 1) if len(counts) else 1
    models = build_models(policy.privacy, sdomain)
    shifted: tuple[tuple[IntArray, ...], ...] = ()
    rowcodes: tuple[tuple[IntArray, ...], ...] = ()
    base_key: IntArray | None = None
    if sum(bits) + sbits + cbits <= 62:
        # packed path: large tables keep only the shifted codes (codes are one shift away)
        shifted = tuple(
            tuple(
                np.ascontiguousarray(mats[j].codes[level][leaf_idxs[j]] << (offsets[j] + cbits))
                for level in range(mats[j].height)
            )
            for j in range(len(qi))
        )
        base_key = counts.copy()
        if sens_codes is not None:
            base_key |= sens_codes << cbits
    if base_key is None or len(counts) * sum(heights) * 8 <= 1 << 28:
        # the general path needs them; small tables keep them for the dense path too
        rowcodes = tuple(
            tuple(mats[j].codes[level][leaf_idxs[j]] for level in range(mats[j].height))
            for j in range(len(qi))
        )
    del leaf_idxs
    max_outliers = math.floor(policy.privacy.suppression_limit * n + 1e-9)
    return Problem(
        qi=qi,
        hierarchies=tuple(hier[q] for q in qi),
        mats=tuple(mats),
        heights=tuple(heights),
        rowcodes=rowcodes,
        counts=counts,
        n_records=n,
        sensitive=sensitive,
        sens_codes=sens_codes,
        sdomain=sdomain,
        costs=tuple(costs),
        models=tuple(models),
        max_outliers=max_outliers,
        metric=policy.privacy.metric,
        offsets=tuple(offsets),
        bits=tuple(bits),
        sbits=sbits,
        cbits=cbits,
        extra_monotone=tuple(m for m in monotone_part(models) if m not in models),
        cards=tuple(tuple(len(lab) for lab in m.labels) for m in mats),
        fcounts=counts.astype(np.float64),
        shifted=shifted,
        base_key=base_key,
    )


def _classes_packed(p: Problem, levels: Sequence[int]) -> tuple[IntArray, IntArray, Pairs | None]:
    assert p.base_key is not None
    key = p.base_key.copy()
    for j, lv in enumerate(levels):
        key += p.shifted[j][lv]
    key.sort()
    s = key
    cmask = (1 << p.cbits) - 1
    n = len(s)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, None
    cnt = s & cmask
    ckey = s >> (p.cbits + p.sbits)
    cflag = np.empty(n, dtype=bool)
    cflag[0] = True
    np.not_equal(ckey[1:], ckey[:-1], out=cflag[1:])
    cstarts = np.flatnonzero(cflag)
    sizes = np.add.reduceat(cnt, cstarts)
    class_keys = ckey[cstarts]
    pairs: Pairs | None = None
    if p.sens_codes is not None:
        k_sorted = s >> p.cbits
        pflag = np.empty(n, dtype=bool)
        pflag[0] = True
        np.not_equal(k_sorted[1:], k_sorted[:-1], out=pflag[1:])
        pstarts = np.flatnonzero(pflag)
        cls_of_row = np.cumsum(cflag) - 1
        assert p.sdomain is not None
        pairs = Pairs(
            cls=cls_of_row[pstarts],
            value=k_sorted[pstarts] & ((1 << p.sbits) - 1),
            count=np.add.reduceat(cnt, pstarts),
            n_classes=len(sizes),
            n_values=len(p.sdomain.labels),
        )
    return sizes, class_keys, pairs


def _rowcodes(p: Problem, j: int, level: int) -> IntArray:
    """Codes of QI ``j`` at ``level`` per distinct row."""
    if p.rowcodes:
        return p.rowcodes[j][level]
    return p.shifted[j][level] >> (p.offsets[j] + p.cbits)


def _decode(p: Problem, class_keys: IntArray) -> tuple[IntArray, ...]:
    return tuple(
        (class_keys >> (p.offsets[j] - p.sbits)) & ((1 << p.bits[j]) - 1) for j in range(len(p.qi))
    )


def _classes_general(
    p: Problem, levels: Sequence[int]
) -> tuple[IntArray, tuple[IntArray, ...], Pairs | None]:
    key = np.zeros(len(p.counts), dtype=np.int64)
    used = 0
    for j, lv in enumerate(levels):
        b = p.bits[j]
        if used + b > 62:
            _, key = np.unique(key, return_inverse=True)
            key = key.astype(np.int64)
            used = _bitlen(int(key.max()) + 1) if len(key) else 1
        key = (key << b) | p.rowcodes[j][lv]
        used += b
    _, rep, inv = np.unique(key, return_index=True, return_inverse=True)
    inv = inv.astype(np.int64).ravel()
    sizes = np.bincount(inv, weights=p.counts).astype(np.int64)
    codes = tuple(p.rowcodes[j][lv][rep] for j, lv in enumerate(levels))
    pairs: Pairs | None = None
    if p.sens_codes is not None:
        assert p.sdomain is not None
        nv = len(p.sdomain.labels)
        pk = inv * nv + p.sens_codes
        upk, pinv = np.unique(pk, return_inverse=True)
        pairs = Pairs(
            cls=upk // nv,
            value=upk % nv,
            count=np.bincount(pinv.ravel(), weights=p.counts).astype(np.int64),
            n_classes=len(sizes),
            n_values=nv,
        )
    return sizes, codes, pairs


def evaluate_node(
    p: Problem, levels: Sequence[int], *, with_value: bool = True, decode: bool = False
) -> NodeEval:
    """Classes of ``levels``, their failures under the models, and (if feasible) the metric."""
    lv = tuple(int(x) for x in levels)
    codes: tuple[IntArray, ...] = ()
    class_keys: IntArray | None = None
    strides: list[int] = []
    space = 1
    for j in reversed(range(len(lv))):
        strides.append(space)
        space *= p.cards[j][lv[j]]
    strides.reverse()
    if p.sens_codes is None and space <= max(len(p.counts), 1 << 12):
        # few possible classes: a dense index and one bincount, no sort
        dense = np.zeros(len(p.counts), dtype=np.int64)
        for j, level in enumerate(lv):
            if p.cards[j][level] > 1:
                dense += _rowcodes(p, j, level) * strides[j]
        bins = np.bincount(dense, weights=p.fcounts, minlength=space)
        idx = np.flatnonzero(bins)
        sizes = bins[idx].astype(np.int64)
        pairs = None
        dense_idx: IntArray | None = idx
    elif p.packable:
        sizes, class_keys, pairs = _classes_packed(p, lv)
        dense_idx = None
    else:
        sizes, codes, pairs = _classes_general(p, lv)
        dense_idx = None
    bad = np.zeros(len(sizes), dtype=bool)
    mono_bad = np.zeros(len(sizes), dtype=bool)
    values: dict[str, FloatArray] = {}
    for model in p.models:
        holds, val = model.evaluate(sizes, pairs)
        bad |= ~holds
        if model.monotone_with_suppression:
            mono_bad |= ~holds
        values[model.name] = val
    for model in p.extra_monotone:
        mono_bad |= ~model.evaluate(sizes, pairs)[0]
    suppressed = int(sizes[bad].sum())
    feasible = suppressed <= p.max_outliers
    if class_keys is not None and (feasible or decode):
        codes = _decode(p, class_keys)
    elif dense_idx is not None and (feasible or decode):
        codes = tuple((dense_idx // strides[j]) % p.cards[j][lv[j]] for j in range(len(lv)))
    ev = NodeEval(lv, sizes, codes, bad, pairs, values, suppressed, feasible)
    ev.mono_suppressed = int(sizes[mono_bad].sum())
    if ev.feasible and with_value:
        ev.value = evaluate_metrics(lv, p.costs, sizes, codes, bad, p.n_records, only=p.metric)[
            p.metric
        ]
    return ev


#: What the search knows of a node (``_Lattice.status``).
UNKNOWN, FEASIBLE, INFEASIBLE = 0, 1, -1


class _Lattice:
    def __init__(self, p: Problem) -> None:
        self.p = p
        self.shape = p.heights
        self.size = int(np.prod(self.shape)) if self.shape else 1
        self.status = np.full(self.shape, UNKNOWN, dtype=np.int8)
        self.value = np.full(self.shape, np.nan)
        self.lb = lower_bound_grid(p.metric, p.costs, p.n_records)
        self.levelsum = np.zeros(self.shape, dtype=np.float64)
        self.downsize = np.zeros(self.shape, dtype=np.float64)  # log of the down-set size
        for j, h in enumerate(self.shape):
            s = [1] * len(self.shape)
            s[j] = h
            self.levelsum = self.levelsum + np.arange(h, dtype=np.float64).reshape(s)
            self.downsize = self.downsize + np.log(np.arange(1, h + 1, dtype=np.float64)).reshape(s)
        # ties: more levels first
        self.downsize += self.levelsum * 1e-6
        self._prune_by_marginals()

    def _prune_by_marginals(self) -> None:
        """Nodes infeasible from one attribute alone, without evaluating them.

        A class lies inside its projection on any attribute: records in projected
        classes smaller than k are in classes smaller than k. When they exceed the
        suppression limit at level l of attribute j, every node with level <= l there
        is infeasible (generalization only merges projected classes).
        """
        p = self.p
        k = max((m.k for m in p.models if isinstance(m, KAnonymity)), default=1)
        if k <= 1:
            return
        for j, h in enumerate(self.shape):
            last_bad = -1
            for level in range(h):
                marg = np.bincount(
                    _rowcodes(p, j, level), weights=p.fcounts, minlength=p.cards[j][level]
                )
                if marg[(marg > 0) & (marg < k)].sum() > p.max_outliers:
                    last_bad = level
            if last_bad >= 0:
                sl = [slice(None)] * len(self.shape)
                sl[j] = slice(0, last_bad + 1)
                self.status[tuple(sl)] = INFEASIBLE
        # the same on projections onto pairs of attributes (the bad region is a down-set
        # in both levels: scan each row of the pair's level grid from the top down)
        # worth it when the pair tests are few next to the lattice (each costs about one check)
        pair_tests = sum(a * b for a, b in itertools.combinations(self.shape, 2))
        if pair_tests * 4 > self.size:
            return
        for i, j in itertools.combinations(range(len(self.shape)), 2):
            for li in range(self.shape[i]):
                ci = _rowcodes(p, i, li) * p.cards[j][0]
                top_bad = -1
                for lj in reversed(range(self.shape[j])):
                    sl = [slice(None)] * len(self.shape)
                    sl[i] = slice(li, li + 1)
                    sl[j] = slice(lj, lj + 1)
                    if (self.status[tuple(sl)] == INFEASIBLE).all():
                        top_bad = lj
                        break
                    marg = np.bincount(ci + _rowcodes(p, j, lj), weights=p.fcounts)
                    if marg[(marg > 0) & (marg < k)].sum() > p.max_outliers:
                        top_bad = lj
                        break
                if top_bad < 0:
                    break
                sl = [slice(None)] * len(self.shape)
                sl[i] = slice(0, li + 1)
                sl[j] = slice(0, top_bad + 1)
                self.status[tuple(sl)] = INFEASIBLE

    def up(self, node: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(slice(x, None) for x in node)

    def down(self, node: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(slice(0, x + 1) for x in node)


def _tol(best: float) -> float:
    return 1e-12 * max(1.0, abs(best))


def _better(a: NodeEval, b: NodeEval | None) -> bool:
    if b is None:
        return True
    if a.value < b.value - _tol(b.value):
        return True
    if a.value > b.value + _tol(b.value):
        return False
    return (sum(a.levels), a.levels) < (sum(b.levels), b.levels)


class _Search:
    """One run of the optimal-node search over a lattice, in named phases.

    ``check`` evaluates a node and settles what that proves about others (a feasible node
    settles its up-set when the privacy predicate is monotone, an infeasible one its
    down-set); ``consider`` keeps the best feasible node seen. The phases:

    - :meth:`descend`: (monotone) from the top, step down to the feasible child with the
      lowest bound while one exists: a good first best, cheaply;
    - :meth:`settle_window`: (monotone) every node whose lower bound beats the best is
      either valued (known feasible) or checked, largest down-set first;
    - :meth:`exhaust_window`: (not monotone) every unresolved node below the best value is
      checked; the monotone part of the models still settles whole down-sets.
    """

    def __init__(self, p: Problem, lat: _Lattice, stats: SearchStats) -> None:
        self.p, self.lat, self.stats = p, lat, stats
        self.monotone = predicate_is_monotone(list(p.models), p.max_outliers > 0)
        stats.monotone = self.monotone
        # With no suppression the loss of a feasible node is its lower bound.
        self.value_from_lb = p.max_outliers == 0 and p.metric != "discernibility"
        self.best: NodeEval | None = None
        self.infeasible: list[NodeEval] = []

    def check(self, node: tuple[int, ...]) -> NodeEval:
        p, lat = self.p, self.lat
        self.stats.checked += 1
        ev = evaluate_node(p, node, with_value=not self.value_from_lb)
        if ev.feasible and self.value_from_lb:
            ev.value = float(lat.lb[node])
        if p.metric == "discernibility":
            sl = lat.up(node)
            lat.lb[sl] = np.maximum(lat.lb[sl], discernibility_star(ev.sizes))
        if ev.feasible:
            lat.value[node] = ev.value
            if self.monotone:
                sl = lat.up(node)
                lat.status[sl] = np.where(lat.status[sl] == UNKNOWN, FEASIBLE, lat.status[sl])
            lat.status[node] = FEASIBLE
        else:
            if self.monotone or ev.mono_suppressed > p.max_outliers:
                lat.status[lat.down(node)] = INFEASIBLE
            lat.status[node] = INFEASIBLE
            self.infeasible.append(ev)
            if len(self.infeasible) > 64:  # keep the closest misses for the report
                self.infeasible.sort(key=lambda e: e.suppressed)
                del self.infeasible[16:]
        return ev

    def consider(self, ev: NodeEval) -> None:
        if ev.feasible and _better(ev, self.best):
            self.best = ev

    def _window(self) -> npt.NDArray[np.bool_]:
        """Nodes whose lower bound beats the best value (all nodes before a best exists)."""
        best = self.best
        return self.lat.lb < (best.value - _tol(best.value) if best is not None else np.inf)

    def _largest_downset(self, unresolved: npt.NDArray[np.bool_]) -> tuple[int, ...]:
        """The candidate whose failure would settle the most others."""
        lat = self.lat
        score = np.where(unresolved, lat.downsize, -np.inf)
        return tuple(int(x) for x in np.unravel_index(int(np.argmax(score)), lat.shape))

    def descend(self, top: tuple[int, ...]) -> None:
        lat = self.lat
        cur = top
        while True:
            cands = []
            for j in range(len(cur)):
                if cur[j] > 0:
                    nxt = (*cur[:j], cur[j] - 1, *cur[j + 1 :])
                    if lat.status[nxt] != INFEASIBLE:
                        cands.append((float(lat.lb[nxt]), nxt))
            for _, nxt in sorted(cands):
                if lat.status[nxt] == FEASIBLE and not math.isnan(lat.value[nxt]):
                    cur = nxt
                    break
                ev = self.check(nxt)
                if ev.feasible:
                    self.consider(ev)
                    cur = nxt
                    break
            else:
                return  # no feasible child: a local minimum

    def _value_known_feasible(self, node: tuple[int, ...]) -> NodeEval:
        """A node known feasible (above a feasible one) whose loss is still unknown."""
        lat = self.lat
        if not self.value_from_lb:
            return self.check(node)
        ev = NodeEval(node, np.zeros(0, np.int64), (), np.zeros(0, bool), None, {}, 0, True)
        ev.value = float(lat.lb[node])
        lat.value[node] = ev.value
        return ev

    def settle_window(self) -> None:
        lat = self.lat
        while True:
            window = self._window()
            pending = window & (lat.status == FEASIBLE) & np.isnan(lat.value)
            if pending.any():
                for flat in np.flatnonzero(pending):
                    node = tuple(int(x) for x in np.unravel_index(flat, lat.shape))
                    self.consider(self._value_known_feasible(node))
                continue
            unresolved = window & (lat.status == UNKNOWN)
            if not unresolved.any():
                return
            self.consider(self.check(self._largest_downset(unresolved)))

    def exhaust_window(self) -> None:
        while True:
            unresolved = self._window() & (self.lat.status == UNKNOWN)
            if not unresolved.any():
                return
            self.consider(self.check(self._largest_downset(unresolved)))

    def run(self) -> NodeEval | None:
        top = tuple(h - 1 for h in self.p.heights)
        if self.monotone:
            ev_top = self.check(top)
            if not ev_top.feasible:
                return None  # nothing below the top can be feasible either
            self.consider(ev_top)
            self.descend(top)
            self.settle_window()
        else:
            self.exhaust_window()
        best = self.best
        if best is not None and (self.value_from_lb or (not best.sizes.size and best.levels)):
            # valued from its bound (or without its classes): evaluate it in full
            best = evaluate_node(self.p, best.levels)
        return best


def optimal_node(
    p: Problem, *, max_nodes: int
) -> tuple[NodeEval | None, SearchStats, list[NodeEval]]:
    """The optimal feasible node (or None), search statistics, and the evaluated infeasible
    nodes (the closest misses, for the report). See :class:`_Search` for the phases."""
    t0 = time.perf_counter()
    lat = _Lattice(p)
    stats = SearchStats(lattice_size=lat.size)
    if lat.size > max_nodes:
        raise PolicyError(
            "privacy.max_lattice_nodes",
            f"the lattice has {lat.size} nodes (heights {list(p.heights)}), more than {max_nodes}; "
            "use fewer quasi-identifiers or shallower hierarchies, or raise the limit",
        )
    search = _Search(p, lat, stats)
    best = search.run()
    stats.seconds = time.perf_counter() - t0
    return best, stats, search.infeasible
