"""The steward's policy as a form: per variable a choice, per release a privacy target.

Pure functions over the release spec (the YAML the engine reads): :func:`form_rows`
lists what the steward may choose for each column, with the meaning of each
generalization level (from the hierarchy, shown on an example value of the data);
:func:`apply_choices` writes the choices back into the same YAML shape. What may be
chosen is what the engine honours:

- identifiers: pseudonymize (keyed, per recipient) or drop; the link column stays
  pseudonymized in the person domain (the tables join on it);
- quasi-identifiers of the anchor table: the search chooses their level (the least
  loss that meets k), among the levels shown;
- quasi-identifiers of event tables (the (k, k^m) model): the most general level the
  search may use (``options.max_level``);
- quasi-identifiers of other linked tables: a fixed level (``options.level``);
- free text: scrubbed of PHI, or dropped;
- the privacy target: k and the suppression limit; with an event model, m, the event
  suppression limit and the steward's floor of kept events.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from deid.errors import DeidError, PolicyError

__all__ = [
    "ColumnRow",
    "PrivacyTarget",
    "apply_choices",
    "form_rows",
    "level_meanings",
    "privacy_target",
    "spec_yaml",
]


@dataclass(frozen=True)
class ColumnRow:
    table: str
    column: str
    role: str
    name: str  # the form field's name
    choices: tuple[tuple[str, str], ...]  # (value, label)
    initial: str
    kind: str  # "identifier", "searched", "max_level", "fixed_level", "text", "kept"
    meanings: tuple[str, ...] = field(default_factory=tuple)
    locked: bool = False


@dataclass(frozen=True)
class PrivacyTarget:
    k: int
    suppression_limit: float
    m: int | None = None
    event_suppression_limit: float | None = None
    min_kept_share: float | None = None


def _field(table: str, column: str) -> str:
    return f"col__{table}__{column}"


def level_meanings(
    spec: Mapping[str, Any], base_dir: Path, table: str, column: str, example: Any
) -> tuple[str, ...]:
    """What each level of a column's hierarchy makes of an example value: ``1970 → 1970-1979``."""
    from deid.policy import parse_policy

    policy = parse_policy(dict(spec["tables"][table]["policy"]), base_dir)
    col = policy.columns[column]
    try:
        hierarchy = col.build_hierarchy()
    except DeidError:
        return ()
    out = []
    for level in range(hierarchy.height):
        label = ("exact" if level == 0 else f"level {level}") if example is None else None
        if example is not None:
            try:
                value = hierarchy.generalize(pa.array([example]), level)[0].as_py()
            except (DeidError, pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
                value = "?"
            label = f"{level}: {example} → {value}" if level else f"0: {example} (as is)"
        out.append(str(label))
    return tuple(out)


def _events(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    events = (spec.get("release") or {}).get("events") or {}
    return events if isinstance(events, Mapping) else {}


def form_rows(
    spec: Mapping[str, Any],
    *,
    base_dir: Path,
    examples: Mapping[tuple[str, str], Any] | None = None,
    with_meanings: bool = True,
) -> list[ColumnRow]:
    """One row per column of every table, with what the steward may choose.

    ``with_meanings``: describe each level (builds the hierarchies); off when only the
    choices' shape is needed.
    """
    examples = examples or {}
    release = spec.get("release") or {}
    anchor = release.get("anchor")
    link = release.get("link_column")
    event_tables = set((_events(spec).get("tables") or {}).keys())
    rows: list[ColumnRow] = []
    for table, tspec in (spec.get("tables") or {}).items():
        columns = ((tspec or {}).get("policy") or {}).get("columns") or {}
        for column, cspec in columns.items():
            role = str(cspec.get("role"))
            name = _field(table, column)
            options = cspec.get("options") or {}
            if role == "identifier":
                rows.append(
                    ColumnRow(
                        table,
                        column,
                        role,
                        name,
                        (("pseudonymize", "pseudonymize"), ("drop", "drop")),
                        str(cspec.get("transform", "drop")),
                        "identifier",
                        locked=column == link,
                    )
                )
            elif role == "quasi":
                meanings = (
                    level_meanings(spec, base_dir, table, column, examples.get((table, column)))
                    if with_meanings
                    else ()
                )
                levels = range(len(meanings))
                if table == anchor:
                    rows.append(ColumnRow(table, column, role, name, (), "", "searched", meanings))
                elif table in event_tables:
                    initial = options.get("max_level")
                    rows.append(
                        ColumnRow(
                            table,
                            column,
                            role,
                            name,
                            (
                                ("", "any level"),
                                *((str(lv), f"at most level {lv}") for lv in levels),
                            ),
                            "" if initial is None else str(initial),
                            "max_level",
                            meanings,
                        )
                    )
                else:
                    initial = options.get("level", cspec.get("level"))
                    rows.append(
                        ColumnRow(
                            table,
                            column,
                            role,
                            name,
                            tuple((str(lv), f"level {lv}") for lv in levels),
                            "0" if initial is None else str(initial),
                            "fixed_level",
                            meanings,
                        )
                    )
            elif role == "text":
                rows.append(
                    ColumnRow(
                        table,
                        column,
                        role,
                        name,
                        (("scrub", "scrub PHI"), ("drop", "drop")),
                        "drop" if cspec.get("transform") == "drop" else "scrub",
                        "text",
                    )
                )
            else:
                rows.append(ColumnRow(table, column, role, name, (), "", "kept"))
    return rows


def privacy_target(spec: Mapping[str, Any]) -> PrivacyTarget:
    anchor = (spec.get("release") or {}).get("anchor")
    privacy = spec["tables"][anchor]["policy"].get("privacy") or {}
    events = _events(spec)
    return PrivacyTarget(
        k=int(privacy.get("k", 5)),
        suppression_limit=float(privacy.get("suppression_limit", 0.05)),
        m=int(events["m"]) if "m" in events else None,
        event_suppression_limit=(
            float(events["suppression_limit"]) if "suppression_limit" in events else None
        ),
        min_kept_share=float(events["min_kept_share"]) if "min_kept_share" in events else None,
    )


def apply_choices(
    spec: Mapping[str, Any], choices: Mapping[str, str], target: PrivacyTarget
) -> dict[str, Any]:
    """A new spec with the steward's choices (``choices``: form field -> value)."""
    out: dict[str, Any] = copy.deepcopy(dict(spec))
    out.pop("base_dir", None)
    rows = form_rows(out, base_dir=Path("."), with_meanings=False)
    for row in rows:
        if row.name not in choices or row.locked:
            continue
        value = choices[row.name]
        col = out["tables"][row.table]["policy"]["columns"][row.column]
        if row.kind == "identifier":
            if value not in ("pseudonymize", "drop"):
                raise PolicyError(f"tables.{row.table}.{row.column}", f"unknown choice {value!r}")
            col["transform"] = value
            if value == "drop":
                col.pop("domain", None)
            else:
                col.setdefault("domain", row.column)
        elif row.kind == "text":
            if value == "drop":
                col["transform"] = "drop"
            else:
                col.pop("transform", None)
        elif row.kind in ("max_level", "fixed_level"):
            key = "max_level" if row.kind == "max_level" else "level"
            options = dict(col.get("options") or {})
            if value == "":
                options.pop(key, None)
            else:
                options[key] = int(value)
            if options:
                col["options"] = options
            else:
                col.pop("options", None)
    anchor = out["release"]["anchor"]
    privacy = dict(out["tables"][anchor]["policy"].get("privacy") or {})
    privacy["k"] = int(target.k)
    privacy["suppression_limit"] = float(target.suppression_limit)
    out["tables"][anchor]["policy"]["privacy"] = privacy
    events = out["release"].get("events")
    if isinstance(events, dict):
        if target.m is not None:
            events["m"] = int(target.m)
        if target.event_suppression_limit is not None:
            events["suppression_limit"] = float(target.event_suppression_limit)
        if target.min_kept_share is not None:
            events["min_kept_share"] = float(target.min_kept_share)
    return out


def spec_yaml(spec: Mapping[str, Any]) -> str:
    """The spec as YAML (key order kept, Korean as is)."""
    data = {k: v for k, v in spec.items() if k != "base_dir"}
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return text


def baseline_spec(request: Any) -> dict[str, Any]:
    """The request's latest policy, else the platform's template release spec."""
    from django.conf import settings

    latest = request.policies.order_by("-set_at", "-pk").first()
    if latest is not None:
        data = yaml.safe_load(latest.policy_yaml)
        if isinstance(data, dict) and "tables" in data and "release" in data:
            return data
    path = Path(settings.BASE_DIR) / "fixtures" / "policies" / "demo_release.yaml"
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _number(raw: Any, kind: type, where: str, lo: float, hi: float) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise PolicyError(where, f"expected a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise PolicyError(where, f"expected {lo}..{hi}, got {value}")
    return value


def target_from_post(data: Mapping[str, Any], current: PrivacyTarget) -> PrivacyTarget:
    def pick(name: str, kind: type, lo: float, hi: float, default: Any) -> Any:
        raw = data.get(name)
        if raw in (None, ""):
            return default
        return _number(raw, kind, name, lo, hi)

    return PrivacyTarget(
        k=pick("k", int, 2, 1000, current.k),
        suppression_limit=pick("suppression_limit", float, 0.0, 1.0, current.suppression_limit),
        m=pick("m", int, 1, 10, current.m) if current.m is not None else None,
        event_suppression_limit=pick(
            "event_suppression_limit", float, 0.0, 1.0, current.event_suppression_limit
        )
        if current.event_suppression_limit is not None
        else None,
        min_kept_share=pick("min_kept_share", float, 0.0, 1.0, current.min_kept_share)
        if current.min_kept_share is not None
        else None,
    )


def examples_from(dry: Any) -> dict[tuple[str, str], Any]:
    """Example values for the level meanings: the most common value the dry run saw."""
    if dry is None:
        return {}
    out: dict[tuple[str, str], Any] = {}
    for d in dry.distributions:
        if d["before"]:
            value = d["before"][0][0]
            out[(dry.anchor, d["column"])] = int(value) if value.isdigit() else value
    return out
