"""The hierarchy contract: :class:`Hierarchy` (levels, vectorized ``generalize``,
``materialize`` for the search), :class:`HierarchyBuilder` (validate and build from a policy
entry) and the helpers the builders share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
