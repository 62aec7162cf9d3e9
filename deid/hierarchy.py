"""Generalization hierarchies: ARX CSV files and built-in builders.

A hierarchy maps a value (level 0) to coarser values (levels 1 .. height-1);
the last level is always ``*`` (the attribute fully suppressed). Builders are
small named classes in a registry (``BUILDERS``); each validates its params
and fails fast with a :class:`~deid.errors.PolicyError` naming the field.

``generalize`` is vectorized over Arrow arrays: the input is dictionary
encoded, the (few) distinct values are labelled, and the labels are taken back
by index, so cost is one hash pass per column plus work on distinct values.

For the search, a hierarchy is *materialized* over a domain of leaves: ARX CSV
and Korean region tables use every row of their table (ARX's loss definition
counts all leaves of the file); generated hierarchies use the distinct values
seen in the data (as ARX's builders do).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import itertools
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError

TOP = "*"

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Materialized:
    """A hierarchy as integer codes over a domain of leaves (for the search).

    ``codes[level][leaf]`` is the code of the leaf's generalized value at
    ``level``; ``labels[level][code]`` its label (None for the null leaf below
    the top); ``leaf_count[level][code]`` the number of domain leaves under it.
    """

    leaves: tuple[str | None, ...]
    codes: tuple[IntArray, ...]
    labels: tuple[tuple[str | None, ...], ...]
    leaf_count: tuple[IntArray, ...]
    total_leaves: int

    @property
    def height(self) -> int:
        return len(self.codes)

    def loss_cost(self, level: int) -> FloatArray:
        """ARX loss per code: (leaves under it - 1) / (leaves of the hierarchy - 1)."""
        denom = max(self.total_leaves - 1, 1)
        cost = (self.leaf_count[level] - 1) / denom
        return np.clip(cost.astype(np.float64), 0.0, 1.0)

    def index(self, values: pa.Array, column: str) -> IntArray:
        """Leaf index of each level-0 value; unknown values raise DataError."""
        arr = values.cast(pa.string()) if values.type != pa.string() else values
        known = pa.array([v for v in self.leaves if v is not None], pa.string())
        positions = [i for i, v in enumerate(self.leaves) if v is not None]
        idx = pc.index_in(arr, value_set=known)
        missing = pc.and_(pc.is_null(idx), pc.is_valid(arr))
        if pc.any(missing).as_py():
            bad_pos = int(pc.index(missing, True).as_py())
            raise DataError(
                f"value {arr[bad_pos].as_py()!r} is not a leaf of the hierarchy "
                f"(expected one of its {len(known)} level-0 values)",
                field=column,
            )
        out = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        pos = np.asarray([*positions, -1], dtype=np.int64)
        mapped = pos[out]
        if (mapped < 0).any():
            null_leaf = self.leaves.index(None) if None in self.leaves else -1
            if null_leaf < 0:
                raise DataError("null value in a quasi-identifier", field=column)
            mapped[mapped < 0] = null_leaf
        return mapped


def _as_string(values: pa.Array) -> pa.Array:
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_large_string(values.type) or pa.types.is_dictionary(values.type):
        return values.cast(pa.string())
    if pa.types.is_floating(values.type):
        # 39.0 -> "39": integral floats print as integers (CSV readers widen ints with nulls)
        as_np = values.to_numpy(zero_copy_only=False)
        if np.all(np.isnan(as_np) | (np.floor(as_np) == as_np)):
            return values.cast(pa.int64()).cast(pa.string())
    return values.cast(pa.string())


class Hierarchy(ABC):
    """A generalization hierarchy. ``height`` counts levels including level 0."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def height(self) -> int: ...

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """Canonical JSON-ready description (part of the policy digest)."""

    @abstractmethod
    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        """Labels for distinct non-null level-0 strings at 0 < level < height-1."""

    def leaf(self, values: pa.Array) -> pa.Array:
        """Level-0 (normalized) string values."""
        return _as_string(values)

    @property
    def leaf_coarsens(self) -> bool:
        """Is level 0 coarser than the raw values (a date hierarchy starting at the month)?
        Then level 0 must be applied, not skipped, when a column is released."""
        return False

    def generalize(self, values: pa.Array | pa.ChunkedArray, level: int) -> pa.Array:
        """Vectorized generalization to ``level``; string output, nulls stay null below the top."""
        indices, labels = self.generalize_encoded(values, level)
        return labels.take(indices)

    def generalize_encoded(
        self, values: pa.Array | pa.ChunkedArray, level: int
    ) -> tuple[pa.Array, pa.Array]:
        """(integer indices with nulls, string labels): ``labels.take(indices)`` is the output.

        One hash pass over the rows; labels are computed for distinct values only.
        """
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not 0 <= level < self.height:
            raise ValueError(f"level {level} out of range 0..{self.height - 1}")
        if level == self.height - 1:
            return pa.array(np.zeros(len(values), dtype=np.int32)), pa.array([TOP], pa.string())
        encoded = pc.dictionary_encode(values)
        dictionary = self.leaf(encoded.dictionary)
        labels = dictionary if level == 0 else pa.array(self._label(dictionary, level), pa.string())
        return encoded.indices, labels

    def materialize(self, observed: Sequence[str | None]) -> Materialized:
        """Integer codes over the observed distinct level-0 values."""
        leaves = sorted({v for v in observed if v is not None})
        return _materialize_rows(self, leaves, any(v is None for v in observed))

    def domain(self) -> list[str] | None:
        """The fixed leaf domain, when the hierarchy has one (CSV, region tables)."""
        return None


