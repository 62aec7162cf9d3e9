"""The longitudinal model in a release build: plan, decisions, report, output check.

:class:`LongitudinalPlanner` holds the collectors of the count pass: each anchor
person's demographics (:meth:`~deid.longitudinal.store.AnchorCollector.leaves`) and
every event of every event table after the patients' date shift, as released
(:meth:`~deid.longitudinal.store.EventCollector.leaves`). The local executor feeds
them batch by batch (:func:`plan_longitudinal`); the Spark executor computes the
same leaves on its workers and feeds what they return. :meth:`LongitudinalPlanner.decide`
runs the joint search; its result, :class:`ReleaseEvents`, is what the transform pass
needs for the linked tables: the chosen level of every known column, the suppressed
event rows (raw ids, sorted), and which rows follow an event.

:func:`check_written` re-reads the staged files and measures the risk independently
(:mod:`deid.longitudinal.measure`); a combination below k fails the build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from deid.errors import PolicyError, PrivacyTargetNotMet, SourceChangedError
from deid.hierarchy import DateHierarchy, Hierarchy, Icd10Hierarchy
from deid.hierarchy.dates import DATE_UNITS
from deid.longitudinal.events import ReleaseEvents
from deid.longitudinal.measure import km_risk_frames, km_risk_tables, read_released_table
from deid.longitudinal.model import EventModel
from deid.longitudinal.notes import NoteRules
from deid.longitudinal.search import AnchorState, LongitudinalSearch
from deid.longitudinal.store import AnchorCollector, EventCollector, LongitudinalData
from deid.passes import ProgressFn

if TYPE_CHECKING:
    from deid.anonymize import Anonymization, FrequencyTable
    from deid.keys import ReleaseKey
    from deid.plan import ReleasePlan
    from deid.sources.base import Source
    from deid.transform import TableSpec

__all__ = [
    "RISK_MS",
    "LongitudinalPlanner",
    "ReleaseEvents",
    "check_written",
    "event_leaves",
    "level_label",
    "plan_longitudinal",
]

IntArray = npt.NDArray[np.int64]
#: the m of the risk figures in the report (before and after)
RISK_MS = (1, 2, 3)
_DATE_ORDER = (*DATE_UNITS, "*")
_ICD_ORDER = ("code", "category", "block", "chapter", "*")


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


def event_leaves(
    batch: pa.RecordBatch, collector: EventCollector, spec: TableSpec, key: ReleaseKey
) -> pa.RecordBatch:
    """One batch of an event table as the attacker model sees it: shifted, level 0 (pure)."""
    from deid.transform import _shift_columns, patient_shifts

    shift = patient_shifts(batch, spec=spec, key=key)
    return collector.leaves(_shift_columns(batch, spec, shift))


class LongitudinalPlanner:
    """Collects the count pass's persons and events, then decides (see the module)."""

    def __init__(self, plan: ReleasePlan, events: EventModel) -> None:
        from deid.transform import TableSpec, _fixed_level

        self.plan, self.events = plan, events
        self.anchor_spec = TableSpec.from_plan(plan, plan.anchor)
        policy = self.anchor_spec.policy
        hier = policy.hierarchies()
        self.qi = policy.quasi_identifiers
        self.anchor = AnchorCollector(
            plan.anchor, plan.link_column, self.qi, [hier[q] for q in self.qi]
        )
        self.specs: dict[str, TableSpec] = {}
        self.collectors: dict[str, EventCollector] = {}
        for et in events.tables:
            spec = TableSpec.from_plan(plan, et.name)
            hs = tuple(spec.hierarchy(c) for c in et.known)
            mins = tuple(_fixed_level(c, spec.policy.columns[c]) or 0 for c in et.known)
            maxs = tuple(_max_level(et.name, c, spec, mins[i]) for i, c in enumerate(et.known))
            self.specs[et.name] = spec
            self.collectors[et.name] = EventCollector(
                et.name, plan.link_column, et.id_column, et.known, hs, mins, maxs
            )

    def decide(
        self, freq: FrequencyTable, progress: ProgressFn | None = None
    ) -> tuple[Anonymization, ReleaseEvents]:
        """The joint search over what was collected; raises ``PrivacyTargetNotMet``."""
        from deid.anonymize import search
        from deid.search import prepare

        events = self.events
        policy = self.anchor_spec.policy
        problem = prepare(freq, policy)
        rows_read = {name: c.rows for name, c in self.collectors.items()}
        collected = [(name, *c.finish()) for name, c in self.collectors.items()]
        data = LongitudinalData.build(
            self.anchor.finish(problem.mats), self.qi, problem.mats, collected
        )
        k = events.k if events.k is not None else policy.privacy.k
        searcher = LongitudinalSearch(
            data,
            problem,
            k=k,
            m=events.m,
            suppression_limit=events.suppression_limit,
            max_nodes=events.max_nodes,
            min_kept_share=events.min_kept_share,
        )
        if not any(searcher.anchor_state(lv) for lv in searcher.anchor_lattice()):
            search(freq, policy)  # no demographic node is feasible: its report says why
        if progress is not None:
            progress("search", 0, None)
        result = searcher.run(
            progress=(lambda done, total: progress("search", done, total)) if progress else None
        )
        best, astate = result.best, result.anchor
        anonymization = search(
            freq, policy, levels=dict(zip(self.qi, astate.levels, strict=True)), problem=problem
        )
        mask = best.suppressed_mask if best.suppressed_mask is not None else np.zeros(0, bool)
        gone = ~astate.kept[data.person_of]
        levels: dict[str, dict[str, int]] = {}
        labels: dict[str, dict[str, Any]] = {}
        date_rank = -1
        icd_rank = -1
        for col, lv in zip(data.columns, best.event_levels, strict=True):
            levels.setdefault(col.table, {})[col.name] = int(lv)
            label = level_label(col.hierarchy, lv)
            labels[f"{col.table}.{col.name}"] = {
                "level": int(lv),
                "label": label,
                "min_level": col.min_level,
                "max_level": col.height - 1 if col.max_level is None else col.max_level,
                "height": col.height,
            }
            if isinstance(col.hierarchy, DateHierarchy):
                date_rank = max(
                    date_rank, _DATE_ORDER.index(label) if label in _DATE_ORDER else len(DATE_UNITS)
                )
            if isinstance(col.hierarchy, Icd10Hierarchy):
                icd_rank = max(icd_rank, _ICD_ORDER.index(label) if label in _ICD_ORDER else 4)
        suppressed: dict[str, IntArray] = {}
        tables: dict[str, Any] = {}
        expected: dict[str, int] = {}
        for t, name in enumerate(data.tables):
            of_t = data.table_of == t
            suppressed[name] = np.sort(data.event_id[of_t & mask])
            n_in = int(rows_read[name])
            n_gone = int((of_t & gone).sum())
            n_supp = int((of_t & mask).sum())
            expected[name] = int(of_t.sum()) - n_gone - n_supp
            tables[name] = {
                "events_in": n_in,
                "events_of_absent_or_unlinked_patients": n_in - int(of_t.sum()),
                "events_of_suppressed_patients": n_gone,
                "events_suppressed": n_supp,
                "cells_suppressed": n_supp * len(data.table_columns[t]),
                "events_out": expected[name],
                "kept_share": expected[name] / n_in if n_in else 1.0,
            }
        risk_before = _risk_in_memory(searcher, astate, tuple(c.min_level for c in data.columns), k)
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
            "lower_bound": best.lower_bound,
            "anchor_levels": dict(zip(self.qi, astate.levels, strict=True)),
            "levels": labels,
            "tables": tables,
            "events_in": int(sum(rows_read.values())),
            "events_suppressed": best.suppressed_events,
            "cells_suppressed": int(sum(t["cells_suppressed"] for t in tables.values())),
            "max_suppressed_events": best.max_suppressed,
            "suppressed_share": best.suppressed_events / max(int((~gone).sum()), 1),
            "search": {**result.stats, "rounds": best.rounds},
            "risk_before": risk_before,
            "risk_before_definition": (
                "every event at its finest allowed level, no event suppressed, "
                "demographics as released"
            ),
        }
        report["search"].pop("seconds", None)  # timing varies: keep the manifest reproducible
        follow = {}
        for dep, event in events.follow:
            et = events.table(event)
            if et is not None:
                follow[dep] = (event, et.id_column)
        anchor_levels = dict(zip(self.qi, astate.levels, strict=True))
        notes = NoteRules(
            date_level=_DATE_ORDER[date_rank] if date_rank >= 0 else None,
            remove_ages=True,
            remove_sex=events.sex_column is not None and anchor_levels[events.sex_column] > 0,
            plain_tags=events.tags == "plain",
            icd10_level=_ICD_ORDER[icd_rank] if icd_rank >= 0 else None,
        )
        report["notes"] = notes.to_dict()
        release_events = ReleaseEvents(
            levels=levels,
            suppressed=suppressed,
            follow=follow,
            id_columns={et.name: et.id_column for et in events.tables},
            expected_out=expected,
            notes=notes,
            report=report,
        )
        return anonymization, release_events


