"""Date hierarchies: day, week, month, quarter, half, year, decade, ``*``."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError
from deid.hierarchy.base import Hierarchy, HierarchyBuilder, _as_string, _check_keys

# dates ---------------------------------------------------------------------------

DATE_UNITS = ("day", "week", "month", "quarter", "half", "year", "decade")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def date_unit_label(day: dt.date, unit: str) -> str:
    """A day written at a date unit, as the tables release it: ``2021-03-04`` (day),
    ``2021-W09``, ``2021-03``, ``2021-Q1``, ``2021-H1``, ``2021``, ``2020s`` (decade).
    The notes' dates follow the same labels (``deid.text``)."""
    if unit == "day":
        return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    if unit == "week":
        iso = day.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if unit == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if unit == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if unit == "half":
        return f"{day.year:04d}-H{(day.month - 1) // 6 + 1}"
    if unit == "year":
        return f"{day.year:04d}"
    if unit == "decade":
        return f"{day.year - day.year % 10:04d}s"
    raise ValueError(f"date unit: expected one of {DATE_UNITS}, got {unit!r}")


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
    return date_unit_label(dt.date(y, mo, d), unit)


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
            raise PolicyError(f"{field}.levels", f"expected a list of {list(DATE_UNITS)}")
        ranks = []
        for i, lv in enumerate(levels):
            if lv not in DATE_UNITS:
                raise PolicyError(
                    f"{field}.levels[{i}]", f"expected one of {list(DATE_UNITS)}, got {lv!r}"
                )
            ranks.append(DATE_UNITS.index(lv))
        if ranks != sorted(set(ranks)):
            raise PolicyError(
                f"{field}.levels", "levels must go from fine to coarse without repeats"
            )
        if "week" in levels and any(x in levels for x in ("month", "quarter", "half")):
            raise PolicyError(f"{field}.levels", "weeks do not nest in months: use week then year")

    def build(self, params: Mapping[str, Any], *, field: str, base_dir: Path) -> Hierarchy:
        self.validate(params, field=field, base_dir=base_dir)
        return DateHierarchy(params.get("levels", ["day", "month", "quarter", "year"]))