def _materialize_rows(h: Hierarchy, leaves: list[str], with_null: bool) -> Materialized:
    arr = pa.array(leaves, pa.string())
    all_leaves: list[str | None] = list(leaves)
    codes: list[IntArray] = []
    labels: list[tuple[str | None, ...]] = []
    counts: list[IntArray] = []
    for level in range(h.height):
        if level == 0:
            lab: list[str | None] = list(leaves)
        elif level == h.height - 1:
            lab = [TOP] * len(leaves)
        else:
            lab = h._label(arr, level) if leaves else []
        if with_null:
            lab = [*lab, TOP if level == h.height - 1 else None]
        uniq: dict[str | None, int] = {}
        code = np.fromiter((uniq.setdefault(v, len(uniq)) for v in lab), np.int64, len(lab))
        codes.append(code)
        labels.append(tuple(uniq))
        counts.append(np.bincount(code, minlength=len(uniq)).astype(np.int64))
    if with_null:
        all_leaves.append(None)
        # the null leaf is not part of the domain: its own cost is 0 below the top
        for level in range(h.height - 1):
            null_code = codes[level][-1]
            counts[level][null_code] = 1
    total = len(leaves) if leaves else 1
    if with_null:
        counts[-1][:] = total
    return Materialized(tuple(all_leaves), tuple(codes), tuple(labels), tuple(counts), total)


# --------------------------------------------------------------------------- builders


class HierarchyBuilder(ABC):
    """A named builder: validates params, then builds a Hierarchy."""

    name: ClassVar[str]

    @abstractmethod
    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None: ...

    @abstractmethod
    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy: ...


