"""File sources: Parquet (files, folders, partitioned datasets) and delimited text.

Both stream Arrow record batches of exactly ``batch_size`` rows (the last may
be short) with one schema per table; neither runs SQL (``query`` raises).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from deid.errors import DataError
from deid.sources.base import DEFAULT_BATCH_SIZE, check_batch_size, rebatch

__all__ = ["CsvSource", "ParquetSource"]

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def _no_query(kind: str, query: str | None) -> None:
    if query is not None:
        raise DataError(
            f"{kind} reads whole tables: expected query=None, got a SQL query "
            "(select columns with columns=, or use a SqlSource)",
            field="query",
        )


def _check_columns(table: str, schema: pa.Schema, columns: Sequence[str] | None) -> None:
    if columns is None:
        return
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise DataError(
            f"no such column(s) {', '.join(map(repr, missing))}; "
            f"expected some of {', '.join(schema.names)}",
            field=f"{table}.{missing[0]}",
        )


class ParquetSource:
    """A ``Source`` over Parquet: a folder of ``<table>.parquet`` files or
    ``<table>/`` partitioned datasets, one Parquet file, or a list of files
    (each file's stem is its table name; several files may share one)."""

    def __init__(self, dir_or_files: str | Path | Sequence[str | Path]) -> None:
        self._root: Path | None = None
        self._files: dict[str, list[Path]] = {}
        if isinstance(dir_or_files, str | Path):
            path = Path(dir_or_files)
            if path.is_dir():
                self._root = path
            elif path.is_file():
                self._files[path.stem] = [path]
            else:
                raise DataError(f"no such file or folder: {path}", field="path")
        else:
            for item in dir_or_files:
                p = Path(item)
                if not p.is_file():
                    raise DataError(f"no such file: {p}", field="path")
                self._files.setdefault(p.stem, []).append(p)

    def __repr__(self) -> str:
        return f"ParquetSource({str(self._root) if self._root else sorted(self._files)!r})"

    def tables(self) -> list[str]:
        """Names of the tables this source can read."""
        if self._root is None:
            return sorted(self._files)
        names = {p.stem for p in self._root.glob("*.parquet")}
        names |= {p.name for p in self._root.iterdir() if p.is_dir() and any(p.rglob("*.parquet"))}
        return sorted(names)

    def _dataset(self, table: str) -> pads.Dataset:
        paths: list[Path] | Path | None = self._files.get(table)
        if paths is None and self._root is not None:
            for candidate in (self._root / f"{table}.parquet", self._root / table):
                if candidate.exists():
                    paths = candidate
                    break
        if paths is None:
            raise DataError(
                f"no such table; expected one of {', '.join(self.tables()) or '(none)'}",
                field=table,
            )
        try:
            if isinstance(paths, Path):
                partitioning = "hive" if paths.is_dir() else None
                return pads.dataset(paths, format="parquet", partitioning=partitioning)
            return pads.dataset([str(p) for p in paths], format="parquet")
        except _ARROW_ERRORS as exc:
            raise DataError(f"cannot read Parquet: {exc}", field=table) from None

    def schema(self, table: str) -> pa.Schema:
        """The dataset's Arrow schema (the first file's, which every file must match)."""
        return self._dataset(table).schema.remove_metadata()

    def count(self, table: str, query: str | None = None) -> int:
        """Row count from the Parquet metadata."""
        _no_query("ParquetSource", query)
        return int(self._dataset(table).count_rows())

    def batches(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        query: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the table in batches of ``batch_size`` rows, in file order."""
        _no_query("ParquetSource", query)
        check_batch_size(batch_size)
        dataset = self._dataset(table)
        full = dataset.schema.remove_metadata()
        _check_columns(table, full, columns)
        schema = pa.schema([full.field(c) for c in columns]) if columns is not None else full
        return self._stream(dataset, table, schema, columns, batch_size)

    @staticmethod
    def _stream(
        dataset: pads.Dataset,
        table: str,
        schema: pa.Schema,
        columns: Sequence[str] | None,
        batch_size: int,
    ) -> Iterator[pa.RecordBatch]:
        wanted = list(columns) if columns is not None else None
        files: list[str] = list(getattr(dataset, "files", None) or [])

        def per_file() -> Iterator[pa.RecordBatch]:
            # One file at a time, no pre-buffering: the dataset scanner reads ahead of a
            # slow consumer (1.4 GB held at 50M rows); this stays at a few batches.
            for path in files:
                parquet = pq.ParquetFile(path, pre_buffer=False)
                for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
                    yield batch.select(wanted) if wanted is not None else batch

        def raw() -> Iterator[pa.RecordBatch]:
            try:
                partitioning = getattr(dataset, "partitioning", None)
                if files and (partitioning is None or len(partitioning.schema) == 0):
                    scan: Iterator[pa.RecordBatch] = per_file()
                else:  # hive partitions: the partition columns come from the paths
                    scan = iter(
                        dataset.to_batches(columns=wanted, batch_size=batch_size, use_threads=True)
                    )
                for batch in scan:
                    yield batch.replace_schema_metadata(None)
            except _ARROW_ERRORS as exc:
                raise DataError(f"cannot read Parquet: {exc}", field=table) from None

        emitted = False
        for batch in rebatch(raw(), batch_size, schema):
            emitted = True
            yield batch
        if not emitted:
            yield pa.RecordBatch.from_pylist([], schema=schema)


_CSV_COLUMN = re.compile(r"In CSV column #(\d+)")


class CsvSource:
    """A ``Source`` over delimited text: a folder of ``<table>.csv`` files or one file.

    Types are inferred from the first block of each file (or given per column
    name in ``column_types``) and kept for the whole file.
    """

    def __init__(
        self,
        path: str | Path,
        sep: str = ",",
        *,
        column_types: Mapping[str, pa.DataType] | None = None,
        null_values: Sequence[str] = ("", "NA", "NULL", "null"),
        block_size: int = 8 << 20,
        encoding: str = "utf8",
    ) -> None:
        self._path = Path(path)
        if not self._path.exists():
            raise DataError(f"no such file or folder: {self._path}", field="path")
        if len(sep) != 1:
            raise DataError(f"expected a one-character separator, got {sep!r}", field="sep")
        self._sep = sep
        self._column_types = dict(column_types or {})
        self._null_values = list(null_values)
        self._block_size = block_size
        self._encoding = encoding

    def __repr__(self) -> str:
        return f"CsvSource({str(self._path)!r}, sep={self._sep!r})"

    def tables(self) -> list[str]:
        """Names of the tables this source can read."""
        if self._path.is_file():
            return [self._path.stem]
        return sorted(
            {p.stem for p in self._path.iterdir() if p.suffix in (".csv", ".tsv", ".txt")}
        )

    def _file(self, table: str) -> Path:
        if self._path.is_file():
            if table == self._path.stem:
                return self._path
        else:
            for ext in (".csv", ".tsv", ".txt"):
                candidate = self._path / f"{table}{ext}"
                if candidate.is_file():
                    return candidate
        raise DataError(
            f"no such table; expected one of {', '.join(self.tables()) or '(none)'}", field=table
        )

    def _reader(self, table: str, columns: Sequence[str] | None = None) -> pacsv.CSVStreamingReader:
        path = self._file(table)
        try:
            return pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(
                    block_size=self._block_size, encoding=self._encoding, use_threads=True
                ),
                parse_options=pacsv.ParseOptions(delimiter=self._sep),
                convert_options=pacsv.ConvertOptions(
                    column_types=self._column_types,
                    null_values=self._null_values,
                    strings_can_be_null=True,
                    include_columns=list(columns) if columns is not None else None,
                ),
            )
        except _ARROW_ERRORS as exc:
            raise self._error(table, exc, 0, None) from None

    @staticmethod
    def _error(table: str, exc: Exception, row: int, schema: pa.Schema | None) -> DataError:
        message = str(exc).splitlines()[0]
        field = table
        match = _CSV_COLUMN.search(message)
        if match and schema is not None and int(match.group(1)) < len(schema):
            field = f"{table}.{schema.names[int(match.group(1))]}"
        return DataError(
            f"cannot parse CSV: {message}", record=f"block after row {row}", field=field
        )

    def schema(self, table: str) -> pa.Schema:
        """The schema inferred from the file's first block (and ``column_types``)."""
        reader = self._reader(table)
        schema: pa.Schema = reader.schema
        reader.close()
        return schema

    def count(self, table: str, query: str | None = None) -> int:
        """Number of data rows (reads the file)."""
        _no_query("CsvSource", query)
        return sum(batch.num_rows for batch in self.batches(table, batch_size=1 << 20))

    def batches(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        query: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the file in batches of ``batch_size`` rows."""
        _no_query("CsvSource", query)
        check_batch_size(batch_size)
        full = self.schema(table)
        _check_columns(table, full, columns)
        reader = self._reader(table, columns)
        schema: pa.Schema = reader.schema
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        return self._stream(reader, table, schema, columns, batch_size)

    def _stream(
        self,
        reader: pacsv.CSVStreamingReader,
        table: str,
        schema: pa.Schema,
        columns: Sequence[str] | None,
        batch_size: int,
    ) -> Iterator[pa.RecordBatch]:
        def raw() -> Iterator[pa.RecordBatch]:
            row = 0
            try:
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                    except _ARROW_ERRORS as exc:
                        raise self._error(table, exc, row, reader.schema) from None
                    if columns is not None:
                        batch = batch.select(list(columns))
                    row += batch.num_rows
                    yield batch
            finally:
                reader.close()

        emitted = False
        for batch in rebatch(raw(), batch_size, schema):
            emitted = True
            yield batch
        if not emitted:
            yield pa.RecordBatch.from_pylist([], schema=schema)
