"""Keyed pseudonyms: HMAC-SHA256, truncated to 128 bits, base32 lowercase (26 chars).

``pseudonymize(values, key)`` equals, value by value,
``base32(hmac.digest(key, utf8(str(value)), "sha256")[:16]).lower().rstrip("=")``;
nulls stay null. The HMAC runs in native code: a small C loop compiled on first use
(:mod:`deid._hmac_native`, SHA-NI when available), else polars-hash (whose HMAC takes
a text key: every domain key from :mod:`deid.keys` is ASCII), else the standard
library. All three compute the same function (tests check each against ``hmac``).

Base32 lowercase (``a-z2-7``) is used rather than base64url because a value that
starts with ``-`` or ``+`` is read as a formula by spreadsheet programs opening the
CSV files of a release.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from deid.errors import DataError, KeyMaterialError

__all__ = [
    "PSEUDONYM_BITS",
    "PSEUDONYM_LENGTH",
    "pseudonym_chars",
    "pseudonymize",
    "pseudonymize_value",
]

PSEUDONYM_BITS = 128
PSEUDONYM_LENGTH = 26
_DIGEST_BYTES = PSEUDONYM_BITS // 8
_NULL_FILL = "0" * 64
_MIN_KEY_BYTES = 16


def pseudonymize_value(value: str | bytes | int, key: bytes) -> str:
    """The pseudonym of one value (reference implementation on the standard library)."""
    _check_key(key)
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    digest = hmac.digest(key, data, "sha256")[:_DIGEST_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise KeyMaterialError(f"pseudonym key has type {type(key).__name__}; expected bytes")
    if len(key) < _MIN_KEY_BYTES:
        raise KeyMaterialError(
            f"pseudonym key has {len(key)} bytes; expected at least {_MIN_KEY_BYTES}"
        )


def _as_text_array(values: pa.Array | pa.ChunkedArray, field: str | None) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    typ = values.type
    if pa.types.is_dictionary(typ):
        values = values.dictionary_decode()
        typ = values.type
    if (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
    ):
        return values
    if pa.types.is_string_view(typ):
        return values.cast(pa.large_string())
    if pa.types.is_floating(typ):
        raise DataError(
            f"cannot pseudonymize floating point values (type {typ}); expected integer or "
            "text identifiers",
            field=field,
        )
    try:
        return pc.cast(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"cannot pseudonymize values of type {typ}: {exc}; expected text or integer ids",
            field=field,
        ) from None


def _digests_polars(values: pa.Array, key_text: str) -> NDArray[np.uint8]:
    """First 16 bytes of HMAC-SHA256 per value, shape (n, 16), via polars-hash."""
    n = len(values)
    series = pl.Series("v", values) if n else pl.Series("v", [], dtype=pl.String)
    raw = (
        pl.DataFrame({"v": series})
        .select(
            plh.col("v")
            .chash.hmac_sha256(key=key_text)
            .fill_null(_NULL_FILL)
            .str.slice(0, 2 * _DIGEST_BYTES)
            .str.decode("hex")
        )
        .to_series()
        .to_arrow(compat_level=pl.CompatLevel.oldest())
    )
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    offsets = np.frombuffer(raw.buffers()[1], dtype=np.int64)[raw.offset : raw.offset + n + 1]
    start = int(offsets[0])
    if int(offsets[-1]) - start != _DIGEST_BYTES * n:
        raise AssertionError("polars-hash returned digests of unexpected length")
    data = np.frombuffer(raw.buffers()[2], dtype=np.uint8)
    return data[start : start + _DIGEST_BYTES * n].reshape(n, _DIGEST_BYTES)


def _digests_stdlib(values: pa.Array, key: bytes) -> NDArray[np.uint8]:
    base = hmac.new(key, digestmod=hashlib.sha256)
    out = np.zeros((len(values), _DIGEST_BYTES), dtype=np.uint8)
    for i, v in enumerate(values.to_pylist()):
        if v is None:
            continue
        h = base.copy()
        h.update(v if isinstance(v, bytes) else v.encode("utf-8"))
        out[i] = np.frombuffer(h.digest()[:_DIGEST_BYTES], dtype=np.uint8)
    return out


def _base32(digests: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Base32 (RFC 4648, lowercase, unpadded) of 16-byte rows: shape (n, 26) uint8."""
    n = digests.shape[0]
    words = np.ascontiguousarray(digests).view(">u8").astype(np.uint64)
    hi = np.ascontiguousarray(words[:, 0])
    lo = np.ascontiguousarray(words[:, 1])
    out = np.empty((n, PSEUDONYM_LENGTH), dtype=np.uint8)
    mask = np.uint64(31)
    for j in range(PSEUDONYM_LENGTH):
        first = 5 * j  # index of the char's first bit in the 128-bit string (0 = MSB)
        if first + 5 <= 64:
            c = (hi >> np.uint64(59 - first)) & mask
        elif first < 64:  # straddles the two words: 4 bits of hi, 1 bit of lo
            c = ((hi & np.uint64(15)) << np.uint64(1)) | (lo >> np.uint64(63))
        elif first + 5 <= 128:
            c = (lo >> np.uint64(123 - first)) & mask
        else:  # the last char: 3 bits of data, 2 bits of padding
            c = (lo & np.uint64(7)) << np.uint64(2)
        c8 = c.astype(np.uint8)
        # 0..25 -> 'a'..'z', 26..31 -> '2'..'7'
        out[:, j] = c8 + np.uint8(97) - np.uint8(73) * (c8 >= 26).astype(np.uint8)
    return out


