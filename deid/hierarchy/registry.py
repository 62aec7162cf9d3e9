"""The builders by name (``type`` in a policy's hierarchy entry) and the functions that
build or validate a hierarchy from its policy entry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deid.errors import PolicyError
from deid.hierarchy.base import Hierarchy, HierarchyBuilder
from deid.hierarchy.codes import Icd10Builder, KrRegionBuilder, PrefixBuilder
from deid.hierarchy.dates import DateBuilder
from deid.hierarchy.numeric import IntervalBuilder, OrderedBuilder
from deid.hierarchy.tables import CsvBuilder, FlatBuilder, InlineBuilder

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
