"""Re-identification risk of a longitudinal release, measured on what was written.

Independent of the search on purpose (polars group-bys and joins over the released
values; no code shared with :mod:`deid.longitudinal.search`), so a bug there cannot
hide here. The attacker knows a patient's released demographics and up to ``m`` of
the patient's released events, each with every released column of its row except
the pseudonyms. A patient matches every released patient of the same demographics
who has those events too (a multiset: knowing two such visits matches patients with
at least two). For each ``m`` a patient's match probability is 1 / the number of
released patients sharing the patient's rarest combination of demographics with
``m`` or fewer of their events; the summary gives the patients whose rarest
combination is shared by fewer than ``k`` (``below_k``), the highest and the
average match probability.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "MAX_COMBINATIONS",
    "events_frame",
    "km_risk_frames",
    "km_risk_tables",
    "read_released_table",
]

#: above this many combinations of one size (all patients) that size is not measured
MAX_COMBINATIONS = 60_000_000
#: combination keys below this fit one int64; wider ones are a pair of int64
_PACK_LIMIT = 1 << 62
#: combinations made at a time (memory: a few hundred bytes each while counted)
CHUNK = 4_000_000

IntArray = npt.NDArray[np.int64]
_SEP = "\x1f"
_NULL = "\x00"


def km_risk_frames(
    persons: pl.DataFrame,
    events: pl.DataFrame,
    *,
    k: int,
    ms: Sequence[int] = (1, 2, 3),
    max_combinations: int = MAX_COMBINATIONS,
    chunk: int = CHUNK,
) -> dict[str, Any]:
    """Risk per m. ``persons``: columns ``person``, ``cls`` (the demographic class, any
    type); ``events``: ``person``, ``item`` (any type; one row per released event).
    Events of persons not in ``persons`` are ignored.

    Memory is bounded by the distinct combinations, not their instances: each size's
    combinations are made ``chunk`` at a time (persons in order), counted per chunk
    and merged, then made again to find each person's rarest.
    """
    # integers from here on: a dense id per person, class and item
    ids = (
        persons.select("person", "cls")
        .unique(subset="person", keep="first", maintain_order=True)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("pid"),
            pl.col("cls").rank("dense").cast(pl.Int64).alias("cid"),
        )
        .sort("pid")
    )
    ev = events.select("person", "item").join(ids.select("person", "pid"), on="person")
    ev = ev.with_columns(pl.col("item").rank("dense").cast(pl.Int64).alias("iid"))
    cid = ids["cid"].to_numpy()
    n_persons = len(cid)
    size_of_class = np.bincount(cid) if n_persons else np.zeros(0, np.int64)
    worst = size_of_class[cid].astype(np.int64) if n_persons else np.zeros(0, np.int64)
    out: dict[str, Any] = {
        "k": k,
        "patients": n_persons,
        "events": ev.height,
        "m0": _summary(worst, k),
    }
    top = max([*ms, 1])
    occ = _Occurrences.of(ev["pid"].to_numpy(), ev["iid"].to_numpy(), top, n_persons)
    for size in range(1, top + 1):
        per_person = _n_choose(occ.lengths, size)
        needed = int(per_person.sum())
        if needed > max_combinations:
            for m in ms:
                if m >= size:
                    out[f"m{m}"] = {"measured": False, "combinations": needed}
            break
        ranges = _chunks(per_person, chunk)
        width = (int(occ.item.max()) + 1) * top if len(occ.item) else 1
        wide = max(len(size_of_class), 1) * width**size >= _PACK_LIMIT
        _rarest(occ, cid, ranges, size, width, worst, wide=wide)
        if size in ms:
            out[f"m{size}"] = {"measured": True, "combinations": needed, **_summary(worst, k)}
    return out


class _Occurrences:
    """Per person (ids 0..n-1, in order): the first ``top`` occurrences of each item."""

    def __init__(
        self, person: IntArray, item: IntArray, rank: IntArray, top: int, n_persons: int
    ) -> None:
        self.person, self.item, self.rank, self.top = person, item, rank, top
        self.lengths = np.bincount(person, minlength=n_persons).astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)

    @classmethod
    def of(cls, person: IntArray, item: IntArray, top: int, n_persons: int) -> _Occurrences:
        order = np.lexsort((item, person))
        person, item = person[order], item[order]
        new = np.ones(len(person), dtype=bool)
        new[1:] = (person[1:] != person[:-1]) | (item[1:] != item[:-1])
        start = np.flatnonzero(new)
        count = np.diff(np.append(start, len(person)))
        cap = np.minimum(count, top)
        first = np.cumsum(cap) - cap
        rank = np.arange(int(cap.sum()), dtype=np.int64) - np.repeat(first, cap)
        return cls(np.repeat(person[start], cap), np.repeat(item[start], cap), rank, top, n_persons)


def _n_choose(n: IntArray, size: int) -> IntArray:
    out = np.ones(len(n), dtype=np.int64)
    for i in range(size):
        out = out * np.maximum(n - i, 0) // (i + 1)
    return out


def _chunks(per_person: IntArray, chunk: int) -> list[tuple[int, int]]:
    """Ranges of persons holding about ``chunk`` combinations each."""
    if not len(per_person):
        return []
    total = np.cumsum(per_person)
    cuts = np.searchsorted(total, np.arange(chunk, int(total[-1]), chunk), side="right")
    bounds = [0, *sorted(set(int(c) for c in cuts if 0 < c < len(per_person))), len(per_person)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _rarest(
    occ: _Occurrences,
    cid: IntArray,
    ranges: list[tuple[int, int]],
    size: int,
    width: int,
    worst: IntArray,
    *,
    wide: bool,
) -> None:
    """Each person's rarest combination of ``size`` (into ``worst``).

    A combination's key is its class and codes packed in one int64, or (``wide``) in
    two: (class, first code) and the other codes, compared as a pair. Counted per
    chunk, merged, then looked up per chunk (sorted keys, binary search).
    """
    pair = np.dtype([("hi", "<i8"), ("lo", "<i8")])

    def keys(lo: int, hi: int) -> tuple[IntArray, npt.NDArray[Any]]:
        who, codes = _combos(occ, lo, hi, size)
        head = cid[who].astype(np.int64)
        if not wide:
            for i in range(size):
                head = head * width + codes[:, i]
            return who, head
        tail = np.zeros(len(who), dtype=np.int64)
        for i in range(1, size):
            tail = tail * width + codes[:, i]
        out = np.empty(len(who), dtype=pair)
        out["hi"], out["lo"] = head * width + codes[:, 0], tail
        return who, out

    uniq_parts, count_parts = [], []
    for lo, hi in ranges:
        u, c = np.unique(keys(lo, hi)[1], return_counts=True)
        uniq_parts.append(u)
        count_parts.append(c)
    if not uniq_parts:
        return
    all_keys, inverse = np.unique(np.concatenate(uniq_parts), return_inverse=True)
    support = np.bincount(inverse.reshape(-1), weights=np.concatenate(count_parts)).astype(np.int64)
    for lo, hi in ranges:
        who, key = keys(lo, hi)
        np.minimum.at(worst, who, support[np.searchsorted(all_keys, key)])


def _combos(occ: _Occurrences, lo: int, hi: int, size: int) -> tuple[IntArray, IntArray]:
    """Persons lo..hi-1: every multiset of ``size`` of their events, once: (person per
    row, codes (rows, size) ascending); a second occurrence of an item comes only after
    its first (so {A, A} is "A at least twice")."""
    a, b = int(occ.starts[lo]), int(occ.starts[hi])
    person = occ.person[a:b]
    code = occ.item[a:b] * occ.top + occ.rank[a:b]
    rank = occ.rank[a:b]
    lengths = occ.lengths[lo:hi]
    starts = occ.starts[lo:hi] - a
    rows: list[IntArray] = []
    for length in np.unique(lengths):
        if length < size:
            continue
        sel = starts[lengths == length]
        idx = np.array(list(itertools.combinations(range(int(length)), size)), dtype=np.int64)
        rows.append((sel[:, None, None] + idx[None, :, :]).reshape(-1, size))
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, size), np.int64)
    pos = np.concatenate(rows)
    ok = rank[pos[:, 0]] == 0
    for i in range(1, size):
        same = code[pos[:, i]] // occ.top == code[pos[:, i - 1]] // occ.top
        ok &= np.where(same, rank[pos[:, i]] == rank[pos[:, i - 1]] + 1, rank[pos[:, i]] == 0)
    pos = pos[ok]
    return person[pos[:, 0]], code[pos]


def _summary(worst: IntArray, k: int) -> dict[str, Any]:
    n = len(worst)
    if not n:
        return {"below_k": 0, "share_below_k": 0.0, "highest": 0.0, "average": 0.0}
    below = int((worst < k).sum())
    probs = np.sort(1.0 / worst.astype(np.float64))  # a float sum depends on the order
    return {
        "below_k": below,
        "share_below_k": below / n,
        "highest": float(probs.max()),
        "average": float(probs.mean()),
    }


def _row_string(table: pa.Table, columns: Sequence[str], prefix: str) -> pl.Series:
    """One string per row: ``prefix`` and the columns' values (nulls kept distinct)."""
    frame = pl.from_arrow(table.select(list(columns)))
    assert isinstance(frame, pl.DataFrame)
    exprs = [pl.lit(prefix)] + [pl.col(c).cast(pl.String).fill_null(_NULL) for c in columns]
    return frame.select(pl.concat_str(exprs, separator=_SEP).alias("item"))["item"]


