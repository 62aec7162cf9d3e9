"""Re-identification risk of a longitudinal release, measured on what was written.

Independent of the search on purpose (plain Python over the released values, no
code shared with :mod:`deid.longitudinal.search`), so a bug there cannot hide
here. The attacker knows a patient's released demographics (every quasi-identifier
column of the person table) and ``m`` of the patient's released events, each with
every released column of its row except the pseudonyms. For each ``m`` the
patients are matched on every combination of their demographics with ``m`` or
fewer of their events (a multiset); a patient's match probability is 1 / the
number of released patients sharing their rarest such combination.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = ["MAX_COMBINATIONS", "km_risk", "km_risk_tables"]

#: above this many combinations (all patients, one m) an m is reported as not measured
MAX_COMBINATIONS = 30_000_000


def _rows(table: pa.Table, columns: Sequence[str]) -> Iterable[tuple[Any, ...]]:
    cols = [table.column(c).to_pylist() for c in columns]
    return zip(*cols, strict=True)


def km_risk(
    classes: Mapping[Any, Any],
    events: Mapping[Any, Sequence[Any]],
    *,
    k: int,
    ms: Sequence[int] = (1, 2, 3),
    max_combinations: int = MAX_COMBINATIONS,
) -> dict[str, Any]:
    """Risk per m. ``classes``: person -> demographic class; ``events``: person -> items."""
    class_size = Counter(classes.values())
    per_person: dict[Any, list[Any]] = {p: sorted(events.get(p, ()), key=repr) for p in classes}
    out: dict[str, Any] = {
        "k": k,
        "patients": len(classes),
        "events": sum(len(v) for v in per_person.values()),
        "m0": _summary({p: class_size[c] for p, c in classes.items()}, k),
    }
    worst = {p: class_size[c] for p, c in classes.items()}
    for m in sorted(set(ms)):
        needed = sum(_n_choose(len(v), m) for v in per_person.values())
        if needed > max_combinations:
            out[f"m{m}"] = {"measured": False, "combinations": needed}
            continue
        support: Counter[tuple[Any, tuple[Any, ...]]] = Counter()
        combos: dict[Any, set[tuple[Any, ...]]] = defaultdict(set)
        for p, items in per_person.items():
            if len(items) >= m:
                mine = set(itertools.combinations(items, m))  # sorted: a multiset per tuple
                combos[p] = mine
                c = classes[p]
                for combo in mine:
                    support[(c, combo)] += 1
        for p, mine in combos.items():
            c = classes[p]
            rarest = min(support[(c, combo)] for combo in mine)
            worst[p] = min(worst[p], rarest)
        out[f"m{m}"] = {"measured": True, **_summary(worst, k)}
    return out


def _n_choose(n: int, m: int) -> int:
    return 0 if n < m else _comb(n, m)


def _comb(n: int, m: int) -> int:
    import math

    return math.comb(n, m)


def _summary(worst: Mapping[Any, int], k: int) -> dict[str, Any]:
    n = len(worst)
    if not n:
        return {"below_k": 0, "share_below_k": 0.0, "highest": 0.0, "average": 0.0}
    below = sum(1 for s in worst.values() if s < k)
    probs = [1.0 / s for s in worst.values()]
    return {
        "below_k": below,
        "share_below_k": below / n,
        "highest": max(probs),
        "average": sum(probs) / n,
    }


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
    """:func:`km_risk` over released tables.

    ``persons``: the person table (``person_column`` the pseudonym, ``quasi`` the
    demographics); ``event_tables``: name -> (table, the columns the attacker
    knows, i.e. every released column but the pseudonyms). An event's item is
    its table name and those columns' values.
    """
    classes = {row[0]: row[1:] for row in _rows(persons, [person_column, *quasi])}
    events: dict[Any, list[Any]] = defaultdict(list)
    for name, (table, known) in sorted(event_tables.items()):
        for row in _rows(table, [person_column, *known]):
            if row[0] in classes:
                events[row[0]].append((name, *row[1:]))
    return km_risk(classes, events, k=k, ms=ms, max_combinations=max_combinations)