def _offsets_and_data(text: pa.Array) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Value offsets (int64, n+1) and the data buffer of a string/binary array."""
    n = len(text)
    bufs = text.buffers()
    large = pa.types.is_large_string(text.type) or pa.types.is_large_binary(text.type)
    off_type = np.int64 if large else np.int32
    offsets = np.frombuffer(bufs[1], dtype=off_type)[text.offset : text.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def pseudonym_chars(text: pa.Array, key: bytes) -> NDArray[np.uint8]:
    """The 26 base32 characters of each value's pseudonym, shape (n, 26).

    Backends, fastest first, all computing the same function: the native C loop
    (:mod:`deid._hmac_native`), polars-hash (text keys), the standard library.
    """
    from deid import _hmac_native

    if len(text) and _hmac_native.available():
        offsets, data = _offsets_and_data(text)
        chars = _hmac_native.hmac_b32(data, offsets, bytes(key))
        if chars is not None:
            return chars
    try:
        key_text: str | None = bytes(key).decode("utf-8")
    except UnicodeDecodeError:
        key_text = None
    if key_text is not None:
        digests = _digests_polars(text, key_text)
    else:
        digests = _digests_stdlib(text, bytes(key))
    return _base32(digests)


def pseudonymize(
    values: pa.Array | pa.ChunkedArray, key: bytes, *, field: str | None = None
) -> pa.Array:
    """Pseudonyms (26-char base32 of truncated HMAC-SHA256) of ``values``; nulls stay null.

    Integers are hashed as their decimal text, so ``123`` and ``"123"`` agree.
    """
    _check_key(key)
    text = _as_text_array(values, field)
    n = len(text)
    chars = pseudonym_chars(text, key)
    offsets = np.arange(0, PSEUDONYM_LENGTH * (n + 1), PSEUDONYM_LENGTH, dtype=np.int32)
    validity = None
    null_count = text.null_count
    if null_count:
        valid = pc.is_valid(text)
        validity = valid.buffers()[1] if valid.offset == 0 else None
        if validity is None:  # pragma: no cover - is_valid returns a fresh array
            raise AssertionError("unexpected offset in validity bitmap")
    return pa.StringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        pa.py_buffer(np.ascontiguousarray(chars)),
        validity,
        null_count,
    )