def plan_longitudinal(
    plan: ReleasePlan,
    events: EventModel,
    *,
    source: Source,
    key: ReleaseKey,
    batch_size: int,
    progress: ProgressFn | None = None,
) -> tuple[Anonymization, int, ReleaseEvents]:
    """Count pass, event pass and joint search (the local executor's); raises
    ``PrivacyTargetNotMet``."""
    from deid.passes import batches, count_anchor, notify, total_rows

    planner = LongitudinalPlanner(plan, events)
    freq, rows_in = count_anchor(
        plan, source=source, batch_size=batch_size, progress=progress, collect=planner.anchor.add
    )
    for name, collector in planner.collectors.items():
        tp = plan.table(name)
        spec = planner.specs[name]
        phase = f"events:{name}"
        total = total_rows(source, tp)
        notify(progress, phase, 0, total)
        for batch in batches(source, tp, spec, batch_size):
            collector.add_leaves(event_leaves(batch, collector, spec, key))
            notify(progress, phase, collector.rows, total)
    anonymization, release_events = planner.decide(freq, progress)
    return anonymization, rows_in, release_events


def _max_level(table: str, column: str, spec: TableSpec, min_level: int) -> int | None:
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
    searcher: LongitudinalSearch, astate: AnchorState, levels: tuple[int, ...], k: int
) -> dict[str, Any]:
    """Risk of the events at ``levels`` without event suppression (the 'before' figure)."""
    d = searcher.data
    item, _ = searcher.items(levels)
    kept = np.flatnonzero(astate.kept)
    live = astate.kept[d.person_of]
    persons = pl.DataFrame({"person": kept, "cls": astate.klass[kept]})
    events = pl.DataFrame({"person": d.person_of[live], "item": item[live]})
    return km_risk_frames(persons, events, k=k, ms=RISK_MS)


