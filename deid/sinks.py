"""The release sink: staging folder, Parquet + CSV, manifest with SHA-256, atomic publish.

Files are written to ``<releases_dir>/.staging-<release id>-<random>/``. ``publish``
writes ``manifest.json`` (files with size, rows and SHA-256; per table the schema with
each column's de-identification class; the plan's digest; the key id; the privacy
report), fsyncs, and renames the staging folder to ``<releases_dir>/<release id>``
in one ``rename``: a release folder either exists complete or not at all. ``abort``
(or any exception inside ``with StagingSink(...)``) removes the staging folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from deid.errors import DataError, DeidError

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "FileEntry",
    "Manifest",
    "StagingSink",
    "TableWriter",
    "file_sha256",
    "verify_release",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "deid.release-manifest/1"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK = 1 << 20
ROW_GROUP_SIZE = 131_072


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class FileEntry:
    name: str
    table: str
    format: str
    size: int
    rows: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "table": self.table,
            "format": self.format,
            "size": self.size,
            "rows": self.rows,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Manifest:
    """A published (or verified) release: its folder, the manifest data and its hash."""

    release_dir: Path
    data: dict[str, Any] = field(repr=False)
    sha256: str

    @property
    def files(self) -> list[FileEntry]:
        return [FileEntry(**f) for f in self.data["files"]]

    @property
    def release_id(self) -> str:
        return str(self.data["release_id"])

    @property
    def plan_digest(self) -> str:
        return str(self.data["plan_digest"])

    @property
    def privacy_report(self) -> dict[str, Any]:
        report: dict[str, Any] = self.data.get("privacy_report") or {}
        return report

    def rows(self, table: str) -> int:
        return int(self.data["tables"][table]["rows"])

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.data))  # type: ignore[no-any-return]


class TableWriter:
    """Streams the batches of one table into a Parquet and a CSV file."""

    def __init__(self, staging: Path, table: str) -> None:
        self.table = table
        self.parquet_path = staging / f"{table}.parquet"
        self.csv_path = staging / f"{table}.csv"
        self.schema: pa.Schema | None = None
        self.rows = 0
        self._pq: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.row_group_size = ROW_GROUP_SIZE
        self.closed = False

    def _open(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._pq = pq.ParquetWriter(self.parquet_path, schema, compression="zstd")
        self._csv = pacsv.CSVWriter(self.csv_path, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        if self.closed:
            raise DeidError(f"table {self.table!r} is already closed")
        if self.schema is None:
            self._open(batch.schema)
        assert self.schema is not None
        assert self._pq is not None
        assert self._csv is not None
        if not batch.schema.equals(self.schema):
            try:
                batch = batch.select(self.schema.names).cast(self.schema)
            except (KeyError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise DataError(
                    f"table {self.table!r}: a batch has schema {batch.schema}, expected "
                    f"{self.schema} ({exc})"
                ) from None
        if batch.num_rows == 0:
            return
        self._csv.write_batch(batch)
        self.rows += batch.num_rows
        # Parquet row groups of a fixed size, whatever the batch size: a rebuild with
        # another batch size gives byte-identical files.
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        if self._pending_rows >= self.row_group_size:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        assert self._pq is not None
        if not self._pending_rows:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        start = 0
        while table.num_rows - start >= self.row_group_size or (final and start < table.num_rows):
            size = min(self.row_group_size, table.num_rows - start)
            self._pq.write_table(table.slice(start, size), row_group_size=size)
            start += size
        rest = table.slice(start)
        self._pending = rest.to_batches() if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def close(self, empty_schema: pa.Schema | None = None) -> None:
        if self.closed:
            return
        if self.schema is None:
            self._open(empty_schema if empty_schema is not None else pa.schema([]))
        assert self._pq is not None
        assert self._csv is not None
        self._flush(final=True)
        self._pq.close()
        self._csv.close()
        self.closed = True

    def abort(self) -> None:
        for w in (self._pq, self._csv):
            if w is not None:
                with contextlib.suppress(Exception):  # best effort while aborting
                    w.close()
        self.closed = True


class StagingSink:
    """Writes a release into a staging folder and publishes it atomically."""

    def __init__(self, releases_dir: Path | str, release_id: str) -> None:
        if not _ID_RE.fullmatch(release_id):
            raise DataError(
                f"release id {release_id!r} cannot name a folder; expected letters, digits, "
                "'.', '_' or '-'"
            )
        self.releases_dir = Path(releases_dir)
        self.release_id = release_id
        self.final_dir = self.releases_dir / release_id
        if self.final_dir.exists():
            raise DeidError(
                f"release {release_id!r} is already published at {self.final_dir}; a release "
                "is immutable (remove it first to rebuild)"
            )
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        self.staging_dir = self.releases_dir / f".staging-{release_id}-{secrets.token_hex(4)}"
        self.staging_dir.mkdir(mode=0o700)
        self._tables: dict[str, TableWriter] = {}
        self._columns: dict[str, dict[str, dict[str, Any]]] = {}
        self._files: list[tuple[Path, str, str, int]] = []
        self.state = "staging"

    def __repr__(self) -> str:
        return f"StagingSink(release_id={self.release_id!r}, state={self.state!r})"

    def __enter__(self) -> StagingSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state == "staging":
            self.abort()

    def _check_open(self) -> None:
        if self.state != "staging":
            raise DeidError(f"release {self.release_id!r} sink is {self.state}; cannot write")

    def table(self, name: str, *, columns: dict[str, dict[str, Any]] | None = None) -> TableWriter:
        """The writer of a table (created on first use); ``columns``: each column's class."""
        self._check_open()
        if not _ID_RE.fullmatch(name):
            raise DataError(f"table name {name!r} cannot name a file")
        if name not in self._tables:
            self._tables[name] = TableWriter(self.staging_dir, name)
        if columns is not None:
            self._columns[name] = columns
        return self._tables[name]

    def writers(self) -> list[TableWriter]:
        """The open table writers (close them to read the staged files before publishing)."""
        return list(self._tables.values())

    def column_classes(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Each table's columns with their de-identification class (as the manifest will)."""
        return {name: dict(self._columns.get(name, {})) for name in self._tables}

    def add_file(self, path: Path, *, table: str, format: str, rows: int) -> None:
        """A finished file already in the staging folder (e.g. an encrypted VCF), for the manifest."""
        self._check_open()
        path = Path(path)
        if path.parent.resolve() != self.staging_dir.resolve() or not path.is_file():
            raise DeidError(f"{path} is not a file in the staging folder {self.staging_dir}")
        if not _ID_RE.fullmatch(path.name):
            raise DataError(f"file name {path.name!r} cannot be published")
        self._files.append((path, table, format, rows))

    def write_batch(self, table: str, batch: pa.RecordBatch) -> None:
        self.table(table).write(batch)

    def publish(
        self,
        *,
        plan_digest: str,
        key_id: str,
        privacy_report: dict[str, Any] | None = None,
        plan: dict[str, Any] | None = None,
        created_at: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Manifest:
        """Close every table, write the manifest, and rename staging into place."""
        self._check_open()
        files: list[FileEntry] = []
        tables: dict[str, Any] = {}
        for name, writer in self._tables.items():
            writer.close()
            classes = self._columns.get(name, {})
            schema = writer.schema if writer.schema is not None else pa.schema([])
            tables[name] = {
                "rows": writer.rows,
                "columns": [
                    {"name": f.name, "type": str(f.type), **classes.get(f.name, {})} for f in schema
                ],
            }
            for fmt, path in (("parquet", writer.parquet_path), ("csv", writer.csv_path)):
                files.append(
                    FileEntry(
                        name=path.name,
                        table=name,
                        format=fmt,
                        size=path.stat().st_size,
                        rows=writer.rows,
                        sha256=file_sha256(path),
                    )
                )
        for path, table, fmt, rows in self._files:
            files.append(
                FileEntry(
                    name=path.name,
                    table=table,
                    format=fmt,
                    size=path.stat().st_size,
                    rows=rows,
                    sha256=file_sha256(path),
                )
            )
        data: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "release_id": self.release_id,
            "plan_digest": plan_digest,
            "key_id": key_id,
            "created_at": created_at,
            "files": [f.to_dict() for f in files],
            "tables": tables,
            "privacy_report": privacy_report or {},
        }
        if plan is not None:
            data["plan"] = plan
        if extra:
            data["extra"] = extra
        text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        manifest_path = self.staging_dir / MANIFEST_NAME
        manifest_path.write_text(text, encoding="utf-8")
        for path in self.staging_dir.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(path, 0o640)
        _fsync_dir(self.staging_dir)
        if self.final_dir.exists():
            self.abort()
            raise DeidError(f"release {self.release_id!r} was published by someone else meanwhile")
        os.chmod(self.staging_dir, 0o750)  # noqa: S103 - the service reads it
        os.rename(self.staging_dir, self.final_dir)
        _fsync_dir(self.releases_dir)
        self.state = "published"
        return Manifest(
            release_dir=self.final_dir,
            data=data,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )

    def abort(self) -> None:
        """Remove the staging folder; nothing of this build remains."""
        for writer in self._tables.values():
            writer.abort()
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        if self.state == "staging":
            self.state = "aborted"


def verify_release(release_dir: Path | str) -> Manifest:
    """Check every file of a published release against its manifest; return the manifest."""
    release_dir = Path(release_dir)
    manifest_path = release_dir / MANIFEST_NAME
    try:
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{release_dir} has no {MANIFEST_NAME}; not a published release") from None
    data = json.loads(raw)
    for entry in data["files"]:
        path = release_dir / entry["name"]
        if not path.is_file():
            raise DataError(
                f"file {entry['name']!r} listed in the manifest is missing", record=str(release_dir)
            )
        size = path.stat().st_size
        if size != entry["size"]:
            raise DataError(
                f"file {entry['name']!r} has {size} bytes; the manifest says {entry['size']}"
            )
        digest = file_sha256(path)
        if digest != entry["sha256"]:
            raise DataError(
                f"file {entry['name']!r} has SHA-256 {digest}; the manifest says {entry['sha256']}"
            )
    return Manifest(release_dir=release_dir, data=data, sha256=hashlib.sha256(raw).hexdigest())
