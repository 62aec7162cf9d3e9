"""Brute-force checks of (k, k^m)-anonymity and of the loss, written apart from the engine.

Plain Python over released values: no code of ``deid.longitudinal`` is used. A person
is matched by everyone of the same demographics who has the same multiset of events
(at least as many of each); ``violations`` lists every (person, combination) of 1..m
of a person's events (with their demographics) shared by fewer than k persons.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any


def sub_multisets(items: Sequence[Hashable], size: int) -> set[tuple[Any, ...]]:
    """Every multiset of ``size`` items drawn from ``items`` (as sorted tuples)."""
    return {tuple(c) for c in itertools.combinations(sorted(items, key=repr), size)}


def violations(
    classes: Mapping[Hashable, Hashable],
    events: Mapping[Hashable, Sequence[Hashable]],
    *,
    k: int,
    m: int,
) -> list[tuple[Hashable, tuple[Any, ...]]]:
    """(person, combination) pairs whose support is below k, for combinations of 0..m."""
    bad: list[tuple[Hashable, tuple[Any, ...]]] = []
    sizes = Counter(classes.values())
    bad.extend((p, ()) for p, c in classes.items() if sizes[c] < k)
    for size in range(1, m + 1):
        support: Counter[tuple[Hashable, tuple[Any, ...]]] = Counter()
        mine: dict[Hashable, set[tuple[Any, ...]]] = {}
        for p, c in classes.items():
            mine[p] = sub_multisets(events.get(p, ()), size)
            for combo in mine[p]:
                support[(c, combo)] += 1
        bad.extend(
            (p, combo)
            for p, combos in mine.items()
            for combo in combos
            if support[(classes[p], combo)] < k
        )
    return bad


def match_counts(
    classes: Mapping[Hashable, Hashable], events: Mapping[Hashable, Sequence[Hashable]], m: int
) -> dict[Hashable, int]:
    """Per person: the number of persons sharing their rarest combination of 0..m events."""
    sizes = Counter(classes.values())
    worst = {p: sizes[c] for p, c in classes.items()}
    for size in range(1, m + 1):
        support: Counter[tuple[Hashable, tuple[Any, ...]]] = Counter()
        mine = {p: sub_multisets(events.get(p, ()), size) for p in classes}
        for p, combos in mine.items():
            for combo in combos:
                support[(classes[p], combo)] += 1
        for p, combos in mine.items():
            for combo in combos:
                worst[p] = min(worst[p], support[(classes[p], combo)])
    return worst


# Quasi-identifiers in note text finer than a release's tables: day-precision dates
# (ISO, dotted, US, Korean, English months) and exact ages.
DAY_DATES = (
    r"\d{4}-\d{1,2}-\d{1,2}",
    r"\d{4}\.\s?\d{1,2}\.\s?\d{1,2}",
    r"\d{1,2}/\d{1,2}/\d{4}",
    r"\d{4}년\s*\d{1,2}월\s*\d{1,2}일",
    r"(January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}, \d{4}",
)
AGES = (r"\d{1,3}\s*세", r"\b[MF]\s*/\s*\d{1,3}\b", r"\d{1,3}-year-old", r"\b\d{1,3}\s*y/o")
