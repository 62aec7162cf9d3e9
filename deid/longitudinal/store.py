"""The event pass: the anchor's persons and every event, as compact integer codes.

Per anchor row: the raw person id and, per quasi-identifier, a level-0 leaf code.
Per event (a row of an event table, after the patient's date shift): its person,
its row id and, per known column, a level-0 leaf code. Distinct level-0 values
are held once (a dictionary per column), so memory is a few integers per row:
about 8 + 4 * quasi-identifiers bytes per person and 20 + 4 * known columns bytes
per event (10 M events with 3 known columns: about 320 MB). The search and the
release decisions work on these codes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError
from deid.hierarchy import Hierarchy, Materialized

__all__ = ["AnchorCollector", "EventCollector", "EventColumn", "LongitudinalData"]

IntArray = npt.NDArray[np.int64]


class _Dictionary:
    """Level-0 strings of one column -> dense codes (None is a value of its own)."""

    def __init__(self) -> None:
        self.codes: dict[str | None, int] = {}

    def encode(self, strings: pa.Array) -> npt.NDArray[np.int32]:
        enc = pc.dictionary_encode(strings)
        mapping = np.fromiter(
            (self.codes.setdefault(v, len(self.codes)) for v in enc.dictionary.to_pylist()),
            dtype=np.int32,
            count=len(enc.dictionary),
        )
        null_code = self.codes.setdefault(None, len(self.codes)) if enc.null_count else -1
        idx = np.asarray(pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False))
        out = mapping[idx] if len(mapping) else np.zeros(len(idx), dtype=np.int32)
        if enc.null_count:
            nulls = np.asarray(enc.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            out = np.where(nulls, np.int32(null_code), out).astype(np.int32)
        return np.asarray(out, dtype=np.int32)

    def values(self) -> list[str | None]:
        return list(self.codes)


def _combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    return column


def _ints(column: pa.Array | pa.ChunkedArray, field: str) -> tuple[IntArray, npt.NDArray[Any]]:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.int64())
    if not pa.types.is_integer(column.type):
        raise DataError(
            f"expected integer ids for the longitudinal model, got {column.type}", field=field
        )
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    ints = np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False)).astype(np.int64)
    return ints, valid


class AnchorCollector:
    """Persons of the anchor table with their level-0 quasi-identifier codes."""

    def __init__(self, table: str, link: str, qi: Sequence[str], hierarchies: Sequence[Hierarchy]):
        self.table, self.link = table, link
        self.qi = tuple(qi)
        self.hierarchies = tuple(hierarchies)
        self._dicts = [_Dictionary() for _ in self.qi]
        self._ids: list[IntArray] = []
        self._valid: list[npt.NDArray[Any]] = []
        self._codes: list[list[npt.NDArray[np.int32]]] = [[] for _ in self.qi]

    def leaves(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The link column and the level-0 strings of the quasi-identifiers (pure)."""
        arrays = [_combined(batch.column(self.link))]
        for j, name in enumerate(self.qi):
            try:
                arrays.append(self.hierarchies[j].leaf(_combined(batch.column(name))))
            except DataError as exc:
                raise DataError(exc.message, field=f"{self.table}.{name}") from None
        return pa.RecordBatch.from_arrays(arrays, names=[self.link, *self.qi])

    def add(self, batch: pa.RecordBatch) -> None:
        """One batch of the anchor table, as read."""
        self.add_leaves(self.leaves(batch))

    def add_leaves(self, batch: pa.RecordBatch) -> None:
        """One batch of :meth:`leaves` (the Spark executor computes them on its workers)."""
        ids, valid = _ints(batch.column(self.link), f"{self.table}.{self.link}")
        self._ids.append(ids)
        self._valid.append(valid)
        for j, name in enumerate(self.qi):
            self._codes[j].append(self._dicts[j].encode(batch.column(name)))

    def finish(
        self, mats: Sequence[Materialized]
    ) -> tuple[IntArray, npt.NDArray[Any], tuple[IntArray, ...]]:
        """(raw ids, valid mask, leaf index per QI in ``mats`` order) per anchor row."""
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)
        valid = np.concatenate(self._valid) if self._valid else np.zeros(0, bool)
        leaves = []
        for j, name in enumerate(self.qi):
            values = self._dicts[j].values()
            lut = (
                mats[j].index(pa.array(values, pa.string()), name)
                if values
                else np.zeros(0, np.int64)
            )
            codes = np.concatenate(self._codes[j]) if self._codes[j] else np.zeros(0, np.int32)
            leaves.append(
                np.asarray(lut, dtype=np.int64)[codes] if len(codes) else np.zeros(0, np.int64)
            )
        return ids, valid, tuple(leaves)


