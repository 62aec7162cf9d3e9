"""The persons a release keeps: the anchor table's surviving persons, as a compact set.

:class:`AnchorPersons` collects them during the anchor's transform pass (a bitmap over the
person-id range, plus the suppressed persons: not per row); :class:`PersonSet` is what
linked tables filter on (sorted ids; executors union one per partition).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError

__all__ = ["AnchorPersons", "PersonSet"]


IntArray = np.ndarray[Any, np.dtype[np.int64]]
_EMPTY: IntArray = np.zeros(0, dtype=np.int64)


class PersonSet:
    """The persons kept in the anchor table (raw link values), for fast membership."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
        values = values.drop_null()
        self.type = values.type
        self._ints: np.ndarray[Any, np.dtype[np.int64]] | None = None
        self._values: pa.Array | None = None
        if pa.types.is_integer(values.type):
            self._ints = np.unique(values.to_numpy(zero_copy_only=False).astype(np.int64))
        else:
            self._values = pc.unique(values)

    def __len__(self) -> int:
        return len(self._ints) if self._ints is not None else len(self._values or [])

    def __repr__(self) -> str:
        return f"PersonSet({len(self)} persons, type={self.type})"

    def contains(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """A boolean mask: True where the value is a kept person (null -> False)."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
        if self._ints is not None:
            if not pa.types.is_integer(values.type):
                raise DataError(
                    f"link column has type {values.type}; expected integers like the anchor table"
                )
            ints, valid = _int_ids(values)
            hit = _in_sorted(self._ints, ints)
            if valid is not None:
                hit &= valid  # a null is no person (not a sentinel id that could exist)
            return pa.array(hit, pa.bool_())
        assert self._values is not None
        return pc.fill_null(pc.is_in(values, value_set=self._values), False)

    @classmethod
    def union(cls, parts: list[pa.Array]) -> PersonSet:
        if not parts:
            return cls(pa.array([], pa.int64()))
        return cls(pa.chunked_array(parts))


def _int_ids(values: pa.Array | pa.ChunkedArray) -> tuple[IntArray, np.ndarray[Any, Any] | None]:
    """(int64 values, validity mask or None) of an integer link column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if not pa.types.is_integer(values.type):
        raise DataError(
            f"link column has type {values.type}; expected integers like the anchor table"
        )
    valid = None
    if values.null_count:
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        values = pc.fill_null(values, 0)
    ints = np.asarray(values.to_numpy(zero_copy_only=False)).astype(np.int64, copy=False)
    return ints, valid


def _in_sorted(sorted_ids: IntArray, values: IntArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Membership of ``values`` in a sorted, deduplicated array (vectorized)."""
    if not len(sorted_ids):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    hit: np.ndarray[Any, np.dtype[np.bool_]] = sorted_ids[pos] == values
    return hit


class _IdCoverage:
    """The distinct integer ids seen, exact and compact.

    A bitmap over the id range (1 bit per possible id: 1.25 MB for 10 M persons with
    dense ids, whatever the number of rows), or, when the ids are so sparse that the
    bitmap would be larger than 8 bytes per id, a sorted array of the distinct ids
    (appended parts merged when they outgrow the merged array).
    """

    MIN_BITMAP_BYTES = 16 << 20

    def __init__(self) -> None:
        self._lo = 0
        self._bits: np.ndarray[Any, np.dtype[np.uint8]] | None = None  # bitmap mode
        self._sorted: IntArray | None = None  # sorted-array mode
        self._parts: list[IntArray] = []
        self._pending = 0

    def __len__(self) -> int:
        if self._bits is not None:
            return int(np.bitwise_count(self._bits).sum())
        self._merge()
        return len(self._sorted) if self._sorted is not None else 0

    def nbytes(self) -> int:
        if self._bits is not None:
            return int(self._bits.nbytes)
        held = [*self._parts, *([] if self._sorted is None else [self._sorted])]
        return sum(int(p.nbytes) for p in held)

    def add(self, ids: IntArray) -> None:
        """Add sorted distinct ids."""
        if not len(ids):
            return
        if self._sorted is not None or self._parts:
            self._parts.append(ids)
            self._pending += len(ids)
            if self._sorted is None or self._pending >= len(self._sorted):
                self._merge()
            return
        lo, hi = int(ids[0]), int(ids[-1])
        if self._bits is None:
            new_lo, new_hi = lo, hi
        else:
            cur_hi = self._lo + 8 * len(self._bits) - 1
            new_lo, new_hi = min(lo, self._lo), max(hi, cur_hi)
        new_lo -= new_lo % 8
        span = new_hi - new_lo + 1
        if self._bits is None or new_lo < self._lo or new_hi > self._lo + 8 * len(self._bits) - 1:
            distinct = len(self) + len(ids)
            if span // 8 > max(self.MIN_BITMAP_BYTES, 8 * distinct):
                self._to_sorted()
                self.add(ids)
                return
            if self._bits is not None:  # grow geometrically to the side that overflowed
                extra = max(span - 8 * len(self._bits), len(self._bits) * 4)
                if new_lo < self._lo:
                    new_lo = max(new_lo - extra, -(2**63) + 8)
                    new_lo -= new_lo % 8
                else:
                    new_hi = new_hi + extra
                span = new_hi - new_lo + 1
            bits = np.zeros((span + 7) // 8, dtype=np.uint8)
            if self._bits is not None:
                start = (self._lo - new_lo) // 8
                bits[start : start + len(self._bits)] = self._bits
            self._bits, self._lo = bits, new_lo
        off = ids - self._lo
        byte = off >> 3
        bit = np.left_shift(np.uint8(1), (off & 7).astype(np.uint8))
        starts = np.flatnonzero(np.diff(byte, prepend=byte[0] - 1))
        assert self._bits is not None
        self._bits[byte[starts]] |= np.bitwise_or.reduceat(bit, starts)

    def contains(self, values: IntArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
        if self._bits is not None:
            hi = self._lo + 8 * len(self._bits) - 1
            inside = (values >= self._lo) & (values <= hi)
            off = np.where(inside, values - self._lo, 0)
            hit = (self._bits[off >> 3] >> (off & 7).astype(np.uint8)) & 1
            result: np.ndarray[Any, np.dtype[np.bool_]] = inside & hit.astype(bool)
            return result
        self._merge()
        return _in_sorted(self._sorted if self._sorted is not None else _EMPTY, values)

    def _to_sorted(self) -> None:
        if self._bits is not None:
            found = np.flatnonzero(np.unpackbits(self._bits, bitorder="little"))
            self._sorted = found.astype(np.int64) + self._lo
            self._bits = None
        elif self._sorted is None:
            self._sorted = _EMPTY

    def _merge(self) -> None:
        if self._parts:
            base = [self._sorted] if self._sorted is not None else []
            self._sorted = np.unique(np.concatenate([*base, *self._parts]))
            self._parts, self._pending = [], 0


class AnchorPersons:
    """Which persons' linked records a release keeps, built while the anchor streams by.

    A linked record is kept iff its person has at least one anchor record that
    survives suppression (the same rule as a :class:`PersonSet` of kept persons:
    persons absent from the anchor, and null links, are dropped). Held as the
    distinct anchor persons (:class:`_IdCoverage`: a bitmap over the id range, not
    8 bytes per row) minus the persons whose every anchor record was suppressed (a
    sorted int64 array: at most the suppression limit times the anchor rows, usually
    far fewer). Non-integer person ids fall back to an exact :class:`PersonSet` of
    the kept persons (deduplicated per batch).

    Feed every anchor batch in any order with :meth:`add`; then use :meth:`contains`.
    """

    def __init__(self) -> None:
        self._seen = _IdCoverage()
        self._suppressed: IntArray = _EMPTY
        self._other: list[pa.Array] | None = None  # non-integer ids: kept values
        self._set: PersonSet | None = None
        self._type: pa.DataType | None = None

    @staticmethod
    def batch_ids(
        ids: pa.Array | pa.ChunkedArray, kept: pa.Array | pa.ChunkedArray
    ) -> tuple[Any, Any]:
        """Per-batch, thread-safe part of :meth:`add`: distinct (all, kept) ids."""
        if pa.types.is_integer(ids.type):
            all_ints, valid = _int_ids(ids)
            kept_ints, kvalid = _int_ids(kept)
            return (
                np.unique(all_ints if valid is None else all_ints[valid]),
                np.unique(kept_ints if kvalid is None else kept_ints[kvalid]),
            )
        if isinstance(kept, pa.ChunkedArray):
            kept = kept.combine_chunks() if kept.num_chunks else pa.array([], kept.type)
        return None, pc.unique(kept.drop_null())

    def add(self, ids: pa.Array | pa.ChunkedArray, kept: pa.Array | pa.ChunkedArray) -> None:
        """One anchor batch: ``ids`` its link column, ``kept`` the link column after suppression."""
        self.add_distinct(ids.type, *self.batch_ids(ids, kept))

    def add_distinct(self, type_: pa.DataType, all_ids: Any, kept_ids: Any) -> None:
        """:meth:`add` with the output of :meth:`batch_ids` (in the consuming thread)."""
        if self._type is None:
            self._type = type_
        if all_ids is None:
            if self._other is None:
                if len(self._seen):
                    raise DataError(f"link column has type {type_}; earlier batches had integers")
                self._other = []
            self._other.append(kept_ids)
            self._set = None
            return
        if self._other is not None:
            raise DataError(f"link column has type {type_}; earlier batches had other ids")
        all_ids = np.asarray(all_ids, dtype=np.int64)
        kept_ids = np.asarray(kept_ids, dtype=np.int64)
        suppressed = np.setdiff1d(all_ids, kept_ids, assume_unique=True)
        if len(self._suppressed) and len(kept_ids):
            # a person suppressed earlier but kept here is kept
            self._suppressed = self._suppressed[~_in_sorted(kept_ids, self._suppressed)]
        if len(suppressed):
            # a person seen earlier and not in the suppressed set had a kept record
            new = suppressed[~self._seen.contains(suppressed)]
            if len(new):
                self._suppressed = np.union1d(self._suppressed, new)
        self._seen.add(all_ids)

    def __len__(self) -> int:
        """Distinct persons kept (with at least one released anchor record)."""
        if self._other is not None:
            return len(self._person_set())
        return len(self._seen) - len(self._suppressed)

    def __repr__(self) -> str:
        return f"AnchorPersons({len(self)} persons kept, {len(self._suppressed)} suppressed)"

    @property
    def suppressed(self) -> IntArray:
        """Sorted distinct ids of the anchor persons with no released record."""
        return self._suppressed

    def nbytes(self) -> int:
        """Memory held (bytes), for benchmarks."""
        return self._seen.nbytes() + int(self._suppressed.nbytes)

    def _person_set(self) -> PersonSet:
        if self._set is None:
            parts = self._other or []
            self._set = PersonSet.union(parts) if parts else PersonSet(pa.array([], self._type))
        return self._set

    def contains(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """A boolean mask: True where the value is a kept person (null -> False)."""
        if self._other is not None:
            return self._person_set().contains(values)
        ints, valid = _int_ids(values)
        hit = self._seen.contains(ints)
        if len(self._suppressed):
            hit &= ~_in_sorted(self._suppressed, ints)
        if valid is not None:
            hit &= valid
        return pa.array(hit, pa.bool_())
