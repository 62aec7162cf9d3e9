"""Sources: where a release's rows come from, as Arrow record batches."""

from deid.sources.base import DEFAULT_BATCH_SIZE, Source, open_source
from deid.sources.files import CsvSource, ParquetSource
from deid.sources.sql import SqlSource

__all__ = ["DEFAULT_BATCH_SIZE", "CsvSource", "ParquetSource", "Source", "SqlSource", "open_source"]