@dataclass
class EventColumn:
    """One known column of one event table, over the observed level-0 values."""

    table: str
    name: str
    hierarchy: Hierarchy
    min_level: int
    mat: Materialized
    leaf: IntArray  # per event of its table (table-local order)
    max_level: int | None = None  # the steward's ceiling (``options.max_level``)

    @property
    def height(self) -> int:
        return self.mat.height


@dataclass
class EventCollector:
    """Events of one table: person id, row id and level-0 codes of the known columns."""

    table: str
    link: str
    id_column: str
    known: tuple[str, ...]
    hierarchies: tuple[Hierarchy, ...]
    min_levels: tuple[int, ...]
    max_levels: tuple[int | None, ...] = ()
    _dicts: list[_Dictionary] = field(default_factory=list)
    _persons: list[IntArray] = field(default_factory=list)
    _ids: list[IntArray] = field(default_factory=list)
    _codes: list[list[npt.NDArray[np.int32]]] = field(default_factory=list)
    rows: int = 0

    def __post_init__(self) -> None:
        self._dicts = [_Dictionary() for _ in self.known]
        self._codes = [[] for _ in self.known]

    def leaves(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Link, row id and level-0 strings of the known columns of a batch after the
        patients' date shift (pure: the Spark executor runs it on its workers)."""
        arrays = [_combined(batch.column(self.link)), _combined(batch.column(self.id_column))]
        for j, name in enumerate(self.known):
            try:
                arrays.append(self.hierarchies[j].leaf(_combined(batch.column(name))))
            except DataError as exc:
                raise DataError(exc.message, field=f"{self.table}.{name}") from None
        return pa.RecordBatch.from_arrays(arrays, names=[self.link, self.id_column, *self.known])

    def add(self, batch: pa.RecordBatch) -> None:
        """One batch of the table, after the date shift (as the transform sees it)."""
        self.add_leaves(self.leaves(batch))

    def add_leaves(self, batch: pa.RecordBatch) -> None:
        """One batch of :meth:`leaves`."""
        persons, pvalid = _ints(batch.column(self.link), f"{self.table}.{self.link}")
        ids, ivalid = _ints(batch.column(self.id_column), f"{self.table}.{self.id_column}")
        if not ivalid.all():
            row = int(np.flatnonzero(~ivalid)[0])
            raise DataError(
                f"table {self.table!r}: row {self.rows + row} has no {self.id_column!r}; "
                "event rows need an id (suppression is by row)",
                field=f"{self.table}.{self.id_column}",
                record=self.rows + row,
            )
        self.rows += batch.num_rows
        keep = pvalid  # a null link is no person: the transform drops the row
        self._persons.append(persons[keep])
        self._ids.append(ids[keep])
        for j, name in enumerate(self.known):
            self._codes[j].append(self._dicts[j].encode(_combined(batch.column(name)))[keep])

    def finish(self) -> tuple[IntArray, IntArray, list[EventColumn]]:
        persons = np.concatenate(self._persons) if self._persons else np.zeros(0, np.int64)
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)
        if len(ids) and len(np.unique(ids)) != len(ids):
            raise DataError(
                f"table {self.table!r}: {self.id_column!r} repeats; event rows need a unique id",
                field=f"{self.table}.{self.id_column}",
            )
        cols = []
        for j, name in enumerate(self.known):
            values = self._dicts[j].values()
            mat = self.hierarchies[j].materialize(values)
            lut = (
                mat.index(pa.array(values, pa.string()), f"{self.table}.{name}")
                if values
                else np.zeros(0, np.int64)
            )
            codes = np.concatenate(self._codes[j]) if self._codes[j] else np.zeros(0, np.int32)
            leaf = np.asarray(lut, dtype=np.int64)[codes] if len(codes) else np.zeros(0, np.int64)
            cols.append(
                EventColumn(
                    self.table,
                    name,
                    self.hierarchies[j],
                    self.min_levels[j],
                    mat,
                    leaf,
                    self.max_levels[j] if self.max_levels else None,
                )
            )
        return persons, ids, cols


