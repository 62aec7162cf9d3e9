"""The lifelog part of a release: ``minutes.parquet`` + linkage -> the ``lifelog`` table.

1. Every device in the source must be linked to a CDW patient (else ``DataError``
   naming the device ids: nothing is published). The released devices are those
   whose patient is released in the anchor table; each gets the patient's person
   pseudonym and date shift (:func:`released_devices`, on the driver: one row per
   device).
2. The minutes of whole devices are aggregated (:func:`deid.lifelog.aggregate.
   aggregate_rows`): locally chunk by chunk of devices (:func:`local_batches`, reading
   only their row groups), on Spark per device group.
3. The uniqueness of the written series is measured (:func:`lifelog_report`); over
   the policy's ``max_unique_share`` the build fails and nothing is published.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from deid.errors import DataError, PolicyError, PrivacyTargetNotMet
from deid.lifelog.aggregate import SOURCE_COLUMNS, aggregate_rows, device_table
from deid.lifelog.spec import LifelogSpec

__all__ = ["lifelog_report", "local_batches", "minutes_path", "released_devices"]

MINUTES_NAME = "minutes.parquet"
LINKAGE_NAME = "linkage.csv"
DEVICES_PER_CHUNK = 256
Contains = Callable[[pa.Array], pa.Array]


def minutes_path(spec: LifelogSpec) -> Path:
    if spec.source is None:
        raise PolicyError("lifelog.source", "the plan names no lifelog source folder")
    path = Path(spec.source) / MINUTES_NAME
    if not path.is_file():
        raise DataError(f"lifelog source {str(path)!r} does not exist", field="lifelog.source")
    return path


def source_devices(path: Path) -> list[str]:
    column = pq.read_table(path, columns=["device_id"]).column("device_id")
    if column.null_count:
        raise DataError(
            f"{path.name}: {column.null_count} minutes have no device_id", field="device_id"
        )
    return sorted(pc.unique(column).to_pylist())


def released_devices(
    spec: LifelogSpec,
    *,
    device_ids: Sequence[str],
    contains: Contains,
    person_key: bytes,
    shift: Callable[[pa.Array], pa.Array] | None,
) -> pa.Table:
    """``device_id``, ``person_id`` (pseudonym), ``shift_days`` of the released devices."""
    from deid.linkage import read_linkage
    from deid.pseudonym import pseudonymize

    assert spec.source is not None
    linkage = read_linkage(Path(spec.source) / LINKAGE_NAME, "device_id")
    ids = list(device_ids)
    persons = linkage.person_of(ids)
    released = contains(persons)
    pseudonyms = pseudonymize(persons, person_key, field="person_id")
    shifts = shift(pseudonyms) if shift is not None else None
    return device_table(ids, persons, released, pseudonyms, shifts)


def local_batches(spec: LifelogSpec, devices: pa.Table) -> Iterator[pa.Table]:
    """The aggregated windows, chunk by chunk of released devices (whole devices each)."""
    path = minutes_path(spec)
    dataset = ds.dataset(path, format="parquet")
    columns = [c for c in SOURCE_COLUMNS if c in dataset.schema.names]
    if spec.gps == "drop":
        columns = [c for c in columns if c not in ("lat", "lon")]  # never read
    ids = devices.column("device_id").to_pylist()
    for start in range(0, len(ids), DEVICES_PER_CHUNK):
        chunk = ids[start : start + DEVICES_PER_CHUNK]
        rows = dataset.to_table(columns=columns, filter=pc.field("device_id").isin(chunk))
        part = devices.filter(pc.is_in(devices.column("device_id"), pa.array(chunk, pa.string())))
        yield aggregate_rows(rows, part, window_minutes=spec.window_minutes, gps=spec.gps)


def lifelog_report(
    spec: LifelogSpec,
    *,
    lifelog: pa.Table,
    anchor: pa.Table,
    link: str,
    quasi: Sequence[str],
    devices_in: int,
    devices_released: int,
) -> dict[str, Any]:
    """The report section, measured on the written tables; fails over ``max_unique_share``."""
    from deid.lifelog.risk import series_uniqueness

    uniqueness = series_uniqueness(lifelog, anchor, link=link, quasi=quasi)
    section: dict[str, Any] = {
        "window": spec.window,
        "gps": spec.gps,
        "devices_in": devices_in,
        "patients_released": devices_released,
        "devices_not_released": devices_in - devices_released,
        "windows_released": lifelog.num_rows,
        "gps_released": "sigungu" if spec.gps == "sigungu" else "none (coordinates dropped)",
        "uniqueness": uniqueness,
        "max_unique_share": spec.max_unique_share,
    }
    if spec.max_unique_share is not None and uniqueness["unique_share"] > spec.max_unique_share:
        raise PrivacyTargetNotMet(
            f"lifelog: {uniqueness['unique_share']:.0%} of the released series single their "
            f"person out; the policy allows at most {spec.max_unique_share:.0%} (use a longer "
            "window, drop GPS or release fewer measures; nothing was published)",
            {"lifelog": section},
        )
    return section
