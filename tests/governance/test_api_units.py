"""The API's building blocks in isolation: tokens, byte ranges, streaming, signed links, paths."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from django.core import signing
from hypothesis import given
from hypothesis import strategies as st

from governance.api import downloads
from governance.api.exceptions import NotFound, RangeNotSatisfiable
from governance.client import ClientError, safe_name
from governance.models.tokens import generate_token, hash_token, split_token

# --- Tokens ---------------------------------------------------------------------------------


def test_generated_tokens_are_well_formed_unique_and_only_hashed():
    seen = set()
    for _ in range(200):
        prefix, raw = generate_token()
        assert split_token(raw) == prefix
        assert raw.startswith(f"gdt_{prefix}_")
        assert len(raw) > 50  # 256-bit secret
        digest = hash_token(raw)
        assert len(digest) == 64
        assert raw not in digest
        seen.add(raw)
    assert len(seen) == 200


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "gdt",
        "gdt__x",
        "abc_0123456789ab_" + "x" * 43,
        "gdt_0123456789AB_" + "x" * 43,  # prefix must be lower hex
        "gdt_0123456789a_" + "x" * 43,  # short prefix
        "gdt_0123456789ab_short",
        "gdt_0123456789ab_" + "x" * 43 + "!",
        "gdt_0123456789ab_" + "x" * 101,
    ],
)
def test_malformed_tokens_have_no_prefix(raw):
    assert split_token(raw) is None


# --- Byte ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("", 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=10-", 100, (10, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-1000", 100, (0, 99)),
        ("bytes=90-1000", 100, (90, 99)),
        ("bytes=99-99", 100, (99, 99)),
        ("BYTES = 5 - 6", 100, (5, 6)),
        ("bytes=0-1,5-6", 100, None),  # several ranges: ignored, whole file
        ("items=0-1", 100, None),
        ("bytes=5-2", 100, None),  # invalid: ignored
        ("bytes=-", 100, None),
        ("garbage", 100, None),
    ],
)
def test_parse_range(header, size, expected):
    got = downloads.parse_range(header, size)
    assert (None if got is None else (got.start, got.end)) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)]
)
def test_unsatisfiable_ranges_are_416(header, size):
    with pytest.raises(RangeNotSatisfiable) as info:
        downloads.parse_range(header, size)
    assert info.value.status_code == 416
    assert info.value.size == size


@given(size=st.integers(1, 10_000), a=st.integers(0, 20_000), b=st.integers(0, 20_000))
def test_parsed_ranges_lie_inside_the_file(size, a, b):
    try:
        r = downloads.parse_range(f"bytes={a}-{b}", size)
    except RangeNotSatisfiable:
        assert a >= size
        return
    if r is None:
        assert b < a
        return
    assert 0 <= r.start <= r.end < size
    assert r.length == min(b, size - 1) - a + 1
    assert r.content_range() == f"bytes {r.start}-{r.end}/{size}"


def test_if_range_needs_the_current_etag():
    etag = downloads.sha256_etag("ab" * 32)
    assert downloads.if_range_allows(None, etag)
    assert downloads.if_range_allows(etag, etag)
    assert not downloads.if_range_allows('"sha256-' + "cd" * 32 + '"', etag)
    assert not downloads.if_range_allows("Wed, 21 Oct 2015 07:28:00 GMT", etag)


def test_digest_headers_carry_the_sha256():
    import base64
    import hashlib

    data = b"hello release"
    sha = hashlib.sha256(data).hexdigest()
    headers = downloads.digest_headers(sha)
    b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert headers["Repr-Digest"] == f"sha-256=:{b64}:"
    assert headers["Digest"] == f"SHA-256={b64}"


# --- Streaming ----------------------------------------------------------------------------------


def _stream(data: bytes, r: downloads.ByteRange, allowed, **kw):
    closed: list[downloads.StreamResult] = []
    it = downloads.stream_file(
        io.BytesIO(data), r, still_allowed=allowed, on_close=closed.append, **kw
    )
    return it, closed


@given(data=st.binary(min_size=1, max_size=5000), a=st.integers(0, 6000), b=st.integers(0, 6000))
def test_stream_yields_exactly_the_range(data, a, b):
    try:
        r = downloads.parse_range(f"bytes={a}-{b}", len(data))
    except RangeNotSatisfiable:
        return
    r = r or downloads.ByteRange(0, len(data) - 1, len(data))
    it, closed = _stream(data, r, lambda: None, chunk_size=7, check_every=3)
    assert b"".join(it) == data[r.start : r.end + 1]
    assert len(closed) == 1
    assert closed[0].completed
    assert closed[0].bytes_sent == r.length


def test_stream_stops_at_the_next_check_when_no_longer_allowed():
    data = bytes(range(256)) * 100
    state = {"revoked": False}
    it, closed = _stream(
        data,
        downloads.ByteRange(0, len(data) - 1, len(data)),
        lambda: "release_revoked" if state["revoked"] else None,
        chunk_size=100,
        check_every=4,
    )
    got = [next(it) for _ in range(5)]  # 5 chunks out; revoked now
    state["revoked"] = True
    got += list(it)
    # Chunk 6..8 were already past the last check (at chunk 4); the check at 8 stops it.
    assert len(got) == 8
    assert closed[0].completed is False
    assert closed[0].stopped_reason == "release_revoked"
    assert closed[0].bytes_sent == 800


def test_stream_records_once_when_the_client_goes_away():
    data = b"x" * 1000
    it, closed = _stream(
        data, downloads.ByteRange(0, 999, 1000), lambda: None, chunk_size=100, check_every=2
    )
    next(it)
    it.close()  # the WSGI server closes the response
    assert len(closed) == 1
    assert closed[0].bytes_sent == 100
    assert not closed[0].completed


# --- Signed links -----------------------------------------------------------------------------


def test_signed_link_round_trip_and_tamper():
    link = downloads.SignedLink(person_id=7, token_id=3, release_id=11, name="person.parquet")
    value = downloads.sign_link(link)
    assert downloads.unsign_link(value) == link
    with pytest.raises(NotFound):
        downloads.unsign_link(value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
    with pytest.raises(NotFound):
        downloads.unsign_link("not-a-link")
    # Signed with another salt (another purpose): refused.
    other = signing.dumps({"p": 7, "t": 3, "r": 11, "n": "x"}, salt="something.else")
    with pytest.raises(NotFound):
        downloads.unsign_link(other)


def test_signed_link_expires(monkeypatch):
    link = downloads.SignedLink(person_id=1, token_id=None, release_id=2, name="a.csv")
    value = downloads.sign_link(link)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + downloads.SIGNED_LINK_MAX_SECONDS + 5)
    with pytest.raises(NotFound):
        downloads.unsign_link(value)


# --- Paths ---------------------------------------------------------------------------------------


def test_safe_file_path_serves_only_listed_names_inside_the_folder(tmp_path: Path):
    base = tmp_path / "release"
    (base / "part").mkdir(parents=True)
    (base / "a.csv").write_text("x")
    (base / "part" / "b.parquet").write_text("y")
    (tmp_path / "secret.txt").write_text("s")
    (base / "link.csv").symlink_to(tmp_path / "secret.txt")
    listed = {"a.csv", "part/b.parquet", "../secret.txt", "link.csv", "/etc/passwd", "missing.csv"}
    assert downloads.safe_file_path(base, "a.csv", listed) == (base / "a.csv").resolve()
    assert downloads.safe_file_path(base, "part/b.parquet", listed).name == "b.parquet"
    for bad in ["../secret.txt", "link.csv", "/etc/passwd", "missing.csv", "unlisted.csv", "part"]:
        with pytest.raises(NotFound):
            downloads.safe_file_path(base, bad, listed | {"part"})


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "./a"])
def test_client_refuses_unsafe_manifest_names(name):
    with pytest.raises(ClientError):
        safe_name(name)


def test_client_accepts_plain_names():
    assert str(safe_name("person.parquet")) == "person.parquet"
    assert safe_name("notes/part-0.parquet").parts == ("notes", "part-0.parquet")
