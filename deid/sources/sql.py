"""``SqlSource``: stream tables or queries at any SQLAlchemy URL as Arrow batches.

Rows are read through a streaming cursor (a named server-side cursor on
PostgreSQL, ``yield_per`` elsewhere), ``batch_size`` rows at a time, so memory
is bounded by the batch size and not by the table. Column types come from the database (reflected)
and map to Arrow: integers to int64, floats and numerics to float64, dates to
date32, timestamps to timestamp[us] (UTC when the column has a time zone),
text to string, so every batch of a table has the same schema, empty or not.
Table scans are ordered by primary key, so the same data gives the same batches.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Engine, MetaData, Table, create_engine, func, make_url, select

from deid.errors import DataError
from deid.sources.base import DEFAULT_BATCH_SIZE, check_batch_size, conform_array

__all__ = ["SqlSource", "arrow_type"]


def arrow_type(sql_type: sa.types.TypeEngine[Any]) -> pa.DataType | None:
    """The Arrow type of a SQLAlchemy column type; ``None`` when it must be inferred."""
    t = sql_type
    if isinstance(t, sa.Boolean):
        return pa.bool_()
    if isinstance(t, sa.Integer):
        return pa.int64()
    if isinstance(t, sa.Float | sa.Numeric):  # decimals become float64
        return pa.float64()
    if isinstance(t, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if t.timezone else None)
    if isinstance(t, sa.Date):
        return pa.date32()
    if isinstance(t, sa.Time):
        return pa.time64("us")
    if isinstance(t, sa.Interval):
        return pa.duration("us")
    if isinstance(t, sa.String | sa.Enum | sa.Uuid):
        return pa.string()
    if isinstance(t, sa.LargeBinary):
        return pa.binary()
    return None


class _Records(Sequence[object]):
    """Lazy 'pk=value' labels for error messages (built only when a value is bad)."""

    def __init__(self, name: str, values: Sequence[object]) -> None:
        self._name = name
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, i: Any) -> Any:
        return f"{self._name}={self._values[i]}"


class SqlSource:
    """A ``Source`` over a SQLAlchemy URL (or Engine): tables and SQL queries."""

    def __init__(self, url: str | Engine, *, db_schema: str | None = None) -> None:
        if isinstance(url, str):
            parsed = make_url(url)
            database = parsed.database or ""
            if (
                parsed.get_backend_name() == "sqlite"
                and database not in ("", ":memory:")
                and not database.startswith("file:")
                and not Path(database).is_file()
            ):
                # SQLite would create an empty database file: say what is missing instead.
                raise DataError(f"no SQLite database file at {database}", field="url")
        self._engine = create_engine(url) if isinstance(url, str) else url
        self._owns_engine = isinstance(url, str)
        self._db_schema = db_schema
        self._metadata = MetaData(schema=db_schema)
        self._tables: dict[str, Table] = {}
        self._by_name: dict[str, pa.DataType] | None = None

    def __repr__(self) -> str:
        return f"SqlSource({self.url!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Worker processes get a fresh engine for the same database (never a live connection).
        url = self._engine.url.render_as_string(hide_password=False)
        return (type(self), (url,), {"_db_schema": self._db_schema})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._db_schema = state["_db_schema"]
        self._metadata = MetaData(schema=self._db_schema)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release pooled connections (only of an engine this source created)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> SqlSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tables and schemas -------------------------------------------------------------

    def tables(self) -> list[str]:
        """Names of the tables in the database."""
        return sorted(sa.inspect(self._engine).get_table_names(schema=self._db_schema))

    def _table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            if not sa.inspect(self._engine).has_table(name, schema=self._db_schema):
                raise DataError(
                    f"no such table in {self.url}; expected one of {', '.join(self.tables()) or '(none)'}",
                    field=name,
                )
            table = Table(name, self._metadata, autoload_with=self._engine)
            self._tables[name] = table
        return table

    def _types_by_name(self) -> dict[str, pa.DataType]:
        """Column name -> Arrow type over every table, for names with one type everywhere."""
        if self._by_name is None:
            seen: dict[str, set[pa.DataType | None]] = {}
            for name in self.tables():
                for c in self._table(name).columns:
                    seen.setdefault(c.name, set()).add(arrow_type(c.type))
            self._by_name = {
                k: next(iter(v)) for k, v in seen.items() if len(v) == 1 and None not in v
            }
        return self._by_name

    def schema(self, table: str) -> pa.Schema:
        """Arrow schema of ``table`` from its column types (unknown types as string)."""
        return pa.schema(
            [
                pa.field(c.name, arrow_type(c.type) or pa.string())
                for c in self._table(table).columns
            ]
        )

    def _columns(self, table: Table, columns: Sequence[str] | None) -> list[sa.Column[Any]]:
        if columns is None:
            return list(table.columns)
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise DataError(
                f"no such column(s) {', '.join(map(repr, missing))}; "
                f"expected some of {', '.join(table.columns.keys())}",
                field=f"{table.name}.{missing[0]}",
            )
        return [table.columns[c] for c in columns]

    # -- reading --------------------------------------------------------------------------

    def count(self, table: str, query: str | None = None) -> int:
        """Number of rows of ``table``, or of ``query``'s result."""
        if query is None:
            stmt = select(func.count()).select_from(self._table(table))
            sql = str(stmt.compile(dialect=self._engine.dialect))
        else:
            sql = f"SELECT count(*) FROM ({_strip(query)}) AS q"  # noqa: S608 (caller's SQL)
        with self._cursor(sql, 1) as (_, chunks):
            return int(next(chunks)[0][0])

    def batches(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        query: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` (ordered by primary key) or ``query`` in batches.

        With ``query``, columns named like ``table``'s columns get their types
        (``table`` may also be a name of the caller's choosing), others the type
        of the same-named column in other tables (when all agree), the rest the
        type inferred from the first batch (all-null: string).
        An empty result yields one empty batch with the schema.
        """
        check_batch_size(batch_size)
        if query is None:
            tbl = self._table(table)
            return self._scan(tbl, self._columns(tbl, columns), batch_size)
        return self._query(table, query, columns, batch_size)

    def _scan(
        self, tbl: Table, cols: list[sa.Column[Any]], batch_size: int
    ) -> Iterator[pa.RecordBatch]:
        sqlite = self._engine.dialect.name == "sqlite"
        exprs: list[Any] = []
        for c in cols:
            # SQLite keeps dates as ISO text: let Arrow parse them (vectorized).
            if sqlite and isinstance(c.type, sa.Date | sa.DateTime):
                exprs.append(sa.type_coerce(c, sa.String).label(c.name))
            else:
                exprs.append(c)
        stmt = select(*exprs)
        pk = list(tbl.primary_key.columns)
        if pk:
            stmt = stmt.order_by(*pk)
        sql = str(stmt.compile(dialect=self._engine.dialect))
        schema = pa.schema([pa.field(c.name, arrow_type(c.type) or pa.string()) for c in cols])
        names = [c.name for c in cols]
        pk_name = pk[0].name if len(pk) == 1 and pk[0].name in names else None
        yield from self._stream(sql, tbl.name, schema, pk_name, batch_size)

    def _query(
        self, table: str, query: str, columns: Sequence[str] | None, batch_size: int
    ) -> Iterator[pa.RecordBatch]:
        sql = _strip(query)
        if columns is not None:
            prep = self._engine.dialect.identifier_preparer
            sql = f"SELECT {', '.join(prep.quote_identifier(c) for c in columns)} FROM ({sql}) AS q"  # noqa: S608
        # Types by column name: the table's own, else a same-named column's elsewhere in
        # the database (if all agree), else inferred from the first batch.
        known: dict[str, pa.DataType | None] = dict(self._types_by_name())
        pk_name = None
        if sa.inspect(self._engine).has_table(table, schema=self._db_schema):
            tbl = self._table(table)
            known.update({c.name: arrow_type(c.type) for c in tbl.columns})
            pk = list(tbl.primary_key.columns)
            pk_name = pk[0].name if len(pk) == 1 else None
        yield from self._stream(sql, table, known, pk_name, batch_size)

    @contextmanager
    def _cursor(
        self, sql: str, batch_size: int
    ) -> Iterator[tuple[list[str], Iterator[Sequence[Sequence[Any]]]]]:
        """Run ``sql`` (no parameters) on a streaming cursor; yield (column names, row chunks).

        SQLite and psycopg are read through the DB-API cursor directly (a named,
        server-side cursor on PostgreSQL); other drivers through SQLAlchemy's
        ``yield_per`` streaming.
        """
        dialect = self._engine.dialect
        direct = dialect.name == "sqlite" or (
            dialect.name == "postgresql" and dialect.driver == "psycopg"
        )
        if not direct:
            with self._engine.connect() as conn:
                result = conn.execution_options(yield_per=batch_size).exec_driver_sql(sql)
                yield list(result.keys()), iter(result.partitions(batch_size))
            return
        raw = self._engine.raw_connection()
        try:
            dbapi: Any = raw.driver_connection
            if dialect.name == "postgresql":
                cur = dbapi.cursor(name=f"deid_src_{secrets.token_hex(6)}")
                cur.itersize = batch_size
            else:
                cur = dbapi.cursor()
            try:
                try:
                    cur.execute(sql)
                except dialect.loaded_dbapi.Error as exc:
                    first = (
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    )
                    raise DataError(
                        f"the database refused the query: {first}", field="query"
                    ) from None
                keys = [d[0] for d in cur.description]

                def chunks() -> Iterator[Sequence[Sequence[Any]]]:
                    while rows := cur.fetchmany(batch_size):
                        yield rows

                yield keys, chunks()
            finally:
                cur.close()
        finally:
            raw.rollback()
            raw.close()

    def _stream(
        self,
        sql: str,
        table: str,
        types: pa.Schema | dict[str, pa.DataType | None],
        pk_name: str | None,
        batch_size: int,
    ) -> Iterator[pa.RecordBatch]:
        schema: pa.Schema | None = types if isinstance(types, pa.Schema) else None
        row = 0
        with self._cursor(sql, batch_size) as (keys, chunks):
            if len(set(keys)) != len(keys):
                dup = next(k for k in keys if keys.count(k) > 1)
                raise DataError("duplicate column name in query result", field=f"{table}.{dup}")
            wire: pa.DataType | None = None
            for rows in chunks:
                if schema is None:
                    assert isinstance(types, dict)
                    schema = _infer_schema(keys, list(zip(*rows, strict=True)), types)
                if wire is None:
                    wire = _wire_type(schema, sqlite=self._engine.dialect.name == "sqlite")
                batch = _fast_batch(rows, wire, schema)
                if batch is None:
                    batch = _checked_batch(rows, keys, schema, table, pk_name, row)
                row += len(rows)
                yield batch
            if row == 0:
                if schema is None:
                    assert isinstance(types, dict)
                    schema = _infer_schema(keys, [() for _ in keys], types)
                yield _empty(schema)


def _wire_type(schema: pa.Schema, *, sqlite: bool) -> pa.DataType:
    """The struct type rows are converted to in one pass before casting to ``schema``.

    SQLite hands dates and timestamps over as ISO text and booleans as integers;
    integers travel as float64 so a fractional value (SQLite's dynamic typing)
    fails the safe cast instead of being truncated by the Python conversion.
    """
    fields = []
    for f in schema:
        t = f.type
        if pa.types.is_integer(t):
            t = pa.float64()
        elif sqlite and (pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_time(t)):
            t = pa.string()
        elif sqlite and pa.types.is_boolean(t):
            t = pa.int64()
        fields.append(pa.field(f.name, t))
    return pa.struct(fields)


def _fast_batch(
    rows: Sequence[Sequence[Any]], wire: pa.DataType, schema: pa.Schema
) -> pa.RecordBatch | None:
    """Rows to a batch through one struct conversion; ``None`` if any value needs care."""
    try:
        struct = pa.array(rows, type=wire)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    arrays = []
    for i, f in enumerate(schema):
        arr = struct.field(i)
        if arr.type != f.type:
            try:
                arr = arr.cast(f.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _checked_batch(
    rows: Sequence[Sequence[Any]],
    keys: list[str],
    schema: pa.Schema,
    table: str,
    pk_name: str | None,
    first_row: int,
) -> pa.RecordBatch:
    """Column by column, with lossless coercions; a bad value raises ``DataError``."""
    cols = list(zip(*rows, strict=True))
    record_of = None
    if pk_name is not None and pk_name in keys:
        record_of = _Records(pk_name, cols[keys.index(pk_name)])
    arrays = [
        conform_array(
            values, f.type, field=f"{table}.{f.name}", record_of=record_of, first_row=first_row
        )
        for values, f in zip(cols, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


def _infer_schema(
    keys: list[str],
    cols: list[tuple[Any, ...]] | list[tuple[()]],
    known: dict[str, pa.DataType | None],
) -> pa.Schema:
    fields = []
    for name, values in zip(keys, cols, strict=True):
        t = known.get(name)
        if t is None:
            try:
                t = pa.array(values).type
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                t = pa.string()
            if pa.types.is_null(t):
                t = pa.string()
        fields.append(pa.field(name, t))
    return pa.schema(fields)


def _strip(query: str) -> str:
    sql = query.strip().rstrip(";").strip()
    if not sql:
        raise DataError("empty SQL query", field="query")
    return sql
