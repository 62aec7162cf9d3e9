"""The Spark executor: the same batch functions as the local executor, through ``mapInArrow``.

The engine's work is two pure per-batch passes around a small local search:

1. count pass: ``count_batch(batch, policy)`` on every partition, the partial
   counts merged by a Spark group-by on the packed quasi-identifier key, then
   ``FrequencyTable.from_arrow`` on the (small) merged table on the driver;
2. search: ``search(freq, policy)`` on the driver, as in the local executor;
3. transform pass: ``transform_batch(...)`` on every partition through
   ``mapInArrow``, written as partitioned Parquet.

Key material never travels in a task closure: executors open the key store
from its root directory and the master key file (paths only) and load the
release key by key id. The session factory pins Java 17, binds to 127.0.0.1,
turns the UI off and quiets log4j.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from deid import settings
from deid.errors import DataError, DeidError, PolicyError, SourceChangedError
from deid.passes import ProgressFn, notify

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from deid.keys import KeyRef
    from deid.longitudinal.release import LongitudinalPlanner, ReleaseEvents
    from deid.plan import ReleasePlan, TablePlan
    from deid.sinks import Manifest
    from deid.transform import TableSpec

__all__ = [
    "JAVA17_HOME",
    "AnchorLeaves",
    "CountBatches",
    "EventLeaves",
    "KeptPersons",
    "build_release_spark",
    "spark_session",
]

T = TypeVar("T")

JAVA17_HOME = settings.JAVA17_HOME

_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
"""


def _log4j2_file() -> Path:
    """A quiet log4j2 configuration, written once per process to the temp directory."""
    path = Path(tempfile.gettempdir()) / f"deid-spark-log4j2-{os.getuid()}.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_LOG4J2)
        tmp.replace(path)
    return path


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "deid-release-build",
    shuffle_partitions: int | None = None,
    jars: list[str] | None = None,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """Return a SparkSession for release builds (created once per process, then reused).

    ``master`` is ``local[N]`` for tests and single-machine runs, or a cluster URL.
    ``jars``: extra JARs on the class path (e.g. the PostgreSQL JDBC driver; only
    honoured when this call creates the session). ``conf`` adds or overrides Spark
    settings (e.g. executor memory on a cluster).
    """
    settings.prepare_spark_environment()
    from pyspark.sql import SparkSession

    log4j = f"-Dlog4j2.configurationFile=file:{_log4j2_file()}"
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", log4j)
        .config("spark.executor.extraJavaOptions", log4j)
        .config("spark.log.level", "ERROR")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        # Parquet written by Spark should read back with the same Arrow types.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config(
            "spark.sql.shuffle.partitions",
            str(
                shuffle_partitions
                if shuffle_partitions is not None
                else _default_parallelism(master)
            ),
        )
    )
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    # py4j logs every closed per-thread connection at INFO.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    session: Any = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    result: SparkSession = session
    return result


def _default_parallelism(master: str) -> int:
    """Shuffle partitions: the local core count for ``local[N]``, else Spark's default 200."""
    if master.startswith("local"):
        inner = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
        if inner in ("*", ""):
            return max(1, os.cpu_count() or 1)
        try:
            return max(1, int(inner.split(",")[0]))
        except ValueError:
            return 2
    return 200


# --- the executor ---------------------------------------------------------------------

_LANDING = "_landing"
_SPARK_OUT = "_spark"


@dataclass(frozen=True)
class CountBatches:
    """``mapInArrow`` function of the count pass: a batch -> its frequency table rows."""

    plan_json: str
    table: str

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from deid.anonymize import count_batch
        from deid.transform import _check_columns

        spec = _table_spec(self.plan_json, self.table)
        for batch in batches:
            _check_columns(batch, spec)
            counts = count_batch(batch, spec.policy).to_arrow()
            if counts.num_rows == 0:  # keep the schema visible for an empty input
                yield pa.RecordBatch.from_pylist([], schema=counts.schema)
            else:
                yield from counts.to_batches()


