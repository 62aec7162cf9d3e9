"""The longitudinal model in a release build: plan, decisions, report, output check.

``plan_longitudinal`` runs the count pass over the anchor (collecting each
person's demographics), the event pass over every event table (after the
patients' date shift, as released), and the joint search. Its result,
:class:`ReleaseEvents`, is what the transform pass needs for the linked tables:
the chosen level of every known column, the suppressed event rows (raw ids,
sorted: as many as were suppressed), and which rows follow an event.

``check_written`` re-reads the staged files and measures the risk independently
(:mod:`deid.longitudinal.measure`); a combination below k fails the build.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from deid.errors import DataError, PolicyError, PrivacyTargetNotMet, SourceChangedError
from deid.hierarchy import DateHierarchy, Hierarchy, Icd10Hierarchy
from deid.longitudinal.measure import km_risk, km_risk_tables
from deid.longitudinal.model import EventModel
from deid.longitudinal.search import LongitudinalSearch
from deid.longitudinal.store import AnchorCollector, EventCollector, LongitudinalData

if TYPE_CHECKING:
    from deid.anonymize import Anonymization
    from deid.keys import ReleaseKey
    from deid.plan import ReleasePlan
    from deid.sources.base import Source

__all__ = ["ReleaseEvents", "check_written", "level_label", "plan_longitudinal"]

IntArray = npt.NDArray[np.int64]
_DATE_ORDER = ("day", "week", "month", "quarter", "half", "year", "decade", "*")


def level_label(h: Hierarchy, level: int) -> str:
    """What a level means, for people: ``month``, ``category``, ``*`` (nothing kept) ..."""
    if level >= h.height - 1:
        return "*"
    if isinstance(h, DateHierarchy):
        return h.levels[level]
    if isinstance(h, Icd10Hierarchy):
        return "code" if level == 0 else h.levels[level - 1]
    spec = h.spec()
    if spec.get("type") == "interval" and level > 0:
        widths = spec.get("widths") or []
        if level - 1 < len(widths):
            return f"bands of {widths[level - 1]}"
    return "value" if level == 0 else f"level {level}"


@dataclass
class ReleaseEvents:
    """The transform pass's view of the longitudinal decisions (no secrets; JSON-ready)."""

    levels: dict[str, dict[str, int]]  # event table -> known column -> level
    suppressed: dict[str, IntArray]  # event table -> sorted raw ids of suppressed rows
    follow: dict[str, tuple[str, str]]  # dependent table -> (event table, id column)
    id_columns: dict[str, str]  # event table -> id column
    expected_out: dict[str, int]  # event table -> rows the search released
    date_level: str | None = None  # the coarsest date unit of the event columns
    report: dict[str, Any] = field(default_factory=dict)

    def levels_for(self, table: str) -> dict[str, int] | None:
        return self.levels.get(table)

    def drop_mask(self, batch: pa.RecordBatch, table: str) -> pa.Array | None:
        """True for rows to keep: not a suppressed event, not following one."""
        if table in self.suppressed:
            column, ids = self.id_columns[table], self.suppressed[table]
        elif table in self.follow:
            event, column = self.follow[table]
            ids = self.suppressed[event]
        else:
            return None
        if column not in batch.schema.names:
            raise DataError(f"table {table!r}: the column {column!r} is missing", field=column)
        if not len(ids):
            return None
        values = batch.column(column)
        ints = np.asarray(pc.fill_null(values, -(2**62)).to_numpy(zero_copy_only=False))
        pos = np.minimum(np.searchsorted(ids, ints), len(ids) - 1)
        hit = ids[pos] == ints
        return pa.array(~hit, pa.bool_())

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": self.levels,
            "suppressed": {t: [int(x) for x in ids] for t, ids in self.suppressed.items()},
            "follow": {t: list(v) for t, v in self.follow.items()},
            "id_columns": self.id_columns,
            "expected_out": self.expected_out,
            "date_level": self.date_level,
            "report": self.report,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReleaseEvents:
        return cls(
            levels={t: {c: int(v) for c, v in lv.items()} for t, lv in data["levels"].items()},
            suppressed={
                t: np.asarray(sorted(ids), dtype=np.int64) for t, ids in data["suppressed"].items()
            },
            follow={t: (str(v[0]), str(v[1])) for t, v in data["follow"].items()},
            id_columns={str(t): str(c) for t, c in data["id_columns"].items()},
            expected_out={str(t): int(n) for t, n in data["expected_out"].items()},
            date_level=data.get("date_level"),
            report=dict(data.get("report") or {}),
        )


