"""The longitudinal threat model of a release: what an attacker knows about events.

An *event* is one released row of an event table (a visit, a diagnosis, ...).
The attacker knows a patient's released demographics (the anchor table's
quasi-identifiers) and up to ``m`` of the patient's events, each with every
released column of its row except the pseudonyms. The target is (k, k^m):
every combination of a patient's demographics with any ``m`` (or fewer) of
their released events is shared by at least ``k`` released patients. Events
are a multiset: two visits with the same released values are two events.

Release spec (YAML), under ``release``::

    events:
      m: 2                      # events an attacker knows (default 2)
      k: 5                      # default: the anchor table's k
      suppression_limit: 0.3    # share of the kept patients' events that may be suppressed
      min_kept_share: 0.5       # and each event table keeps at least this share of its rows
      tables:
        visit_occurrence:
          id: visit_occurrence_id             # the row id (integers): suppression is by row
          known: [visit_source_value, visit_start_date, care_site_id]
        condition_occurrence:
          id: condition_occurrence_id
          known: [condition_start_date, condition_source_value]
      follow:                   # rows that describe an event go when it is suppressed
        note: visit_occurrence  # note rows whose visit_occurrence_id is a suppressed visit
      text:                     # notes follow the tables (deid.longitudinal.notes)
        sex_column: gender_source_value   # sex words go when this anchor column is generalized
        tags: plain             # plain (default): [PERSON]; keyed: [PERSON_7f3a9c]

Every released column of an event table must be a pseudonymized identifier or a
``known`` quasi-identifier (with a hierarchy; the search chooses its level, at
least ``options.level``): a column the attacker could read but the model left
out would make the privacy figure wrong, so the plan refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deid.errors import PolicyError

if TYPE_CHECKING:
    from deid.plan import ReleasePlan

__all__ = ["EventModel", "EventTable", "parse_event_model", "validate_event_model"]

_KEYS = {
    "m",
    "k",
    "suppression_limit",
    "min_kept_share",
    "tables",
    "follow",
    "max_nodes",
    "text",
}
_TAGS = ("plain", "keyed")


@dataclass(frozen=True)
class EventTable:
    """One event table: its row-id column and the columns an attacker may know."""

    name: str
    id_column: str
    known: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id_column, "known": list(self.known)}


@dataclass(frozen=True)
class EventModel:
    """The (k, k^m) target over the event tables (JSON-ready, part of the plan)."""

    m: int
    k: int | None
    suppression_limit: float
    tables: tuple[EventTable, ...]
    follow: tuple[tuple[str, str], ...] = ()  # (dependent table, event table)
    max_nodes: int = 200_000
    #: each event table keeps at least this share of its (kept patients') rows
    min_kept_share: float = 0.0
    #: the anchor column whose generalization removes sex words from notes
    sex_column: str | None = None
    #: tags in notes: "plain" ([PERSON]) or "keyed" ([PERSON_7f3a9c])
    tags: str = "plain"

    def table(self, name: str) -> EventTable | None:
        for t in self.tables:
            if t.name == name:
                return t
        return None

    def followed(self, name: str) -> EventTable | None:
        """The event table whose suppressed rows remove rows of table ``name``."""
        for dep, event in self.follow:
            if dep == name:
                return self.table(event)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "m": self.m,
            "k": self.k,
            "suppression_limit": self.suppression_limit,
            "max_nodes": self.max_nodes,
            "min_kept_share": self.min_kept_share,
            "tables": {t.name: t.to_dict() for t in self.tables},
            "follow": {dep: event for dep, event in self.follow},
            "text": {"sex_column": self.sex_column, "tags": self.tags},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventModel:
        return parse_event_model(data)


def _int(raw: Any, fld: str, lo: int, hi: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise PolicyError(fld, f"expected an integer in {lo}..{hi}, got {raw!r}")
    return raw


def parse_event_model(raw: object, where: str = "release.events") -> EventModel:  # noqa: C901
    """Parse (and check the shape of) ``release.events``; see the module docstring."""
    if not isinstance(raw, Mapping):
        raise PolicyError(where, f"expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(where, f"unknown keys {sorted(unknown)}; expected {sorted(_KEYS)}")
    m = _int(raw.get("m", 2), f"{where}.m", 1, 3)
    k_raw = raw.get("k")
    k = None if k_raw is None else _int(k_raw, f"{where}.k", 2, 1_000_000)
    limit = raw.get("suppression_limit", 0.0)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 <= limit <= 1:
        raise PolicyError(f"{where}.suppression_limit", f"expected a share in 0..1, got {limit!r}")
    min_kept = raw.get("min_kept_share", 0.0)
    if (
        isinstance(min_kept, bool)
        or not isinstance(min_kept, int | float)
        or not 0 <= min_kept <= 1
    ):
        raise PolicyError(f"{where}.min_kept_share", f"expected a share in 0..1, got {min_kept!r}")
    max_nodes = _int(raw.get("max_nodes", 200_000), f"{where}.max_nodes", 1, 10_000_000)
    tables_raw = raw.get("tables")
    if not isinstance(tables_raw, Mapping) or not tables_raw:
        raise PolicyError(f"{where}.tables", "expected a mapping of event table -> {id, known}")
    tables = []
    for name, spec in tables_raw.items():
        fld = f"{where}.tables.{name}"
        if not isinstance(spec, Mapping):
            raise PolicyError(fld, "expected a mapping {id, known}")
        extra = set(spec) - {"id", "known"}
        if extra:
            raise PolicyError(fld, f"unknown keys {sorted(extra)}; expected id and known")
        id_col = spec.get("id")
        if not isinstance(id_col, str) or not id_col:
            raise PolicyError(f"{fld}.id", f"expected the row-id column, got {id_col!r}")
        known = spec.get("known")
        if (
            not isinstance(known, list)
            or not known
            or not all(isinstance(c, str) and c for c in known)
        ):
            raise PolicyError(f"{fld}.known", f"expected a list of column names, got {known!r}")
        if len(set(known)) != len(known):
            raise PolicyError(f"{fld}.known", f"columns repeat: {known}")
        tables.append(EventTable(str(name), id_col, tuple(known)))
    follow_raw = raw.get("follow", {}) or {}
    if not isinstance(follow_raw, Mapping):
        raise PolicyError(f"{where}.follow", "expected a mapping of table -> event table")
    names = {t.name for t in tables}
    follow = []
    for dep, event in follow_raw.items():
        if event not in names:
            raise PolicyError(
                f"{where}.follow.{dep}", f"expected one of the event tables {sorted(names)}"
            )
        if dep in names:
            raise PolicyError(f"{where}.follow.{dep}", "an event table cannot follow another")
        follow.append((str(dep), str(event)))
    text = raw.get("text") or {}
    if not isinstance(text, Mapping) or set(text) - {"sex_column", "tags"}:
        raise PolicyError(f"{where}.text", "expected a mapping with sex_column and/or tags")
    sex_column = text.get("sex_column")
    if sex_column is not None and (not isinstance(sex_column, str) or not sex_column):
        raise PolicyError(f"{where}.text.sex_column", f"expected a column name, got {sex_column!r}")
    tags = text.get("tags", "plain")
    if tags not in _TAGS:
        raise PolicyError(f"{where}.text.tags", f"expected one of {list(_TAGS)}, got {tags!r}")
    return EventModel(
        m=m,
        k=k,
        suppression_limit=float(limit),
        tables=tuple(tables),
        follow=tuple(sorted(follow)),
        max_nodes=max_nodes,
        min_kept_share=float(min_kept),
        sex_column=sex_column,
        tags=str(tags),
    )


def validate_event_model(plan: ReleasePlan, events: EventModel) -> None:  # noqa: C901
    """The event model must describe every column an attacker could read (PolicyError).

    - an event table is a linked table whose released columns are pseudonymized
      identifiers or ``known`` quasi-identifiers (nothing else: a released column the
      model leaves out would be knowledge the privacy figure ignores);
    - its ``id`` is an identifier column (pseudonymized or dropped);
    - a linked table outside the model releases no quasi-identifier (dates, codes):
      put the table in the model, or drop the column;
    - a ``follow`` table lists the event table's id column.
    """
    names = [t.name for t in plan.tables]
    if events.sex_column is not None:
        anchor_cols = plan.anchor_table.policy().columns
        spec = anchor_cols.get(events.sex_column)
        if spec is None or spec.role != "quasi":
            raise PolicyError(
                "release.events.text.sex_column",
                f"expected a quasi-identifier of the anchor table {plan.anchor!r}, "
                f"got {events.sex_column!r}",
            )
    for et in events.tables:
        fld = f"release.events.tables.{et.name}"
        if et.name not in names:
            raise PolicyError(fld, f"no such table; tables: {names}")
        if et.name == plan.anchor:
            raise PolicyError(fld, "the anchor table carries the demographics, not events")
        policy = plan.table(et.name).policy()
        idc = policy.columns.get(et.id_column)
        if idc is None or idc.role != "identifier":
            raise PolicyError(
                f"{fld}.id",
                f"expected an identifier column of {et.name!r}, got {et.id_column!r}",
            )
        for col in et.known:
            spec = policy.columns.get(col)
            if spec is None:
                raise PolicyError(f"{fld}.known", f"{col!r} is not a column of {et.name!r}")
            if spec.role != "quasi":
                raise PolicyError(
                    f"tables.{et.name}.policy.columns.{col}.role",
                    f"a known event column is a quasi-identifier with a hierarchy: expected "
                    f"role: quasi, got role: {spec.role}",
                )
        for col, spec in policy.columns.items():
            if spec.role == "identifier" or col in et.known:
                continue
            if spec.role == "text" and spec.transform == "drop":
                continue
            raise PolicyError(
                f"tables.{et.name}.policy.columns.{col}",
                f"an event table releases only pseudonyms and known columns: {col!r} "
                f"(role: {spec.role}) would be read by an attacker but is not in "
                f"{fld}.known; add it there or drop it",
            )
    followed = dict(events.follow)
    for t in plan.tables:
        if t.name == plan.anchor or events.table(t.name) is not None:
            continue
        policy = t.policy()
        for col, spec in policy.columns.items():
            if spec.role == "quasi":
                raise PolicyError(
                    f"tables.{t.name}.policy.columns.{col}",
                    f"the release has a longitudinal threat model, and {t.name!r} is not one "
                    f"of its event tables: its quasi-identifier {col!r} would go out "
                    "unmeasured; add the table to release.events.tables or drop the column",
                )
        if t.name in followed:
            et_opt = events.table(followed[t.name])
            if et_opt is not None and et_opt.id_column not in policy.columns:
                raise PolicyError(
                    f"release.events.follow.{t.name}",
                    f"{t.name!r} must list {et_opt.id_column!r} (the id of "
                    f"{et_opt.name!r}) to follow its suppressed rows",
                )
    for dep in followed:
        if dep not in names or dep == plan.anchor:
            raise PolicyError(f"release.events.follow.{dep}", f"expected a linked table of {names}")