def _need(params: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in params:
        raise PolicyError(f"{field}.{key}", "is required")
    return params[key]


def _check_keys(params: Mapping[str, Any], allowed: set[str], field: str) -> None:
    extra = sorted(set(params) - allowed - {"type"})
    if extra:
        raise PolicyError(f"{field}.{extra[0]}", f"unknown key (expected one of {sorted(allowed)})")


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


# intervals ---------------------------------------------------------------------------


class IntervalHierarchy(Hierarchy):
    """Nested numeric bins: ``widths`` per level (each a multiple of the previous)."""

    name = "interval"

    def __init__(self, widths: Sequence[float], origin: float, integer: bool) -> None:
        self.widths = [float(w) for w in widths]
        self.origin = float(origin)
        self.integer = integer

    @property
    def height(self) -> int:
        return len(self.widths) + 2

    def spec(self) -> dict[str, Any]:
        return {
            "type": "interval",
            "widths": [_num(w) for w in self.widths],
            "origin": _num(self.origin),
            "integer": self.integer,
        }

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        try:
            nums = pc.cast(distinct, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = next(v for v in distinct.to_pylist() if not _is_number(v))
            raise DataError(f"value {bad!r} is not a number (interval hierarchy)") from None
        w = self.widths[level - 1]
        lows = np.floor((nums - self.origin) / w) * w + self.origin
        out: list[str | None] = []
        for v, lo in zip(nums.tolist(), lows.tolist(), strict=True):
            if math.isnan(v):
                out.append(None)
            elif self.integer:
                if v != math.floor(v):
                    raise DataError(
                        f"value {v!r} is not an integer (interval hierarchy, integer: true)"
                    )
                out.append(f"{_num(lo)}-{_num(lo + w - 1)}")
            else:
                out.append(f"[{_num(lo)}, {_num(lo + w)})")
        return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _is_number(v: object) -> bool:
    try:
        float(str(v))
    except ValueError:
        return False
    return True


class IntervalBuilder(HierarchyBuilder):
    name = "interval"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"widths", "origin", "integer"}, field)
        widths = _need(params, "widths", field)
        if (
            not isinstance(widths, list)
            or not widths
            or not all(
                isinstance(w, int | float) and not isinstance(w, bool) and w > 0 for w in widths
            )
        ):
            raise PolicyError(
                f"{field}.widths", f"expected a non-empty list of positive numbers, got {widths!r}"
            )
        for a, b in itertools.pairwise(widths):
            ratio = b / a
            if ratio <= 1 or abs(ratio - round(ratio)) > 1e-9:
                raise PolicyError(
                    f"{field}.widths",
                    f"each width must be a multiple (>1) of the previous so bins nest; got {a} then {b}",
                )
        origin = params.get("origin", 0)
        if not isinstance(origin, int | float) or isinstance(origin, bool):
            raise PolicyError(f"{field}.origin", f"expected a number, got {origin!r}")
        integer = params.get("integer", True)
        if not isinstance(integer, bool):
            raise PolicyError(f"{field}.integer", f"expected true or false, got {integer!r}")
        if integer and not all(float(w).is_integer() for w in [*widths, origin]):
            raise PolicyError(f"{field}.widths", "integer bins need integer widths and origin")

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return IntervalHierarchy(
            params["widths"], params.get("origin", 0), params.get("integer", True)
        )


# dates ---------------------------------------------------------------------------

_DATE_LEVELS = ("day", "week", "month", "quarter", "half", "year", "decade")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _date_label(value: str, unit: str) -> str:
    m = _DATE_RE.match(value)
    if not m:
        month = _MONTH_RE.match(value)  # a level-0 month (levels: [month, ...]) generalizes too
        if not month or unit in ("day", "week"):
            raise DataError(f"value {value!r} is not an ISO date (YYYY-MM-DD)")
        m = _DATE_RE.match(f"{value}-01")
        if not m:  # pragma: no cover - a YYYY-MM value always extends to a date
            raise DataError(f"value {value!r} is not an ISO month (YYYY-MM)")
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]):
        raise DataError(f"value {value!r} is not a valid date")
    if unit == "day":
        return f"{y:04d}-{mo:02d}-{d:02d}"
    if unit == "week":
        iso = dt.date(y, mo, d).isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if unit == "month":
        return f"{y:04d}-{mo:02d}"
    if unit == "quarter":
        return f"{y:04d}-Q{(mo - 1) // 3 + 1}"
    if unit == "half":
        return f"{y:04d}-H{(mo - 1) // 6 + 1}"
    if unit == "year":
        return f"{y:04d}"
    return f"{y - y % 10:04d}s"


