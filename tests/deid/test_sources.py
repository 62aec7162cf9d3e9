"""Sources: SQL (SQLite, PostgreSQL), Parquet and CSV stream all rows as typed Arrow batches."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from deid.errors import DataError
from deid.sources import CsvSource, ParquetSource, Source, SqlSource, open_source
from deid.sources.base import rebatch
from deid.sources.cdw_schema import CDW_TABLES, PERSON_FLAT_QUERY
from fixtures.synthetic_cdw import generate
from tests.fixtures import postgres_cdw_url

PATIENTS = 400
EXPECTED_TYPES = {
    ("person", "person_id"): pa.int64(),
    ("person", "birth_date"): pa.date32(),
    ("person", "rrn"): pa.string(),
    ("person", "year_of_birth"): pa.int64(),
    ("visit_occurrence", "visit_start_date"): pa.date32(),
    ("measurement", "value_as_number"): pa.float64(),
    ("note", "note_text"): pa.string(),
}


@pytest.fixture(scope="module")
def cdw_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "cdw.sqlite3"
    generate(f"sqlite:///{path}", patients=PATIENTS, seed=1)
    return path


@pytest.fixture(scope="module")
def sqlite_source(cdw_path: Path) -> Iterator[SqlSource]:
    with SqlSource(f"sqlite:///{cdw_path}") as source:
        yield source


def _collect(batches: Iterator[pa.RecordBatch], batch_size: int, schema: pa.Schema) -> pa.Table:
    got = list(batches)
    assert got, "a source yields at least one batch"
    for b in got:
        assert b.schema == schema
        assert b.num_rows <= batch_size
    # every batch but the last is full
    assert all(b.num_rows == batch_size for b in got[:-1])
    return pa.Table.from_batches(got, schema=schema)


def _check_source(source: Source, reference: dict[str, pa.Table], batch_size: int) -> None:
    for table in CDW_TABLES:
        schema = source.schema(table)
        got = _collect(source.batches(table, batch_size=batch_size), batch_size, schema)
        assert got.num_rows == source.count(table) == reference[table].num_rows, table
        assert got.equals(reference[table].cast(schema)), table


@pytest.fixture(scope="module")
def reference(sqlite_source: SqlSource) -> dict[str, pa.Table]:
    return {t: pa.Table.from_batches(list(sqlite_source.batches(t))) for t in CDW_TABLES}


# -- SQL --------------------------------------------------------------------------------


def test_sqlite_streams_every_row_in_bounded_batches(
    sqlite_source: SqlSource, cdw_path: Path
) -> None:
    conn = sqlite3.connect(cdw_path)
    for table in CDW_TABLES:
        schema = sqlite_source.schema(table)
        got = _collect(sqlite_source.batches(table, batch_size=500), 500, schema)
        expected = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
        assert got.num_rows == len(expected) == sqlite_source.count(table)
        rows = [
            tuple(v.isoformat() if isinstance(v, dt.date) else v for v in r.values())
            for r in got.to_pylist()
        ]
        assert rows == expected, table


def test_sqlite_types_map_to_arrow(sqlite_source: SqlSource) -> None:
    for (table, column), expected in EXPECTED_TYPES.items():
        assert sqlite_source.schema(table).field(column).type == expected
    batch = next(sqlite_source.batches("person", batch_size=10))
    assert isinstance(batch.column("birth_date")[0].as_py(), dt.date)


def test_columns_select_and_order(sqlite_source: SqlSource) -> None:
    batch = next(sqlite_source.batches("person", columns=["rrn", "person_id"], batch_size=7))
    assert batch.schema.names == ["rrn", "person_id"]
    assert batch.column("person_id").to_pylist() == list(range(1, 8))
    with pytest.raises(DataError, match="no_such") as err:
        list(sqlite_source.batches("person", columns=["person_id", "no_such"]))
    assert err.value.field == "person.no_such"


def test_query_keeps_the_table_types_and_infers_the_rest(sqlite_source: SqlSource) -> None:
    got = pa.Table.from_batches(
        list(sqlite_source.batches("person", query=PERSON_FLAT_QUERY, batch_size=128))
    )
    assert got.num_rows == PATIENTS == sqlite_source.count("person", query=PERSON_FLAT_QUERY)
    assert got.schema.field("birth_date").type == pa.date32()
    assert got.schema.field("sigungu").type == pa.string()
    q = "SELECT person_id, year_of_birth * 2 AS twice, NULL AS nada FROM person;"
    batches = list(sqlite_source.batches("person", query=q, columns=["twice", "nada"]))
    assert batches[0].schema == pa.schema([("twice", pa.int64()), ("nada", pa.string())])
    # a query may name a logical table that is not in the database
    flat = pa.Table.from_batches(
        list(sqlite_source.batches("person_flat", query=PERSON_FLAT_QUERY))
    )
    assert flat.num_rows == PATIENTS == sqlite_source.count("person_flat", query=PERSON_FLAT_QUERY)
    assert flat.schema.field("birth_date").type == pa.date32()  # from person.birth_date
    assert flat.schema.field("sigungu").type == pa.string()
    assert flat.schema.field("year_of_birth").type == pa.int64()
    # literals with ':' and '%' are not parameters
    q = "SELECT person_id, '10:30 50%' AS memo FROM person WHERE rrn LIKE '%-%' ORDER BY 1"
    assert sqlite_source.count("person", query=q) == PATIENTS
    first = next(sqlite_source.batches("person", query=q, batch_size=1))
    assert first.to_pylist() == [{"person_id": 1, "memo": "10:30 50%"}]
    with pytest.raises(DataError, match="refused the query") as err:
        sqlite_source.count("person", query="SELECT nope FROM person")
    assert err.value.field == "query"


def test_empty_results_yield_one_empty_batch_with_the_schema(sqlite_source: SqlSource) -> None:
    q = "SELECT * FROM person WHERE person_id < 0"
    batches = list(sqlite_source.batches("person", query=q))
    assert len(batches) == 1
    assert batches[0].num_rows == 0
    assert batches[0].schema == sqlite_source.schema("person")
    assert sqlite_source.count("person", query=q) == 0


def test_sql_source_pickles_to_a_fresh_engine(sqlite_source: SqlSource) -> None:
    import pickle

    clone = pickle.loads(pickle.dumps(sqlite_source))  # noqa: S301 (our own bytes)
    assert clone.url == sqlite_source.url
    assert clone.engine is not sqlite_source.engine
    assert clone.count("person") == PATIENTS


def test_missing_sqlite_file_is_an_error_not_a_new_database(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(DataError, match="no SQLite database file"):
        SqlSource(f"sqlite:///{missing}")
    assert not missing.exists()


def test_unknown_table_and_bad_batch_size(sqlite_source: SqlSource) -> None:
    with pytest.raises(DataError, match="expected one of") as err:
        sqlite_source.schema("patients")
    assert err.value.field == "patients"
    with pytest.raises(ValueError, match="batch_size"):
        list(sqlite_source.batches("person", batch_size=0))


@pytest.fixture
def odd_db(tmp_path: Path) -> str:
    path = tmp_path / "odd.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE lab (lab_id INTEGER PRIMARY KEY, value INTEGER, taken DATE,
                          at TIMESTAMP, ok BOOLEAN, amount NUMERIC(10, 2), label TEXT);
        INSERT INTO lab VALUES (1, 5, '2020-01-02', '2020-01-02 10:11:12', 1, 1.25, '김');
        INSERT INTO lab VALUES (2, NULL, NULL, NULL, 0, NULL, NULL);
        """
    )
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def test_timestamps_booleans_numerics_and_nulls(odd_db: str) -> None:
    source = SqlSource(odd_db)
    schema = source.schema("lab")
    assert schema == pa.schema(
        [
            ("lab_id", pa.int64()),
            ("value", pa.int64()),
            ("taken", pa.date32()),
            ("at", pa.timestamp("us")),
            ("ok", pa.bool_()),
            ("amount", pa.float64()),
            ("label", pa.string()),
        ]
    )
    rows = pa.Table.from_batches(list(source.batches("lab"))).to_pylist()
    assert rows[0] == {
        "lab_id": 1,
        "value": 5,
        "taken": dt.date(2020, 1, 2),
        "at": dt.datetime(2020, 1, 2, 10, 11, 12),
        "ok": True,
        "amount": 1.25,
        "label": "김",
    }
    assert rows[1]["value"] is None
    assert rows[1]["ok"] is False


