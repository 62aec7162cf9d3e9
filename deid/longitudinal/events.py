"""The longitudinal decisions as the transform pass needs them: which event rows are
suppressed, at which level each known column is released, how text follows the tables.

Plain data (JSON-ready, no secrets); :mod:`deid.longitudinal.release` decides them and
:mod:`deid.transform` applies them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError
from deid.longitudinal.notes import NoteRules

__all__ = ["ReleaseEvents"]

IntArray = npt.NDArray[np.int64]


@dataclass
class ReleaseEvents:
    """The transform pass's view of the longitudinal decisions (no secrets; JSON-ready)."""

    levels: dict[str, dict[str, int]]  # event table -> known column -> level
    suppressed: dict[str, IntArray]  # event table -> sorted raw ids of suppressed rows
    follow: dict[str, tuple[str, str]]  # dependent table -> (event table, id column)
    id_columns: dict[str, str]  # event table -> id column
    expected_out: dict[str, int]  # event table -> rows the search released
    notes: NoteRules = field(default_factory=NoteRules)  # how text follows the tables
    report: dict[str, Any] = field(default_factory=dict)

    def levels_for(self, table: str) -> dict[str, int] | None:
        return self.levels.get(table)

    def drop_mask(self, batch: pa.RecordBatch, table: str) -> pa.Array | None:
        """True for rows to keep: not a suppressed event, not following one."""
        if table in self.suppressed:
            column, ids = self.id_columns[table], self.suppressed[table]
        elif table in self.follow:
            event, column = self.follow[table]
            ids = self.suppressed[event]
        else:
            return None
        if column not in batch.schema.names:
            raise DataError(f"table {table!r}: the column {column!r} is missing", field=column)
        if not len(ids):
            return None
        values = batch.column(column)
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        ints = np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False)).astype(np.int64)
        pos = np.minimum(np.searchsorted(ids, ints), len(ids) - 1)
        hit = (ids[pos] == ints) & valid
        return pa.array(~hit, pa.bool_())

    def without_suppressed(self) -> ReleaseEvents:
        """The same decisions with no row list (the Spark executor anti-joins the ids)."""
        return replace(self, suppressed={t: np.zeros(0, np.int64) for t in self.suppressed})

    def suppressed_table(self, table: str) -> pa.Table:
        """The suppressed ids of an event table (or of the event a table follows)."""
        if table in self.suppressed:
            column, ids = self.id_columns[table], self.suppressed[table]
        else:
            event, column = self.follow[table]
            ids = self.suppressed[event]
        return pa.table({column: pa.array(ids, pa.int64())})

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": self.levels,
            "suppressed": {t: [int(x) for x in ids] for t, ids in self.suppressed.items()},
            "follow": {t: list(v) for t, v in self.follow.items()},
            "id_columns": self.id_columns,
            "expected_out": self.expected_out,
            "notes": self.notes.to_dict(),
            "report": self.report,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReleaseEvents:
        return cls(
            levels={t: {c: int(v) for c, v in lv.items()} for t, lv in data["levels"].items()},
            suppressed={
                t: np.asarray(sorted(ids), dtype=np.int64) for t, ids in data["suppressed"].items()
            },
            follow={t: (str(v[0]), str(v[1])) for t, v in data["follow"].items()},
            id_columns={str(t): str(c) for t, c in data["id_columns"].items()},
            expected_out={str(t): int(n) for t, n in data["expected_out"].items()},
            notes=NoteRules.from_dict(data.get("notes") or {}),
            report=dict(data.get("report") or {}),
        )