class DateHierarchy(Hierarchy):
    """Date truncation; ``levels[0]`` is the level-0 granularity, ``*`` is appended."""

    name = "date"

    def __init__(self, levels: Sequence[str]) -> None:
        self.levels = list(levels)

    @property
    def height(self) -> int:
        return len(self.levels) + 1

    def spec(self) -> dict[str, Any]:
        return {"type": "date", "levels": list(self.levels)}

    @property
    def leaf_coarsens(self) -> bool:
        return self.levels[0] != "day"

    def leaf(self, values: pa.Array) -> pa.Array:
        if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
            values = values.cast(pa.date32()) if pa.types.is_timestamp(values.type) else values
        strings = _as_string(values)
        if self.levels[0] == "day" and pa.types.is_date(values.type):
            return strings
        encoded = pc.dictionary_encode(strings)
        labels = pa.array(
            [
                None if v is None else _date_label(v, self.levels[0])
                for v in encoded.dictionary.to_pylist()
            ],
            pa.string(),
        )
        return labels.take(encoded.indices)

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        unit = self.levels[level]
        return [None if v is None else _date_label(v, unit) for v in distinct.to_pylist()]

    def generalize_encoded(
        self, values: pa.Array | pa.ChunkedArray, level: int
    ) -> tuple[pa.Array, pa.Array]:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_timestamp(values.type):
            values = values.cast(pa.date32())
        return super().generalize_encoded(values, level)


class DateBuilder(HierarchyBuilder):
    name = "date"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"levels"}, field)
        levels = params.get("levels", ["day", "month", "quarter", "year"])
        if not isinstance(levels, list) or not levels:
            raise PolicyError(f"{field}.levels", f"expected a list of {list(_DATE_LEVELS)}")
        ranks = []
        for i, lv in enumerate(levels):
            if lv not in _DATE_LEVELS:
                raise PolicyError(
                    f"{field}.levels[{i}]", f"expected one of {list(_DATE_LEVELS)}, got {lv!r}"
                )
            ranks.append(_DATE_LEVELS.index(lv))
        if ranks != sorted(set(ranks)):
            raise PolicyError(
                f"{field}.levels", "levels must go from fine to coarse without repeats"
            )
        if "week" in levels and any(x in levels for x in ("month", "quarter", "half")):
            raise PolicyError(f"{field}.levels", "weeks do not nest in months: use week then year")

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return DateHierarchy(params.get("levels", ["day", "month", "quarter", "year"]))


# prefix / ICD-10 -----------------------------------------------------------------------


class PrefixHierarchy(Hierarchy):
    """Prefix masking: level i keeps ``keep[i-1]`` leading characters, masking the rest."""

    name = "prefix"

    def __init__(self, keep: Sequence[int], mask: str | None) -> None:
        self.keep = list(keep)
        self.mask = mask

    @property
    def height(self) -> int:
        return len(self.keep) + 2

    def spec(self) -> dict[str, Any]:
        return {"type": "prefix", "keep": list(self.keep), "mask": self.mask}

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        n = self.keep[level - 1]
        out: list[str | None] = []
        for v in distinct.to_pylist():
            if v is None:
                out.append(None)
            elif self.mask is None:
                out.append(v[:n])
            else:
                out.append(v[:n] + self.mask * max(len(v) - n, 0))
        return out