@dataclass(frozen=True)
class KeptPersons:
    """``mapInArrow`` function: the link values of the anchor records that survive suppression."""

    plan_json: str
    table: str
    anonymization_json: str
    link_column: str

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from deid.anonymize import Anonymization
        from deid.transform import kept_persons

        spec = _table_spec(self.plan_json, self.table)
        anonymization = Anonymization.from_dict(json.loads(self.anonymization_json))
        for batch in batches:
            column = kept_persons(batch, table_policy=spec, anonymization=anonymization)
            yield pa.RecordBatch.from_arrays([column.drop_null()], names=[self.link_column])


@dataclass(frozen=True)
class AnchorLeaves:
    """``mapInArrow`` function of a longitudinal release: the anchor's persons and the
    level-0 strings of their demographics (what the local count pass collects)."""

    plan_json: str

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        planner = _planner(self.plan_json)
        for batch in batches:
            yield planner.anchor.leaves(batch)


@dataclass(frozen=True)
class EventLeaves:
    """``mapInArrow`` function: an event table's rows after the patients' date shift, as
    link, row id and level-0 strings of the known columns (the local event pass's)."""

    plan_json: str
    table: str
    key_ref: KeyRef

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from deid.longitudinal.release import event_leaves

        planner = _planner(self.plan_json)
        collector, spec = planner.collectors[self.table], planner.specs[self.table]
        key = self.key_ref.load()
        for batch in batches:
            yield event_leaves(batch, collector, spec, key)


def _planner(plan_json: str) -> LongitudinalPlanner:
    from deid.longitudinal.release import LongitudinalPlanner
    from deid.plan import ReleasePlan

    plan = ReleasePlan.from_json(plan_json)
    if plan.events is None:  # pragma: no cover - only built for plans with events
        raise DeidError("the plan has no longitudinal model")
    return LongitudinalPlanner(plan, plan.events)


def _table_spec(plan_json: str, table: str) -> TableSpec:
    from deid.plan import ReleasePlan
    from deid.transform import TableSpec

    return TableSpec.from_plan(ReleasePlan.from_json(plan_json), table)


class _Persons:
    """Only the size of the kept-person set (what the privacy report needs)."""

    def __init__(self, count: int) -> None:
        self._count = count

    def __len__(self) -> int:
        return self._count


def _columns_to_read(tp: TablePlan, spec: TableSpec) -> list[str] | None:
    """The same column choice as the local executor."""
    if tp.columns is not None:
        return list(tp.columns)
    if tp.query is None:
        return list(spec.policy.columns)
    return None


