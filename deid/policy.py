"""The de-identification policy: what each column is and what privacy must hold.

``load_policy(path)`` reads YAML; ``parse_policy(data, base_dir)`` validates a
mapping. Every validation error is a :class:`~deid.errors.PolicyError` naming
the dotted field (``columns.age.hierarchy``). ``Policy.digest()`` is the
SHA-256 of the canonical JSON (``to_dict()``), hierarchy file contents included.

Shape (hierarchy paths are relative to the policy file)::

    columns:
      patient_id: {role: identifier, transform: pseudonymize, domain: person}  # or drop
      age:        {role: quasi, hierarchy: adult_hierarchy_age.csv}           # ARX CSV
      birth:      {role: quasi, hierarchy: {type: date, levels: [month, quarter, year]}}
      weight:     {role: quasi, hierarchy: {type: interval, widths: [5, 10, 20]}}
      zip:        {role: quasi, hierarchy: {type: prefix, keep: [4, 3, 2]}}
      dx:         {role: quasi, hierarchy: {type: icd10, levels: [category, block, chapter]}}
      region:     {role: quasi, hierarchy: {type: kr_region}}   # 읍면동 -> 시군구 -> 시도
      grade:      {role: quasi, hierarchy: {type: ordered, order: [I, II, III, IV], sizes: [2]}}
      sex:        {role: quasi, hierarchy: {type: flat}}        # value or *
      occupation: {role: sensitive, hierarchy: occ.csv}         # for hierarchical t
      visit_date: {role: insensitive, date_shift: true}
      note:       {role: text}
    privacy:
      k: 5
      suppression_limit: 0.05      # fraction of records
      metric: loss                 # precision | height | discernibility | non_uniform_entropy
      l_diversity: {column: occupation, l: 2, variant: distinct}  # entropy | recursive (+ c)
      t_closeness: {column: occupation, t: 0.2, distance: equal}  # ordered | hierarchical
      risk_threshold: 0.2          # prosecutor risk share above this is reported
      max_lattice_nodes: 2000000

Every built-in generator appends the top level ``*``; ``{type: table, rows: [...]}``
writes an ARX-style hierarchy inline.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from deid.errors import PolicyError
from deid.hierarchy import Hierarchy, build_hierarchy, normalize_spec
from deid.keys import RESERVED_DOMAIN_PREFIX

ROLES = ("identifier", "quasi", "sensitive", "insensitive", "text")
IDENTIFIER_TRANSFORMS = ("drop", "pseudonymize")
METRICS = ("loss", "precision", "height", "discernibility", "non_uniform_entropy")
L_VARIANTS = ("distinct", "entropy", "recursive")
T_DISTANCES = ("equal", "ordered", "hierarchical")

_COLUMN_KEYS = {"role", "transform", "domain", "date_shift", "hierarchy", "options"}
_PRIVACY_KEYS = {
    "k",
    "suppression_limit",
    "metric",
    "l_diversity",
    "t_closeness",
    "risk_threshold",
    "max_lattice_nodes",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the policy."""

    name: str
    role: str
    transform: str | None = None
    domain: str | None = None
    date_shift: bool = False
    hierarchy: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    base_dir: Path = field(default=Path("."), compare=False, repr=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # picklable (Spark ships the policy to executors): mapping proxies become dicts
        hierarchy = dict(self.hierarchy) if self.hierarchy is not None else None
        args = (self.name, self.role, self.transform, self.domain, self.date_shift)
        return (_rebuild_column, (*args, hierarchy, dict(self.options), self.base_dir))

    @property
    def pseudonym_domain(self) -> str:
        return self.domain or self.name

    def build_hierarchy(self) -> Hierarchy:
        if self.hierarchy is None:
            raise PolicyError(f"columns.{self.name}.hierarchy", "is required for this use")
        return build_hierarchy(
            dict(self.hierarchy), field=f"columns.{self.name}.hierarchy", base_dir=self.base_dir
        )

    def to_dict(self, built: Hierarchy | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role}
        if self.transform is not None:
            out["transform"] = self.transform
        if self.role == "identifier" and self.transform == "pseudonymize":
            out["domain"] = self.pseudonym_domain
        if self.date_shift:
            out["date_shift"] = True
        if self.hierarchy is not None:
            out["hierarchy"] = (built or self.build_hierarchy()).spec()
        if self.options:
            out["options"] = dict(self.options)
        return out


@dataclass(frozen=True)
class LDiversitySpec:
    column: str
    l: float  # noqa: E741 - the model's name
    variant: str = "distinct"
    c: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "l": self.l, "variant": self.variant}
        if self.c is not None:
            out["c"] = self.c
        return out


