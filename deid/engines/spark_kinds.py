"""Genome and lifelog data on Spark: the same per-part functions as the local executor.

- Genome: the parts of each VCF (its contigs, or the policy's regions, through the
  tabix index) are transformed by :func:`deid.genome.release.run_part` as Spark
  tasks; the driver assembles, measures and encrypts (:func:`deid.genome.release.
  build_genome` with a Spark mapper).
- Lifelog: the minutes of the released devices (a broadcast semi-join) are grouped by
  device and aggregated by :func:`deid.lifelog.aggregate.aggregate_rows` in
  ``applyInArrow``; the windows are written as Parquet parts.

The driver learns which linked persons are released from the anchor's kept persons
(a semi-join of the linkage's person ids, collected: one row per sample or device).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from deid.kinds import KindsState, lifelog_devices, write_genome

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from deid.keys import ReleaseKey
    from deid.plan import ReleasePlan
    from deid.sinks import FileEntry

__all__ = ["LIFELOG_PARTS", "flatten_lifelog", "write_kinds_spark"]

LIFELOG_PARTS = "lifelog"
ProgressFn = Callable[[str, int, "int | None"], None]


def _released_persons(
    session: SparkSession, kept_df: DataFrame, link: str, persons: pa.Array
) -> Callable[[pa.Array], pa.Array]:
    """Membership in the kept persons for the linkage's persons (collected: they are few)."""
    from pyspark.sql import functions as F

    from deid.transform import PersonSet

    if len(persons) == 0:
        return PersonSet(pa.array([], persons.type)).contains
    candidates = session.createDataFrame(pa.table({link: persons}).to_pandas()).distinct()
    kept = candidates.join(F.broadcast(kept_df.select(link)), on=link, how="left_semi")
    ids = kept.toArrow().column(link)
    return PersonSet(ids.cast(persons.type)).contains


def write_kinds_spark(
    plan: ReleasePlan,
    *,
    session: SparkSession,
    kept_df: DataFrame,
    key: ReleaseKey,
    staging: Path,
    out_dir: Path,
    add_file: Callable[[Path, str, str, int], None],
    progress: ProgressFn | None = None,
) -> KindsState:
    """Write the genome files into ``staging`` and the lifelog parts under ``out_dir``."""
    from deid.linkage import read_linkage

    state = KindsState()
    link = plan.link_column
    genome = plan.genome
    if genome is not None and genome.source is not None:
        from deid.genome.release import LINKAGE_NAME

        linkage = read_linkage(Path(genome.source) / LINKAGE_NAME, "sample_id")
        contains = _released_persons(session, kept_df, link, linkage.persons)
        sc = session.sparkContext

        def mapper(
            fn: Callable[[dict[str, Any]], dict[str, int]], tasks: list[dict[str, Any]]
        ) -> list[dict[str, int]]:
            return sc.parallelize(tasks, max(1, len(tasks))).map(fn).collect()

        state.genome = write_genome(
            plan,
            key=key,
            contains=contains,
            staging=staging,
            add_file=add_file,
            mapper=mapper,
            split=True,
            progress=progress,
        )
    spec = plan.lifelog
    if spec is not None and spec.source is not None:
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        from deid.lifelog.aggregate import SOURCE_COLUMNS, output_schema
        from deid.lifelog.release import LINKAGE_NAME as LIFELOG_LINKAGE
        from deid.lifelog.release import minutes_path

        path = minutes_path(spec)
        minutes = session.read.parquet(str(path))
        device_ids = sorted(
            r[0] for r in minutes.select("device_id").distinct().collect() if r[0] is not None
        )
        linkage = read_linkage(Path(spec.source) / LIFELOG_LINKAGE, "device_id")
        contains = _released_persons(session, kept_df, link, linkage.persons)
        devices = lifelog_devices(plan, key=key, contains=contains, device_ids=device_ids)
        columns = [c for c in SOURCE_COLUMNS if c in minutes.columns]
        if spec.gps == "drop":
            columns = [c for c in columns if c not in ("lat", "lon")]
        released = session.createDataFrame(devices.select(["device_id"]).to_pandas())
        rows = minutes.select(*columns).join(F.broadcast(released), on="device_id", how="left_semi")
        window_minutes, gps = spec.window_minutes, spec.gps

        def aggregate(table: pa.Table) -> pa.Table:
            """One device group -> its windows (type hints: Spark reads them)."""
            from deid.lifelog.aggregate import aggregate_rows

            out = aggregate_rows(table, devices, window_minutes=window_minutes, gps=gps)
            return out.cast(spark_schema)  # Spark's timestamps are in microseconds

        arrow_schema = output_schema(gps=spec.gps)
        spark_schema = pa.schema(
            [
                pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f
                for f in arrow_schema
            ]
        )
        schema = from_arrow_schema(spark_schema, prefer_timestamp_ntz=True)
        out = rows.groupBy("device_id").applyInArrow(aggregate, schema)
        if progress is not None:
            progress("transform:lifelog", 0, devices.num_rows)
        out.write.parquet(str(out_dir / LIFELOG_PARTS))
        if progress is not None:
            progress("transform:lifelog", devices.num_rows, devices.num_rows)
        state.lifelog_counts.update(devices_in=len(device_ids), devices_released=devices.num_rows)
    return state


def flatten_lifelog(
    plan: ReleasePlan, *, out_dir: Path, staging: Path
) -> tuple[list[FileEntry], str, dict[str, dict[str, Any]], dict[str, Any]] | None:
    """Move Spark's lifelog parts into staging as ``lifelog-part-NNNNN.parquet``.

    Returns the manifest's file entries, the table name, its column classes and its
    manifest table entry (None without lifelog).
    """
    import pyarrow.parquet as pq

    from deid.lifelog.aggregate import LIFELOG_TABLE, column_classes
    from deid.sinks import FileEntry, file_sha256

    spec = plan.lifelog
    if spec is None or not (out_dir / LIFELOG_PARTS).is_dir():
        return None
    classes = column_classes(gps=spec.gps, window=spec.window, person_domain=plan.person_domain)
    entries: list[FileEntry] = []
    rows = 0
    schema: pa.Schema | None = None
    for i, part in enumerate(sorted((out_dir / LIFELOG_PARTS).glob("part-*.parquet"))):
        dest = staging / f"{LIFELOG_TABLE}-part-{i:05d}.parquet"
        part.rename(dest)
        meta = pq.ParquetFile(dest)
        schema = schema or meta.schema_arrow
        n = meta.metadata.num_rows
        rows += n
        entries.append(
            FileEntry(
                name=dest.name,
                table=LIFELOG_TABLE,
                format="parquet",
                size=dest.stat().st_size,
                rows=n,
                sha256=file_sha256(dest),
            )
        )
    table = {
        "rows": rows,
        "columns": [
            {"name": f.name, "type": str(f.type), **classes.get(f.name, {})}
            for f in (schema or pa.schema([]))
        ],
    }
    return entries, LIFELOG_TABLE, classes, table