@dataclass
class LongitudinalData:
    """Persons (anchor rows) and events (all event tables, sorted by person)."""

    anchor_qi: tuple[str, ...]
    anchor_mats: tuple[Materialized, ...]
    anchor_leaf: tuple[IntArray, ...]  # per QI, per anchor row
    person_ids: IntArray  # raw id per anchor row (undefined where not valid)
    tables: tuple[str, ...]
    table_of: IntArray  # per event: table index
    person_of: IntArray  # per event: anchor row index
    event_id: IntArray  # per event: raw row id
    columns: tuple[EventColumn, ...]  # EventColumn.leaf re-indexed per event (global order)
    table_columns: tuple[tuple[int, ...], ...]  # column indices of each table
    dropped_events: dict[str, int]  # events of persons absent from the anchor, per table

    @property
    def n_persons(self) -> int:
        return len(self.person_ids)

    @property
    def n_events(self) -> int:
        return len(self.event_id)

    @classmethod
    def build(
        cls,
        anchor: tuple[IntArray, npt.NDArray[Any], tuple[IntArray, ...]],
        anchor_qi: Sequence[str],
        anchor_mats: Sequence[Materialized],
        events: Sequence[tuple[str, IntArray, IntArray, list[EventColumn]]],
    ) -> LongitudinalData:
        ids, valid, leaves = anchor
        # Canonical order whatever order the rows came in (local reads, Spark partitions):
        # linked persons by id, then unlinked rows by their codes; events by (table,
        # person, row id). Ties in the search break on these indices.
        perm = np.lexsort((*reversed(leaves), np.where(valid, ids, 0), ~valid))
        ids, valid = ids[perm], valid[perm]
        leaves = tuple(leaf[perm] for leaf in leaves)
        order = np.arange(int(valid.sum()), dtype=np.int64)
        sorted_ids = ids[: len(order)]
        tables: list[str] = []
        parts_t, parts_p, parts_id = [], [], []
        columns: list[EventColumn] = []
        table_columns: list[tuple[int, ...]] = []
        dropped: dict[str, int] = {}
        for t, (name, persons, eids, cols) in enumerate(events):
            tables.append(name)
            pos = np.searchsorted(sorted_ids, persons)
            pos_c = np.minimum(pos, max(len(sorted_ids) - 1, 0))
            hit = (
                (sorted_ids[pos_c] == persons) if len(sorted_ids) else np.zeros(len(persons), bool)
            )
            dropped[name] = int((~hit).sum())
            parts_t.append(np.full(int(hit.sum()), t, dtype=np.int64))
            parts_p.append(order[pos_c[hit]] if len(sorted_ids) else np.zeros(0, np.int64))
            parts_id.append(eids[hit])
            table_columns.append(tuple(range(len(columns), len(columns) + len(cols))))
            for c in cols:
                c.leaf = c.leaf[hit]
                columns.append(c)
        table_of = np.concatenate(parts_t) if parts_t else np.zeros(0, np.int64)
        person_of = np.concatenate(parts_p) if parts_p else np.zeros(0, np.int64)
        event_id = np.concatenate(parts_id) if parts_id else np.zeros(0, np.int64)
        # per column, a leaf per global event (-1 for events of other tables)
        offsets = np.cumsum([0, *[len(p) for p in parts_id]])
        for t, cols_idx in enumerate(table_columns):
            for ci in cols_idx:
                full = np.full(len(event_id), -1, dtype=np.int64)
                full[offsets[t] : offsets[t + 1]] = columns[ci].leaf
                columns[ci].leaf = full
        ev_perm = np.lexsort((event_id, person_of, table_of))
        table_of, person_of, event_id = table_of[ev_perm], person_of[ev_perm], event_id[ev_perm]
        for c in columns:
            c.leaf = c.leaf[ev_perm]
        return cls(
            anchor_qi=tuple(anchor_qi),
            anchor_mats=tuple(anchor_mats),
            anchor_leaf=tuple(leaves),
            person_ids=ids,
            tables=tuple(tables),
            table_of=table_of,
            person_of=person_of,
            event_id=event_id,
            columns=tuple(columns),
            table_columns=tuple(table_columns),
            dropped_events=dropped,
        )
