"""The local executor: count pass -> search -> transform pass -> sink -> publish.

Streams batches from a :class:`~deid.sources.base.Source`, so memory is bounded by
the batch size, plus the frequency table of distinct quasi-identifier combinations
and, for linked tables, the anchor's persons as :class:`~deid.transform.AnchorPersons`
(a bitmap over the person-id range and the suppressed persons: not per row). If the privacy target cannot be met, the search
raises ``PrivacyTargetNotMet`` before anything is written. Any exception (including
one raised by the ``progress`` callback to cancel) removes the staging folder:
nothing is published.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from deid import settings
from deid.errors import DeidError, PolicyError, SourceChangedError
from deid.keys import KeyStore, ReleaseKey
from deid.passes import (
    DEFAULT_BATCH_SIZE,
    ProgressFn,
    batches,
    count_anchor,
    notify,
    source_changed,
    total_rows,
)
from deid.plan import ReleasePlan
from deid.sinks import Manifest, StagingSink
from deid.transform import (
    AnchorPersons,
    TableSpec,
    TextScrubber,
    _check_columns,
    column_classes,
    finish_batch,
    generalize_anchor,
    transform_batch,
)

if TYPE_CHECKING:
    from deid.anonymize import Anonymization
    from deid.longitudinal.release import ReleaseEvents
    from deid.sources.base import Source

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ProgressFn",
    "build_release",
    "build_threads",
    "count_anchor",
    "plan_anonymization",
    "privacy_report",
]


def plan_anonymization(
    plan: ReleasePlan,
    *,
    source: Source,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> tuple[Anonymization, int]:
    """Count pass + search on the anchor table (raises ``PrivacyTargetNotMet``)."""
    from deid.anonymize import search

    freq, rows = count_anchor(plan, source=source, batch_size=batch_size, progress=progress)
    notify(progress, "search", 0, None)
    anonymization = search(freq, TableSpec.from_plan(plan, plan.anchor).policy)
    notify(progress, "search", 1, 1)
    return anonymization, rows


def _needs_scrubber(specs: Mapping[str, TableSpec]) -> bool:
    for spec in specs.values():
        for col in spec.policy.columns.values():
            if getattr(col, "role", None) == "text" and getattr(col, "transform", None) != "drop":
                return True
    return False


def build_release(  # noqa: C901
    plan: ReleasePlan,
    *,
    source: Source,
    keystore: KeyStore,
    releases_dir: Path | str,
    progress: ProgressFn | None = None,
    text_scrubber: TextScrubber | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Manifest:
    """Build and publish a release from its plan; return the published manifest."""
    from deid.anonymize import released_class_sizes

    if (Path(releases_dir) / plan.release_id).exists():
        raise DeidError(
            f"release {plan.release_id!r} is already published in {releases_dir}; a release "
            "is immutable (remove it first to rebuild)"
        )
    from deid.kinds import check_ready

    check_ready(plan)  # genome / lifelog: the key and the sources, before any work
    key: ReleaseKey = keystore.release_key(plan.key_id)
    specs = {t.name: TableSpec.from_plan(plan, t.name) for t in plan.tables}
    if text_scrubber is None and _needs_scrubber(specs):
        from deid.text.adapter import default_text_scrubber

        text_scrubber = default_text_scrubber()
    events_model = plan.events
    release_events: ReleaseEvents | None = None
    if events_model is not None:
        from deid.longitudinal.release import plan_longitudinal

        anonymization, anchor_rows_in, release_events = plan_longitudinal(
            plan, events_model, source=source, key=key, batch_size=batch_size, progress=progress
        )
    else:
        anonymization, anchor_rows_in = plan_anonymization(
            plan, source=source, batch_size=batch_size, progress=progress
        )
    anchor_tp = plan.anchor_table
    anchor_spec = specs[plan.anchor]
    link = plan.link_column
    table_stats: dict[str, dict[str, int]] = {}
    with StagingSink(releases_dir, plan.release_id) as sink:
        # Transform pass over the anchor table; note its persons and the suppressed ones.
        persons = AnchorPersons()
        has_link = False
        writer = sink.table(anchor_tp.name, columns=column_classes(anchor_spec, anonymization))
        rows_in = rows_out = 0
        phase = f"transform:{anchor_tp.name}"
        notify(progress, phase, 0, anchor_rows_in)

        def anchor_step(batch: pa.RecordBatch) -> tuple[int, pa.RecordBatch, Any, Any]:
            _check_columns(batch, anchor_spec)
            generalized = generalize_anchor(batch, anchor_spec, anonymization)
            ids = None
            if link in generalized.schema.names:
                column = batch.column(link)
                ids = (column.type, *AnchorPersons.batch_ids(column, generalized.column(link)))
            classes = released_class_sizes(generalized, anonymization)
            out = finish_batch(generalized, spec=anchor_spec, key=key, text_scrubber=text_scrubber)
            return batch.num_rows, out, ids, classes

        threads = 1 if anchor_spec.policy.text_columns else build_threads()
        anchor_batches = batches(source, anchor_tp, anchor_spec, batch_size)
        released = np.zeros(len(anonymization.kept_classes or ()), dtype=np.int64)
        for n_in, out, ids, classes in _ordered_map(anchor_step, anchor_batches, threads):
            released += classes  # released records per approved class
            if ids is not None:
                persons.add_distinct(*ids)
                has_link = True
            writer.write(out)
            rows_in += n_in
            rows_out += out.num_rows
            if rows_in > anchor_rows_in:
                raise source_changed(anchor_tp.name, anchor_rows_in, rows_in, "at least ")
            notify(progress, phase, rows_in, anchor_rows_in)
        if rows_in != anchor_rows_in:
            raise source_changed(anchor_tp.name, anchor_rows_in, rows_in)
        _check_released_classes(anchor_tp.name, anonymization, released)
        table_stats[anchor_tp.name] = {"rows_in": rows_in, "rows_out": rows_out}
        keep = persons if has_link else None
        if keep is None and len(plan.tables) > 1:
            raise PolicyError(
                f"tables.{anchor_tp.name}.policy.columns.{link}",
                "the anchor table must include the link column to release linked tables",
            )
        # Transform pass over every linked table.
        for tp in plan.tables:
            if tp.name == plan.anchor:
                continue
            spec = specs[tp.name]
            total = total_rows(source, tp)
            phase = f"transform:{tp.name}"
            notify(progress, phase, 0, total)
            writer = sink.table(tp.name, columns=column_classes(spec, events=release_events))
            rows_in = rows_out = 0

            def step(batch: pa.RecordBatch, spec: TableSpec = spec) -> tuple[int, pa.RecordBatch]:
                out = transform_batch(
                    batch,
                    table_policy=spec,
                    anonymization=None,
                    keys=key,
                    text_scrubber=text_scrubber,
                    keep_persons=keep,
                    events=release_events,
                )
                return batch.num_rows, out

            threads = 1 if spec.policy.text_columns else build_threads()
            for n_in, out in _ordered_map(step, batches(source, tp, spec, batch_size), threads):
                writer.write(out)
                rows_in += n_in
                rows_out += out.num_rows
                notify(progress, phase, rows_in, total)
            table_stats[tp.name] = {"rows_in": rows_in, "rows_out": rows_out}
        # Genome files and the lifelog table, for the same released persons.
        from deid.kinds import KindsState, kinds_report, require_link, write_local

        require_link(plan, keep is not None)
        kinds = (
            write_local(plan, key=key, contains=keep.contains, sink=sink, progress=progress)
            if keep is not None
            else KindsState()
        )
        notify(progress, "publish", 0, None)
        report = _privacy_report(plan, anonymization, table_stats, keep)
        for w in sink.writers():
            w.close()  # the check reads the staged files
        report.update(
            longitudinal_report(sink.staging_dir, plan, release_events, sink.column_classes())
        )
        report.update(kinds_report(plan, sink.staging_dir, sink.column_classes(), kinds))
        manifest = sink.publish(
            plan_digest=plan.digest(),
            key_id=plan.key_id,
            privacy_report=report,
            plan=plan.to_dict(),
            created_at=plan.created_at,
        )
        notify(progress, "publish", 1, 1)
    return manifest


def _check_released_classes(
    table: str, anonymization: Anonymization, released: npt.NDArray[np.int64]
) -> None:
    """The anchor's released records per class must be exactly what the search approved.

    Same row count is not enough: records deleted from a class and as many added
    elsewhere would shrink an approved class below k. ``released``: records per
    approved class (``released_class_sizes`` summed); memory: 8 bytes per class.
    """
    expected = np.array(anonymization.kept_sizes or (), dtype=np.int64)
    if len(released) != len(expected) or not np.array_equal(released, expected):
        differ = int((released != expected).sum()) if len(released) == len(expected) else -1
        raise SourceChangedError(
            f"the anchor table {table!r} changed during the build: the transform pass "
            f"released {int(released.sum())} records of the approved classes, the count "
            f"pass counted {int(expected.sum())} ({differ} of {len(expected)} classes "
            "differ); expected the same records (nothing was published; rebuild from a "
            "stable snapshot of the source)"
        )


def build_threads() -> int:
    """Threads for the transform pass: ``DEID_BUILD_THREADS``, default the CPU count (max 8).

    Arrow, polars and the native HMAC release the GIL, so batches transform in parallel
    while the source reads the next ones; output order is kept (same files).
    """
    return settings.build_threads()


T = TypeVar("T")
R = TypeVar("R")


def _ordered_map(fn: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """``map(fn, items)`` on ``threads`` threads, in order, with at most 2*threads in flight."""
    if threads <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="deid-build") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()


def longitudinal_report(
    staging: Path,
    plan: ReleasePlan,
    release_events: ReleaseEvents | None,
    released_columns: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> dict[str, Any]:
    """The privacy report's ``longitudinal`` section, measured on the staged files.

    With a threat model (``release.events``): the search's report and the risk
    measured on the written files, which must meet (k, k^m) (else
    ``PrivacyTargetNotMet``: nothing is published). Without one, a multi-table
    release still gets the risk of its written files measured, with every released
    column of every linked table but pseudonyms and text as known to the attacker,
    and a warning: its k covers the demographics only.
    """
    from deid.longitudinal.measure import km_risk_tables, read_released_table
    from deid.longitudinal.release import RISK_MS, attacker_columns, check_written

    if release_events is not None:
        measured = check_written(staging, plan, release_events, released_columns)
        return {"longitudinal": {**release_events.report, "risk_after": measured}, "warnings": []}
    linked = [t.name for t in plan.tables if t.name != plan.anchor]
    link = plan.link_column
    events = {}
    for name in linked:
        known = [c for c in attacker_columns(released_columns.get(name, {})) if c != link]
        table = read_released_table(staging, name)
        if known and link in table.column_names:
            events[name] = (table, known)
    if not events:
        return {"longitudinal": None, "warnings": []}
    anchor = read_released_table(staging, plan.anchor)
    if link not in anchor.column_names:
        return {"longitudinal": None, "warnings": []}
    quasi = [c for c in attacker_columns(released_columns.get(plan.anchor, {})) if c != link]
    k = int(TableSpec.from_plan(plan, plan.anchor).policy.privacy.k)
    measured = km_risk_tables(anchor, link, quasi, events, k=k, ms=RISK_MS)
    return {
        "longitudinal": {
            "model": None,
            "k": k,
            "known": {name: list(known) for name, (_, known) in sorted(events.items())},
            "risk_after": measured,
        },
        "warnings": [
            "no longitudinal threat model (release.events): k covers the anchor table's "
            "demographics only; the linked tables' risk below is measured, not controlled"
        ],
    }


def privacy_report(
    plan: ReleasePlan,
    anonymization: Anonymization,
    table_stats: dict[str, dict[str, int]],
    keep: Sized | None,
) -> dict[str, Any]:
    """The manifest's privacy report; ``table_stats``: table -> {rows_in, rows_out}."""
    return _privacy_report(plan, anonymization, table_stats, keep)


def _privacy_report(
    plan: ReleasePlan,
    anonymization: Anonymization,
    table_stats: dict[str, dict[str, int]],
    keep: Sized | None,
) -> dict[str, Any]:
    """The privacy report of the manifest (deterministic: a rebuild gives the same)."""
    anchor = table_stats[plan.anchor]
    report = anonymization.report.to_dict()
    search = report.get("search")
    if isinstance(search, dict):
        search.pop("seconds", None)  # timing varies: keep the manifest reproducible
    return {
        "anchor": plan.anchor,
        "report": report,
        "levels": dict(anonymization.levels),
        "suppressed_classes": len(anonymization.suppressed_classes),
        "policy_digest": anonymization.policy_digest,
        "records_in": anchor["rows_in"],
        "records_released": anchor["rows_out"],
        "records_suppressed": anchor["rows_in"] - anchor["rows_out"],
        "persons_released": len(keep) if keep is not None else None,
        "tables": {
            name: {**stats, "rows_dropped": stats["rows_in"] - stats["rows_out"]}
            for name, stats in table_stats.items()
        },
        "key_id": plan.key_id,
        "plan_digest": plan.digest(),
    }