def plan_longitudinal(
    plan: ReleasePlan,
    events: EventModel,
    *,
    source: Source,
    key: ReleaseKey,
    batch_size: int,
    progress: Any = None,
) -> tuple[Anonymization, int, ReleaseEvents]:
    """Count pass, event pass and joint search; raises ``PrivacyTargetNotMet``."""
    from deid.anonymize import search
    from deid.pipeline import _batches, _notify, _total, count_anchor
    from deid.search import prepare
    from deid.transform import TableSpec, _fixed_level, _shift_columns, patient_shifts

    anchor_spec = TableSpec.from_plan(plan, plan.anchor)
    policy = anchor_spec.policy
    hier = policy.hierarchies()
    qi = policy.quasi_identifiers
    link = plan.link_column
    collector = AnchorCollector(plan.anchor, link, qi, [hier[q] for q in qi])
    freq, rows_in = count_anchor(
        plan, source=source, batch_size=batch_size, progress=progress, collect=collector.add
    )
    problem = prepare(freq, policy)
    anchor = collector.finish(problem.mats)
    collected = []
    rows_read: dict[str, int] = {}
    for et in events.tables:
        tp = plan.table(et.name)
        spec = TableSpec.from_plan(plan, et.name)
        hs = tuple(spec.hierarchy(c) for c in et.known)
        mins = tuple(_fixed_level(c, spec.policy.columns[c]) or 0 for c in et.known)
        maxs = tuple(_max_level(et.name, c, spec, mins[i]) for i, c in enumerate(et.known))
        ec = EventCollector(et.name, link, et.id_column, et.known, hs, mins, maxs)
        phase = f"events:{et.name}"
        total = _total(source, tp)
        _notify(progress, phase, 0, total)
        for batch in _batches(source, tp, spec, batch_size):
            shift = patient_shifts(batch, spec=spec, key=key)
            ec.add(_shift_columns(batch, spec, shift))
            _notify(progress, phase, ec.rows, total)
        rows_read[et.name] = ec.rows
        collected.append((et.name, *ec.finish()))
    data = LongitudinalData.build(anchor, qi, problem.mats, collected)
    k = events.k if events.k is not None else policy.privacy.k
    _notify(progress, "search", 0, None)
    searcher = LongitudinalSearch(
        data,
        problem,
        k=k,
        m=events.m,
        suppression_limit=events.suppression_limit,
        max_nodes=events.max_nodes,
        min_kept_share=events.min_kept_share,
    )
    result = searcher.run()
    _notify(progress, "search", 1, 1)
    best, astate = result.best, result.anchor
    anonymization = search(
        freq,
        policy,
        levels=dict(zip(qi, astate.levels, strict=True)),
        problem=problem,
    )
    mask = best.suppressed_mask if best.suppressed_mask is not None else np.zeros(0, bool)
    gone = ~astate.kept[data.person_of]
    levels: dict[str, dict[str, int]] = {}
    labels: dict[str, dict[str, Any]] = {}
    date_rank = -1
    for col, lv in zip(data.columns, best.event_levels, strict=True):
        levels.setdefault(col.table, {})[col.name] = int(lv)
        label = level_label(col.hierarchy, lv)
        labels[f"{col.table}.{col.name}"] = {
            "level": int(lv),
            "label": label,
            "min_level": col.min_level,
            "height": col.height,
        }
        if isinstance(col.hierarchy, DateHierarchy):
            date_rank = max(date_rank, _DATE_ORDER.index(label) if label in _DATE_ORDER else 7)
    suppressed: dict[str, IntArray] = {}
    tables: dict[str, Any] = {}
    expected: dict[str, int] = {}
    for t, name in enumerate(data.tables):
        of_t = data.table_of == t
        suppressed[name] = np.sort(data.event_id[of_t & mask])
        n_in = int(rows_read[name])
        n_gone = int((of_t & gone).sum())
        n_supp = int((of_t & mask).sum())
        n_absent = data.dropped_events[name]
        expected[name] = int(of_t.sum()) - n_gone - n_supp
        tables[name] = {
            "events_in": n_in,
            "events_of_absent_or_unlinked_patients": n_in - int(of_t.sum()),
            "events_of_suppressed_patients": n_gone,
            "events_suppressed": n_supp,
            "events_out": expected[name],
            "kept_share": expected[name] / n_in if n_in else 1.0,
        }
        del n_absent
    before_levels = tuple(c.min_level for c in data.columns)
    risk_before = _risk_in_memory(searcher, astate, before_levels, k)
    report: dict[str, Any] = {
        "model": events.to_dict(),
        "k": k,
        "m": events.m,
        "metric": "loss",
        "metric_definition": (
            "mean ARX loss per released quasi-identifier cell (demographics and every "
            "event's known columns); a suppressed cell costs 1"
        ),
        "loss": best.loss,
        "anchor_levels": dict(zip(qi, astate.levels, strict=True)),
        "levels": labels,
        "tables": tables,
        "events_in": int(sum(rows_read.values())),
        "events_suppressed": best.suppressed_events,
        "max_suppressed_events": best.max_suppressed,
        "suppressed_share": best.suppressed_events / max(int((~gone).sum()), 1),
        "search": {**result.stats, "iterations": best.iterations},
        "risk_before": risk_before,
    }
    report["search"].pop("seconds", None)  # timing varies: keep the manifest reproducible
    follow = {}
    for dep, event in events.follow:
        et = events.table(event)
        if et is not None:
            follow[dep] = (event, et.id_column)
    release_events = ReleaseEvents(
        levels=levels,
        suppressed=suppressed,
        follow=follow,
        id_columns={et.name: et.id_column for et in events.tables},
        expected_out=expected,
        date_level=_DATE_ORDER[date_rank] if date_rank >= 0 else None,
        report=report,
    )
    return anonymization, rows_in, release_events


