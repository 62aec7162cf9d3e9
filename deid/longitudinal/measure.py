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

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
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

_SEP = "\x1f"
_NULL = "\x00"


def km_risk_frames(
    persons: pl.DataFrame,
    events: pl.DataFrame,
    *,
    k: int,
    ms: Sequence[int] = (1, 2, 3),
    max_combinations: int = MAX_COMBINATIONS,
) -> dict[str, Any]:
    """Risk per m. ``persons``: columns ``person``, ``cls`` (the demographic class, any
    type); ``events``: ``person``, ``item`` (any type; one row per released event).
    Events of persons not in ``persons`` are ignored."""
    # integers from here on: a dense id per person, class and item (memory)
    ids = (
        persons.select("person", "cls")
        .unique(subset="person", keep="first")
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("pid"),
            pl.col("cls").rank("dense").cast(pl.Int64).alias("cid"),
        )
    )
    ev = events.select("person", "item").join(ids.select("person", "pid"), on="person")
    ev = ev.select(pl.col("pid").alias("person"), "item")
    persons = ids.select(pl.col("pid").alias("person"), pl.col("cid").alias("cls"))
    sizes = persons.group_by("cls").agg(pl.len().alias("size"))
    worst = persons.join(sizes, on="cls").select("person", "cls", pl.col("size").alias("worst"))
    out: dict[str, Any] = {
        "k": k,
        "patients": persons.height,
        "events": ev.height,
        "m0": _summary(worst["worst"], k),
    }
    top = max([*ms, 1])
    occ = _occurrences(ev, top)
    lengths = occ.group_by("person").agg(pl.len().alias("n"))["n"].to_list()
    combos: pl.DataFrame | None = None
    for size in range(1, top + 1):
        needed = sum(math.comb(int(n), size) for n in lengths)
        if needed > max_combinations:
            for m in ms:
                if m >= size:
                    out[f"m{m}"] = {"measured": False, "combinations": needed}
            break
        combos = _extend(combos, occ, size)
        keys = ["cls", *[f"c{i}" for i in range(size)]]
        with_cls = combos.join(persons, on="person").select("person", *keys)
        counts = with_cls.group_by(keys).agg(pl.col("person").n_unique().alias("support"))
        support = (
            with_cls.join(counts, on=keys)
            .group_by("person")
            .agg(pl.col("support").min().alias("rarest"))
        )
        worst = (
            worst.join(support, on="person", how="left")
            .with_columns(pl.min_horizontal("worst", pl.col("rarest").fill_null(2**62)))
            .drop("rarest")
        )
        if size in ms:
            out[f"m{size}"] = {
                "measured": True,
                "combinations": needed,
                **_summary(worst["worst"], k),
            }
    return out


def _occurrences(events: pl.DataFrame, top: int) -> pl.DataFrame:
    """(person, item id, rank) for the first ``top`` events of each (person, item)."""
    coded = events.with_columns(pl.col("item").rank("dense").cast(pl.Int64).alias("iid"))
    return (
        coded.group_by(["person", "iid"])
        .agg(pl.len().alias("n"))
        .with_columns(pl.int_ranges(0, pl.min_horizontal("n", pl.lit(top))).alias("rank"))
        .explode("rank")
        .select("person", "iid", pl.col("rank").cast(pl.Int64))
        .with_columns((pl.col("iid") * top + pl.col("rank")).alias("code"))
    )


def _extend(prev: pl.DataFrame | None, occ: pl.DataFrame, size: int) -> pl.DataFrame:
    """Combinations of ``size`` occurrences per person naming each multiset once.

    Codes ascend; a new occurrence of another item has rank 0, of the same item the
    next rank (so {A, A} is "A at least twice", counted once).
    """
    if prev is None:
        first = occ.filter(pl.col("rank") == 0)
        return first.select(
            "person",
            pl.col("code").alias("c0"),
            pl.col("iid").alias("_iid"),
            pl.col("rank").alias("_rank"),
        )
    nxt = occ.select(
        "person",
        pl.col("code").alias("_code"),
        pl.col("iid").alias("_iid_n"),
        pl.col("rank").alias("_rank_n"),
    )
    last = f"c{size - 2}"
    joined = prev.join(nxt, on="person").filter(
        (pl.col("_code") > pl.col(last))
        & (
            ((pl.col("_iid_n") != pl.col("_iid")) & (pl.col("_rank_n") == 0))
            | ((pl.col("_iid_n") == pl.col("_iid")) & (pl.col("_rank_n") == pl.col("_rank") + 1))
        )
    )
    return joined.select(
        "person",
        *[f"c{i}" for i in range(size - 1)],
        pl.col("_code").alias(f"c{size - 1}"),
        pl.col("_iid_n").alias("_iid"),
        pl.col("_rank_n").alias("_rank"),
    )


def _summary(worst: pl.Series, k: int) -> dict[str, Any]:
    n = worst.len()
    if not n:
        return {"below_k": 0, "share_below_k": 0.0, "highest": 0.0, "average": 0.0}
    below = int((worst < k).sum())
    # sorted: the group-bys return rows in any order, and a float sum depends on it
    probs = np.sort((1.0 / worst.cast(pl.Float64)).to_numpy())
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