class PrefixBuilder(HierarchyBuilder):
    name = "prefix"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"keep", "mask"}, field)
        keep = _need(params, "keep", field)
        if (
            not isinstance(keep, list)
            or not keep
            or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in keep)
            or keep != sorted(keep, reverse=True)
            or len(set(keep)) != len(keep)
        ):
            raise PolicyError(
                f"{field}.keep", f"expected strictly decreasing character counts, got {keep!r}"
            )
        mask = params.get("mask", "*")
        if mask is not None and (not isinstance(mask, str) or len(mask) != 1):
            raise PolicyError(f"{field}.mask", f"expected one character or null, got {mask!r}")

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return PrefixHierarchy(params["keep"], params.get("mask", "*"))


@dataclass(frozen=True)
class _Icd10Tables:
    chapters: tuple[tuple[str, str, str, str], ...]  # (first, last, roman, title)
    blocks: tuple[tuple[str, str], ...]  # (first, last)


@lru_cache(maxsize=1)
def _icd10_tables() -> _Icd10Tables:
    """The packaged ICD-10 tables, read once per process (immutable)."""
    base = resources.files("deid.data")
    chapters = []
    with (base / "icd10_chapters.csv").open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter=";"):
            if row and row[0] != "chapter":
                chapters.append((row[1], row[2], row[0], row[3]))
    blocks = []
    with (base / "icd10_blocks.csv").open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter=";"):
            if row and row[0] != "first":
                blocks.append((row[0], row[1]))
    return _Icd10Tables(tuple(chapters), tuple(blocks))


_ICD_RE = re.compile(r"^([A-Z])(\d{2})")


class Icd10Hierarchy(Hierarchy):
    """ICD-10 code -> category (3 characters) -> block -> chapter -> ``*``."""

    name = "icd10"

    def __init__(self, levels: Sequence[str]) -> None:
        self.levels = list(levels)
        self._tables = _icd10_tables()

    @property
    def height(self) -> int:
        return len(self.levels) + 2

    def spec(self) -> dict[str, Any]:
        return {"type": "icd10", "levels": list(self.levels)}

    def leaf(self, values: pa.Array) -> pa.Array:
        s = _as_string(values)
        return pc.utf8_upper(pc.utf8_trim_whitespace(s))

    def _find(self, cat: str, table: Sequence[tuple[str, ...]]) -> tuple[str, ...] | None:
        for row in table:
            if row[0] <= cat <= row[1]:
                return row
        return None

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        unit = self.levels[level - 1]
        out: list[str | None] = []
        for v in distinct.to_pylist():
            if v is None:
                out.append(None)
                continue
            m = _ICD_RE.match(v)
            if not m:
                raise DataError(f"value {v!r} is not an ICD-10 code (letter + 2 digits ...)")
            cat = m.group(1) + m.group(2)
            if unit == "category":
                out.append(cat)
            elif unit == "block":
                row = self._find(cat, self._tables.blocks)
                if row is None:
                    raise DataError(
                        f"ICD-10 category {cat!r} has no block in deid/data/icd10_blocks.csv "
                        "(use levels [category, chapter] for codes outside its chapters)"
                    )
                out.append(f"{row[0]}-{row[1]}")
            else:
                crow = self._find(cat, self._tables.chapters)
                if crow is None:
                    raise DataError(f"value {v!r} is in no ICD-10 chapter")
                out.append(f"{crow[2]} ({crow[0]}-{crow[1]})")
        return out


class Icd10Builder(HierarchyBuilder):
    name = "icd10"
    _UNITS = ("category", "block", "chapter")

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"levels"}, field)
        levels = params.get("levels", ["category", "chapter"])
        if not isinstance(levels, list) or not levels or any(u not in self._UNITS for u in levels):
            raise PolicyError(
                f"{field}.levels", f"expected a subset of {list(self._UNITS)}, got {levels!r}"
            )
        ranks = [self._UNITS.index(u) for u in levels]
        if ranks != sorted(set(ranks)):
            raise PolicyError(
                f"{field}.levels", "levels must go from fine to coarse without repeats"
            )

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return Icd10Hierarchy(params.get("levels", ["category", "chapter"]))


# Korean administrative regions ------------------------------------------------------


