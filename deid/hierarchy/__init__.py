"""Generalization hierarchies: ARX CSV files and built-in builders.

A hierarchy maps a value (level 0) to coarser values (levels 1 .. height-1);
the last level is always ``*`` (the attribute fully suppressed). Builders are
small named classes in a registry (``BUILDERS``); each validates its params and
fails fast with a :class:`~deid.errors.PolicyError` naming the field.

``generalize`` is vectorized over Arrow arrays: the input is dictionary
encoded, the (few) distinct values are labelled, and the labels are taken back
by index, so cost is one hash pass per column plus work on distinct values.

For the search, a hierarchy is *materialized* over a domain of leaves: ARX CSV
and Korean region tables use every row of their table (ARX's loss definition
counts all leaves of the file); generated hierarchies use the distinct values
seen in the data (as ARX's builders do).

Modules: ``base`` (the contract), ``tables`` (CSV, inline, flat), ``numeric``
(intervals, ordered bands), ``dates``, ``codes`` (prefix, ICD-10, Korean regions),
``registry`` (builders by name).
"""

from __future__ import annotations

from deid.hierarchy.base import TOP, Hierarchy, HierarchyBuilder, Materialized
from deid.hierarchy.codes import (
    Icd10Builder,
    Icd10Hierarchy,
    KrRegionBuilder,
    KrRegionHierarchy,
    PrefixBuilder,
    PrefixHierarchy,
)
from deid.hierarchy.dates import DateBuilder, DateHierarchy
from deid.hierarchy.numeric import (
    IntervalBuilder,
    IntervalHierarchy,
    OrderedBuilder,
    OrderedHierarchy,
)
from deid.hierarchy.registry import (
    BUILDERS,
    build_hierarchy,
    normalize_spec,
    register_builder,
    validate_hierarchy,
)
from deid.hierarchy.tables import (
    CsvBuilder,
    FlatBuilder,
    FlatHierarchy,
    InlineBuilder,
    TableHierarchy,
    read_hierarchy_csv,
)

__all__ = [
    "BUILDERS",
    "TOP",
    "CsvBuilder",
    "DateBuilder",
    "DateHierarchy",
    "FlatBuilder",
    "FlatHierarchy",
    "Hierarchy",
    "HierarchyBuilder",
    "Icd10Builder",
    "Icd10Hierarchy",
    "InlineBuilder",
    "IntervalBuilder",
    "IntervalHierarchy",
    "KrRegionBuilder",
    "KrRegionHierarchy",
    "Materialized",
    "OrderedBuilder",
    "OrderedHierarchy",
    "PrefixBuilder",
    "PrefixHierarchy",
    "TableHierarchy",
    "build_hierarchy",
    "normalize_spec",
    "read_hierarchy_csv",
    "register_builder",
    "validate_hierarchy",
]
