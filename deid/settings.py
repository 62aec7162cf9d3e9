"""The engine's settings: the one place where ``deid`` reads its process environment.

The engine imports no Django (it runs in the service's worker, in the ``deid`` CLI and in
Spark executors on other machines), so it cannot read ``config/settings.py``; the service
passes its own settings as arguments, and what an engine process takes from its
environment is read here, and only here:

============================  =====================================================
``DEID_MASTER_KEY``           the master secret (hex or base64); never logged
``DEID_MASTER_KEY_FILE``      or a file holding it (mode 0600)
``DEID_BUILD_THREADS``        transform threads of the local executor (default: CPUs, max 8)
``DEID_SCRUB_PROCESSES``      note-scrubbing worker processes (default 1)
``DEID_NATIVE``               ``0`` turns the compiled HMAC off (pure Python)
``DEID_NATIVE_DIR``           where the compiled HMAC is cached (``XDG_CACHE_HOME``)
``JAVA_HOME``                 the JVM for Spark (Java 17 is pinned when it is another)
============================  =====================================================
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from deid.errors import PolicyError

__all__ = [
    "JAVA17_HOME",
    "build_threads",
    "environ",
    "native_cache_dir",
    "native_enabled",
    "prepare_spark_environment",
    "scrub_processes",
]

JAVA17_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"


def environ() -> Mapping[str, str]:
    """The process environment, read-only (the master key's source when none is given)."""
    return os.environ


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PolicyError(name, f"expected a positive integer, got {raw!r}") from None
    if value < 1:
        raise PolicyError(name, f"expected a positive integer, got {raw!r}")
    return value


def build_threads() -> int:
    """``DEID_BUILD_THREADS``, default the CPU count (at most 8)."""
    return _positive_int("DEID_BUILD_THREADS", max(1, min(8, os.cpu_count() or 1)))


def scrub_processes() -> int:
    """``DEID_SCRUB_PROCESSES`` (default 1)."""
    return _positive_int("DEID_SCRUB_PROCESSES", 1)


def native_enabled() -> bool:
    return os.environ.get("DEID_NATIVE", "1") != "0"


def native_cache_dir() -> Path:
    configured = os.environ.get("DEID_NATIVE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deid-native"


def prepare_spark_environment() -> None:
    """Pin Java 17 and the loopback address before a JVM is launched; executors (Python
    workers) use the driver's interpreter."""
    java_home = os.environ.get("JAVA_HOME", "")
    wrong_java = not java_home or "17" not in Path(java_home).resolve().name
    if wrong_java and Path(JAVA17_HOME).is_dir():
        os.environ["JAVA_HOME"] = JAVA17_HOME
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