@lru_cache(maxsize=1)
def _kr_region_rows() -> tuple[tuple[str, str, str], ...]:
    """The packaged region table (시도, 시군구, 읍면동), read once per process."""
    base = resources.files("deid.data")
    rows = []
    with (base / "kr_admin_regions.csv").open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter=";"):
            if row and row[0] != "sido" and len(row) >= 3:
                rows.append((row[0].strip(), row[1].strip(), row[2].strip()))
    return tuple(rows)


class KrRegionHierarchy(Hierarchy):
    """읍면동 -> 시군구 -> 시도 -> ``*`` (or from 시군구), from deid/data/kr_admin_regions.csv.

    Values are full paths (``"강원특별자치도 춘천시 신북읍"``), ``"춘천시 신북읍"``, or a
    읍면동 name that is unique in the table; labels are full paths.
    """

    name = "kr_region"

    def __init__(self, start: str) -> None:
        self.start = start
        rows = _kr_region_rows()
        self._paths: dict[str, tuple[str, ...]] = {}
        ambiguous: set[str] = set()
        if start == "eupmyeondong":
            entries = [(s, g, e) for s, g, e in rows]
        else:
            entries = sorted({(s, g) for s, g, _ in rows})  # type: ignore[misc]
        self._domain = [" ".join(e) for e in entries]
        for e in entries:
            for i in range(len(e)):
                alias = " ".join(e[i:])
                if alias in self._paths and self._paths[alias] != e:
                    ambiguous.add(alias)
                self._paths.setdefault(alias, e)
        self._ambiguous = ambiguous

    @property
    def height(self) -> int:
        return 4 if self.start == "eupmyeondong" else 3

    def spec(self) -> dict[str, Any]:
        return {"type": "kr_region", "from": self.start}

    def _resolve(self, value: str) -> tuple[str, ...]:
        key = " ".join(value.split())
        if key in self._ambiguous:
            raise DataError(f"region {value!r} is ambiguous: give 시도 and 시군구 as well")
        path = self._paths.get(key)
        if path is None:
            raise DataError(f"region {value!r} is not in the Korean administrative region table")
        return path

    def leaf(self, values: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(_as_string(values))
        labels = pa.array(
            [
                None if v is None else " ".join(self._resolve(v))
                for v in encoded.dictionary.to_pylist()
            ],
            pa.string(),
        )
        return labels.take(encoded.indices)

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        out: list[str | None] = []
        for v in distinct.to_pylist():
            if v is None:
                out.append(None)
                continue
            path = self._resolve(v)
            out.append(" ".join(path[: len(path) - level]))
        return out

    def domain(self) -> list[str]:
        return list(self._domain)

    def materialize(self, observed: Sequence[str | None]) -> Materialized:
        for v in observed:
            if v is not None:
                self._resolve(v)
        return _materialize_rows(self, self.domain(), any(v is None for v in observed))


class KrRegionBuilder(HierarchyBuilder):
    name = "kr_region"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"from"}, field)
        start = params.get("from", "eupmyeondong")
        if start not in ("eupmyeondong", "sigungu"):
            raise PolicyError(
                f"{field}.from", f"expected 'eupmyeondong' or 'sigungu', got {start!r}"
            )

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        try:
            return KrRegionHierarchy(str(params.get("from", "eupmyeondong")))
        except FileNotFoundError:
            raise PolicyError(field, "deid/data/kr_admin_regions.csv is missing") from None


# ordered grouping -----------------------------------------------------------------------


