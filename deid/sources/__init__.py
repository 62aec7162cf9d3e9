"""Sources: where a release's rows come from, as Arrow record batches.

``open_source`` (the factory) lives here, above the kinds it chooses among, so
``base`` (the protocol and batch helpers) imports none of them.
"""

from __future__ import annotations

from pathlib import Path

from deid.sources.base import DEFAULT_BATCH_SIZE, Source
from deid.sources.files import CsvSource, ParquetSource
from deid.sources.sql import SqlSource

__all__ = ["DEFAULT_BATCH_SIZE", "CsvSource", "ParquetSource", "Source", "SqlSource", "open_source"]


def open_source(spec: str | Path, *, sep: str = ",") -> Source:
    """A source from a string: a SQLAlchemy URL, a Parquet file/folder or a CSV file/folder."""
    text = str(spec)
    if "://" in text:
        return SqlSource(text)
    path = Path(text)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return CsvSource(path, sep="\t" if path.suffix.lower() == ".tsv" else sep)
    if path.is_dir() and not any(path.rglob("*.parquet")) and any(path.glob("*.csv")):
        return CsvSource(path, sep=sep)
    return ParquetSource(path)
