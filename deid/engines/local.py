"""The local executor: ``deid.pipeline.build_release`` (streaming, bounded memory).

This module is the executor's entry point for the service and the benchmarks; it
wraps the pipeline without changing it, so the local and Spark executors share
one set of batch functions.
"""

from __future__ import annotations

from pathlib import Path

from deid.keys import KeyStore
from deid.pipeline import DEFAULT_BATCH_SIZE, ProgressFn, build_release
from deid.plan import ReleasePlan
from deid.sinks import Manifest
from deid.sources.base import Source
from deid.transform import TextScrubber

__all__ = ["build_release_local"]


def build_release_local(
    plan: ReleasePlan,
    *,
    source: Source,
    keystore: KeyStore,
    releases_dir: Path | str,
    progress: ProgressFn | None = None,
    text_scrubber: TextScrubber | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Manifest:
    """Build and publish a release on this machine; return the published manifest."""
    return build_release(
        plan,
        source=source,
        keystore=keystore,
        releases_dir=releases_dir,
        progress=progress,
        text_scrubber=text_scrubber,
        batch_size=batch_size,
    )
