"""Code hierarchies: prefixes of a code, ICD-10 (category, block, chapter) and Korean
administrative regions (eup/myeon/dong, si/gun/gu, si/do)."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError
from deid.hierarchy.base import (
    Hierarchy,
    HierarchyBuilder,
    Materialized,
    _as_string,
    _check_keys,
    _materialize_rows,
    _need,
)

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