@dataclass(frozen=True)
class TClosenessSpec:
    column: str
    t: float
    distance: str = "equal"

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "t": self.t, "distance": self.distance}


@dataclass(frozen=True)
class PrivacySpec:
    k: int = 1
    suppression_limit: float = 0.0
    metric: str = "loss"
    l_diversity: LDiversitySpec | None = None
    t_closeness: TClosenessSpec | None = None
    risk_threshold: float = 0.2
    max_lattice_nodes: int = 2_000_000

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "suppression_limit": self.suppression_limit,
            "metric": self.metric,
            "l_diversity": self.l_diversity.to_dict() if self.l_diversity else None,
            "t_closeness": self.t_closeness.to_dict() if self.t_closeness else None,
            "risk_threshold": self.risk_threshold,
            "max_lattice_nodes": self.max_lattice_nodes,
        }


@dataclass(frozen=True)
class Policy:
    """A validated policy. Column order is the order of the YAML mapping."""

    columns: Mapping[str, ColumnSpec]
    privacy: PrivacySpec
    base_dir: Path = field(default=Path("."), compare=False, repr=False)

    def __hash__(self) -> int:
        return hash(self.digest())

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # built hierarchies travel with the policy, so executors need no hierarchy files
        cached = self.__dict__.get("_hierarchies")
        return (_rebuild_policy, (dict(self.columns), self.privacy, self.base_dir, cached))

    def _with_role(self, role: str) -> tuple[str, ...]:
        return tuple(n for n, c in self.columns.items() if c.role == role)

    @property
    def quasi_identifiers(self) -> tuple[str, ...]:
        return self._with_role("quasi")

    @property
    def sensitive(self) -> tuple[str, ...]:
        return self._with_role("sensitive")

    @property
    def identifiers(self) -> tuple[str, ...]:
        return self._with_role("identifier")

    @property
    def text_columns(self) -> tuple[str, ...]:
        return self._with_role("text")

    @property
    def insensitive(self) -> tuple[str, ...]:
        return self._with_role("insensitive")

    @property
    def protected_sensitive(self) -> str | None:
        """The sensitive column protected by l-diversity / t-closeness, if any."""
        p = self.privacy
        if p.l_diversity is not None:
            return p.l_diversity.column
        if p.t_closeness is not None:
            return p.t_closeness.column
        return None

    def hierarchies(self) -> dict[str, Hierarchy]:
        """The quasi-identifiers' hierarchies, built once per policy object."""
        cached: dict[str, Hierarchy] | None = self.__dict__.get("_hierarchies")
        if cached is None:
            cached = {n: self.columns[n].build_hierarchy() for n in self.quasi_identifiers}
            object.__setattr__(self, "_hierarchies", cached)
        return dict(cached)

    def to_dict(self) -> dict[str, Any]:
        cached: dict[str, Hierarchy] = self.__dict__.get("_hierarchies") or {}
        columns = {}
        for n, c in self.columns.items():
            d = c.to_dict(cached.get(n))
            columns[n] = d
        return {"columns": columns, "privacy": self.privacy.to_dict()}

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> str:
        cached: str | None = self.__dict__.get("_digest")
        if cached is None:
            cached = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
            object.__setattr__(self, "_digest", cached)
        return cached


