"""The ``Source`` protocol: where a release's rows come from, as Arrow record batches.

A source streams a table (or a query over it) as ``pa.RecordBatch`` es of at
most ``batch_size`` rows, all with the same schema, so a pass over data larger
than memory holds only one batch at a time. Implementations: ``SqlSource``
(any SQLAlchemy URL, server-side cursors), ``ParquetSource`` and ``CsvSource``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

import pyarrow as pa

from deid.errors import DataError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Source",
    "check_batch_size",
    "conform_array",
    "rebatch",
]

DEFAULT_BATCH_SIZE = 65_536


@runtime_checkable
class Source(Protocol):
    """Streams the rows of named tables as Arrow record batches."""

    def batches(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        query: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[pa.RecordBatch]:
        """Yield batches of at most ``batch_size`` rows, all with one schema.

        ``columns`` selects and orders columns; ``query`` (where supported)
        replaces the table scan, ``table`` still naming the logical dataset.
        """
        ...

    def count(self, table: str, query: str | None = None) -> int:
        """Number of rows ``batches(table, query=query)`` yields."""
        ...

    def schema(self, table: str) -> pa.Schema:
        """The Arrow schema of ``table`` (what ``batches(table)`` yields)."""
        ...


def check_batch_size(batch_size: int) -> int:
    """Return ``batch_size`` if it is a positive int, else raise ``ValueError``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    return batch_size


def rebatch(
    batches: Iterable[pa.RecordBatch], batch_size: int, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """Re-cut a stream of batches into batches of exactly ``batch_size`` rows (last may be short).

    Full-size pieces of an input batch are zero-copy slices; only batches
    assembled from several pieces are copied. Empty input yields nothing.
    """
    check_batch_size(batch_size)
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            take = min(batch_size - rows, batch.num_rows - offset)
            piece = batch.slice(offset, take)
            offset += take
            if rows == 0 and take == batch_size:
                yield piece if piece.schema == schema else piece.cast(schema)
                continue
            pending.append(piece)
            rows += take
            if rows == batch_size:
                yield _concat(pending, schema)
                pending, rows = [], 0
    if rows:
        yield _concat(pending, schema)


def _concat(pieces: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    if len(pieces) == 1:
        return pieces[0]
    out = pa.concat_batches(pieces)
    return out if out.schema == schema else out.cast(schema)


def conform_array(
    values: Sequence[object] | pa.Array,
    target: pa.DataType,
    *,
    field: str,
    record_of: Sequence[object] | None = None,
    first_row: int = 0,
) -> pa.Array:
    """Build an Arrow array of type ``target`` from Python values or another array.

    Conversions that lose nothing are done (int to float, ISO text to dates,
    Decimal to float, ...). A value that cannot be converted raises ``DataError``
    naming the record (``record_of[i]`` if given, else the row number counted
    from ``first_row``) and the field. The offending value itself is not shown:
    it may be PHI.
    """
    if (
        pa.types.is_string(target)
        and not isinstance(values, pa.Array)
        and any(isinstance(v, uuid.UUID) for v in values)
    ):
        # Arrow would take a UUID for its 16 bytes: write it as text.
        values = [str(v) if isinstance(v, uuid.UUID) else v for v in values]
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(values)
        if arr.type != target:
            arr = arr.cast(target, safe=True)
        return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    items = values.to_pylist() if isinstance(values, pa.Array) else list(values)
    for i, value in enumerate(items):
        if value is None:
            continue
        try:
            pa.array([value]).cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            record = record_of[i] if record_of is not None else f"row {first_row + i}"
            raise DataError(
                f"expected a value convertible to {target}, got {type(value).__name__}",
                record=record,
                field=field,
            ) from None
    # Each value converts alone but not together (e.g. int and str mixed): name the
    # first value whose type differs from the first non-null value's.
    kinds = [type(v) for v in items]
    first = next(k for k in kinds if k is not type(None))
    i = next(i for i, k in enumerate(kinds) if k not in (first, type(None)))
    record = record_of[i] if record_of is not None else f"row {first_row + i}"
    raise DataError(
        f"expected values of one type convertible to {target}, "
        f"got {kinds[i].__name__} after {first.__name__}",
        record=record,
        field=field,
    )