def _jdbc_options(url: str) -> dict[str, str]:
    """JDBC options from an SQLAlchemy URL (PostgreSQL): url, user, password, driver."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if not u.drivername.startswith("postgres"):
        raise DeidError(
            f"Spark JDBC: only PostgreSQL URLs are supported, got {u.drivername!r}; "
            "land the data as Parquet instead"
        )
    port = f":{u.port}" if u.port else ""
    opts = {
        "url": f"jdbc:postgresql://{u.host or 'localhost'}{port}/{u.database}",
        "driver": "org.postgresql.Driver",
    }
    if u.username:
        opts["user"] = u.username
    if u.password:
        opts["password"] = str(u.password)
    return opts


class _Reader:
    """Reads the tables of a plan into Spark DataFrames: Parquet, JDBC, or SQL landed as Parquet."""

    def __init__(
        self, spark: SparkSession, source: str | Path, landing: Path, *, jdbc: bool, batch_size: int
    ) -> None:
        self.spark = spark
        self.source = str(source)
        self.landing = landing
        self.jdbc = jdbc
        self.batch_size = batch_size

    def read(self, tp: TablePlan, spec: TableSpec) -> DataFrame:
        columns = _columns_to_read(tp, spec)
        if "://" not in self.source:
            return self._parquet(Path(self.source), tp, columns)
        if self.jdbc:
            return self._jdbc(tp, columns)
        return self._land(tp, columns)

    def _parquet(self, root: Path, tp: TablePlan, columns: list[str] | None) -> DataFrame:
        if tp.query is not None:
            raise PolicyError(
                f"tables.{tp.name}.query", "a Parquet source has tables, not SQL queries"
            )
        name = tp.table or tp.name
        candidates = [root / f"{name}.parquet", root / name] if root.is_dir() else [root]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise DataError(f"no Parquet table {name!r} under {root}", field=name)
        df = self.spark.read.parquet(str(path))
        if columns is not None:
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise DataError(
                    f"no such column(s) {missing} in {path}; expected some of {df.columns}",
                    field=f"{name}.{missing[0]}",
                )
            df = df.select(*columns)
        return df

    def _jdbc(self, tp: TablePlan, columns: list[str] | None) -> DataFrame:
        reader = self.spark.read.format("jdbc")
        for key, value in _jdbc_options(self.source).items():
            reader = reader.option(key, value)
        if tp.query is not None:
            reader = reader.option("query", tp.query)
        else:
            reader = reader.option("dbtable", tp.table or tp.name)
        df = reader.option("fetchsize", str(self.batch_size)).load()
        # Spark prunes the columns in the SQL it sends.
        return df.select(*columns) if columns is not None else df

    def _land(self, tp: TablePlan, columns: list[str] | None) -> DataFrame:
        """Stream an SQL table or query into a Parquet file (bounded memory), then read it."""
        import pyarrow.parquet as pq

        from deid.sources.sql import SqlSource

        self.landing.mkdir(parents=True, exist_ok=True)
        path = self.landing / f"{tp.name}.parquet"
        source = SqlSource(self.source)
        writer: pq.ParquetWriter | None = None
        try:
            for batch in source.batches(
                tp.table or tp.name, columns=columns, query=tp.query, batch_size=self.batch_size
            ):
                if writer is None:
                    writer = pq.ParquetWriter(str(path), batch.schema)
                writer.write_batch(batch)
        finally:
            if writer is not None:
                writer.close()
        return self.spark.read.parquet(str(path))


class _Phase:
    """Runs one Spark action in a thread; reports task progress as rows and honours cancel.

    The progress callback runs in the caller's thread; if it raises (a cancel), the
    Spark job group is cancelled and the callback's exception is re-raised.
    """

    def __init__(self, spark: SparkSession, progress: ProgressFn | None) -> None:
        self.spark = spark
        self.progress = progress

    def run(self, phase: str, total: int | None, action: Callable[[], T]) -> T:
        sc = self.spark.sparkContext
        group = f"deid-{phase}-{uuid.uuid4().hex[:8]}"
        result: list[T] = []
        failure: list[BaseException] = []

        def target() -> None:
            try:
                sc.setJobGroup(group, phase, interruptOnCancel=True)
                result.append(action())
            except BaseException as exc:
                failure.append(exc)

        notify(self.progress, phase, 0, total)
        thread = threading.Thread(target=target, name=group, daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(0.5)
                if self.progress is not None and total:
                    done = int(total * _completed_fraction(sc, group))
                    self.progress(phase, min(done, total), total)
        except BaseException:
            sc.cancelJobGroup(group)
            thread.join()
            raise
        if failure:
            raise failure[0]
        value = result[0]
        done = total if total is not None else (value if isinstance(value, int) else 1)
        notify(self.progress, phase, done, done)
        return value


def _completed_fraction(sc: Any, group: str) -> float:
    tracker = sc.statusTracker()
    done = tasks = 0
    for job_id in tracker.getJobIdsForGroup(group):
        job = tracker.getJobInfo(job_id)
        if job is None:
            continue
        for stage_id in job.stageIds:
            stage = tracker.getStageInfo(stage_id)
            if stage is not None:
                done += stage.numCompletedTasks
                tasks += stage.numTasks
    return done / tasks if tasks else 0.0


def _output_schema(
    df: DataFrame, fn: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
) -> Any:
    """The Spark schema of ``fn``'s output, from running it on an empty batch here."""
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    arrow_in = to_arrow_schema(df.schema, timezone="UTC")
    empty = pa.RecordBatch.from_pylist([], schema=arrow_in)
    out = next(iter(fn(iter([empty]))))
    return from_arrow_schema(out.schema, prefer_timestamp_ntz=False)