def events_frame(
    tables: Mapping[str, tuple[pa.Table, Sequence[str]]], person_column: str
) -> pl.DataFrame:
    """(person, item) over event tables: ``name -> (table, the columns the attacker knows)``."""
    parts = []
    for name, (table, known) in sorted(tables.items()):
        person = pl.from_arrow(table.column(person_column))
        assert isinstance(person, pl.Series)
        parts.append(
            pl.DataFrame(
                {"person": person.cast(pl.String), "item": _row_string(table, known, name)}
            )
        )
    if not parts:
        return pl.DataFrame(schema={"person": pl.String, "item": pl.String})
    return pl.concat(parts)


def km_risk_tables(
    persons: pa.Table,
    person_column: str,
    quasi: Sequence[str],
    event_tables: Mapping[str, tuple[pa.Table, Sequence[str]]],
    *,
    k: int,
    ms: Sequence[int] = (1, 2, 3),
    max_combinations: int = MAX_COMBINATIONS,
) -> dict[str, Any]:
    """:func:`km_risk_frames` over released tables.

    ``persons``: the person table (``person_column`` the pseudonym, ``quasi`` the
    demographics); ``event_tables``: name -> (table, the columns the attacker knows,
    i.e. every released column but the pseudonyms). An event's item is its table
    name and those columns' values.
    """
    pid = pl.from_arrow(persons.column(person_column))
    assert isinstance(pid, pl.Series)
    frame = pl.DataFrame(
        {"person": pid.cast(pl.String), "cls": _row_string(persons, quasi, "person")}
    )
    return km_risk_frames(
        frame,
        events_frame(event_tables, person_column),
        k=k,
        ms=ms,
        max_combinations=max_combinations,
    )


def read_released_table(folder: Path, table: str) -> pa.Table:
    """A table as written in a release folder: ``<table>.parquet`` or its part files."""
    paths = sorted(folder.glob(f"{table}.parquet")) or sorted(
        folder.glob(f"{table}-part-*.parquet")
    )
    if not paths:
        raise FileNotFoundError(f"no Parquet file of table {table!r} in {folder}")
    tables = [pq.read_table(p) for p in paths]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
