"""The (k, k^m) search: demographic and event levels chosen jointly, events suppressed locally.

A node is one generalization level per anchor quasi-identifier and per known event
column (full-domain, as the anchor search). At a node:

1. persons of anchor classes that fail the anchor's privacy model are suppressed
   (the anchor search's rule, within its limit);
2. every event gets its item: its table and its known columns at the node's levels;
3. **local suppression** (after Apriori Anonymization, Terrovitis et al.): the
   combinations of a patient's demographic class with 1..m of their events (a
   multiset: two equal events are two events) whose support, the number of
   patients of the class having them, is below k are broken by suppressing
   events of the patients that have them, never whole patients: an event value
   rare on its own goes from those patients; for a rarer pair (or triple) the
   patient loses the event value that occurs in most of their rare combinations
   (ties: fewer rows lost, then the smaller code), repeated until no
   combination is rare. Which rows of an equal value go: the highest row ids.
4. the node is feasible when the suppressed events stay within the limit and every
   event table keeps at least ``min_kept_share`` of its rows (the steward's floor).

The metric, ``loss``, is the mean ARX loss per released quasi-identifier cell over
the demographics and every event's known columns: a generalized cell costs
(leaves under its value - 1) / (leaves - 1), a suppressed cell 1 (a suppressed
patient's demographics and events, a suppressed event's columns).

The optimum is found by branch and bound: every node's loss has a lower bound
from the value marginals alone (no suppression); nodes are evaluated in the
order of their bound until the best loss found is no more than the next bound.
Event values rare on their own must always go, and fewer of them go at a more
general node (for the same demographic levels), so a node whose rare singles
already exceed the limit prunes every node below it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from deid.errors import PrivacyTargetNotMet
from deid.longitudinal.store import LongitudinalData
from deid.search import Problem, evaluate_node

__all__ = ["EventNodeEval", "LongitudinalResult", "LongitudinalSearch", "pack_rows"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_MAX_ITERATIONS = 64


def pack_rows(cols: Sequence[IntArray], cards: Sequence[int]) -> tuple[IntArray, IntArray]:
    """(inverse, counts): a dense id per distinct row of ``cols`` and each id's count.

    Packs the columns into one int64 when ``prod(cards)`` fits, else sorts rows.
    """
    n = len(cols[0]) if cols else 0
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    space = 1
    for c in cards:
        space *= max(int(c), 1)
    if space < (1 << 62):
        key = np.zeros(n, dtype=np.int64)
        for col, card in zip(cols, cards, strict=True):
            key = key * max(int(card), 1) + col
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        return inverse.astype(np.int64), counts.astype(np.int64)
    stacked = np.stack(cols, axis=1)
    _, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return inverse.reshape(-1).astype(np.int64), counts.astype(np.int64)


@dataclass
class AnchorState:
    """One anchor node: each person's class (dense id) and who is suppressed."""

    levels: tuple[int, ...]
    klass: IntArray  # per person
    n_classes: int
    kept: BoolArray  # per person
    cells_loss: float  # sum over anchor QI cells (suppressed: 1 each)
    suppressed: int
    anchor_value: float


@dataclass
class EventNodeEval:
    """One joint node: feasibility, suppressed events, loss."""

    anchor_levels: tuple[int, ...]
    event_levels: tuple[int, ...]
    feasible: bool
    reason: str  # "ok", "singles" (rare values alone exceed the limit), "limit", "utility"
    suppressed_events: int
    max_suppressed: int
    loss: float = math.nan
    lower_bound: float = math.nan
    iterations: int = 0
    suppressed_mask: BoolArray | None = None  # per event (kept persons' events only)
    item: IntArray | None = None

    def summary(self, data: LongitudinalData) -> dict[str, Any]:
        return {
            "anchor_levels": dict(zip(data.anchor_qi, self.anchor_levels, strict=True)),
            "event_levels": _event_levels(data, self.event_levels),
            "suppressed_events": self.suppressed_events,
            "max_suppressed_events": self.max_suppressed,
            "reason": self.reason,
        }


def _event_levels(data: LongitudinalData, levels: Sequence[int]) -> dict[str, int]:
    return {f"{c.table}.{c.name}": int(lv) for c, lv in zip(data.columns, levels, strict=True)}


@dataclass
class LongitudinalResult:
    best: EventNodeEval
    anchor: AnchorState
    stats: dict[str, Any] = field(default_factory=dict)