def _writer(df: DataFrame, target: Path) -> Callable[[], None]:
    def write() -> None:
        df.write.parquet(str(target))

    return write


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _plan_longitudinal_spark(
    plan: ReleasePlan,
    frames: dict[str, DataFrame],
    freq: Any,
    key_ref: KeyRef,
    phases: _Phase,
    progress: ProgressFn | None,
) -> tuple[Any, ReleaseEvents]:
    """The local planner fed with leaves computed on the executors (see AnchorLeaves)."""
    from deid.longitudinal.release import LongitudinalPlanner

    events = plan.events
    if events is None:  # pragma: no cover - the caller checks
        raise DeidError("the plan has no longitudinal model")
    planner = LongitudinalPlanner(plan, events)
    plan_json = plan.to_json()
    anchor_df = frames[plan.anchor]
    fn: Any = AnchorLeaves(plan_json)
    leaves = anchor_df.mapInArrow(fn, _output_schema(anchor_df, fn))
    for batch in phases.run("count", None, leaves.toArrow).to_batches():
        planner.anchor.add_leaves(batch)
    for name in planner.collectors:
        df = frames[name]
        fn = EventLeaves(plan_json, name, key_ref)
        leaves = df.mapInArrow(fn, _output_schema(df, fn))
        table = phases.run(f"events:{name}", None, leaves.toArrow)
        collector = planner.collectors[name]
        for batch in table.to_batches():
            collector.add_leaves(batch)
    return planner.decide(freq, progress)