@pytest.mark.parametrize(
    ("column", "bad", "expected"),
    [
        ("value", "'abc'", "int64"),
        ("value", "2.5", "int64"),
        ("taken", "'2020-13-45'", "date32"),
        ("at", "'yesterday'", "timestamp"),
    ],
)
def test_bad_values_name_the_record_and_field(
    odd_db: str, column: str, bad: str, expected: str
) -> None:
    path = odd_db.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    conn.execute(f"INSERT INTO lab (lab_id, {column}) VALUES (77, {bad})")  # noqa: S608
    conn.commit()
    conn.close()
    with pytest.raises(DataError) as err:
        list(SqlSource(odd_db).batches("lab"))
    assert err.value.field == f"lab.{column}"
    assert err.value.record == "lab_id=77"
    assert expected in str(err.value)
    assert bad.strip("'") not in str(err.value)  # the value itself may be PHI


@pytest.mark.postgres
def test_postgres_streams_the_same_batches_as_sqlite(reference: dict[str, pa.Table]) -> None:
    url = postgres_cdw_url("_src")
    generate(url, patients=PATIENTS, seed=1)
    with SqlSource(url) as source:
        for (table, column), expected in EXPECTED_TYPES.items():
            assert source.schema(table).field(column).type == expected
        _check_source(source, reference, batch_size=333)
        got = pa.Table.from_batches(list(source.batches("person", query=PERSON_FLAT_QUERY)))
        assert got.num_rows == PATIENTS
        assert got.schema.field("birth_date").type == pa.date32()
        # a query with '%' and ':' literals runs as written (no parameter parsing)
        q = "SELECT person_id FROM person WHERE address LIKE '%:%' OR rrn LIKE '%-%'"
        assert source.count("person", query=q) == PATIENTS
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS odd")
        conn.exec_driver_sql(
            "CREATE TABLE odd (i integer primary key, n numeric(6,2), at timestamptz, b boolean)"
        )
        conn.exec_driver_sql(
            "INSERT INTO odd VALUES (1, 1.25, '2020-01-02 03:04:05+09', true), (2, NULL, NULL, NULL)"
        )
    try:
        with SqlSource(url) as source:
            got = pa.Table.from_batches(list(source.batches("odd")))
        assert got.schema == pa.schema(
            [("i", pa.int64()), ("n", pa.float64()), ("at", pa.timestamp("us", tz="UTC")),
             ("b", pa.bool_())]
        )  # fmt: skip
        assert got.column("n").to_pylist() == [1.25, None]
        assert got.column("at")[0].as_py() == dt.datetime(2020, 1, 1, 18, 4, 5, tzinfo=dt.UTC)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE odd")
        engine.dispose()


