"""The lifelog release transform: minute series -> windows per person pseudonym, shifted.

A pure function of Arrow tables (:func:`aggregate_rows`), run on the rows of whole
devices: locally on chunks of devices, on Spark per device group. Per released
person and window (aligned to the window size from midnight):

- ``steps``: the sum; ``hr_mean`` / ``hr_min`` / ``hr_max`` over the worn minutes
  (``minutes_worn``); minutes in each sleep stage (``sleep_<stage>_min``);
- ``window_start``: the window's start after the patient's own date shift (whole
  days, the same offset as the clinical tables and notes), so it is on a window
  boundary;
- GPS: dropped, or (``gps: sigungu``) the 시군구 most of the window's points fall in
  (nearest centre of a Gangwon 시군, within 25 km; else null). Coordinates never leave.

Device ids become the person pseudonym; devices of persons not released are dropped.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from deid.errors import DataError

__all__ = [
    "LIFELOG_TABLE",
    "SLEEP_STAGES",
    "aggregate_rows",
    "column_classes",
    "device_table",
    "output_schema",
    "sigungu_of",
]

LIFELOG_TABLE = "lifelog"
SLEEP_STAGES = ("awake", "light", "deep", "rem")
SOURCE_COLUMNS = ("device_id", "ts", "steps", "heart_rate", "sleep_stage", "lat", "lon")
_MAX_KM = 25.0


def output_schema(*, gps: str) -> pa.Schema:
    fields = [
        ("person_id", pa.string()),
        ("window_start", pa.timestamp("s")),
        ("steps", pa.int64()),
        ("hr_mean", pa.float64()),
        ("hr_min", pa.float64()),
        ("hr_max", pa.float64()),
        ("minutes_worn", pa.int64()),
        *((f"sleep_{s}_min", pa.int64()) for s in SLEEP_STAGES),
    ]
    if gps == "sigungu":
        fields.append(("sigungu", pa.string()))
    return pa.schema(fields)


def column_classes(*, gps: str, window: str, person_domain: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "person_id": {"class": "pseudonymized", "domain": person_domain},
        "window_start": {"class": "generalized", "window": window, "date_shifted": True},
    }
    for name in output_schema(gps="drop").names[2:]:
        out[name] = {"class": "aggregated", "window": window}
    if gps == "sigungu":
        out["sigungu"] = {"class": "generalized", "from": "gps", "level": "sigungu"}
    return out


@cache
def _centres() -> tuple[list[str], npt.NDArray[np.float64]]:
    text = resources.files("deid.data").joinpath("kr_sigungu_centroids.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    names = [f"{r['sido']} {r['sigungu']}" for r in rows]
    coords = np.array([[float(r["lat"]), float(r["lon"])] for r in rows])
    return names, coords


def sigungu_of(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> list[str | None]:
    """The nearest 시군 centre within 25 km of each point (equirectangular distance)."""
    names, coords = _centres()
    dlat = (lat[:, None] - coords[None, :, 0]) * 111.0
    dlon = (lon[:, None] - coords[None, :, 1]) * 111.0 * np.cos(np.radians(coords[None, :, 0]))
    dist = np.hypot(dlat, dlon)
    best = dist.argmin(axis=1)
    ok = dist[np.arange(len(best)), best] <= _MAX_KM
    return [names[b] if k else None for b, k in zip(best.tolist(), ok.tolist(), strict=True)]


def device_table(
    device_ids: list[str],
    persons: pa.Array,
    released: pa.Array,
    pseudonyms: pa.Array,
    shift_days: pa.Array | None,
) -> pa.Table:
    """The released devices: ``device_id``, ``person_id`` (pseudonym), ``shift_days``.

    ``persons``, ``released`` and ``pseudonyms`` align with ``device_ids``; two devices
    of one released person fail (one series per person).
    """
    mask = released.to_pylist()
    ids = [d for d, m in zip(device_ids, mask, strict=True) if m]
    kept = pseudonyms.filter(released)
    seen: dict[str, str] = {}
    for device, p in zip(ids, kept.to_pylist(), strict=True):
        if p in seen:
            raise DataError(
                f"devices {seen[p]!r} and {device!r} belong to the same patient; a release has "
                "one lifelog series per person",
                field="device_id",
            )
        seen[p] = device
    shifts = (
        pa.array([0] * len(ids), pa.int32()) if shift_days is None else shift_days.filter(released)
    )
    return pa.table(
        {"device_id": pa.array(ids, pa.string()), "person_id": kept, "shift_days": shifts}
    )


def _check_rows(df: pl.DataFrame) -> None:
    missing = [c for c in ("device_id", "ts", "steps") if c not in df.columns]
    if missing:
        raise DataError(f"lifelog source lacks columns {missing}", field=missing[0])
    bad = df.filter(pl.col("ts").is_null() | pl.col("device_id").is_null())
    if bad.height:
        device = bad["device_id"][0]
        raise DataError(
            "a minute has no device or no timestamp", record=f"device {device}", field="ts"
        )
    neg = df.filter(pl.col("steps") < 0)
    if neg.height:
        raise DataError(
            f"negative steps ({neg['steps'][0]}) at {neg['ts'][0]}",
            record=f"device {neg['device_id'][0]}",
            field="steps",
        )


def aggregate_rows(rows: pa.Table, devices: pa.Table, *, window_minutes: int, gps: str) -> pa.Table:
    """Aggregate the minutes of whole devices (see the module docstring)."""
    schema = output_schema(gps=gps)
    df = pl.from_arrow(rows)
    assert isinstance(df, pl.DataFrame)
    _check_rows(df)
    dev = pl.from_arrow(devices)
    assert isinstance(dev, pl.DataFrame)
    df = df.join(dev, on="device_id", how="inner")
    if df.height == 0:
        return schema.empty_table()
    for col, dtype in (("heart_rate", pl.Float64), ("sleep_stage", pl.String)):
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    df = df.with_columns(
        (pl.col("ts").cast(pl.Datetime("us")) + pl.duration(days=pl.col("shift_days")))
        .dt.truncate(f"{window_minutes}m")
        .alias("window_start")
    )
    aggs = [
        pl.col("steps").sum().cast(pl.Int64).alias("steps"),
        pl.col("heart_rate").cast(pl.Float64).mean().round(1).alias("hr_mean"),
        pl.col("heart_rate").cast(pl.Float64).min().alias("hr_min"),
        pl.col("heart_rate").cast(pl.Float64).max().alias("hr_max"),
        pl.col("heart_rate").is_not_null().sum().cast(pl.Int64).alias("minutes_worn"),
        *(
            (pl.col("sleep_stage") == s)
            .fill_null(False)
            .sum()
            .cast(pl.Int64)
            .alias(f"sleep_{s}_min")
            for s in SLEEP_STAGES
        ),
    ]
    if gps == "sigungu":
        has = {"lat", "lon"} <= set(df.columns)
        if has:
            located = df.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
            places = sigungu_of(located["lat"].to_numpy(), located["lon"].to_numpy())
            df = df.join(
                located.select("person_id", "ts").with_columns(
                    pl.Series("sigungu", places, dtype=pl.String)
                ),
                on=["person_id", "ts"],
                how="left",
            )
        else:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias("sigungu"))
        aggs.append(pl.col("sigungu").drop_nulls().mode().sort().first().alias("sigungu"))
    out = (
        df.group_by("person_id", "window_start")
        .agg(aggs)
        .sort("person_id", "window_start")
        .with_columns(pl.col("window_start").cast(pl.Datetime("ms")))
    )
    table = out.select(schema.names).to_arrow()
    return table.cast(schema)