class LongitudinalSearch:
    """Joint optimal levels for the anchor (``problem``) and the event columns."""

    def __init__(
        self,
        data: LongitudinalData,
        problem: Problem,
        *,
        k: int,
        m: int,
        suppression_limit: float,
        max_nodes: int = 200_000,
        min_kept_share: float = 0.0,
    ) -> None:
        self.data, self.p = data, problem
        self.min_kept_share = float(min_kept_share)
        self.k, self.m = int(k), int(m)
        self.limit = float(suppression_limit)
        self.max_nodes = max_nodes
        d = data
        self.n_cols_of_event = np.zeros(d.n_events, dtype=np.int64)
        for t, cols in enumerate(d.table_columns):
            self.n_cols_of_event[d.table_of == t] = len(cols)
        self.total_cells = d.n_persons * len(d.anchor_qi) + int(self.n_cols_of_event.sum())
        # events sorted by person (then table, id): the order every node works in
        self.order = np.lexsort((d.event_id, d.table_of, d.person_of))
        self._anchor_cache: dict[tuple[int, ...], AnchorState | None] = {}

    # ------------------------------------------------------------------ anchor
    def anchor_state(self, levels: Sequence[int]) -> AnchorState | None:
        """Classes and suppression of the anchor at ``levels`` (None: infeasible there)."""
        lv = tuple(int(x) for x in levels)
        if lv in self._anchor_cache:
            return self._anchor_cache[lv]
        p, d = self.p, self.data
        ev = evaluate_node(p, lv, decode=True)
        state: AnchorState | None = None
        if ev.feasible:
            codes = [
                np.asarray(d.anchor_mats[j].codes[lv[j]])[d.anchor_leaf[j]] for j in range(len(lv))
            ]
            cards = [p.cards[j][lv[j]] for j in range(len(lv))]
            if codes:
                klass, _ = pack_rows(codes, cards)
                ckeys, _ = pack_rows([*codes], cards)
            else:
                klass = np.zeros(d.n_persons, dtype=np.int64)
            n_classes = int(klass.max()) + 1 if len(klass) else 0
            # the anchor search's failing classes (codes of each class, packed the same way)
            if len(ev.codes) and len(ev.sizes):
                bad_keys = _pack(np.stack([c[ev.bad] for c in ev.codes], axis=1), cards)
                person_keys = (
                    _pack(np.stack(codes, axis=1), cards) if codes else np.zeros(0, np.int64)
                )
                bad_person = np.isin(person_keys, bad_keys)
            else:
                bad_person = np.zeros(d.n_persons, dtype=bool)
                if len(ev.bad) and ev.bad.any():
                    bad_person[:] = True
            kept = ~bad_person
            cells = float(len(lv) * int(bad_person.sum()))
            for j in range(len(lv)):
                cost = d.anchor_mats[j].loss_cost(lv[j])
                cells += float(cost[codes[j][kept]].sum())
            state = AnchorState(
                lv, klass, n_classes, kept, cells, int(bad_person.sum()), float(ev.value)
            )
        self._anchor_cache[lv] = state
        return state

    # ------------------------------------------------------------------ events
    def items(self, levels: Sequence[int]) -> tuple[IntArray, int]:
        """Item code per event at ``levels`` and the size of the item space."""
        d = self.data
        item = np.zeros(d.n_events, dtype=np.int64)
        offset = 0
        for cols in d.table_columns:
            space = 1
            for ci in cols:
                space *= len(d.columns[ci].mat.labels[levels[ci]])
            mask = d.table_of == (d.table_columns.index(cols))
            local = np.zeros(int(mask.sum()), dtype=np.int64)
            for ci in cols:
                col = d.columns[ci]
                card = len(col.mat.labels[levels[ci]])
                local = local * card + np.asarray(col.mat.codes[levels[ci]])[col.leaf[mask]]
            item[mask] = local + offset
            offset += space
        return item, max(offset, 1)

    def event_cost(self, levels: Sequence[int]) -> npt.NDArray[np.float64]:
        """Generalization cost (sum over known columns) per event at ``levels``."""
        d = self.data
        cost = np.zeros(d.n_events)
        for ci, col in enumerate(d.columns):
            has = col.leaf >= 0
            per_leaf = col.mat.loss_cost(levels[ci])[np.asarray(col.mat.codes[levels[ci]])]
            cost[has] += per_leaf[col.leaf[has]]
        return cost

    def evaluate(
        self, anchor: AnchorState, levels: Sequence[int], *, keep_mask: bool = False
    ) -> EventNodeEval:
        d, k, m = self.data, self.k, self.m
        lv = tuple(int(x) for x in levels)
        item, space = self.items(lv)
        order = self.order
        kept_ev = anchor.kept[d.person_of[order]]
        idx = order[kept_ev]  # events of kept persons, by person
        n_kept_events = len(idx)
        max_supp = int(math.floor(self.limit * n_kept_events + 1e-9))
        persons = d.person_of[idx]
        items = item[idx]
        # group (person, item): events of one value of one person, in id order
        gkey_order = np.lexsort((d.event_id[idx], items, persons))
        idx = idx[gkey_order]
        persons, items = persons[gkey_order], items[gkey_order]
        new_group = np.ones(len(idx), dtype=bool)
        if len(idx):
            new_group[1:] = (persons[1:] != persons[:-1]) | (items[1:] != items[:-1])
        starts = np.flatnonzero(new_group)
        g_person = persons[starts]
        g_item = items[starts]
        g_count = np.diff(np.append(starts, len(idx))).astype(np.int64)
        g_keep = g_count.copy()
        suppressed = 0
        iterations = 0
        reason = "ok"
        singles_only = True
        while True:
            iterations += 1
            viol = _violations(g_person, g_item, g_keep, anchor.klass, anchor.n_classes, space, m, k)
            if viol is None:
                break
            kind, g_idx, new_keep = viol
            if kind > 1:
                singles_only = False
            lost = int((g_keep[g_idx] - new_keep).sum())
            suppressed += lost
            g_keep[g_idx] = new_keep
            if suppressed > max_supp:
                reason = "singles" if singles_only else "limit"
                break
            if iterations >= _MAX_ITERATIONS:
                # give up on the greedy: the patients still in a rare combination lose
                # every event, until none is left in one (terminates: events only go;
                # counted against the limit)
                while reason == "ok":
                    rest = _violations(
                        g_person, g_item, g_keep, anchor.klass, anchor.n_classes, space, m, k
                    )
                    if rest is None:
                        break
                    hit = np.isin(g_person, np.unique(g_person[rest[1]])) & (g_keep > 0)
                    suppressed += int(g_keep[hit].sum())
                    g_keep[hit] = 0
                    if suppressed > max_supp:
                        reason = "limit"
                break
        if reason == "ok" and self.min_kept_share > 0:
            # the steward's utility floor: each event table keeps enough of its rows
            g_table = d.table_of[idx[starts]] if len(starts) else np.zeros(0, np.int64)
            for t in range(len(d.tables)):
                of_t = g_table == t
                total_t = int(g_count[of_t].sum())
                if total_t and g_keep[of_t].sum() < self.min_kept_share * total_t - 1e-9:
                    reason = "utility"
                    break
        feasible = reason == "ok"
        ev = EventNodeEval(
            anchor.levels, lv, feasible, reason, suppressed, max_supp, iterations=iterations
        )
        if not feasible:
            return ev
        # rank of each event inside its group (id order): ranks >= keep are suppressed
        group_of = np.cumsum(new_group) - 1
        rank = np.arange(len(idx)) - starts[group_of] if len(idx) else np.zeros(0, np.int64)
        supp_sorted = rank >= g_keep[group_of]
        mask = np.zeros(d.n_events, dtype=bool)
        mask[idx[supp_sorted]] = True
        gone = ~anchor.kept[d.person_of]  # events of suppressed persons
        cost = self.event_cost(lv)
        event_cells = float(cost[~mask & ~gone].sum()) + float(
            self.n_cols_of_event[mask | gone].sum()
        )
        ev.loss = (anchor.cells_loss + event_cells) / max(self.total_cells, 1)
        if keep_mask:
            ev.suppressed_mask = mask
            ev.item = item
        return ev

    # ------------------------------------------------------------------ search
    def event_lattice(self) -> list[tuple[int, ...]]:
        ranges = [
            range(c.min_level, c.height if c.max_level is None else c.max_level + 1)
            for c in self.data.columns
        ]
        return [tuple(x) for x in itertools.product(*ranges)]

    def anchor_lattice(self) -> list[tuple[int, ...]]:
        return [tuple(x) for x in itertools.product(*[range(h) for h in self.p.heights])]

    def _bounds(self, anchor: AnchorState, nodes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Lower bound of the loss per event node (no event suppression) at this anchor node."""
        d = self.data
        gone = ~anchor.kept[d.person_of]
        total = anchor.cells_loss + float(self.n_cols_of_event[gone].sum())
        bound = np.full(len(nodes), total)
        for ci, col in enumerate(d.columns):
            live = (col.leaf >= 0) & ~gone
            freq = np.bincount(col.leaf[live], minlength=len(col.mat.leaves)).astype(np.float64)
            per_level = np.array(
                [
                    float((col.mat.loss_cost(lv)[np.asarray(col.mat.codes[lv])] * freq).sum())
                    for lv in range(col.height)
                ]
            )
            bound += per_level[nodes[:, ci]]
        return bound / max(self.total_cells, 1)

    def run(self) -> LongitudinalResult:
        started = time.perf_counter()
        anchors = [a for a in (self.anchor_state(lv) for lv in self.anchor_lattice()) if a]
        event_nodes = self.event_lattice()
        lattice = len(event_nodes) * len(self.anchor_lattice())
        stats: dict[str, Any] = {
            "lattice_size": lattice,
            "anchor_nodes_feasible": len(anchors),
            "event_nodes": len(event_nodes),
            "checked": 0,
            "pruned_by_bound": 0,
            "pruned_by_singles": 0,
        }
        if not anchors or not event_nodes:
            raise PrivacyTargetNotMet(
                "no demographic generalization meets the anchor's privacy target",
                {"lattice_size": lattice, **stats},
            )
        nodes = np.array(event_nodes, dtype=np.int64).reshape(len(event_nodes), -1)
        cand: list[tuple[float, tuple[int, ...], int, int]] = []
        for ai, a in enumerate(anchors):
            b = self._bounds(a, nodes)
            cand.extend((float(b[i]), a.levels, ai, i) for i in range(len(nodes)))
        cand.sort(key=lambda c: (c[0], c[1], event_nodes[c[3]]))
        best: EventNodeEval | None = None
        best_anchor: AnchorState | None = None
        infeasible: dict[int, list[tuple[int, ...]]] = {}
        failed: list[EventNodeEval] = []
        for bound, _, ai, ni in cand:
            if best is not None and bound >= best.loss - _tol(best.loss):
                stats["pruned_by_bound"] += 1
                continue
            node = event_nodes[ni]
            if any(
                all(a <= b for a, b in zip(node, bad, strict=True))
                for bad in infeasible.get(ai, ())
            ):
                stats["pruned_by_singles"] += 1
                continue
            if stats["checked"] >= self.max_nodes:
                break
            stats["checked"] += 1
            ev = self.evaluate(anchors[ai], node)
            ev.lower_bound = bound
            if not ev.feasible:
                if ev.reason == "singles":
                    infeasible.setdefault(ai, []).append(node)
                failed.append(ev)
                continue
            if best is None or ev.loss < best.loss - _tol(ev.loss):
                best, best_anchor = ev, anchors[ai]
        stats["seconds"] = round(time.perf_counter() - started, 3)
        if best is None or best_anchor is None:
            closest = sorted(failed, key=lambda e: (e.suppressed_events, sum(e.event_levels)))[:5]
            raise PrivacyTargetNotMet(
                f"no generalization of the demographics and events meets (k={self.k}, "
                f"k^m with m={self.m}) within the event suppression limit "
                f"({self.limit:.0%} of the events)",
                {**stats, "best_nodes": [e.summary(self.data) for e in closest]},
            )
        final = self.evaluate(best_anchor, best.event_levels, keep_mask=True)
        final.lower_bound = best.lower_bound
        return LongitudinalResult(final, best_anchor, stats)


def _tol(x: float) -> float:
    return 1e-12 * max(1.0, abs(x))


def _pack(rows: npt.NDArray[np.int64], cards: Sequence[int]) -> IntArray:
    key = np.zeros(len(rows), dtype=np.int64)
    for j, card in enumerate(cards):
        key = key * max(int(card), 1) + rows[:, j]
    return key


def _violations(
    g_person: IntArray,
    g_item: IntArray,
    g_keep: IntArray,
    person_class: IntArray,
    n_classes: int,
    space: int,
    m: int,
    k: int,
) -> tuple[int, IntArray, IntArray] | None:
    """Rare combinations of the current events, and the fix for this round.

    Returns None when every combination of size 1..m has support >= k, else
    (size, group indices, their new keep counts): for rare single values, every
    patient that has one keeps none of it; else, for the smallest size with rare
    combinations, each patient in one drops one occurrence rank of the value that
    most of their rare combinations contain.
    """
    live = g_keep > 0
    # occurrence items: (group, rank) for rank < min(keep, m); a multiset of events
    cap = np.minimum(g_keep, m) * live
    occ_group = np.repeat(np.arange(len(g_keep)), cap)
    if not len(occ_group):
        return None
    starts = np.cumsum(cap) - cap
    occ_rank = np.arange(len(occ_group)) - np.repeat(starts, cap)
    occ_person = g_person[occ_group]
    occ_code = g_item[occ_group] * m + occ_rank  # sorted by (person, item, rank)
    occ_space = space * m
    for size in range(1, m + 1):
        combo_person, combo_pos = _combinations(occ_person, size)
        if not len(combo_person):
            continue
        codes = occ_code[combo_pos]  # (n, size), ascending within a row
        valid = _multiset_valid(codes, m)
        if not valid.any():
            continue
        combo_person, combo_pos, codes = combo_person[valid], combo_pos[valid], codes[valid]
        cls = person_class[combo_person]
        _, support = _support(cls, codes, n_classes, occ_space)
        rare = support < k
        if not rare.any():
            continue
        if size == 1:
            g = occ_group[combo_pos[rare, 0]]
            g = np.unique(g)
            return 1, g, np.zeros(len(g), dtype=np.int64)
        # votes per (person, occurrence) over the person's rare combinations
        pos = combo_pos[rare].reshape(-1)
        votes = np.bincount(pos, minlength=len(occ_group))
        cand = np.flatnonzero(votes)
        cp = occ_person[cand]
        g = occ_group[cand]
        lost = g_keep[g] - occ_rank[cand]  # rows lost if this rank (and above) goes
        pick = np.lexsort((occ_code[cand], lost, -votes[cand], cp))
        cp_sorted = cp[pick]
        first = np.ones(len(pick), dtype=bool)
        first[1:] = cp_sorted[1:] != cp_sorted[:-1]
        chosen = cand[pick[first]]
        return size, occ_group[chosen], occ_rank[chosen].astype(np.int64)
    return None


def _combinations(person: IntArray, size: int) -> tuple[IntArray, npt.NDArray[np.int64]]:
    """All ``size``-subsets of each person's positions (``person`` sorted): (person, positions)."""
    n = len(person)
    if size == 1:
        return person, np.arange(n, dtype=np.int64).reshape(n, 1)
    change = np.ones(n, dtype=bool)
    change[1:] = person[1:] != person[:-1]
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, n))
    out_p: list[IntArray] = []
    out_pos: list[npt.NDArray[np.int64]] = []
    for length in np.unique(lengths):
        if length < size:
            continue
        sel = starts[lengths == length]
        comb = np.array(list(itertools.combinations(range(int(length)), size)), dtype=np.int64)
        pos = sel[:, None, None] + comb[None, :, :]  # (persons, combos, size)
        out_pos.append(pos.reshape(-1, size))
        out_p.append(np.repeat(person[sel], len(comb)))
    if not out_p:
        return np.zeros(0, np.int64), np.zeros((0, size), np.int64)
    return np.concatenate(out_p), np.concatenate(out_pos)


def _multiset_valid(codes: npt.NDArray[np.int64], m: int) -> BoolArray:
    """Combinations of occurrence items that name a multiset: ranks 0, 1, ... per value."""
    rank = codes % m
    value = codes // m
    ok = rank[:, 0] == 0
    for i in range(1, codes.shape[1]):
        same = value[:, i] == value[:, i - 1]
        ok &= (rank[:, i] == 0) & ~same | same & (rank[:, i] == rank[:, i - 1] + 1)
    return ok


def _support(
    cls: IntArray, codes: npt.NDArray[np.int64], n_classes: int, space: int
) -> tuple[IntArray, IntArray]:
    """(combination id, support per combination instance): patients of the class having it."""
    cols = [cls, *[codes[:, i] for i in range(codes.shape[1])]]
    cards = [max(n_classes, 1), *[space] * codes.shape[1]]
    inverse, counts = pack_rows(cols, cards)
    return inverse, counts[inverse]
