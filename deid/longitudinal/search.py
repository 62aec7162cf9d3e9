"""The (k, k^m) search: demographic and event levels chosen jointly, events suppressed locally.

A node is one generalization level per anchor quasi-identifier and per known event
column (full-domain, as the anchor search). At a node:

1. persons of anchor classes that fail the anchor's privacy model are suppressed
   (the anchor search's rule, within its limit);
2. every event of a kept person gets its *item*: its table and its known columns
   at the node's levels. A person's events are a multiset of items: two visits
   with the same released values are two events, and knowing "two such visits"
   is a combination of its own;
3. **local suppression** (after Apriori Anonymization, Terrovitis et al., with
   suppression instead of global recoding): every combination of a person's
   demographic class with 1..m of their items whose *support* (the number of
   persons of the class having it) is below k must go, by suppressing events of
   the persons that have it, never whole persons. Supports only fall when events
   go, so a combination rare at the start is rare to the end, and:

   - an item rare on its own goes from every person of the class having it;
   - for the rarer pairs (triples), each person covers their rare combinations
     greedily (a weighted vertex cover): the occurrence in most of them per row it
     costs goes first, repeated until none of theirs is left;
   - the supports are recounted (suppression elsewhere may have made other
     combinations rare) and the round repeats until no combination is rare.

   Which rows of an equal item go: the highest row ids.
4. the node is feasible when the suppressed events stay within the limit and every
   event table keeps at least ``min_kept_share`` of its rows (the steward's floor).

The metric, ``loss``, is the mean ARX loss per released quasi-identifier cell over
the demographics and every event's known columns: a generalized cell costs
(leaves under its value - 1) / (leaves - 1), a suppressed cell 1 (a suppressed
person's demographics and events, a suppressed event's columns).

**The search** (branch and bound, exact for the evaluation above): every node has a
lower bound from the value marginals alone (no suppression); nodes are evaluated in
the order of their bound until the best loss found is no more than the next bound.
A node's first round also gives a sharper bound: events of rare items must go, and
every person left with a rare pair loses at least one more event, so a node whose
forced suppression exceeds the limit (or a table's floor), or whose bound with the
forced suppression reaches the best loss, stops there. Forced suppression can only
grow towards more specific event levels (supports only shrink), so a node infeasible
by force prunes every node below it for the same demographic levels.

Memory: a few integers per event and one row per combination instance of size 2..m
(about 16 bytes each); ``max_instances`` bounds it with a clear error.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from deid.errors import PolicyError, PrivacyTargetNotMet
from deid.longitudinal.combos import (
    BoolArray,
    FloatArray,
    Groups,
    Instances,
    IntArray,
    combinations,
    dense_codes,
    dense_ids,
    live_all,
    multiset_valid,
    person_lengths,
)
from deid.longitudinal.store import LongitudinalData
from deid.search import Problem, evaluate_node

__all__ = [
    "AnchorState",
    "EventNodeEval",
    "LongitudinalResult",
    "LongitudinalSearch",
    "dense_ids",
]


#: rounds of support recounting before the fallback (every event of a person still in a
#: rare combination goes); each round removes at least one event, so this only bounds time
MAX_ROUNDS = 256
#: combination instances (size 2..m, all persons) one node may hold in memory
MAX_INSTANCES = 400_000_000


#: a key space up to this size (or up to 16 slots a key, at most _DIRECT_MAX slots) is
#: made dense by a presence table in linear time, not by sorting
@dataclass
class AnchorState:
    """One anchor node: each person's class (dense id) and who is suppressed."""

    levels: tuple[int, ...]
    klass: IntArray  # per person (anchor row)
    n_classes: int
    kept: BoolArray  # per person
    cells_loss: float  # sum over the anchor's QI cells (a suppressed person's: 1 each)
    suppressed: int
    anchor_value: float


@dataclass
class EventNodeEval:
    """One joint node: feasibility, suppressed events, loss."""

    anchor_levels: tuple[int, ...]
    event_levels: tuple[int, ...]
    feasible: bool
    #: "ok"; "forced": the events that must go exceed the limit or a table's floor
    #: (prunes every more specific node); "bound": cannot beat the best node found;
    #: "limit" / "utility": the greedy suppression exceeded the limit / a table's floor
    reason: str
    suppressed_events: int
    max_suppressed: int
    loss: float = math.nan
    lower_bound: float = math.nan
    rounds: int = 0
    forced_events: int = 0  # a lower bound on the events that must go (first round)
    suppressed_mask: BoolArray | None = None  # per event, when asked for
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


