"""Genome and lifelog data in a release, beside the CDW tables (both executors).

Both kinds link to patients through the platform's linkage tables and are released
only for the persons the anchor table releases (after suppression), named by the
same person pseudonym and shifted by the same per-patient offset as the clinical
tables. The local executor calls :func:`write_local`; the Spark executor runs the
same per-part functions on its workers; both finish with :func:`kinds_report`,
measured on the written files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from deid.errors import DataError, PolicyError

if TYPE_CHECKING:
    from deid.genome.release import Mapper
    from deid.keys import ReleaseKey
    from deid.plan import ReleasePlan
    from deid.sinks import StagingSink

__all__ = [
    "KindsState",
    "check_ready",
    "kinds_report",
    "person_shift",
    "require_link",
    "write_local",
]

Contains = Callable[[pa.Array], pa.Array]
ProgressFn = Callable[[str, int, "int | None"], None]


@dataclass
class KindsState:
    """What the transform of the other kinds learned, for the report."""

    genome: dict[str, Any] | None = None
    lifelog_counts: dict[str, int] = field(default_factory=dict)


def require_link(plan: ReleasePlan, has_link: bool) -> None:
    if (plan.genome is not None or plan.lifelog is not None) and not has_link:
        raise PolicyError(
            f"tables.{plan.anchor}.policy.columns.{plan.link_column}",
            "genome and lifelog data are released for the anchor table's released persons: "
            "the anchor table must include the link column",
        )


def check_ready(plan: ReleasePlan) -> None:
    """Fail before any work if a requested kind cannot be built (no key, no source)."""
    genome = plan.genome
    if genome is not None:
        from deid.genome.release import LINKAGE_NAME, source_files

        if genome.recipient_public_key is None:
            raise PolicyError(
                "genome.recipient_public_key",
                "genome files are published encrypted to the recipient: register the "
                "recipient organization's Crypt4GH public key first",
            )
        if genome.source is None:
            raise PolicyError("genome.source", "the plan names no genome source folder")
        source_files(Path(genome.source))
        if not (Path(genome.source) / LINKAGE_NAME).is_file():
            raise DataError(
                f"the genome source {genome.source!r} has no {LINKAGE_NAME}", field="genome.source"
            )
    lifelog = plan.lifelog
    if lifelog is not None:
        from deid.lifelog.release import LINKAGE_NAME as LIFELOG_LINKAGE
        from deid.lifelog.release import minutes_path

        minutes_path(lifelog)
        assert lifelog.source is not None
        if not (Path(lifelog.source) / LIFELOG_LINKAGE).is_file():
            raise DataError(
                f"the lifelog source {lifelog.source!r} has no {LIFELOG_LINKAGE}",
                field="lifelog.source",
            )


def person_shift(plan: ReleasePlan, key: ReleaseKey) -> Callable[[pa.Array], pa.Array] | None:
    """Person pseudonyms -> their date shift in days (as the clinical tables), or None."""
    if plan.date_shift_max_days is None:
        return None
    from deid.dates import date_shift_days

    max_days, allow_zero = plan.date_shift_max_days, plan.date_shift_allow_zero

    def shift(pseudonyms: pa.Array) -> pa.Array:
        return date_shift_days(pseudonyms, key, max_days=max_days, allow_zero=allow_zero)

    return shift


def write_genome(
    plan: ReleasePlan,
    *,
    key: ReleaseKey,
    contains: Contains,
    staging: Path,
    add_file: Callable[[Path, str, str, int], None],
    mapper: Mapper | None = None,
    split: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any] | None:
    spec = plan.genome
    if spec is None:
        return None
    from deid.genome.release import GENOME_TABLE, build_genome

    files, report = build_genome(
        spec,
        staging=staging,
        contains=contains,
        person_key=key.domain_key(plan.person_domain),
        mapper=mapper,
        split=split,
        progress=progress,
    )
    for f in files:
        add_file(f.path, GENOME_TABLE, "vcf.gz.c4gh", f.variants)
    return report


def lifelog_devices(
    plan: ReleasePlan, *, key: ReleaseKey, contains: Contains, device_ids: list[str]
) -> pa.Table:
    """The released devices with their person pseudonym and date shift (see lifelog.release)."""
    from deid.lifelog.release import released_devices

    assert plan.lifelog is not None
    return released_devices(
        plan.lifelog,
        device_ids=device_ids,
        contains=contains,
        person_key=key.domain_key(plan.person_domain),
        shift=person_shift(plan, key),
    )


def write_local(
    plan: ReleasePlan,
    *,
    key: ReleaseKey,
    contains: Contains,
    sink: StagingSink,
    progress: ProgressFn | None = None,
) -> KindsState:
    """The local executor's genome files and lifelog table, written into ``sink``."""
    state = KindsState()
    state.genome = write_genome(
        plan,
        key=key,
        contains=contains,
        staging=sink.staging_dir,
        add_file=lambda path, table, fmt, rows: sink.add_file(
            path, table=table, format=fmt, rows=rows
        ),
        progress=progress,
    )
    spec = plan.lifelog
    if spec is not None:
        from deid.lifelog.aggregate import LIFELOG_TABLE, column_classes, output_schema
        from deid.lifelog.release import (
            DEVICES_PER_CHUNK,
            local_batches,
            minutes_path,
            source_devices,
        )

        device_ids = source_devices(minutes_path(spec))
        devices = lifelog_devices(plan, key=key, contains=contains, device_ids=device_ids)
        writer = sink.table(
            LIFELOG_TABLE,
            columns=column_classes(
                gps=spec.gps, window=spec.window, person_domain=plan.person_domain
            ),
        )
        total = devices.num_rows
        if progress is not None:
            progress(f"transform:{LIFELOG_TABLE}", 0, total)
        done = 0
        counts = state.lifelog_counts
        for part in local_batches(spec, devices):
            for batch in part.to_batches():
                writer.write(batch)
            done = min(total, done + DEVICES_PER_CHUNK)
            if progress is not None:
                progress(f"transform:{LIFELOG_TABLE}", done, total)
        if writer.schema is None:
            writer.close(empty_schema=output_schema(gps=spec.gps))
        counts["devices_in"] = len(device_ids)
        counts["devices_released"] = devices.num_rows
    return state


def kinds_report(
    plan: ReleasePlan,
    staging: Path,
    released_columns: Mapping[str, Mapping[str, Mapping[str, Any]]],
    state: KindsState,
) -> dict[str, Any]:
    """The ``genome`` and ``lifelog`` sections of the privacy report (measured on the files)."""
    out: dict[str, Any] = {}
    if state.genome is not None:
        out["genome"] = state.genome
    spec = plan.lifelog
    if spec is not None:
        from deid.lifelog.aggregate import LIFELOG_TABLE
        from deid.lifelog.release import lifelog_report
        from deid.longitudinal.measure import read_released_table
        from deid.longitudinal.release import attacker_columns

        link = plan.link_column
        quasi = [c for c in attacker_columns(released_columns.get(plan.anchor, {})) if c != link]
        counts = state.lifelog_counts
        out["lifelog"] = lifelog_report(
            spec,
            lifelog=read_released_table(staging, LIFELOG_TABLE),
            anchor=read_released_table(staging, plan.anchor),
            link=link,
            quasi=quasi,
            devices_in=counts.get("devices_in", 0),
            devices_released=counts.get("devices_released", 0),
        )
    return out
