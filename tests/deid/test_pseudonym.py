"""Pseudonyms equal standard HMAC-SHA256 (truncated, base32), are stable and keyed."""

from __future__ import annotations

import base64
import hmac

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.errors import DataError, KeyMaterialError
from deid.pseudonym import PSEUDONYM_LENGTH, pseudonymize, pseudonymize_value

KEY = b"0123456789abcdef" * 4

# Golden vectors: pinned so that any change of algorithm, truncation or encoding fails.
GOLDEN = {
    "x": "olhdsepdwz2cyozfpia3hwghyi",
    "P1": "tdkkw34zv2kcyvynv4cqi3pxjy",
    "": "bajepxdixn727pyteiabhifloe",
    "가나다": "7jcmbktbmlciikwb6cp4eyn2uy",
    "1": "xj7nv4cfzogpbl7fu2ptk5qyvu",
}


def reference(value: str, key: bytes) -> str:
    digest = hmac.digest(key, value.encode("utf-8"), "sha256")[:16]
    return base64.b32encode(digest).decode().rstrip("=").lower()


def test_golden_vectors() -> None:
    out = pseudonymize(pa.array(list(GOLDEN)), KEY).to_pylist()
    assert out == list(GOLDEN.values())
    assert [pseudonymize_value(v, KEY) for v in GOLDEN] == list(GOLDEN.values())


def test_integers_hash_as_decimal_text_and_nulls_stay_null() -> None:
    out = pseudonymize(pa.array([1, None, 12345678901]), KEY)
    assert out.type == pa.string()
    assert out.to_pylist() == [GOLDEN["1"], None, reference("12345678901", KEY)]
    assert out.null_count == 1


def test_chunked_sliced_and_dictionary_inputs() -> None:
    values = [f"id{i}" for i in range(50)]
    expected = [reference(v, KEY) for v in values]
    chunked = pa.chunked_array([values[:20], values[20:]])
    assert pseudonymize(chunked, KEY).to_pylist() == expected
    sliced = pa.array(["pad", *values, None]).slice(1, 50)
    assert pseudonymize(sliced, KEY).to_pylist() == expected
    dictionary = pa.array(values).dictionary_encode()
    assert pseudonymize(dictionary, KEY).to_pylist() == expected
    assert pseudonymize(pa.array([], pa.string()), KEY).to_pylist() == []


def test_non_utf8_key_falls_back_to_the_same_function() -> None:
    key = bytes(range(200, 232))
    values = ["a", None, "홍길동"]
    assert pseudonymize(pa.array(values), key).to_pylist() == [
        reference("a", key),
        None,
        reference("홍길동", key),
    ]


def test_bad_key_and_bad_type() -> None:
    with pytest.raises(KeyMaterialError):
        pseudonymize(pa.array(["a"]), b"short")
    with pytest.raises(DataError, match="floating point"):
        pseudonymize(pa.array([1.5]), KEY, field="weight")


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40),
    key=st.binary(min_size=16, max_size=80),
)
def test_equals_standard_hmac(values: list[str | None], key: bytes) -> None:
    out = pseudonymize(pa.array(values, pa.string()), key).to_pylist()
    assert out == [None if v is None else reference(v, key) for v in values]
    assert all(p is None or len(p) == PSEUDONYM_LENGTH for p in out)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=30, unique=True),
    k1=st.binary(min_size=32, max_size=32),
    k2=st.binary(min_size=32, max_size=32),
)
def test_stable_per_key_and_separated_across_keys(values: list[str], k1: bytes, k2: bytes) -> None:
    a1 = pseudonymize(pa.array(values), k1).to_pylist()
    a2 = pseudonymize(pa.array(list(reversed(values))), k1).to_pylist()
    assert a1 == list(reversed(a2))  # stable, independent of batch order
    assert len(set(a1)) == len(values)  # no collisions on distinct values
    if k1 != k2:
        b = pseudonymize(pa.array(values), k2).to_pylist()
        assert not set(a1) & set(b)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=30),
    key_text=st.text(min_size=16, max_size=70),
)
def test_utf8_text_keys_use_the_native_path_and_equal_hmac(
    values: list[str | None], key_text: str
) -> None:
    key = key_text.encode("utf-8")
    out = pseudonymize(pa.array(values, pa.string()), key).to_pylist()
    assert out == [None if v is None else reference(v, key) for v in values]


@pytest.mark.parametrize("backend", ["native", "polars", "stdlib"])
def test_every_backend_computes_the_same_function(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deid import _hmac_native
    from deid import pseudonym as mod

    values = ["", "a", "P000000001", "x" * 55, "y" * 56, "z" * 64, "w" * 130, "홍길동", None]
    long_key = b"k" * 100  # longer than a SHA-256 block: HMAC hashes it first
    if backend == "native":
        if not _hmac_native.available():
            pytest.skip("no C compiler here: the native backend is not built")
    else:
        monkeypatch.setattr(_hmac_native, "available", lambda: False)
    if backend == "stdlib":
        monkeypatch.setattr(
            mod, "_digests_polars", lambda *a: (_ for _ in ()).throw(AssertionError("polars used"))
        )
        keys = [bytes(range(200, 240)), b"\xff" * 100]
    else:
        keys = [KEY, long_key, b"0123456789abcdef"]
    for key in keys:
        got = pseudonymize(pa.array(values, pa.string()), key).to_pylist()
        assert got == [None if v is None else reference(v, key) for v in values]
    large = pseudonymize(pa.array(values, pa.large_string()), keys[0]).to_pylist()
    assert large == [None if v is None else reference(v, keys[0]) for v in values]
