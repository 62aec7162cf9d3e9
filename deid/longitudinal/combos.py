"""The combinatorics of the (k, k^m) search: dense ids for combinations, the live events of
a node as (person, item) groups, and the instances (a person's 2..m item combinations)
whose supports the search counts. Arrays only; :mod:`deid.longitudinal.search` decides."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Groups",
    "Instances",
    "combinations",
    "dense_codes",
    "dense_ids",
    "live_all",
    "multiset_valid",
    "person_lengths",
]

IntArray = npt.NDArray[np.int64]
I32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


_FIT = 1 << 62


def dense_ids(cols: Sequence[npt.NDArray[Any]], cards: Sequence[int]) -> tuple[IntArray, int]:
    """A dense id per distinct row of ``cols`` (column j in 0..cards[j]-1) and the id count.

    Columns are packed into one int64 key while the product of the cardinalities fits,
    and the key is re-indexed densely before it would overflow, so any number of columns
    works. Ids follow the rows' lexicographic order.
    """
    n = len(cols[0]) if cols else 0
    if n == 0:
        return np.zeros(0, np.int64), 0
    key = np.zeros(n, dtype=np.int64)
    card = 1
    for col, c in zip(cols, cards, strict=True):
        c = max(int(c), 1)
        if card * c >= _FIT:
            key, card = dense_codes(key, card)
        key = key * c + np.asarray(col, dtype=np.int64)
        card *= c
    return dense_codes(key, card)


_DIRECT = 1 << 16


_DIRECT_MAX = 1 << 26


def dense_codes(key: IntArray, space: int) -> tuple[IntArray, int]:
    """Dense ids of ``key`` (values in 0..space-1), in the keys' order."""
    if space <= _DIRECT or (space <= 16 * len(key) and space <= _DIRECT_MAX):
        present = np.zeros(space, dtype=bool)
        present[key] = True
        remap = np.cumsum(present, dtype=np.int32)
        n = int(remap[-1]) if space else 0
        return remap[key].astype(np.int64) - 1, n
    uniq, inv = np.unique(key, return_inverse=True)
    return inv.reshape(-1).astype(np.int64), len(uniq)


@dataclass
class Groups:
    """The live events of one node: (person, item) groups and their first m occurrences."""

    events: IntArray  # event indices of kept persons, sorted by (person, item, row id)
    g_start: IntArray  # per group: first position in ``events``
    g_person: IntArray
    g_item: IntArray  # dense item id
    g_count: IntArray  # rows of the group
    g_table: IntArray
    g_extra: FloatArray  # loss added by suppressing one row of the group
    n_items: int
    o_group: IntArray  # per occurrence (rank < min(count, m)), sorted by (person, item, rank)
    o_rank: IntArray


@dataclass
class Instances:
    """Combinations of one size: the occurrences of each instance and its combination id."""

    size: int
    cols: tuple[I32Array, ...]  # per position: the occurrence of each instance
    combo: IntArray  # dense combination id (class + multiset of items)
    n_combos: int
    live: BoolArray | None = None  # during an evaluation: instances still whole
    supp: IntArray | None = None  # their supports (persons per combination)

    def rows(self, mask: BoolArray) -> npt.NDArray[np.int64]:
        """The occurrences of the instances in ``mask`` as (instances, size)."""
        rows: npt.NDArray[np.int64] = np.stack([c[mask] for c in self.cols], axis=1).astype(
            np.int64
        )
        return rows


def live_all(inst: Instances, o_live: BoolArray) -> BoolArray:
    live: BoolArray = o_live[inst.cols[0]]
    for col in inst.cols[1:]:
        live &= o_live[col]
    return live


def person_lengths(person: IntArray) -> list[tuple[int, int]]:
    """(occurrences of a person, persons with that many) for ``person`` sorted."""
    if not len(person):
        return []
    change = np.ones(len(person), dtype=bool)
    change[1:] = person[1:] != person[:-1]
    lengths = np.diff(np.append(np.flatnonzero(change), len(person)))
    values, counts = np.unique(lengths, return_counts=True)
    return [(int(v), int(c)) for v, c in zip(values, counts, strict=True)]


def combinations(person: IntArray, size: int) -> npt.NDArray[np.int64]:
    """All ``size``-subsets of each person's positions (``person`` sorted), as rows."""
    n = len(person)
    if n == 0:
        return np.zeros((0, size), np.int64)
    change = np.ones(n, dtype=bool)
    change[1:] = person[1:] != person[:-1]
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, n))
    out: list[npt.NDArray[np.int64]] = []
    for length in np.unique(lengths):
        if length < size:
            continue
        sel = starts[lengths == length]
        comb = np.array(list(itertools.combinations(range(int(length)), size)), dtype=np.int64)
        pos = sel[:, None, None] + comb[None, :, :]  # (persons, combinations, size)
        out.append(pos.reshape(-1, size))
    if not out:
        return np.zeros((0, size), np.int64)
    return np.concatenate(out)


def multiset_valid(codes: npt.NDArray[np.int64], m: int) -> BoolArray:
    """Combinations of occurrences that name a multiset once: ranks 0, 1, ... per item."""
    rank = codes % m
    value = codes // m
    ok: BoolArray = rank[:, 0] == 0
    for i in range(1, codes.shape[1]):
        same = value[:, i] == value[:, i - 1]
        ok &= ((rank[:, i] == 0) & ~same) | (same & (rank[:, i] == rank[:, i - 1] + 1))
    return ok