def _rebuild_column(
    name: str,
    role: str,
    transform: str | None,
    domain: str | None,
    date_shift: bool,
    hierarchy: dict[str, Any] | None,
    options: dict[str, Any],
    base_dir: Path,
) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        role=role,
        transform=transform,
        domain=domain,
        date_shift=date_shift,
        hierarchy=MappingProxyType(hierarchy) if hierarchy is not None else None,
        options=MappingProxyType(options),
        base_dir=base_dir,
    )


def _rebuild_policy(
    columns: dict[str, ColumnSpec],
    privacy: PrivacySpec,
    base_dir: Path,
    hierarchies: dict[str, Hierarchy] | None,
) -> Policy:
    policy = Policy(columns=MappingProxyType(columns), privacy=privacy, base_dir=base_dir)
    if hierarchies is not None:
        object.__setattr__(policy, "_hierarchies", hierarchies)
    return policy


def load_policy(path: str | Path) -> Policy:
    """Read and validate a YAML policy; hierarchy paths are relative to its folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            "<file>", f"cannot read policy {str(p)!r}: {exc.strerror or exc}"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError("<file>", f"not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise PolicyError(
            "<root>", f"expected a mapping with 'columns' and 'privacy', got {type(data).__name__}"
        )
    return parse_policy(data, p.resolve().parent)


def _number(
    value: object, fld: str, *, lo: float, hi: float = math.inf, integer: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(fld, f"expected a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise PolicyError(fld, f"expected an integer, got {value!r}")
    if not lo <= value <= hi or math.isnan(value):
        bounds = f">= {lo}" if hi == math.inf else f"in [{lo}, {hi}]"
        raise PolicyError(fld, f"expected a value {bounds}, got {value!r}")
    return float(value)


def _parse_column(name: str, raw: object, base_dir: Path) -> ColumnSpec:  # noqa: C901
    fld = f"columns.{name}"
    if isinstance(raw, str):
        raw = {"role": raw}
    if not isinstance(raw, Mapping):
        raise PolicyError(fld, f"expected a mapping with 'role', got {raw!r}")
    extra = sorted(set(raw) - _COLUMN_KEYS)
    if extra:
        raise PolicyError(
            f"{fld}.{extra[0]}", f"unknown key (expected one of {sorted(_COLUMN_KEYS)})"
        )
    role = raw.get("role")
    if role not in ROLES:
        raise PolicyError(f"{fld}.role", f"expected one of {list(ROLES)}, got {role!r}")
    transform = raw.get("transform")
    if role == "identifier":
        transform = transform if transform is not None else "drop"
        if transform not in IDENTIFIER_TRANSFORMS:
            raise PolicyError(
                f"{fld}.transform",
                f"expected one of {list(IDENTIFIER_TRANSFORMS)}, got {transform!r}",
            )
    elif transform is not None:
        raise PolicyError(
            f"{fld}.transform", f"only identifiers take a transform (role is {role!r})"
        )
    domain = raw.get("domain")
    if domain is not None:
        if role != "identifier" or transform != "pseudonymize":
            raise PolicyError(f"{fld}.domain", "only pseudonymized identifiers have a domain")
        if not isinstance(domain, str) or not domain.strip():
            raise PolicyError(f"{fld}.domain", f"expected a non-empty name, got {domain!r}")
    if transform == "pseudonymize" and str(domain or name).startswith(RESERVED_DOMAIN_PREFIX):
        # The engine's own domains (note tags, persons) must not be shared with a column.
        raise PolicyError(
            f"{fld}.domain",
            f"{domain or name!r}: domains starting with {RESERVED_DOMAIN_PREFIX!r} are reserved",
        )
    date_shift = raw.get("date_shift", False)
    if not isinstance(date_shift, bool):
        raise PolicyError(f"{fld}.date_shift", f"expected true or false, got {date_shift!r}")
    hierarchy: dict[str, Any] | None = None
    if "hierarchy" in raw and raw["hierarchy"] is not None:
        if role not in ("quasi", "sensitive"):
            raise PolicyError(
                f"{fld}.hierarchy", f"only quasi and sensitive columns have one (role is {role!r})"
            )
        hierarchy = normalize_spec(raw["hierarchy"], field=f"{fld}.hierarchy")
        build_hierarchy(hierarchy, field=f"{fld}.hierarchy", base_dir=base_dir)  # fail fast
    elif role == "quasi":
        raise PolicyError(f"{fld}.hierarchy", "a quasi-identifier needs a hierarchy")
    options = raw.get("options", {})
    if not isinstance(options, Mapping):
        raise PolicyError(f"{fld}.options", f"expected a mapping, got {options!r}")
    return ColumnSpec(
        name=name,
        role=str(role),
        transform=transform,
        domain=domain,
        date_shift=date_shift,
        hierarchy=MappingProxyType(hierarchy) if hierarchy is not None else None,
        options=MappingProxyType(dict(options)),
        base_dir=base_dir,
    )


def _sensitive_ref(raw: Mapping[str, Any], fld: str, columns: Mapping[str, ColumnSpec]) -> str:
    column = raw.get("column")
    if column is None:
        sens = [n for n, c in columns.items() if c.role == "sensitive"]
        if len(sens) != 1:
            raise PolicyError(f"{fld}.column", "is required unless exactly one column is sensitive")
        return sens[0]
    if column not in columns:
        raise PolicyError(f"{fld}.column", f"column {column!r} is not in 'columns'")
    if columns[column].role != "sensitive":
        raise PolicyError(
            f"{fld}.column",
            f"column {column!r} must have role 'sensitive', not {columns[column].role!r}",
        )
    return str(column)


def _parse_privacy(raw: object, columns: Mapping[str, ColumnSpec]) -> PrivacySpec:  # noqa: C901
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PolicyError("privacy", f"expected a mapping, got {raw!r}")
    extra = sorted(set(raw) - _PRIVACY_KEYS)
    if extra:
        raise PolicyError(
            f"privacy.{extra[0]}", f"unknown key (expected one of {sorted(_PRIVACY_KEYS)})"
        )
    k = int(_number(raw.get("k", 1), "privacy.k", lo=1, integer=True))
    limit = _number(raw.get("suppression_limit", 0.0), "privacy.suppression_limit", lo=0.0, hi=1.0)
    metric = raw.get("metric", "loss")
    if metric not in METRICS:
        raise PolicyError("privacy.metric", f"expected one of {list(METRICS)}, got {metric!r}")
    threshold = _number(raw.get("risk_threshold", 0.2), "privacy.risk_threshold", lo=0.0, hi=1.0)
    max_nodes = int(
        _number(
            raw.get("max_lattice_nodes", 2_000_000), "privacy.max_lattice_nodes", lo=1, integer=True
        )
    )
    ldiv: LDiversitySpec | None = None
    if raw.get("l_diversity") is not None:
        lraw = raw["l_diversity"]
        if not isinstance(lraw, Mapping):
            raise PolicyError("privacy.l_diversity", f"expected a mapping, got {lraw!r}")
        extra = sorted(set(lraw) - {"column", "l", "variant", "c"})
        if extra:
            raise PolicyError(
                f"privacy.l_diversity.{extra[0]}", "unknown key (expected column, l, variant, c)"
            )
        column = _sensitive_ref(lraw, "privacy.l_diversity", columns)
        if "l" not in lraw:
            raise PolicyError("privacy.l_diversity.l", "is required")
        variant = lraw.get("variant", "distinct")
        if variant not in L_VARIANTS:
            raise PolicyError(
                "privacy.l_diversity.variant",
                f"expected one of {list(L_VARIANTS)}, got {variant!r}",
            )
        lval = _number(lraw["l"], "privacy.l_diversity.l", lo=1.0, integer=variant != "entropy")
        c: float | None = None
        if variant == "recursive":
            if "c" not in lraw:
                raise PolicyError(
                    "privacy.l_diversity.c", "is required for recursive (c,l)-diversity"
                )
            c = _number(lraw["c"], "privacy.l_diversity.c", lo=0.0)
            if c <= 0:
                raise PolicyError("privacy.l_diversity.c", f"expected c > 0, got {c}")
            if lval < 2:
                raise PolicyError("privacy.l_diversity.l", "recursive (c,l)-diversity needs l >= 2")
        elif "c" in lraw:
            raise PolicyError("privacy.l_diversity.c", "only the recursive variant takes c")
        ldiv = LDiversitySpec(column=column, l=lval, variant=str(variant), c=c)
    tclose: TClosenessSpec | None = None
    if raw.get("t_closeness") is not None:
        traw = raw["t_closeness"]
        if not isinstance(traw, Mapping):
            raise PolicyError("privacy.t_closeness", f"expected a mapping, got {traw!r}")
        extra = sorted(set(traw) - {"column", "t", "distance"})
        if extra:
            raise PolicyError(
                f"privacy.t_closeness.{extra[0]}", "unknown key (expected column, t, distance)"
            )
        column = _sensitive_ref(traw, "privacy.t_closeness", columns)
        if "t" not in traw:
            raise PolicyError("privacy.t_closeness.t", "is required")
        tval = _number(traw["t"], "privacy.t_closeness.t", lo=0.0, hi=1.0)
        distance = traw.get("distance", "equal")
        if distance not in T_DISTANCES:
            raise PolicyError(
                "privacy.t_closeness.distance",
                f"expected one of {list(T_DISTANCES)}, got {distance!r}",
            )
        if distance == "hierarchical" and columns[column].hierarchy is None:
            raise PolicyError(
                f"columns.{column}.hierarchy",
                "hierarchical t-closeness needs a hierarchy on the sensitive column",
            )
        tclose = TClosenessSpec(column=column, t=tval, distance=str(distance))
    if ldiv is not None and tclose is not None and ldiv.column != tclose.column:
        raise PolicyError(
            "privacy.t_closeness.column",
            f"l-diversity and t-closeness must protect the same column ({ldiv.column!r} vs {tclose.column!r})",
        )
    return PrivacySpec(
        k=k,
        suppression_limit=limit,
        metric=str(metric),
        l_diversity=ldiv,
        t_closeness=tclose,
        risk_threshold=threshold,
        max_lattice_nodes=max_nodes,
    )


def parse_policy(data: Mapping[str, Any], base_dir: Path | str = Path(".")) -> Policy:
    """Validate a policy mapping (as loaded from YAML)."""
    base = Path(base_dir)
    if not isinstance(data, Mapping):
        raise PolicyError("<root>", f"expected a mapping, got {type(data).__name__}")
    extra = sorted(set(data) - {"columns", "privacy", "version", "name", "description"})
    if extra:
        raise PolicyError(extra[0], "unknown top-level key (expected columns, privacy)")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, Mapping) or not raw_columns:
        raise PolicyError("columns", "expected a non-empty mapping of column name -> spec")
    columns: dict[str, ColumnSpec] = {}
    for name, raw in raw_columns.items():
        if not isinstance(name, str) or not name:
            raise PolicyError(f"columns.{name}", "column names must be non-empty strings")
        columns[name] = _parse_column(name, raw, base)
    privacy = _parse_privacy(data.get("privacy"), columns)
    if privacy.k > 1 and not any(c.role == "quasi" for c in columns.values()):
        raise PolicyError("privacy.k", "k > 1 needs at least one quasi-identifier column")
    return Policy(columns=MappingProxyType(columns), privacy=privacy, base_dir=base)
