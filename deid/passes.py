"""Pieces of a release build that the local executor and the longitudinal planner share:
reading a table in batches, the count pass over the anchor, progress, and the errors a
changing source raises. Imports nothing of the executors (no import circle)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from deid.errors import DataError, PolicyError, SourceChangedError
from deid.plan import ReleasePlan, TablePlan
from deid.text.adapter import scrub_processes
from deid.transform import AnchorPersons, TableSpec, _check_columns

if TYPE_CHECKING:
    from deid.anonymize import FrequencyTable
    from deid.sources.base import Source

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "TEXT_BATCH_SIZE",
    "ProgressFn",
    "batches",
    "count_anchor",
    "not_one_row_per_person",
    "notify",
    "source_changed",
    "total_rows",
]

DEFAULT_BATCH_SIZE = 65_536
TEXT_BATCH_SIZE = 256
#: ``progress(phase, rows_done, rows_total)``: called between batches; raising cancels.
ProgressFn = Callable[[str, int, "int | None"], None]


def batches(
    source: Source, tp: TablePlan, spec: TableSpec, batch_size: int
) -> Iterator[pa.RecordBatch]:
    columns: list[str] | None
    if tp.columns is not None:
        columns = list(tp.columns)
    elif tp.query is None:
        columns = list(spec.policy.columns)
    else:
        columns = None  # the query chooses; unknown columns fail in the transform
    if spec.policy.text_columns:
        # Notes are slow to scrub: smaller batches keep progress (and cancellation) moving.
        batch_size = min(batch_size, TEXT_BATCH_SIZE * scrub_processes())
    yield from source.batches(tp.table, columns=columns, query=tp.query, batch_size=batch_size)


def total_rows(source: Source, tp: TablePlan) -> int | None:
    try:
        return int(source.count(tp.table, query=tp.query))
    except Exception:
        return None


def notify(progress: ProgressFn | None, phase: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(phase, done, total)


def count_anchor(
    plan: ReleasePlan,
    *,
    source: Source,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
    collect: Callable[[pa.RecordBatch], None] | None = None,
) -> tuple[FrequencyTable, int]:
    """The count pass over the anchor table: the merged frequency table and rows read.

    ``collect``, if given, sees every anchor batch too (the longitudinal model keeps
    each person's demographics from the same read).

    k counts records, so the anchor must hold one row per person: when it has the
    link column, its distinct non-null values are counted exactly (with
    :class:`AnchorPersons`: a bitmap over the id range, not per row) and a link
    value on more than one row fails the build (``DataError``).
    """
    from deid.anonymize import count_batch

    tp = plan.anchor_table
    spec = TableSpec.from_plan(plan, tp.name)
    link = plan.link_column
    total = total_rows(source, tp)
    notify(progress, "count", 0, total)
    freq: Any = None
    rows = linked = 0
    persons = AnchorPersons()
    for batch in batches(source, tp, spec, batch_size):
        _check_columns(batch, spec)
        part = count_batch(batch, spec.policy)
        freq = part if freq is None else freq.merge(part)
        if collect is not None:
            collect(batch)
        rows += batch.num_rows
        if link in batch.schema.names:
            column = batch.column(link)
            persons.add(column, column)
            linked += len(column) - column.null_count
        notify(progress, "count", rows, total)
    if freq is None:  # pragma: no cover - sources yield at least one (empty) batch
        raise PolicyError(f"tables.{tp.name}", "the anchor table yielded no batch")
    if linked and len(persons) != linked:
        raise not_one_row_per_person(tp.name, link, linked, len(persons))
    return freq, rows


def not_one_row_per_person(table: str, link: str, linked: int, persons: int) -> DataError:
    return DataError(
        f"the anchor table {table!r} has {linked} rows with a {link!r} value but only "
        f"{persons} distinct persons; expected one row per person (k counts rows, so "
        "several rows of one person would form a class alone): anchor the release on a "
        "table with one row per person, or reduce the anchor to one row per person",
        field=f"{table}.{link}",
    )


def source_changed(
    table: str,
    counted: int,
    read: int,
    qualifier: str = "",
    passes: tuple[str, str] = ("count pass", "transform pass"),
) -> SourceChangedError:
    return SourceChangedError(
        f"the anchor table {table!r} changed during the build: the {passes[0]} read "
        f"{counted} rows, the {passes[1]} {qualifier}{read}; expected the same rows "
        "(nothing was published; rebuild from a stable snapshot of the source)"
    )