def build_release_spark(  # noqa: C901
    plan: ReleasePlan,
    *,
    source: str | Path,
    key_ref: KeyRef,
    releases_dir: Path | str,
    progress: ProgressFn | None = None,
    master: str = "local[2]",
    batch_size: int = 65_536,
    spark: SparkSession | None = None,
    jdbc: bool = False,
) -> Manifest:
    """Build and publish a release on Spark; return the published manifest.

    ``source``: a folder of Parquet tables, or an SQLAlchemy URL (read through JDBC
    with ``jdbc=True`` and the driver on Spark's class path, else streamed once into
    Parquet in the staging folder). ``key_ref`` names the release key; executors load
    it from the key store themselves. Output: the tables as partitioned Parquet
    (``<table>-part-NNNNN.parquet``) and a manifest, published atomically.
    """
    from pyspark.sql import functions as F

    from deid.anonymize import search
    from deid.frequency import COUNT, FrequencyTable
    from deid.passes import not_one_row_per_person, source_changed
    from deid.pipeline import longitudinal_report, privacy_report
    from deid.sinks import MANIFEST_FORMAT, MANIFEST_NAME, FileEntry, Manifest, file_sha256
    from deid.transform import TableSpec, TableTransformer, column_classes

    if key_ref.key_id != plan.key_id:
        raise DeidError(f"key reference {key_ref.key_id!r} is not the plan's key {plan.key_id!r}")
    from deid.kinds import check_ready

    check_ready(plan)
    releases_dir = Path(releases_dir)
    final_dir = releases_dir / plan.release_id
    if final_dir.exists():
        raise DeidError(
            f"release {plan.release_id!r} is already published at {final_dir}; a release is "
            "immutable (remove it first to rebuild)"
        )
    releases_dir.mkdir(parents=True, exist_ok=True)
    staging = releases_dir / f".staging-{plan.release_id}-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        session = spark or spark_session(master)
        session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_size))
        phases = _Phase(session, progress)
        reader = _Reader(session, source, staging / _LANDING, jdbc=jdbc, batch_size=batch_size)
        plan_json = plan.to_json()
        specs = {t.name: TableSpec.from_plan(plan, t.name) for t in plan.tables}
        frames = {t.name: reader.read(t, specs[t.name]) for t in plan.tables}
        anchor_tp = plan.anchor_table
        anchor_df = frames[plan.anchor]
        link = plan.link_column

        # 1. Count pass: per-partition counts, merged by a Spark group-by.
        if link in anchor_df.columns:
            # one row per person (k counts rows): rows with a link value vs distinct values
            linked: list[int] = []

            def anchor_stats() -> int:
                row = anchor_df.agg(
                    F.count(F.lit(1)), F.count(link), F.countDistinct(link)
                ).collect()[0]
                linked.extend((int(row[1]), int(row[2])))
                return int(row[0])

            anchor_rows = phases.run("count", None, anchor_stats)
            if linked[0] != linked[1]:
                raise not_one_row_per_person(plan.anchor, link, linked[0], linked[1])
        else:
            anchor_rows = phases.run("count", None, anchor_df.count)
        keys = [*specs[plan.anchor].policy.quasi_identifiers]
        sens = specs[plan.anchor].policy.protected_sensitive
        if sens:
            keys.append(sens)
        count_fn = CountBatches(plan_json, plan.anchor)
        partial = anchor_df.mapInArrow(count_fn, _output_schema(anchor_df, count_fn))
        merged = (
            partial.groupBy(*keys).agg(F.sum(COUNT).cast("long").alias(COUNT))
            if keys
            else (partial.agg(F.sum(COUNT).cast("long").alias(COUNT)))
        )
        counts = phases.run("count", anchor_rows, merged.toArrow)
        freq = FrequencyTable.from_arrow(counts)
        if freq.total != anchor_rows:  # the source changed between the two reads
            raise source_changed(
                plan.anchor, anchor_rows, freq.total, passes=("row count", "count pass")
            )

        # 2. Search on the driver (the frequency table is small: distinct combinations).
        release_events: ReleaseEvents | None = None
        events_json: str | None = None
        if plan.events is not None:
            # the longitudinal model: persons and events as leaves from the executors,
            # the joint search on the driver (compact codes: see docs/scale.md)
            anonymization, release_events = _plan_longitudinal_spark(
                plan, frames, freq, key_ref, phases, progress
            )
            events_json = release_events.without_suppressed().to_json()
        else:
            notify(progress, "search", 0, None)
            anonymization = search(freq, specs[plan.anchor].policy)
            notify(progress, "search", 1, 1)
        anon_json = json.dumps(anonymization.to_dict(), sort_keys=True)

        # 3. Transform pass: the anchor, then every linked table restricted to kept persons.
        out_dir = staging / _SPARK_OUT
        table_stats: dict[str, dict[str, int]] = {}
        kept_df = None
        persons_released: int | None = None
        if link in anchor_df.columns:
            kept_fn = KeptPersons(plan_json, plan.anchor, anon_json, link)
            kept_df = anchor_df.mapInArrow(kept_fn, _output_schema(anchor_df, kept_fn))
            kept_df = kept_df.distinct().cache()
            persons_released = phases.run("kept-persons", anchor_rows, kept_df.count)
        elif len(plan.tables) > 1:
            raise PolicyError(
                f"tables.{anchor_tp.name}.policy.columns.{link}",
                "the anchor table must include the link column to release linked tables",
            )
        ordered = [anchor_tp, *(t for t in plan.tables if t.name != plan.anchor)]
        for tp in ordered:
            df = frames[tp.name]
            is_anchor = tp.name == plan.anchor
            rows_in = anchor_rows if is_anchor else phases.run(f"read:{tp.name}", None, df.count)
            if not is_anchor and kept_df is not None:
                # A semi-join keeps the records of kept persons; restore the column order.
                df = df.join(F.broadcast(kept_df), on=link, how="left_semi").select(
                    *frames[tp.name].columns
                )
            if release_events is not None and (
                tp.name in release_events.suppressed or tp.name in release_events.follow
            ):
                # suppressed events (and rows that follow them) go by an anti-join on the id
                gone = release_events.suppressed_table(tp.name)
                column = gone.column_names[0]
                gone_df = session.createDataFrame(gone.to_pandas()).withColumnRenamed(
                    column, "_gone_id"
                )
                df = df.join(
                    F.broadcast(gone_df),
                    df[column].cast("long") == gone_df["_gone_id"],
                    how="left_anti",
                ).select(*frames[tp.name].columns)
            fn = TableTransformer(
                plan_json=plan_json,
                table=tp.name,
                anonymization_json=anon_json if is_anchor else None,
                key_ref=key_ref,
                events_json=None if is_anchor else events_json,
            )
            out = df.mapInArrow(fn, _output_schema(frames[tp.name], fn))
            target = out_dir / tp.name
            phases.run(f"transform:{tp.name}", rows_in, _writer(out, target))
            table_stats[tp.name] = {"rows_in": rows_in, "rows_out": 0}
        # 3b. Genome files and lifelog windows for the same released persons.
        from deid.engines.spark_kinds import flatten_lifelog, write_kinds_spark
        from deid.kinds import KindsState, kinds_report, require_link

        require_link(plan, kept_df is not None)
        extra_files: list[FileEntry] = []
        kinds = KindsState()
        if kept_df is not None and (plan.genome is not None or plan.lifelog is not None):

            def add_file(path: Path, table: str, fmt: str, rows: int) -> None:
                extra_files.append(
                    FileEntry(
                        name=path.name,
                        table=table,
                        format=fmt,
                        size=path.stat().st_size,
                        rows=rows,
                        sha256=file_sha256(path),
                    )
                )

            kinds = write_kinds_spark(
                plan,
                session=session,
                kept_df=kept_df,
                key=key_ref.load(),
                staging=staging,
                out_dir=out_dir,
                add_file=add_file,
                progress=progress,
            )
        if kept_df is not None:
            kept_df.unpersist()

        # 4. Sink: flatten part files, hash, manifest, atomic publish.
        notify(progress, "publish", 0, None)
        files: list[FileEntry] = []
        tables: dict[str, Any] = {}
        released_columns: dict[str, dict[str, dict[str, Any]]] = {}
        for tp in ordered:
            parts = sorted((out_dir / tp.name).glob("part-*.parquet"))
            rows = 0
            schema: pa.Schema | None = None
            for i, part in enumerate(parts):
                dest = staging / f"{tp.name}-part-{i:05d}.parquet"
                part.rename(dest)
                meta = pq.ParquetFile(dest)
                n = meta.metadata.num_rows
                schema = schema or meta.schema_arrow
                rows += n
                files.append(
                    FileEntry(
                        name=dest.name,
                        table=tp.name,
                        format="parquet",
                        size=dest.stat().st_size,
                        rows=n,
                        sha256=file_sha256(dest),
                    )
                )
            table_stats[tp.name]["rows_out"] = rows
            classes = column_classes(
                specs[tp.name],
                anonymization if tp.name == plan.anchor else None,
                events=release_events,
            )
            released_columns[tp.name] = classes
            tables[tp.name] = {
                "rows": rows,
                "columns": [
                    {"name": f.name, "type": str(f.type), **classes.get(f.name, {})}
                    for f in (schema or pa.schema([]))
                ],
            }
        lifelog_part = flatten_lifelog(plan, out_dir=out_dir, staging=staging)
        if lifelog_part is not None:
            entries, name, classes, manifest_table = lifelog_part
            files.extend(entries)
            released_columns[name] = classes
            tables[name] = manifest_table
        files.extend(extra_files)
        shutil.rmtree(out_dir, ignore_errors=True)
        # only approved classes are released (allow-list): their records must add up to
        # what the count pass approved, else the source changed between the reads
        released = table_stats[plan.anchor]["rows_out"]
        approved = sum(anonymization.kept_sizes or ())
        if released != approved:
            raise SourceChangedError(
                f"the anchor table {plan.anchor!r} changed during the build: the count pass "
                f"approved {approved} records, the transform pass released {released}; "
                "expected the same records (nothing was published; rebuild from a stable "
                "snapshot of the source)"
            )
        shutil.rmtree(staging / _LANDING, ignore_errors=True)
        keep: Any = _Persons(persons_released) if persons_released is not None else None
        report = privacy_report(plan, anonymization, table_stats, keep)
        report.update(longitudinal_report(staging, plan, release_events, released_columns))
        report.update(kinds_report(plan, staging, released_columns, kinds))
        data: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "release_id": plan.release_id,
            "plan_digest": plan.digest(),
            "key_id": plan.key_id,
            "created_at": plan.created_at,
            "files": [f.to_dict() for f in files],
            "tables": tables,
            "privacy_report": report,
            "plan": plan.to_dict(),
            "extra": {"engine": "spark", "spark_version": session.version},
        }
        text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        (staging / MANIFEST_NAME).write_text(text, encoding="utf-8")
        for path in staging.iterdir():
            _fsync(path)
            os.chmod(path, 0o640)
        _fsync(staging)
        if final_dir.exists():
            raise DeidError(f"release {plan.release_id!r} was published by someone else meanwhile")
        os.chmod(staging, 0o750)  # noqa: S103 - the service reads it
        os.rename(staging, final_dir)
        _fsync(releases_dir)
        notify(progress, "publish", 1, 1)
        return Manifest(
            release_dir=final_dir, data=data, sha256=hashlib.sha256(text.encode()).hexdigest()
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