class OrderedHierarchy(Hierarchy):
    """Consecutive groups of an ordered list of values: ``sizes`` per level (nested)."""

    name = "ordered"

    def __init__(self, order: Sequence[str], sizes: Sequence[int]) -> None:
        self.order = [str(v) for v in order]
        self.sizes = list(sizes)
        self._pos = {v: i for i, v in enumerate(self.order)}

    @property
    def height(self) -> int:
        return len(self.sizes) + 2

    def spec(self) -> dict[str, Any]:
        return {"type": "ordered", "order": list(self.order), "sizes": list(self.sizes)}

    def domain(self) -> list[str]:
        return list(self.order)

    def _label(self, distinct: pa.Array, level: int) -> list[str | None]:
        size = self.sizes[level - 1]
        out: list[str | None] = []
        for v in distinct.to_pylist():
            if v is None:
                out.append(None)
                continue
            if v not in self._pos:
                raise DataError(f"value {v!r} is not in the ordered list of the hierarchy")
            start = self._pos[v] // size * size
            group = self.order[start : start + size]
            out.append(group[0] if len(group) == 1 else f"{group[0]}..{group[-1]}")
        return out

    def materialize(self, observed: Sequence[str | None]) -> Materialized:
        for v in observed:
            if v is not None and v not in self._pos:
                raise DataError(f"value {v!r} is not in the ordered list of the hierarchy")
        return _materialize_rows(self, self.domain(), any(v is None for v in observed))


class OrderedBuilder(HierarchyBuilder):
    name = "ordered"

    def validate(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> None:
        _check_keys(params, {"order", "sizes"}, field)
        order = _need(params, "order", field)
        if not isinstance(order, list) or not order:
            raise PolicyError(f"{field}.order", "expected a non-empty list of values")
        if len({str(v) for v in order}) != len(order):
            raise PolicyError(f"{field}.order", "values must be unique")
        sizes = _need(params, "sizes", field)
        if (
            not isinstance(sizes, list)
            or not sizes
            or not all(isinstance(s, int) and s > 1 for s in sizes)
        ):
            raise PolicyError(f"{field}.sizes", f"expected group sizes > 1, got {sizes!r}")
        for a, b in itertools.pairwise(sizes):
            if b % a or b <= a:
                raise PolicyError(
                    f"{field}.sizes",
                    f"each size must be a multiple of the previous; got {a} then {b}",
                )

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return OrderedHierarchy(params["order"], params["sizes"])


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


BUILDERS: dict[str, HierarchyBuilder] = {
    b.name: b
    for b in (
        CsvBuilder(),
        InlineBuilder(),
        IntervalBuilder(),
        DateBuilder(),
        PrefixBuilder(),
        Icd10Builder(),
        KrRegionBuilder(),
        OrderedBuilder(),
        FlatBuilder(),
    )
}


def register_builder(builder: HierarchyBuilder) -> None:
    """Add a builder to the registry (name must be new)."""
    if builder.name in BUILDERS:
        raise ValueError(f"hierarchy builder {builder.name!r} is already registered")
    BUILDERS[builder.name] = builder


def normalize_spec(raw: object, *, field: str) -> dict[str, Any]:
    """A policy's hierarchy entry as a params dict with ``type`` (a string = CSV path)."""
    if isinstance(raw, str):
        return {"type": "csv", "path": raw}
    if isinstance(raw, Mapping):
        params = dict(raw)
        kind = params.get("type")
        if kind is None and "path" in params:
            params["type"] = "csv"
            kind = "csv"
        if kind not in BUILDERS:
            raise PolicyError(f"{field}.type", f"expected one of {sorted(BUILDERS)}, got {kind!r}")
        return params
    raise PolicyError(field, f"expected a CSV path or a mapping with 'type', got {raw!r}")


def build_hierarchy(raw: object, *, field: str, base_dir: Path) -> Hierarchy:
    params = normalize_spec(raw, field=field)
    builder = BUILDERS[str(params["type"])]
    return builder.build(params, field=field, base_dir=base_dir)


def validate_hierarchy(raw: object, *, field: str, base_dir: Path) -> None:
    params = normalize_spec(raw, field=field)
    BUILDERS[str(params["type"])].validate(params, field=field, base_dir=base_dir)


LabelFn = Callable[[str], str]
