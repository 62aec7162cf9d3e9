"""The k^m risk measured with polars equals the brute-force oracle, in any chunking."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.longitudinal.measure import km_risk_frames
from tests.deid.longitudinal.oracle import match_counts

people = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.tuples(st.sampled_from("XY"), st.lists(st.sampled_from("pqrs"), max_size=6)),
    min_size=1,
    max_size=25,
)


@given(
    people=people,
    k=st.integers(2, 4),
    chunk=st.sampled_from([1, 3, 50, 10_000]),
    packed=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_measure_equals_brute_force(people, k, chunk, packed) -> None:
    """Both key widths (one int64, a pair of them) and any chunking agree with it."""
    import deid.longitudinal.measure as measure

    measure._PACK_LIMIT = 1 << 62 if packed else 0
    classes = {p: c for p, (c, _) in people.items()}
    events = {p: items for p, (_, items) in people.items()}
    persons = pl.DataFrame({"person": list(classes), "cls": list(classes.values())})
    rows = [(p, i) for p, items in events.items() for i in items]
    ev = pl.DataFrame(
        {"person": [p for p, _ in rows], "item": [i for _, i in rows]},
        schema={"person": pl.String, "item": pl.String},
    )
    got = km_risk_frames(persons, ev, k=k, chunk=chunk)
    for m in (1, 2, 3):
        worst = match_counts(classes, events, m)
        part = got[f"m{m}"]
        assert part["measured"]
        assert part["below_k"] == sum(1 for w in worst.values() if w < k)
        assert part["highest"] == max(1 / w for w in worst.values())
        assert abs(part["average"] - sum(1 / w for w in worst.values()) / len(worst)) < 1e-12
    measure._PACK_LIMIT = 1 << 62


def test_too_many_combinations_are_reported_not_measured() -> None:
    persons = pl.DataFrame({"person": ["a", "b"], "cls": ["x", "x"]})
    ev = pl.DataFrame({"person": ["a"] * 30 + ["b"] * 30, "item": [str(i) for i in range(60)]})
    got = km_risk_frames(persons, ev, k=2, max_combinations=1000)
    assert got["m1"]["measured"]
    assert got["m2"]["measured"]  # 2 x C(30, 2) = 870
    assert got["m3"] == {"measured": False, "combinations": 2 * 4060}
