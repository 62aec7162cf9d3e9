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

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["JAVA17_HOME", "spark_session"]

JAVA17_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"

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


def _prepare_environment() -> None:
    """Pin Java 17 and the loopback address before a JVM is launched."""
    java_home = os.environ.get("JAVA_HOME", "")
    wrong_java = not java_home or "17" not in Path(java_home).resolve().name
    if wrong_java and Path(JAVA17_HOME).is_dir():
        os.environ["JAVA_HOME"] = JAVA17_HOME
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Executors (Python workers) must use the same interpreter as the driver.
    import sys

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "deid-release-build",
    shuffle_partitions: int | None = None,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """Return a SparkSession for release builds (created once per process, then reused).

    ``master`` is ``local[N]`` for tests and single-machine runs, or a cluster URL.
    ``conf`` adds or overrides Spark settings (e.g. executor memory on a cluster).
    """
    _prepare_environment()
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
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
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