def attacker_columns(
    classes: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Released columns an attacker may know: all but pseudonyms and scrubbed text."""
    return [
        c
        for c, info in classes.items()
        if info.get("class") not in ("pseudonymized", "scrubbed_text")
    ]


def check_written(
    staging: Path,
    plan: ReleasePlan,
    release_events: ReleaseEvents,
    released_columns: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> dict[str, Any]:
    """Measure the written files; raise ``PrivacyTargetNotMet`` if any m <= model's m fails.

    The attacker knows every released column of the person table and of each event
    table but the pseudonyms (and scrubbed text). Reads only what was written.
    """
    report = release_events.report
    k, m = int(report["k"]), int(report["m"])
    link = plan.link_column
    person = read_released_table(staging, plan.anchor)
    quasi = [c for c in attacker_columns(released_columns.get(plan.anchor, {})) if c != link]
    event_tables = {}
    for t in release_events.levels:
        table = read_released_table(staging, t)
        expected = release_events.expected_out[t]
        if table.num_rows != expected:
            raise SourceChangedError(
                f"the event table {t!r} changed during the build: the search released "
                f"{expected} rows, the transform pass wrote {table.num_rows} (nothing was "
                "published; rebuild from a stable snapshot of the source)"
            )
        known = [c for c in attacker_columns(released_columns.get(t, {})) if c != link]
        event_tables[t] = (table, known)
    measured = km_risk_tables(person, link, quasi, event_tables, k=k, ms=sorted({*RISK_MS, m}))
    for mm in range(m + 1):
        part = measured.get(f"m{mm}", {})
        if not part.get("measured", mm == 0) or part.get("below_k", 0):
            raise PrivacyTargetNotMet(
                f"the written release is not (k={k}, k^m)-anonymous for m={mm}: "
                f"{part.get('below_k', 'unmeasured')} patients have a combination shared by "
                f"fewer than {k} patients (nothing was published)",
                {"risk_after": measured},
            )
    return measured
