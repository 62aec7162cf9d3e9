"""Per-patient date shifting: one offset per patient, intervals preserved, keyed."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.dates import date_shift_days, shift_dates
from deid.errors import DataError, PolicyError
from deid.keys import KeyStore, MasterKey

KEY = b"k" * 64


@pytest.fixture(scope="module")
def release_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    store = KeyStore(tmp_path_factory.mktemp("ks"), MasterKey.from_text("ab" * 32))
    a = store.release_key(store.create_release_key(release_id="r1", recipient_org_id="a"))
    b = store.release_key(store.create_release_key(release_id="r1", recipient_org_id="b"))
    return a, b


def test_shift_is_per_patient_and_in_range() -> None:
    patients = [f"p{i}" for i in range(2000)]
    days = date_shift_days(pa.array(patients), KEY, max_days=30).to_pylist()
    assert all(-30 <= d <= 30 and d != 0 for d in days)
    assert len(set(days)) == 60  # every non-zero offset is used
    again = date_shift_days(pa.array(list(reversed(patients))), KEY, max_days=30).to_pylist()
    assert days == list(reversed(again))


def test_allow_zero_and_nulls() -> None:
    days = date_shift_days(
        pa.array([f"p{i}" for i in range(500)] + [None]), KEY, max_days=2, allow_zero=True
    )
    values = days.to_pylist()
    assert values[-1] is None
    assert set(values[:-1]) == {-2, -1, 0, 1, 2}


def test_recipients_get_different_shifts(release_keys: tuple) -> None:
    a, b = release_keys
    patients = pa.array([f"p{i}" for i in range(200)])
    da = date_shift_days(patients, a, max_days=365).to_pylist()
    db = date_shift_days(patients, b, max_days=365).to_pylist()
    assert sum(x == y for x, y in zip(da, db, strict=True)) < 10


@settings(max_examples=50, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3"]), st.dates(dt.date(1950, 1, 1), dt.date(2030, 1, 1))
        ),
        min_size=1,
        max_size=40,
    )
)
def test_intervals_inside_a_patient_are_preserved(events: list[tuple[str, dt.date]]) -> None:
    persons = pa.array([p for p, _ in events])
    dates = pa.array([d for _, d in events], pa.date32())
    days = date_shift_days(persons, KEY, max_days=30)
    shifted = shift_dates(dates, days).to_pylist()
    for i, (pi, di) in enumerate(events):
        assert shifted[i] != di
        for j, (pj, dj) in enumerate(events):
            if pi == pj:
                assert shifted[i] - shifted[j] == di - dj


def test_shift_timestamps_text_and_nulls() -> None:
    days = pa.array([3, -2, None], pa.int32())
    ts = pa.array(
        [dt.datetime(2024, 1, 1, 10, 30), dt.datetime(2024, 3, 1), None], pa.timestamp("us")
    )
    assert shift_dates(ts, days).to_pylist() == [
        dt.datetime(2024, 1, 4, 10, 30),
        dt.datetime(2024, 2, 28),
        None,
    ]
    text = pa.array(["2024-01-01", "2024-03-01", None])
    assert shift_dates(text, days).to_pylist() == [dt.date(2024, 1, 4), dt.date(2024, 2, 28), None]


def test_errors_name_the_field() -> None:
    with pytest.raises(DataError, match="'bmi'"):
        shift_dates(pa.array([1.0]), pa.array([1], pa.int32()), field="bmi")
    with pytest.raises(DataError, match="ISO dates"):
        shift_dates(pa.array(["01/02/2024"]), pa.array([1], pa.int32()), field="d")
    with pytest.raises(PolicyError):
        date_shift_days(pa.array(["p"]), KEY, max_days=0)
