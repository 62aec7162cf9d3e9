"""Frequency tables: distinct quasi-identifier (+ sensitive) combinations with counts.

The count pass turns record batches into a small table of distinct level-0
combinations; tables merge (per batch, across batches, or after a Spark
group-by via ``FrequencyTable.from_arrow``). The search only ever reads this
table, so its cost depends on distinct combinations, not on rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError

COUNT = "count"


def key_strings(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_string(col.type):
        return col
    if pa.types.is_dictionary(col.type) or pa.types.is_large_string(col.type):
        return col.cast(pa.string())
    if pa.types.is_floating(col.type):
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        np_ = arr.to_numpy(zero_copy_only=False)
        valid = ~np.isnan(np_)
        if np.all(np.floor(np_[valid]) == np_[valid]):
            return arr.cast(pa.int64()).cast(pa.string())
    if pa.types.is_timestamp(col.type):
        return col.cast(pa.date32()).cast(pa.string())
    return col.cast(pa.string())


class FrequencyTable:
    """Distinct combinations of the key columns (level-0 values) and an int64 ``count``.

    ``encoded`` holds the key columns dictionary-encoded (so merges hash only the
    dictionaries); ``table`` / ``to_arrow()`` give them as plain strings. ``merge``
    only collects parts; they are combined once, on first use, so merging batch
    after batch costs one regroup in total, not one per batch.
    """

    __slots__ = ("_parts",)

    def __init__(self, encoded: pa.Table, *more: pa.Table) -> None:
        self._parts: tuple[pa.Table, ...] = (encoded, *more)

    def __getstate__(self) -> tuple[pa.Table, ...]:
        return (self.encoded,)

    def __setstate__(self, state: tuple[pa.Table, ...]) -> None:
        self._parts = state

    def __repr__(self) -> str:
        return f"FrequencyTable(keys={list(self.keys)}, parts={len(self._parts)})"

    @property
    def encoded(self) -> pa.Table:
        if len(self._parts) > 1:
            merged = pa.concat_tables(self._parts)
            self._parts = (_regroup(merged, list(self.keys)),)
        return self._parts[0]

    @property
    def table(self) -> pa.Table:
        enc = self.encoded
        cols = [enc[n].cast(pa.string()) if n != COUNT else enc[n] for n in enc.column_names]
        return pa.table(cols, names=enc.column_names)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(n for n in self._parts[0].column_names if n != COUNT)

    @property
    def total(self) -> int:
        return int(sum(pc.sum(t[COUNT]).as_py() or 0 for t in self._parts))

    @property
    def distinct(self) -> int:
        return int(self.encoded.num_rows)

    @classmethod
    def from_arrow(cls, counts: pa.Table) -> FrequencyTable:
        """From a table of key columns (level-0 values) and an integer ``count`` column.

        Duplicated keys are summed, so the input may come from partial group-bys.
        """
        if COUNT not in counts.column_names:
            raise DataError(f"frequency table has no {COUNT!r} column", field=COUNT)
        cnt = counts[COUNT]
        if not pa.types.is_integer(cnt.type):
            raise DataError(f"expected integer counts, got {cnt.type}", field=COUNT)
        if cnt.null_count or (len(cnt) and pc.min(cnt).as_py() < 0):
            raise DataError("counts must be non-negative and not null", field=COUNT)
        keys = [n for n in counts.column_names if n != COUNT]
        cols = [key_strings(counts[n]) for n in keys]
        table = pa.table([*cols, cnt.cast(pa.int64())], names=[*keys, COUNT])
        return cls(_regroup(table, keys))

    @classmethod
    def count(cls, batch: pa.RecordBatch | pa.Table, keys: Sequence[str]) -> FrequencyTable:
        """Count distinct combinations of ``keys`` (already level-0 strings) in a batch."""
        missing = [k for k in keys if k not in batch.schema.names]
        if missing:
            raise DataError(f"column {missing[0]!r} is missing from the input", field=missing[0])
        table = pa.table([key_strings(batch.column(k)) for k in keys], names=list(keys))
        if not keys:
            return cls(pa.table({COUNT: pa.array([table.num_rows], pa.int64())}))
        out = table.group_by(list(keys), use_threads=False).aggregate([([], "count_all")])
        cols = [pc.dictionary_encode(out[k].combine_chunks()) for k in keys]
        counts = out["count_all"].combine_chunks().cast(pa.int64())
        return cls(pa.table([*cols, counts], names=[*keys, COUNT]))

    def merge(self, others: Iterable[FrequencyTable] | FrequencyTable) -> FrequencyTable:
        """This table plus ``others`` (one table or many), counts summed."""
        more = [others] if isinstance(others, FrequencyTable) else list(others)
        if not more:
            return self
        keys = list(self.keys)
        for o in more:
            if list(o.keys) != keys:
                raise DataError(f"cannot merge frequency tables over {list(o.keys)} and {keys}")
        parts = [*self._parts, *(t for o in more for t in o._parts)]
        merged = FrequencyTable(*parts)
        # combine when the pending parts outgrow the combined table: amortized linear
        # time, and memory bounded by about twice the distinct combinations (+ 256 Ki
        # rows), whatever the number of batches (the count pass's peak memory)
        if sum(t.num_rows for t in parts[1:]) > parts[0].num_rows + 262_144:
            merged.encoded  # noqa: B018 - combines in place
        return merged

    def to_arrow(self) -> pa.Table:
        """Key columns as strings and ``count`` (what ``from_arrow`` takes back)."""
        return self.table


def dict_column(dictionary: pa.Array, codes: npt.NDArray[np.int64]) -> pa.Array:
    """A dictionary<int32, string> column; the code ``len(dictionary)`` stands for null."""
    null = codes == len(dictionary)
    idx = pa.array(np.where(null, 0, codes).astype(np.int32), mask=null if null.any() else None)
    return pa.DictionaryArray.from_arrays(idx, dictionary)


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.int64], pa.Array]:
    """(codes with null = len(dictionary), dictionary) without hashing dictionary-typed rows."""
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_dictionary(col.type):
            col = col.unify_dictionaries()
        col = col.combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    null = len(col.dictionary)
    codes = np.asarray(
        pc.fill_null(col.indices, null).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return codes, col.dictionary


def _regroup(table: pa.Table, keys: list[str]) -> pa.Table:
    if not keys:
        total = pc.sum(table[COUNT]).as_py() or 0
        return pa.table({COUNT: pa.array([total], pa.int64())})
    # pack each row's dictionary codes into one int64 and sum counts per key (sort-based)
    codes: list[npt.NDArray[np.int64]] = []
    dicts: list[pa.Array] = []
    space = 1
    for k in keys:
        c, d = _codes(table[k])
        codes.append(c)
        dicts.append(d)
        space *= len(d) + 1
    weights = table[COUNT].to_numpy().astype(np.float64)
    if space >= 1 << 62:
        # too wide to pack: a dense rank per column pair keeps keys small
        key = np.zeros(table.num_rows, dtype=np.int64)
        for j in range(len(keys)):
            _, key = np.unique(key * (len(dicts[j]) + 1) + codes[j], return_inverse=True)
            key = key.astype(np.int64).ravel()
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        counts = np.bincount(inv.ravel(), weights=weights, minlength=len(uniq))
        cols = [dict_column(dicts[j], codes[j][first]) for j in range(len(keys))]
        return pa.table([*cols, pa.array(counts.astype(np.int64))], names=[*keys, COUNT])
    key = np.zeros(table.num_rows, dtype=np.int64)
    for j in range(len(keys)):
        key = key * (len(dicts[j]) + 1) + codes[j]
    uniq, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(inv.ravel(), weights=weights, minlength=len(uniq))
    out: list[pa.Array] = []
    rest = uniq
    for j in reversed(range(len(keys))):
        radix = len(dicts[j]) + 1
        out.append(dict_column(dicts[j], rest % radix))
        rest = rest // radix
    out.reverse()
    return pa.table([*out, pa.array(counts.astype(np.int64))], names=[*keys, COUNT])
