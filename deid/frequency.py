"""Frequency tables: distinct quasi-identifier (+ sensitive) combinations with counts.

The count pass turns record batches into a small table of distinct level-0
combinations; tables merge (per batch, across batches, or after a Spark
group-by via ``FrequencyTable.from_arrow``). The search only ever reads this
table, so its cost depends on distinct combinations, not on rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class FrequencyTable:
    """Distinct combinations of ``keys`` (string columns) and an int64 ``count``."""

    table: pa.Table

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(n for n in self.table.column_names if n != COUNT)

    @property
    def total(self) -> int:
        return int(pc.sum(self.table[COUNT]).as_py() or 0)

    @property
    def distinct(self) -> int:
        return int(self.table.num_rows)

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
        out = out.select([*keys, "count_all"]).rename_columns([*keys, COUNT])
        return cls(
            out.cast(
                pa.schema([*(pa.field(k, pa.string()) for k in keys), pa.field(COUNT, pa.int64())])
            )
        )

    def merge(self, others: Iterable[FrequencyTable] | FrequencyTable) -> FrequencyTable:
        """This table plus ``others`` (one table or many), counts summed."""
        more = [others] if isinstance(others, FrequencyTable) else list(others)
        if not more:
            return self
        keys = list(self.keys)
        for o in more:
            if list(o.keys) != keys:
                raise DataError(f"cannot merge frequency tables over {list(o.keys)} and {keys}")
        table = pa.concat_tables([self.table, *(o.table for o in more)])
        return FrequencyTable(_regroup(table, keys))

    def to_arrow(self) -> pa.Table:
        return self.table


def _regroup(table: pa.Table, keys: list[str]) -> pa.Table:
    if not keys:
        total = pc.sum(table[COUNT]).as_py() or 0
        return pa.table({COUNT: pa.array([total], pa.int64())})
    schema = pa.schema([*(pa.field(k, pa.string()) for k in keys), pa.field(COUNT, pa.int64())])
    # pack each row's dictionary codes into one int64 and sum counts per key (sort-based)
    codes: list[npt.NDArray[np.int64]] = []
    dicts: list[pa.Array] = []
    space = 1
    for k in keys:
        enc = pc.dictionary_encode(table[k].combine_chunks())
        null = len(enc.dictionary)
        codes.append(
            np.asarray(
                pc.fill_null(enc.indices, null).to_numpy(zero_copy_only=False), dtype=np.int64
            )
        )
        dicts.append(enc.dictionary)
        space *= null + 1
    if space >= 1 << 62:
        out = table.group_by(keys, use_threads=False).aggregate([(COUNT, "sum")])
        return out.select([*keys, f"{COUNT}_sum"]).rename_columns([*keys, COUNT]).cast(schema)
    key = np.zeros(table.num_rows, dtype=np.int64)
    for j in range(len(keys)):
        key = key * (len(dicts[j]) + 1) + codes[j]
    uniq, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(
        inv.ravel(), weights=table[COUNT].to_numpy().astype(np.float64), minlength=len(uniq)
    )
    cols: list[pa.Array] = []
    rest = uniq
    for j in reversed(range(len(keys))):
        radix = len(dicts[j]) + 1
        part = rest % radix
        rest = rest // radix
        null = part == radix - 1
        idx = pa.array(np.where(null, 0, part), mask=null if null.any() else None)
        cols.append(dicts[j].take(idx))
    cols.reverse()
    return pa.table([*cols, pa.array(counts.astype(np.int64))], schema=schema)