# -- files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory, reference: dict[str, pa.Table]) -> Path:
    root = tmp_path_factory.mktemp("parquet")
    for name, table in reference.items():
        pq.write_table(table, root / f"{name}.parquet", row_group_size=97)
    return root


def test_parquet_streams_the_same_rows(parquet_dir: Path, reference: dict[str, pa.Table]) -> None:
    source = ParquetSource(parquet_dir)
    assert source.tables() == sorted(CDW_TABLES)
    _check_source(source, reference, batch_size=250)
    batch = next(source.batches("note", columns=["lang", "note_id"], batch_size=3))
    assert batch.schema.names == ["lang", "note_id"]
    with pytest.raises(DataError, match="query") as err:
        list(source.batches("person", query="SELECT 1"))
    assert err.value.field == "query"
    with pytest.raises(DataError, match="expected one of"):
        source.schema("nope")


def test_parquet_files_and_partitioned_folders(
    tmp_path: Path, reference: dict[str, pa.Table]
) -> None:
    person = reference["person"]
    a, b = person.slice(0, 150), person.slice(150)
    (tmp_path / "one").mkdir()
    pq.write_table(a, tmp_path / "one" / "person.parquet")
    (tmp_path / "two").mkdir()
    pq.write_table(b, tmp_path / "two" / "person.parquet")
    files = ParquetSource(
        [tmp_path / "one" / "person.parquet", tmp_path / "two" / "person.parquet"]
    )
    assert files.count("person") == PATIENTS
    got = pa.Table.from_batches(list(files.batches("person", batch_size=64)))
    assert got.equals(person)
    part = tmp_path / "ds"
    pq.write_to_dataset(person, part / "person", partition_cols=["gender_source_value"])
    folder = ParquetSource(part)
    assert folder.count("person") == PATIENTS
    rows = pa.Table.from_batches(list(folder.batches("person", columns=["person_id"])))
    assert sorted(rows.column("person_id").to_pylist()) == list(range(1, PATIENTS + 1))