@dataclass
class _Node:
    """What every round of one node works on."""

    g: Groups
    single: IntArray  # per group: its (class, item) id
    n_single: int
    instances: list[Instances]


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
        max_instances: int = MAX_INSTANCES,
    ) -> None:
        if k < 1 or m < 1:
            raise PolicyError("release.events", f"expected k >= 1 and m >= 1, got k={k}, m={m}")
        self.data, self.p = data, problem
        self.k, self.m = int(k), int(m)
        self.limit = float(suppression_limit)
        self.min_kept_share = float(min_kept_share)
        self.max_nodes = max_nodes
        self.max_instances = max_instances
        d = data
        self.n_cols_of_table = np.array([len(c) for c in d.table_columns], dtype=np.int64)
        self.n_cols_of_event = (
            self.n_cols_of_table[d.table_of] if d.n_events else np.zeros(0, np.int64)
        )
        self.total_cells = d.n_persons * len(d.anchor_qi) + int(self.n_cols_of_event.sum())
        # events sorted by person, then row id: every node sorts within persons from here
        self.order = np.lexsort((d.event_id, d.person_of)).astype(np.int64)
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
                klass, n_classes = dense_ids(codes, cards)
            else:
                klass, n_classes = np.zeros(d.n_persons, dtype=np.int64), int(d.n_persons > 0)
            bad_person = np.zeros(d.n_persons, dtype=bool)
            if ev.bad.any():
                if codes and len(ev.codes):
                    # the anchor search's failing classes, keyed like the persons' codes
                    both, _ = dense_ids(
                        [
                            np.concatenate([c[ev.bad], pc])
                            for c, pc in zip(ev.codes, codes, strict=True)
                        ],
                        cards,
                    )
                    n_bad = int(ev.bad.sum())
                    bad_person = np.isin(both[n_bad:], both[:n_bad])
                else:
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
    def items(self, levels: Sequence[int], table: int | None = None) -> tuple[IntArray, int]:
        """Item code per event at ``levels`` (tables in disjoint ranges) and the item space.

        With ``table``, only that table's events get their item (others: 0).
        """
        d = self.data
        item = np.zeros(d.n_events, dtype=np.int64)
        offset = 0
        for t, cols in enumerate(d.table_columns):
            if table is not None and t != table:
                continue
            mask = d.table_of == t
            local = np.zeros(int(mask.sum()), dtype=np.int64)
            space = 1
            for ci in cols:
                col = d.columns[ci]
                card = len(col.mat.labels[levels[ci]])
                local = local * card + np.asarray(col.mat.codes[levels[ci]])[col.leaf[mask]]
                space *= card
            item[mask] = local + offset
            offset += space
        return item, max(offset, 1)

    def event_cost(self, levels: Sequence[int]) -> FloatArray:
        """Generalization cost (sum over the known columns) per event at ``levels``."""
        d = self.data
        cost = np.zeros(d.n_events)
        for ci, col in enumerate(d.columns):
            has = col.leaf >= 0
            per_leaf = col.mat.loss_cost(levels[ci])[np.asarray(col.mat.codes[levels[ci]])]
            cost[has] += per_leaf[col.leaf[has]]
        return cost

    def _groups(
        self, anchor: AnchorState, levels: Sequence[int], table: int | None = None
    ) -> Groups:
        d, m = self.data, self.m
        item, space = self.items(levels, table)
        order = self.order
        live = anchor.kept[d.person_of[order]]
        if table is not None:
            live &= d.table_of[order] == table
        events = order[live]  # kept persons, by (person, row id)
        # dense item ids (sorted like the codes), then a stable sort by (person, item)
        dense, n_items = dense_codes(item[events], space)
        persons = d.person_of[events]
        if len(events):
            key = persons * max(n_items, 1) + dense
            within = np.argsort(key, kind="stable")
            events, persons, dense = events[within], persons[within], dense[within]
        new_group = np.ones(len(events), dtype=bool)
        if len(events):
            new_group[1:] = (persons[1:] != persons[:-1]) | (dense[1:] != dense[:-1])
        g_start = np.flatnonzero(new_group).astype(np.int64)
        g_count = np.diff(np.append(g_start, len(events))).astype(np.int64)
        g_table = d.table_of[events[g_start]] if len(g_start) else np.zeros(0, np.int64)
        cost = self.event_cost(levels)
        g_extra = (
            self.n_cols_of_event[events[g_start]] - cost[events[g_start]]
            if len(g_start)
            else np.zeros(0)
        )
        cap = np.minimum(g_count, m)
        o_group = np.repeat(np.arange(len(g_start), dtype=np.int64), cap)
        o_start = np.cumsum(cap) - cap
        o_rank = np.arange(len(o_group), dtype=np.int64) - np.repeat(o_start, cap)
        return Groups(
            events=events,
            g_start=g_start,
            g_person=persons[g_start] if len(g_start) else np.zeros(0, np.int64),
            g_item=dense[g_start] if len(g_start) else np.zeros(0, np.int64),
            g_count=g_count,
            g_table=g_table,
            g_extra=np.asarray(g_extra, dtype=np.float64),
            n_items=n_items,
            o_group=o_group,
            o_rank=o_rank,
        )

    def _instances(self, g: Groups, klass: IntArray, n_classes: int) -> list[Instances]:
        """Combination instances of sizes 2..m over the occurrences (multisets, per person)."""
        m = self.m
        out: list[Instances] = []
        o_person = g.g_person[g.o_group]
        o_code = g.g_item[g.o_group] * m + g.o_rank  # ascending within a person
        width = max(g.n_items * m, 1)
        sizes = person_lengths(o_person)
        total = sum(
            int(math.comb(int(length), s) * count)
            for s in range(2, m + 1)
            for length, count in sizes
        )
        if total > self.max_instances:
            raise PolicyError(
                "release.events.m",
                f"m={m} needs {total:,} combinations of events in memory at one node "
                f"(limit {self.max_instances:,}); lower m, or generalize or limit the events",
            )
        for s in range(2, m + 1):
            if s == 2:
                out.append(self._pairs(g, klass, n_classes))
                continue
            pos = combinations(o_person, s)
            if not len(pos):
                empty = tuple(np.zeros(0, np.int32) for _ in range(s))
                out.append(Instances(s, empty, np.zeros(0, np.int64), 0))
                continue
            codes = o_code[pos]
            valid = multiset_valid(codes, m)
            pos, codes = pos[valid], codes[valid]
            cls = klass[o_person[pos[:, 0]]]
            combo, n_combos = dense_ids(
                [cls, *[codes[:, i] for i in range(s)]], [max(n_classes, 1), *[width] * s]
            )
            cols = tuple(np.ascontiguousarray(pos[:, i], dtype=np.int32) for i in range(s))
            out.append(Instances(s, cols, combo, n_combos))
        return out

    def _pairs(self, g: Groups, klass: IntArray, n_classes: int) -> Instances:
        """Size-2 combinations, made directly: two items of a person (rank 0 each), or one
        item twice (ranks 0 and 1): each multiset once, nothing to filter."""
        m = self.m
        cap = np.minimum(g.g_count, m)
        o_start = np.cumsum(cap) - cap
        two = combinations(g.g_person, 2)  # group pairs of a person, items ascending
        first, second = np.ascontiguousarray(two[:, 0]), np.ascontiguousarray(two[:, 1])
        twice = np.flatnonzero(g.g_count >= 2)
        ga = np.concatenate([first, twice])
        a = o_start[ga]
        b = np.concatenate([o_start[second], o_start[twice] + 1])
        code_a = g.g_item[ga] * m
        code_b = np.concatenate([g.g_item[second] * m, g.g_item[twice] * m + 1])
        width = max(g.n_items * m, 1)
        cls = klass[g.g_person[ga]]
        combo, n_combos = dense_ids([cls, code_a, code_b], [max(n_classes, 1), width, width])
        return Instances(2, (a.astype(np.int32), b.astype(np.int32)), combo, n_combos)

    def _prepare(
        self, anchor: AnchorState, levels: Sequence[int], table: int | None = None
    ) -> _Node:
        g = self._groups(anchor, levels, table)
        single, n_single = dense_ids(
            [anchor.klass[g.g_person], g.g_item], [max(anchor.n_classes, 1), max(g.n_items, 1)]
        )
        instances = self._instances(g, anchor.klass, anchor.n_classes) if self.m > 1 else []
        return _Node(g, single, n_single, instances)

    def _rare(
        self, node: _Node, keep: IntArray
    ) -> tuple[BoolArray, list[tuple[Instances, BoolArray]]]:
        """Groups of rare items, and per size the live instances of rare combinations.

        Instances containing an occurrence of a rare item do not count: those rows go
        this round anyway (and every combination containing a rare item is rare).
        """
        g, k = node.g, self.k
        g_live = keep > 0
        supp1 = np.bincount(node.single[g_live], minlength=node.n_single)
        rare_groups = g_live & (supp1[node.single] < k)
        o_live = (g.o_rank < keep[g.o_group]) & ~rare_groups[g.o_group]
        rare: list[tuple[Instances, BoolArray]] = []
        for inst in node.instances:
            live = live_all(inst, o_live)
            if inst.live is None or inst.supp is None:
                inst.supp = np.bincount(inst.combo[live], minlength=inst.n_combos)
            else:  # supports only fall: take off the instances that broke since
                dead = inst.live & ~live
                if dead.any():
                    inst.supp -= np.bincount(inst.combo[dead], minlength=inst.n_combos)
            inst.live = live
            rare_i = live & (inst.supp < k)[inst.combo]
            if rare_i.any():
                rare.append((inst, rare_i))
        return rare_groups, rare

    def _forced(
        self, g: Groups, rare_groups: BoolArray, rare: list[tuple[Instances, BoolArray]]
    ) -> tuple[int, float, FloatArray]:
        """Rows that must go (all rows of rare items, one per disjoint rare combination),
        the least loss they add, and the rows of rare items per table."""
        rows = int(g.g_count[rare_groups].sum())
        extra = float((g.g_count * g.g_extra)[rare_groups].sum())
        if rare:
            packed_rows, packed_extra = self._packing(g, rare)
            rows += packed_rows
            extra += packed_extra
        by_table = np.bincount(
            g.g_table[rare_groups],
            weights=g.g_count[rare_groups],
            minlength=len(self.data.tables),
        ).astype(np.float64)
        return rows, extra, by_table

    def table_bound(
        self, anchor: AnchorState, table: int, levels: Sequence[int]
    ) -> tuple[int, float]:
        """Forced rows and least added loss of one event table alone at ``levels``.

        Rare items and rare combinations within one table are rare whatever the other
        tables' levels, and rows of different tables are different rows, so these add up
        over the tables into a lower bound of any node with these levels.
        """
        node = self._prepare(anchor, levels, table)
        rare_groups, rare = self._rare(node, node.g.g_count.copy())
        if not rare_groups.any() and not rare:
            return 0, 0.0
        rows, extra, _ = self._forced(node.g, rare_groups, rare)
        return rows, extra

    def base_loss(self, anchor: AnchorState, levels: Sequence[int]) -> float:
        """Loss cells of the node before event suppression (its bound without it)."""
        d = self.data
        gone = ~anchor.kept[d.person_of]  # events of suppressed persons
        cost = self.event_cost(levels)
        return (
            anchor.cells_loss + float(self.n_cols_of_event[gone].sum()) + float(cost[~gone].sum())
        )

    def evaluate(
        self,
        anchor: AnchorState,
        levels: Sequence[int],
        *,
        bound: float = math.inf,
        keep_mask: bool = False,
    ) -> EventNodeEval:
        """Suppress events at the node until (k, k^m) holds; see the module docstring.

        ``bound``: stop (reason ``bound``) as soon as the node provably cannot have a
        loss below it.
        """
        d = self.data
        lv = tuple(int(x) for x in levels)
        floors = self._table_floors(anchor)
        ev = EventNodeEval(anchor.levels, lv, False, "ok", 0, 0)
        node = self._prepare(anchor, lv)
        g = node.g
        ev.max_suppressed = math.floor(self.limit * int(g.g_count.sum()) + 1e-9)
        if (floors < 0).any():
            ev.reason = "forced"  # the anchor's suppression alone breaks a table's floor
            return ev
        cells = max(self.total_cells, 1)
        base = self.base_loss(anchor, lv)
        keep = g.g_count.copy()
        while True:
            ev.rounds += 1
            rare_groups, rare = self._rare(node, keep)
            if not rare_groups.any() and not rare:
                break
            if ev.rounds == 1:
                rows, extra, by_table = self._forced(g, rare_groups, rare)
                ev.forced_events = rows
                ev.lower_bound = (base + extra) / cells
                if rows > ev.max_suppressed or (by_table > floors).any():
                    ev.reason = "forced"
                    ev.suppressed_events = rows
                    return ev
                if ev.lower_bound >= bound - _tol(bound):
                    ev.reason = "bound"
                    return ev
            keep[rare_groups] = 0
            if rare:
                self._cover(g, rare, keep, floors)
            if ev.rounds >= MAX_ROUNDS:
                self._fallback(node, keep)
            ev.suppressed_events = int((g.g_count - keep).sum())
            if ev.suppressed_events > ev.max_suppressed:
                ev.reason = "limit"
                return ev
        lost = g.g_count - keep
        if (np.bincount(g.g_table, weights=lost, minlength=len(floors)) > floors).any():
            ev.reason = "utility"
            return ev
        ev.feasible = True
        ev.loss = (base + float((lost * g.g_extra).sum())) / cells
        if math.isnan(ev.lower_bound):
            ev.lower_bound = ev.loss
        if keep_mask:
            # rows of a group in row-id order: ranks >= keep are suppressed
            group_of = np.repeat(np.arange(len(keep)), g.g_count)
            rank = np.arange(len(g.events)) - g.g_start[group_of]
            mask = np.zeros(d.n_events, dtype=bool)
            mask[g.events[rank >= keep[group_of]]] = True
            ev.suppressed_mask = mask
            ev.item = self.items(lv)[0]
        return ev

    def _table_floors(self, anchor: AnchorState) -> FloatArray:
        """Rows each event table may still lose to event suppression (the steward's floor).

        A table keeps at least ``min_kept_share`` of its rows (of persons in the anchor);
        rows of persons the anchor suppresses count as lost already.
        """
        d = self.data
        n_tables = len(d.tables)
        rows = np.bincount(d.table_of, minlength=n_tables).astype(np.float64)
        if self.min_kept_share <= 0:
            return rows
        gone = np.bincount(d.table_of[~anchor.kept[d.person_of]], minlength=n_tables).astype(
            np.float64
        )
        floors: FloatArray = np.floor((1.0 - self.min_kept_share) * rows + 1e-9) - gone
        return floors

    def _packing(self, g: Groups, rare: list[tuple[Instances, BoolArray]]) -> tuple[int, float]:
        """A lower bound on what the rare combinations still cost: (rows, loss).

        Rare combinations that share no (person, item) group need a suppressed row each,
        so a greedy packing of group-disjoint rare combinations counts rows that must go,
        each adding at least the least loss of its groups. The maximum packing only grows
        towards more specific levels, so the bound is safe for pruning below the node.
        """
        inst_groups = [g.o_group[inst.rows(r)] for inst, r in rare]
        width = max(x.shape[1] for x in inst_groups)
        groups = np.concatenate(
            [np.pad(x, ((0, 0), (0, width - x.shape[1])), mode="edge") for x in inst_groups]
        )
        person = g.g_person[groups[:, 0]]
        idx = np.argsort(person, kind="stable")  # by person, then instance order
        used = np.zeros(len(g.g_person), dtype=bool)
        rows, extra = 0, 0.0
        while len(idx):
            free = ~used[groups[idx, 0]]
            for i in range(1, width):
                free &= ~used[groups[idx, i]]
            idx = idx[free]
            if not len(idx):
                break
            first = np.ones(len(idx), dtype=bool)
            first[1:] = person[idx][1:] != person[idx][:-1]
            pick = idx[first]
            rows += len(pick)
            extra += float(g.g_extra[groups[pick]].min(axis=1).sum())
            used[groups[pick]] = True
            idx = idx[~first]
        return rows, extra

    def _cover(
        self,
        g: Groups,
        rare: list[tuple[Instances, BoolArray]],
        keep: IntArray,
        floors: FloatArray,
    ) -> None:
        """Each person in a rare combination gives up one occurrence (greedy vertex cover).

        The occurrence in most of the person's rare combinations goes (ties: fewer rows
        lost, then less loss, then the smaller occurrence); the caller recounts the
        supports before the next one, so later choices see what this one made rare.
        """
        n_occ = len(g.o_group)
        votes = np.zeros(n_occ, dtype=np.int64)
        for inst, r in rare:
            for col in inst.cols:
                votes += np.bincount(col[r], minlength=n_occ)
        cand = np.flatnonzero(votes)
        grp = g.o_group[cand]
        lost = keep[grp] - g.o_rank[cand]  # rows that go if this occurrence goes
        persons = g.g_person[grp]
        # a table close to its floor is dearer: rows cost floor / rows still allowed
        lost_t = np.bincount(g.g_table, weights=g.g_count - keep, minlength=len(floors))
        slack = np.maximum(floors - lost_t, 1.0)
        dear = np.where(np.isfinite(floors), np.maximum(floors, 1.0) / slack, 1.0)
        score = votes[cand] / (lost * dear[g.g_table[grp]])
        pick = np.lexsort((cand, g.g_extra[grp] * lost, lost, -score, persons))
        first = np.ones(len(pick), dtype=bool)
        first[1:] = persons[pick][1:] != persons[pick][:-1]
        chosen = cand[pick[first]]
        cg = g.o_group[chosen]
        keep[cg] = np.minimum(keep[cg], g.o_rank[chosen])

    def _fallback(self, node: _Node, keep: IntArray) -> None:
        """Persons still in a rare combination lose every event, until none is left in one."""
        g = node.g
        while True:
            rare_groups, rare = self._rare(node, keep)
            hit = [g.g_person[rare_groups]]
            hit.extend(g.g_person[g.o_group[inst.cols[0][r]]] for inst, r in rare)
            persons = np.unique(np.concatenate(hit))
            if not len(persons):
                return
            keep[np.isin(g.g_person, persons)] = 0

    # ------------------------------------------------------------------ search
    def event_lattice(self) -> list[tuple[int, ...]]:
        ranges = [
            range(c.min_level, c.height if c.max_level is None else c.max_level + 1)
            for c in self.data.columns
        ]
        return [tuple(x) for x in itertools.product(*ranges)]

    def anchor_lattice(self) -> list[tuple[int, ...]]:
        return [tuple(x) for x in itertools.product(*[range(h) for h in self.p.heights])]

    def bounds(self, anchor: AnchorState, nodes: npt.NDArray[np.int64]) -> FloatArray:
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
        return np.asarray(bound / max(self.total_cells, 1), dtype=np.float64)

    def run(self, progress: Any = None) -> LongitudinalResult:  # noqa: C901
        """The node of least loss; raises ``PrivacyTargetNotMet`` with the closest nodes.

        Best-first over (anchor node, event node) by lower bound: a node first comes up
        with its bound without suppression; then its tables' forced suppression (cached
        per table and levels) either proves it infeasible, or raises its bound and puts it
        back; when it comes up again it is evaluated. The search ends when the next bound
        is no less than the best loss found. ``progress(done, total)`` sees the steps.
        """
        started = time.perf_counter()
        anchors = [a for a in (self.anchor_state(lv) for lv in self.anchor_lattice()) if a]
        event_nodes = self.event_lattice()
        lattice = len(event_nodes) * len(self.anchor_lattice())
        stats: dict[str, Any] = {
            "lattice_size": lattice,
            "anchor_nodes_feasible": len(anchors),
            "event_nodes": len(event_nodes),
            "table_bounds": 0,
            "evaluated": 0,
            "pruned_by_bound": 0,
            "pruned_by_forced": 0,
            "stopped_by_bound": 0,
            "infeasible": 0,
        }
        if not anchors or not event_nodes:
            raise PrivacyTargetNotMet(
                "no demographic generalization meets the anchor's privacy target",
                {**stats, "best_nodes": []},
            )
        d = self.data
        cells = max(self.total_cells, 1)
        nodes = np.array(event_nodes, dtype=np.int64).reshape(len(event_nodes), -1)
        heap: list[tuple[float, int, int, int]] = []
        for ai, a in enumerate(anchors):
            b = self.bounds(a, nodes)
            heap.extend((float(b[i]), 0, ai, i) for i in range(len(nodes)))
        heapq.heapify(heap)
        total = len(heap)
        floors = [self._table_floors(a) for a in anchors]
        max_supp = [math.floor(self.limit * int(a.kept[d.person_of].sum()) + 1e-9) for a in anchors]
        table_cache: dict[tuple[int, int, tuple[int, ...]], tuple[int, float]] = {}
        table_order = [
            int(t)
            for t in np.argsort(np.bincount(d.table_of, minlength=len(d.tables)), kind="stable")
        ]
        forced_tables: dict[tuple[int, int], list[tuple[int, ...]]] = {}
        forced_nodes: dict[int, list[tuple[int, ...]]] = {}
        best: EventNodeEval | None = None
        best_anchor: AnchorState | None = None
        failed: list[EventNodeEval] = []
        steps = 0
        while heap:
            key, stage, ai, ni = heapq.heappop(heap)
            steps += 1
            if progress is not None and steps % 16 == 0:
                progress(total - len(heap), total)
            if best is not None and key >= best.loss - _tol(best.loss):
                stats["pruned_by_bound"] += 1 + sum(1 for e in heap if e[1] == 0)
                break
            node = event_nodes[ni]
            if _below_any(node, forced_nodes.get(ai, ())) or any(
                _below_any(tuple(node[c] for c in cols), forced_tables.get((ai, t), ()))
                for t, cols in enumerate(d.table_columns)
            ):
                stats["pruned_by_forced"] += 1
                continue
            if stage == 0:
                # smaller tables first: a node they already rule out spares the others
                rows, extra, infeasible, beaten = 0, 0.0, False, False
                for t in table_order:
                    cols = d.table_columns[t]
                    lv_t = tuple(node[c] for c in cols)
                    cached = table_cache.get((ai, t, lv_t))
                    if cached is None:
                        stats["table_bounds"] += 1
                        cached = self.table_bound(anchors[ai], t, node)
                        table_cache[(ai, t, lv_t)] = cached
                    if cached[0] > floors[ai][t]:
                        forced_tables.setdefault((ai, t), []).append(lv_t)
                        infeasible = True
                    rows += cached[0]
                    extra += cached[1]
                    if infeasible or rows > max_supp[ai]:
                        break
                    if best is not None and key + extra / cells >= best.loss - _tol(best.loss):
                        beaten = True
                        break
                if infeasible or rows > max_supp[ai]:
                    forced_nodes.setdefault(ai, []).append(node)
                    stats["pruned_by_forced"] += 1
                    continue
                if beaten:
                    stats["pruned_by_bound"] += 1
                    continue
                heapq.heappush(heap, (key + extra / cells, 1, ai, ni))
                continue
            if stats["evaluated"] >= self.max_nodes:
                break
            stats["evaluated"] += 1
            ev = self.evaluate(anchors[ai], node, bound=best.loss if best is not None else math.inf)
            if ev.reason == "bound":
                stats["stopped_by_bound"] += 1
                continue
            if not ev.feasible:
                stats["infeasible"] += 1
                if ev.reason == "forced":
                    forced_nodes.setdefault(ai, []).append(node)
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
                f"({self.limit:.0%} of the events)"
                + (
                    f" while keeping {self.min_kept_share:.0%} of each event table's rows"
                    if self.min_kept_share
                    else ""
                ),
                {**stats, "best_nodes": [e.summary(self.data) for e in closest]},
            )
        final = self.evaluate(best_anchor, best.event_levels, keep_mask=True)
        final.lower_bound = best.lower_bound
        return LongitudinalResult(final, best_anchor, stats)


def _below_any(node: tuple[int, ...], tops: Sequence[tuple[int, ...]]) -> bool:
    """Is ``node`` at or below (no more general than) one of ``tops``?"""
    return any(all(a <= b for a, b in zip(node, top, strict=True)) for top in tops)


def _tol(x: float) -> float:
    return 1e-12 * max(1.0, abs(x)) if math.isfinite(x) else 0.0
