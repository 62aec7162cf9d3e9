"""Numeric hierarchies: intervals of growing width (ages, lab values) and ordered
categories merged into bands."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PolicyError
from deid.hierarchy.base import (
    Hierarchy,
    HierarchyBuilder,
    Materialized,
    _check_keys,
    _materialize_rows,
    _need,
)

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