def test_csv_streams_rows_with_inferred_types(
    tmp_path: Path, reference: dict[str, pa.Table]
) -> None:
    person = reference["person"].drop_columns(["registration_no", "phone"])
    pacsv.write_csv(person, tmp_path / "person.csv", pacsv.WriteOptions(delimiter=";"))
    source = CsvSource(tmp_path, sep=";")
    schema = source.schema("person")
    assert schema.field("birth_date").type == pa.date32()
    assert schema.field("person_id").type == pa.int64()
    got = _collect(source.batches("person", batch_size=128), 128, schema)
    assert got.equals(person)
    assert source.count("person") == PATIENTS
    single = CsvSource(tmp_path / "person.csv", ";")
    assert single.tables() == ["person"]
    first = next(single.batches("person", columns=["patient_name", "person_id"], batch_size=2))
    assert first.to_pylist() == person.select(["patient_name", "person_id"]).slice(0, 2).to_pylist()


def test_csv_bad_value_in_a_later_block_names_the_field(tmp_path: Path) -> None:
    lines = ["id,score"] + [f"{i},{i * 2}" for i in range(5000)] + ["5000,not-a-number"]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = CsvSource(tmp_path / "t.csv", block_size=4096)
    with pytest.raises(DataError) as err:
        list(source.batches("t", batch_size=1000))
    assert err.value.field == "t.score"


def test_open_source_dispatches(tmp_path: Path, cdw_path: Path, parquet_dir: Path) -> None:
    assert isinstance(open_source(f"sqlite:///{cdw_path}"), SqlSource)
    assert isinstance(open_source(parquet_dir), ParquetSource)
    (tmp_path / "x.csv").write_text("a\n1\n", encoding="utf-8")
    assert isinstance(open_source(tmp_path / "x.csv"), CsvSource)
    assert isinstance(open_source(tmp_path), CsvSource)
    for source in (open_source(parquet_dir), SqlSource(f"sqlite:///{cdw_path}")):
        assert isinstance(source, Source)


# -- rebatch -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=12),
    batch_size=st.integers(min_value=1, max_value=50),
)
def test_rebatch_keeps_rows_and_order_and_fills_batches(sizes: list[int], batch_size: int) -> None:
    schema = pa.schema([("i", pa.int64())])
    start, inputs = 0, []
    for n in sizes:
        inputs.append(
            pa.RecordBatch.from_arrays([pa.array(range(start, start + n))], schema=schema)
        )
        start += n
    out = list(rebatch(iter(inputs), batch_size, schema))
    assert [v for b in out for v in b.column(0).to_pylist()] == list(range(start))
    assert all(b.num_rows == batch_size for b in out[:-1])
    assert all(0 < b.num_rows <= batch_size for b in out)


# -- conform_array -----------------------------------------------------------------------


def test_conform_array_converts_losslessly_or_names_the_row() -> None:
    import decimal
    import uuid

    from deid.sources.base import conform_array

    u = uuid.UUID(int=5)
    assert conform_array([u, None], pa.string(), field="t.u").to_pylist() == [str(u), None]
    got = conform_array([decimal.Decimal("1.25"), 2, None], pa.float64(), field="t.x")
    assert got.to_pylist() == [1.25, 2.0, None]
    assert conform_array(["2020-02-29"], pa.date32(), field="t.d").to_pylist() == [
        dt.date(2020, 2, 29)
    ]
    with pytest.raises(DataError, match="int64") as err:
        conform_array([1, 2, 3.5], pa.int64(), field="t.i", first_row=100)
    assert (err.value.record, err.value.field) == ("row 102", "t.i")
    with pytest.raises(DataError, match="got str after int") as err:
        conform_array([1, "2"], pa.int64(), field="t.i", record_of=["a", "b"])
    assert err.value.record == "b"
