"""Per-patient date shifting.

Each patient gets one offset in days, derived from the release key and the patient's
pseudonym: the first 60 bits of ``HMAC-SHA256(domain_key("deid:date-shift"),
pseudonym)`` read as an unsigned integer and mapped into ``[-max_days, max_days]`` (0 excluded unless
``allow_zero``). The offset is the same in every table and in the notes of a release
(it depends only on the release key and the patient), so intervals inside a patient
are preserved, while different recipients see different, unlinkable offsets.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError
from deid.keys import DATE_SHIFT_DOMAIN, ReleaseKey
from deid.pseudonym import _as_text_array, _check_key, pseudonym_chars

__all__ = ["DEFAULT_MAX_SHIFT_DAYS", "date_shift_days", "shift_dates"]

DEFAULT_MAX_SHIFT_DAYS = 30
_MAX_ALLOWED_DAYS = 3650


def _shift_key(key: ReleaseKey | bytes) -> bytes:
    return key.domain_key(DATE_SHIFT_DOMAIN) if isinstance(key, ReleaseKey) else key


def date_shift_days(
    person_pseudonyms: pa.Array | pa.ChunkedArray,
    key: ReleaseKey | bytes,
    *,
    max_days: int = DEFAULT_MAX_SHIFT_DAYS,
    allow_zero: bool = False,
) -> pa.Array:
    """Offsets in days (int32) per row, from each row's patient pseudonym; null stays null."""
    if (
        isinstance(max_days, bool)
        or not isinstance(max_days, int)
        or not (1 <= max_days <= _MAX_ALLOWED_DAYS)
    ):
        raise PolicyError(
            "date_shift.max_days",
            f"expected an integer in 1..{_MAX_ALLOWED_DAYS}, got {max_days!r}",
        )
    raw_key = _shift_key(key)
    _check_key(raw_key)
    text = _as_text_array(person_pseudonyms, "person pseudonym")
    chars = pseudonym_chars(text, raw_key)[:, :12].astype(np.uint64)
    # base32 characters back to their 5-bit values; 12 of them make a 60-bit integer.
    values = np.where(chars >= 97, chars - np.uint64(97), chars - np.uint64(50 - 26))
    h = np.zeros(len(text), dtype=np.uint64)
    for j in range(12):
        h = (h << np.uint64(5)) | values[:, j]
    if allow_zero:
        days = (h % np.uint64(2 * max_days + 1)).astype(np.int64) - max_days
    else:
        r = (h % np.uint64(2 * max_days)).astype(np.int64)
        days = np.where(r < max_days, r - max_days, r - max_days + 1)
    mask = None
    if text.null_count:
        mask = np.asarray(pc.is_null(text).to_numpy(zero_copy_only=False), dtype=bool)
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask)


def shift_dates(
    values: pa.Array | pa.ChunkedArray, days: pa.Array, *, field: str | None = None
) -> pa.Array:
    """Add ``days`` (int32, one per row) to a date or timestamp column; nulls stay null.

    ISO-8601 text (``YYYY-MM-DD``) is parsed and returned as ``date32``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if len(values) != len(days):
        raise DataError(
            f"date shift: {len(values)} values but {len(days)} offsets; expected equal lengths",
            field=field,
        )
    typ = values.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        try:
            parsed = pc.strptime(values, format="%Y-%m-%d", unit="s")
        except pa.ArrowInvalid as exc:
            raise DataError(
                f"cannot parse dates: {exc}; expected ISO dates YYYY-MM-DD", field=field
            ) from None
        values = pc.cast(parsed, pa.date32())
        typ = values.type
    if pa.types.is_date32(typ):
        as_int = pc.cast(values, pa.int32())
        return pc.cast(pc.add(as_int, days), pa.date32())
    if pa.types.is_date64(typ):
        ms = pc.cast(values, pa.int64())
        delta = pc.multiply(pc.cast(days, pa.int64()), 86_400_000)
        return pc.cast(pc.add(ms, delta), pa.date64())
    if pa.types.is_timestamp(typ):
        per_day = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
        unit = typ.unit
        ticks = pc.cast(values, pa.int64())
        delta = pc.multiply(pc.cast(days, pa.int64()), per_day[unit])
        return pc.cast(pc.add(ticks, delta), typ)
    raise DataError(
        f"cannot shift values of type {typ}; expected date, timestamp or ISO date text",
        field=field,
    )
