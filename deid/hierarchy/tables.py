"""Hierarchies given as tables: ARX CSV files, inline rows in the policy, and the flat
hierarchy (a value or ``*``)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError
from deid.hierarchy.base import (
    TOP,
    Hierarchy,
    HierarchyBuilder,
    Materialized,
    _check_keys,
    _materialize_rows,
    _need,
)

# ARX CSV ---------------------------------------------------------------------------


class TableHierarchy(Hierarchy):
    """A materialized hierarchy: one row per leaf, columns = levels (ARX format)."""

    name = "csv"

    def __init__(
        self, rows: Sequence[Sequence[str]], *, source: Mapping[str, Any], field: str
    ) -> None:
        if not rows:
            raise PolicyError(field, "hierarchy has no rows")
        width = len(rows[0])
        for i, row in enumerate(rows):
            if len(row) != width:
                raise PolicyError(field, f"row {i + 1} has {len(row)} levels, expected {width}")
        if width < 1:
            raise PolicyError(field, "hierarchy rows are empty")
        seen: dict[str, int] = {}
        for i, row in enumerate(rows):
            if row[0] in seen:
                if list(rows[seen[row[0]]]) != list(row):
                    raise PolicyError(
                        field, f"value {row[0]!r} appears twice with different generalizations"
                    )
                continue
            seen[row[0]] = i
        unique_rows = [list(rows[i]) for i in sorted(seen.values())]
        # a tree: one parent per (level, value)
        for level in range(1, width):
            parent: dict[str, str] = {}
            for row in unique_rows:
                prev = row[level - 1]
                if parent.setdefault(prev, row[level]) != row[level]:
                    raise PolicyError(
                        field,
                        f"not a tree: {prev!r} at level {level - 1} generalizes to both "
                        f"{parent[prev]!r} and {row[level]!r} at level {level}",
                    )
        self._rows = unique_rows
        self._top_added = not all(r[-1] == unique_rows[0][-1] for r in unique_rows) or width == 1
        if self._top_added:
            for r in self._rows:
                r.append(TOP)
        self._source = dict(source)
        self._leaf_pos = {r[0]: i for i, r in enumerate(self._rows)}
        self._columns = [
            pa.array([r[lv] for r in self._rows], pa.string()) for lv in range(self.height)
        ]

    @property
    def height(self) -> int:
        return len(self._rows[0])

    def spec(self) -> dict[str, Any]:
        return dict(self._source)

    def domain(self) -> list[str]:
        return [r[0] for r in self._rows]

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        out: list[str | None] = []
        for v in distinct.to_pylist():
            if v is None:
                out.append(None)
            elif v not in self._leaf_pos:
                raise DataError(f"value {v!r} is not in the hierarchy")
            else:
                out.append(self._rows[self._leaf_pos[v]][level])
        return out

    def generalize_encoded(
        self, values: pa.Array | pa.ChunkedArray, level: int
    ) -> tuple[pa.Array, pa.Array]:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not 0 <= level < self.height:
            raise ValueError(f"level {level} out of range 0..{self.height - 1}")
        encoded = pc.dictionary_encode(values)
        strings = self.leaf(encoded.dictionary)
        idx = pc.index_in(strings, value_set=self._columns[0])
        missing = pc.and_(pc.is_null(idx), pc.is_valid(strings))
        if pc.any(missing).as_py():
            pos = int(pc.index(missing, True).as_py())
            raise DataError(f"value {strings[pos].as_py()!r} is not in the hierarchy")
        if level == self.height - 1:
            return pa.array(np.zeros(len(values), dtype=np.int32)), pa.array([TOP], pa.string())
        return idx.take(encoded.indices), self._columns[level]

    def materialize(self, observed: Sequence[str | None]) -> Materialized:
        leaves = self.domain()
        unknown = [v for v in observed if v is not None and v not in self._leaf_pos]
        if unknown:
            raise DataError(f"value {unknown[0]!r} is not in the hierarchy")
        return _materialize_rows(self, leaves, any(v is None for v in observed))


def read_hierarchy_csv(path: Path, *, sep: str = ";", field: str) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PolicyError(field, f"hierarchy file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise PolicyError(field, f"cannot read hierarchy file {str(path)!r}: {exc}") from None
    rows = [row for row in csv.reader(text.splitlines(), delimiter=sep) if row and any(row)]
    return [[c.strip() for c in row] for row in rows]


class CsvBuilder(HierarchyBuilder):
    name = "csv"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"path", "sep"}, field)
        path = _need(params, "path", field)
        if not isinstance(path, str) or not path:
            raise PolicyError(f"{field}.path", f"expected a file path, got {path!r}")
        sep = params.get("sep", ";")
        if not isinstance(sep, str) or len(sep) != 1:
            raise PolicyError(f"{field}.sep", f"expected one character, got {sep!r}")

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        path = Path(str(params["path"]))
        full = path if path.is_absolute() else base_dir / path
        sep = str(params.get("sep", ";"))
        rows = read_hierarchy_csv(full, sep=sep, field=field)
        digest = hashlib.sha256(full.read_bytes()).hexdigest()
        source = {"type": "csv", "path": str(params["path"]), "sep": sep, "sha256": digest}
        return TableHierarchy(rows, source=source, field=field)


class InlineBuilder(HierarchyBuilder):
    """``{type: table, rows: [[v, l1, ...], ...]}``: a hierarchy written in the policy."""

    name = "table"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"rows"}, field)
        rows = _need(params, "rows", field)
        if not isinstance(rows, list) or not all(isinstance(r, list) and r for r in rows):
            raise PolicyError(f"{field}.rows", "expected a list of non-empty lists")

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        rows = [[str(c) for c in r] for r in params["rows"]]
        return TableHierarchy(rows, source={"type": "table", "rows": rows}, field=field)


class FlatHierarchy(Hierarchy):
    """Value or ``*``: the attribute is kept or fully suppressed."""

    name = "flat"

    @property
    def height(self) -> int:
        return 2

    def spec(self) -> dict[str, Any]:
        return {"type": "flat"}

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        raise AssertionError("a flat hierarchy has no intermediate levels")


class FlatBuilder(HierarchyBuilder):
    name = "flat"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, set(), field)

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return FlatHierarchy()