def _max_level(table: str, column: str, spec: Any, min_level: int) -> int | None:
    """``options.max_level`` of a known column: the most general level the search may use."""
    raw = (spec.policy.columns[column].options or {}).get("max_level")
    if raw is None:
        return None
    height = spec.hierarchy(column).height
    if isinstance(raw, bool) or not isinstance(raw, int) or not min_level <= raw < height:
        raise PolicyError(
            f"tables.{table}.policy.columns.{column}.options.max_level",
            f"expected a level in {min_level}..{height - 1}, got {raw!r}",
        )
    return raw


def _risk_in_memory(
    searcher: LongitudinalSearch, astate: Any, levels: tuple[int, ...], k: int
) -> dict[str, Any]:
    """Risk of the events at ``levels`` without event suppression (the 'before' figure)."""
    d = searcher.data
    item, _ = searcher.items(levels)
    kept = np.flatnonzero(astate.kept)
    classes = {int(p): int(astate.klass[p]) for p in kept}
    events: dict[int, list[int]] = {}
    live = astate.kept[d.person_of]
    for p, it in zip(d.person_of[live].tolist(), item[live].tolist(), strict=True):
        events.setdefault(p, []).append(it)
    return km_risk(classes, events, k=k)


def check_written(
    staging: Path,
    plan: ReleasePlan,
    release_events: ReleaseEvents,
    released_columns: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> dict[str, Any]:
    """Measure the written files; raise ``PrivacyTargetNotMet`` if any m <= model's m fails.

    The attacker knows every released column of the person table that is not a
    pseudonym and, of each event table, every released column but the pseudonyms.
    """
    report = release_events.report
    k, m = int(report["k"]), int(report["m"])
    link = plan.link_column

    def read(table: str) -> pa.Table:
        path = staging / f"{table}.parquet"
        return pq.read_table(path)

    def known(table: str) -> list[str]:
        classes = released_columns.get(table, {})
        return [c for c, info in classes.items() if info.get("class") not in ("pseudonymized",)]

    person = read(plan.anchor)
    quasi = [
        c
        for c, info in released_columns.get(plan.anchor, {}).items()
        if info.get("class") == "generalized"
    ]
    event_tables = {t: (read(t), known(t)) for t in release_events.levels}
    for t, (table, _) in event_tables.items():
        expected = release_events.expected_out[t]
        if table.num_rows != expected:
            raise SourceChangedError(
                f"the event table {t!r} changed during the build: the search released "
                f"{expected} rows, the transform pass wrote {table.num_rows} (nothing was "
                "published; rebuild from a stable snapshot of the source)"
            )
    measured = km_risk_tables(person, link, quasi, event_tables, k=k, ms=sorted({1, 2, 3, m}))
    for mm in range(1, m + 1):
        part = measured.get(f"m{mm}", {})
        if not part.get("measured", False) or part.get("below_k", 0):
            raise PrivacyTargetNotMet(
                f"the written release is not (k={k}, k^m)-anonymous for m={mm}: "
                f"{part.get('below_k', 'unmeasured')} patients have a combination shared by "
                f"fewer than {k} patients (nothing was published)",
                {"risk_after": measured},
            )
    return measured
