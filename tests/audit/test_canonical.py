"""The canonical encoding: the fast verifier hash equals the reference definition."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from audit.canonical import (
    canonical_details,
    canonical_event_bytes,
    event_hash,
    format_time,
    parse_time,
    row_event_hash,
)

text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
safe_text = st.text(
    alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | safe_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["n", "이름", "a b"]), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(
    seq=st.integers(1, 2**62),
    time=times,
    user_id=st.none() | st.integers(1, 2**62),
    strings=st.lists(text, min_size=8, max_size=8),
    details=st.dictionaries(st.sampled_from(["a", "b", "file", "한글", "x y"]), json_values),
)
def test_fast_row_hash_equals_reference(
    seq: int, time: datetime, user_id: int | None, strings: list[str], details: dict
) -> None:
    username, role, token, session, ip, action, obj_type, obj_id = strings
    details_json = canonical_details(details)
    fields = {
        "seq": seq,
        "time": time,
        "actor_user_id": user_id,
        "actor_username": username,
        "actor_role": role,
        "actor_token_id": token,
        "actor_session": session,
        "actor_ip": ip,
        "action": action,
        "object_type": obj_type,
        "object_id": obj_id,
        "details_json": details_json,
        "prev_hash": "0" * 64,
    }
    assert row_event_hash(*fields.values()) == event_hash(**fields)


def test_encoding_is_sorted_compact_json_with_utc_time() -> None:
    seoul = timezone(timedelta(hours=9))
    data = canonical_event_bytes(
        seq=3,
        time=datetime(2026, 11, 30, 9, 0, 0, 5, tzinfo=seoul),
        actor_user_id=None,
        actor_username="김",
        actor_role="",
        actor_token_id="",
        actor_session="",
        actor_ip="",
        action="auth.login",
        object_type="auth.user",
        object_id="1",
        details_json='{"a":1}',
        prev_hash="0" * 64,
    ).decode("utf-8")
    assert data.startswith('{"action":"auth.login","actor":{"client_ip":""')
    assert '"time":"2026-11-30T00:00:00.000005Z"' in data
    assert '"username":"김"' in data
    assert json.loads(data)["details"] == '{"a":1}'
    assert list(json.loads(data)) == sorted(json.loads(data))


@given(times)
def test_time_roundtrip(value: datetime) -> None:
    assert parse_time(format_time(value)) == value
