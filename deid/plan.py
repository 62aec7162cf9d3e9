"""The release plan: everything a build needs, frozen, canonical and hashed.

An approved data access request, the steward's release spec (per table: source,
columns, policy), the recipient organization and the key id compile into one
:class:`ReleasePlan`. A build reads only the plan, never the mutable request; the
manifest records the plan's digest. A plan holds no secret: only the key id.

A release spec (YAML) looks like::

    release:
      anchor: person            # the table that carries the privacy model
      link_column: person_id    # links every other table to the anchor
      person_domain: person     # pseudonym domain of the link column
      date_shift: {max_days: 30, allow_zero: false}   # optional
    tables:
      person:
        table: person           # the source table (default: the key); optional
        query: "SELECT ..."     # optional: replaces the table scan
        policy: {columns: {...}, privacy: {k: 5, ...}}
      visit_occurrence:
        table: visit_occurrence
        policy: {columns: {...}}
    genome: {min_carriers: 5, genes: [TP53]}      # optional: deid.genome.spec
    lifelog: {window: 1h, gps: drop}              # optional: deid.lifelog.spec

The genome and lifelog sources and the recipient's Crypt4GH public key are the
platform's (``compile_plan(genome_source=..., lifelog_source=...,
recipient_public_key=...)``) and are frozen into the plan with the sections.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from deid.errors import PolicyError

if TYPE_CHECKING:
    from deid.genome.spec import GenomeSpec
    from deid.lifelog.spec import LifelogSpec
    from deid.longitudinal.model import EventModel
    from deid.policy import Policy

__all__ = [
    "PLAN_FORMAT",
    "ReleasePlan",
    "TablePlan",
    "compile_plan",
    "load_release_spec",
    "redact_url",
]

PLAN_FORMAT = "deid.release-plan/1"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace (UTF-8 kept as is)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def redact_url(url: str) -> str:
    """A source URL without its password (``scheme://user:***@host/db``)."""
    return re.sub(r"(://[^/:@]*):[^@/]*@", r"\1:***@", url)


@dataclass(frozen=True)
class TablePlan:
    """One table of a release: where it comes from and its policy (as canonical JSON)."""

    name: str
    table: str
    query: str | None
    columns: tuple[str, ...] | None
    policy_json: str
    base_dir: str | None = None

    @property
    def policy_dict(self) -> dict[str, Any]:
        """A fresh copy of the table's policy (the plan itself stays immutable)."""
        data: dict[str, Any] = json.loads(self.policy_json)
        return data

    def policy(self) -> Policy:
        from deid.policy import parse_policy

        base = Path(self.base_dir) if self.base_dir is not None else Path.cwd()
        return parse_policy(self.policy_dict, base)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "table": self.table,
            "query": self.query,
            "columns": list(self.columns) if self.columns is not None else None,
            "policy": self.policy_dict,
            "base_dir": self.base_dir,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "tables") -> TablePlan:
        name = _req_str(data, "name", where)
        table = data.get("table", name)
        query = data.get("query")
        for key, value in (("table", table), ("query", query)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise PolicyError(
                    f"{where}.{name}.{key}", f"expected a non-empty string, got {value!r}"
                )
        columns = data.get("columns")
        if columns is not None:
            if not isinstance(columns, list | tuple) or not all(
                isinstance(c, str) for c in columns
            ):
                raise PolicyError(
                    f"{where}.{name}.columns", f"expected a list of names, got {columns!r}"
                )
            columns = tuple(columns)
        policy = data.get("policy")
        if not isinstance(policy, Mapping):
            raise PolicyError(
                f"{where}.{name}.policy", f"expected a mapping, got {type(policy).__name__}"
            )
        base_dir = data.get("base_dir")
        if base_dir is not None and not isinstance(base_dir, str):
            raise PolicyError(
                f"{where}.{name}.base_dir", f"expected a path string, got {base_dir!r}"
            )
        return cls(
            name=name,
            table=table,
            query=query,
            columns=columns,
            policy_json=canonical_json(dict(policy)),
            base_dir=base_dir,
        )


@dataclass(frozen=True)
class ReleasePlan:
    """An immutable release plan. ``digest()`` is the SHA-256 of its canonical JSON."""

    release_id: str
    recipient_org_id: str
    key_id: str
    created_at: str
    source: str
    anchor: str
    link_column: str
    tables: tuple[TablePlan, ...]
    person_domain: str = "person"
    date_shift_max_days: int | None = None
    date_shift_allow_zero: bool = False
    extra_json: str = field(default="{}")
    #: the longitudinal threat model (``release.events``) as canonical JSON, or None
    events_json: str | None = None
    #: the genome (VCF) part (:class:`deid.genome.GenomeSpec` as canonical JSON), or None
    genome_json: str | None = None
    #: the lifelog part (:class:`deid.lifelog.LifelogSpec` as canonical JSON), or None
    lifelog_json: str | None = None

    def __post_init__(self) -> None:
        names = [t.name for t in self.tables]
        if not names:
            raise PolicyError("tables", "expected at least one table")
        if len(set(names)) != len(names):
            raise PolicyError("tables", f"table names repeat: {names}")
        if self.anchor not in names:
            raise PolicyError("release.anchor", f"{self.anchor!r} is not one of the tables {names}")
        if self.date_shift_max_days is not None and not (1 <= self.date_shift_max_days <= 3650):
            raise PolicyError(
                "release.date_shift.max_days",
                f"expected an integer in 1..3650, got {self.date_shift_max_days!r}",
            )

    def table(self, name: str) -> TablePlan:
        for t in self.tables:
            if t.name == name:
                return t
        raise PolicyError(
            "tables", f"no table {name!r} in the plan; tables: {[t.name for t in self.tables]}"
        )

    @property
    def anchor_table(self) -> TablePlan:
        return self.table(self.anchor)

    @property
    def events(self) -> EventModel | None:
        """The (k, k^m) threat model over the event tables, if the spec has one."""
        if self.events_json is None:
            return None
        from deid.longitudinal.model import parse_event_model

        return parse_event_model(json.loads(self.events_json))

    @property
    def genome(self) -> GenomeSpec | None:
        """What of the genome source the release carries, if anything."""
        if self.genome_json is None:
            return None
        from deid.genome.spec import parse_genome_spec

        return parse_genome_spec(json.loads(self.genome_json))

    @property
    def lifelog(self) -> LifelogSpec | None:
        """How the release carries lifelog series, if at all."""
        if self.lifelog_json is None:
            return None
        from deid.lifelog.spec import parse_lifelog_spec

        return parse_lifelog_spec(json.loads(self.lifelog_json))

    @property
    def extra(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.extra_json)
        return data

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": PLAN_FORMAT,
            "release_id": self.release_id,
            "recipient_org_id": self.recipient_org_id,
            "key_id": self.key_id,
            "created_at": self.created_at,
            "source": self.source,
            "release": {
                "anchor": self.anchor,
                "link_column": self.link_column,
                "person_domain": self.person_domain,
                "date_shift": (
                    None
                    if self.date_shift_max_days is None
                    else {
                        "max_days": self.date_shift_max_days,
                        "allow_zero": self.date_shift_allow_zero,
                    }
                ),
            },
            "tables": [t.to_dict() for t in self.tables],
            "extra": self.extra,
        }
        if self.events_json is not None:  # absent key: plans without it keep their digest
            out["release"]["events"] = json.loads(self.events_json)
        if self.genome_json is not None:
            out["genome"] = json.loads(self.genome_json)
        if self.lifelog_json is not None:
            out["lifelog"] = json.loads(self.lifelog_json)
        return out

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReleasePlan:
        if data.get("format") != PLAN_FORMAT:
            raise PolicyError("format", f"expected {PLAN_FORMAT!r}, got {data.get('format')!r}")
        release = data.get("release")
        if not isinstance(release, Mapping):
            raise PolicyError("release", "expected a mapping")
        tables = data.get("tables")
        if not isinstance(tables, list):
            raise PolicyError("tables", "expected a list")
        shift = release.get("date_shift")
        extra = data.get("extra", {})
        return cls(
            release_id=_req_str(data, "release_id", ""),
            recipient_org_id=_req_str(data, "recipient_org_id", ""),
            key_id=_req_str(data, "key_id", ""),
            created_at=_req_str(data, "created_at", ""),
            source=_req_str(data, "source", ""),
            anchor=_req_str(release, "anchor", "release"),
            link_column=_req_str(release, "link_column", "release"),
            person_domain=_req_str(release, "person_domain", "release"),
            date_shift_max_days=None if shift is None else int(shift["max_days"]),
            date_shift_allow_zero=False if shift is None else bool(shift.get("allow_zero", False)),
            tables=tuple(TablePlan.from_dict(t, where="tables") for t in tables),
            extra_json=canonical_json(extra),
            events_json=_events_json(release.get("events")),
            genome_json=_kind_json("genome", data.get("genome")),
            lifelog_json=_kind_json("lifelog", data.get("lifelog")),
        )

    @classmethod
    def from_json(cls, text: str) -> ReleasePlan:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PolicyError("plan", f"not valid JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise PolicyError("plan", f"expected a JSON object, got {type(data).__name__}")
        return cls.from_dict(data)


def _events_json(raw: Any) -> str | None:
    if raw is None:
        return None
    from deid.longitudinal.model import parse_event_model

    return canonical_json(parse_event_model(raw).to_dict())


def _kind_json(kind: str, raw: Any, *, base: str | None = None, **platform: Any) -> str | None:
    """The canonical JSON of a ``genome`` / ``lifelog`` section (None if absent).

    ``platform``: what the platform adds (``source``, ``recipient_public_key``),
    overriding the spec; a relative ``source`` is resolved against ``base``.
    """
    if raw is None or raw is False:
        return None
    data = dict(raw) if isinstance(raw, Mapping) else raw
    if isinstance(data, dict):
        data.update({k: v for k, v in platform.items() if v is not None})
        source = data.get("source")
        if isinstance(source, str) and base is not None and not Path(source).is_absolute():
            data["source"] = str(Path(base) / source)
    if kind == "genome":
        from deid.genome.spec import parse_genome_spec

        return canonical_json(parse_genome_spec(data).to_dict())
    from deid.lifelog.spec import parse_lifelog_spec

    return canonical_json(parse_lifelog_spec(data).to_dict())


def _req_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    path = f"{where}.{key}" if where else key
    if not isinstance(value, str) or not value:
        raise PolicyError(path, f"expected a non-empty string, got {value!r}")
    return value


def load_release_spec(path: Path | str) -> dict[str, Any]:
    """Read a release spec YAML file; hierarchy paths stay relative to its folder."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError("spec", f"release spec file {str(path)!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise PolicyError("spec", f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError("spec", f"{path}: expected a mapping at the top level")
    data.setdefault("base_dir", str(path.resolve().parent))
    return data


def compile_plan(  # noqa: C901
    spec: Mapping[str, Any],
    *,
    release_id: str,
    recipient_org_id: str,
    key_id: str,
    source: str,
    base_dir: Path | str | None = None,
    created_at: datetime | str | None = None,
    extra: Mapping[str, Any] | None = None,
    validate: bool = True,
    genome_source: str | None = None,
    lifelog_source: str | None = None,
    recipient_public_key: str | None = None,
) -> ReleasePlan:
    """Compile a release spec (see the module docstring) into an immutable plan.

    With ``validate`` (the default) every table's policy is parsed now, so a bad
    policy fails at compile time naming its field, not in the middle of a build.
    ``genome_source`` / ``lifelog_source`` (folders) and ``recipient_public_key`` (the
    recipient's Crypt4GH key) are the platform's part of the spec's ``genome`` and
    ``lifelog`` sections; they are used only if the spec has the section.
    """
    release = spec.get("release")
    if not isinstance(release, Mapping):
        raise PolicyError("release", "expected a mapping with anchor and link_column")
    tables = spec.get("tables")
    if not isinstance(tables, Mapping) or not tables:
        raise PolicyError("tables", "expected a non-empty mapping of table name -> table spec")
    base = base_dir if base_dir is not None else spec.get("base_dir")
    base_str = str(Path(base).resolve()) if base is not None else None
    table_plans = []
    for name, tspec in tables.items():
        where = f"tables.{name}"
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise PolicyError(where, "expected a table name of letters, digits and '_'")
        if not isinstance(tspec, Mapping):
            raise PolicyError(where, f"expected a mapping, got {type(tspec).__name__}")
        unknown = set(tspec) - {"table", "query", "columns", "policy"}
        if unknown:
            raise PolicyError(
                where, f"unknown keys {sorted(unknown)}; expected table/query/columns/policy"
            )
        query = tspec.get("query")
        table = tspec.get("table", name)
        columns = tspec.get("columns")
        policy_spec = tspec.get("policy")
        if columns is None and isinstance(policy_spec, Mapping):
            # Keep the policy's column order (the canonical policy JSON sorts its keys).
            raw_cols = policy_spec.get("columns")
            if isinstance(raw_cols, Mapping):
                columns = [str(c) for c in raw_cols]
        tp = TablePlan.from_dict(
            {
                "name": name,
                "table": table,
                "query": query,
                "columns": columns,
                "policy": policy_spec,
                "base_dir": base_str,
            },
            where="tables",
        )
        table_plans.append(tp)
    shift = release.get("date_shift")
    max_days: int | None = None
    allow_zero = False
    if shift is not None:
        if not isinstance(shift, Mapping):
            raise PolicyError("release.date_shift", "expected a mapping {max_days, allow_zero}")
        md = shift.get("max_days")
        if isinstance(md, bool) or not isinstance(md, int):
            raise PolicyError("release.date_shift.max_days", f"expected an integer, got {md!r}")
        max_days = md
        az = shift.get("allow_zero", False)
        if not isinstance(az, bool):
            raise PolicyError("release.date_shift.allow_zero", f"expected true/false, got {az!r}")
        allow_zero = az
    if isinstance(created_at, datetime):
        created = created_at.astimezone(UTC).isoformat(timespec="seconds")
    elif isinstance(created_at, str):
        created = created_at
    else:
        created = datetime.now(UTC).isoformat(timespec="seconds")
    plan = ReleasePlan(
        release_id=release_id,
        recipient_org_id=recipient_org_id,
        key_id=key_id,
        created_at=created,
        source=redact_url(source),
        anchor=_req_str(release, "anchor", "release"),
        link_column=_req_str(release, "link_column", "release"),
        person_domain=str(release.get("person_domain", "person")),
        date_shift_max_days=max_days,
        date_shift_allow_zero=allow_zero,
        tables=tuple(table_plans),
        extra_json=canonical_json(dict(extra or {})),
        events_json=_events_json(release.get("events")),
        genome_json=_kind_json(
            "genome",
            spec.get("genome"),
            base=base_str,
            source=genome_source,
            recipient_public_key=recipient_public_key,
        ),
        lifelog_json=_kind_json(
            "lifelog", spec.get("lifelog"), base=base_str, source=lifelog_source
        ),
    )
    if validate:
        validate_plan(plan)
    return plan


def validate_plan(plan: ReleasePlan) -> None:
    """Parse every table's policy; the anchor must carry a privacy model (k).

    The link column is the raw person id: wherever it is listed it must be an
    identifier, pseudonymized in the release's ``person_domain`` (so the tables
    still join) or dropped (linked tables, or a release of the anchor alone).
    """
    link = plan.link_column
    for t in plan.tables:
        policy = t.policy()
        column = policy.columns.get(link)
        if column is None:
            if t.name != plan.anchor or len(plan.tables) > 1:
                raise PolicyError(
                    f"tables.{t.name}.policy.columns",
                    f"the link column {link!r} must be listed (it links the records "
                    f"of every table to the anchor table {plan.anchor!r})",
                )
            continue
        fld = f"tables.{t.name}.policy.columns.{link}"
        may_drop = t.name != plan.anchor or len(plan.tables) == 1
        expected = (
            f"role: identifier with transform: pseudonymize and domain: {plan.person_domain}"
            + (" (or transform: drop)" if may_drop else "")
        )
        if column.role != "identifier":
            raise PolicyError(
                fld,
                f"the link column is the raw person id and would be released as is: expected "
                f"{expected}, got role: {column.role}",
            )
        if column.transform == "drop":
            if not may_drop:
                raise PolicyError(
                    fld,
                    f"the anchor table's link column links the other tables: expected "
                    f"{expected}, got transform: drop",
                )
        elif column.pseudonym_domain != plan.person_domain:
            raise PolicyError(
                fld,
                f"the link column must be pseudonymized in the release's person domain so the "
                f"tables join: expected domain: {plan.person_domain}, got domain: "
                f"{column.pseudonym_domain}",
            )
    events = plan.events
    if events is not None:
        from deid.longitudinal.model import validate_event_model

        validate_event_model(plan, events)
    anchor_policy = plan.anchor_table.policy_dict
    if not isinstance(anchor_policy.get("privacy"), Mapping):
        raise PolicyError(
            f"tables.{plan.anchor}.policy.privacy",
            "the anchor table needs a privacy block (k, suppression_limit, ...)",
        )
