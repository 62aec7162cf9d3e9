"""Staging sink: Parquet + CSV, manifest with SHA-256, atomic publish, nothing on crash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from deid.errors import DataError, DeidError
from deid.sinks import MANIFEST_NAME, StagingSink, verify_release


def batch(start: int, n: int) -> pa.RecordBatch:
    return pa.record_batch(
        {"pid": [f"p{i}" for i in range(start, start + n)], "age": list(range(start, start + n))}
    )


def published(tmp_path: Path) -> Path:
    with StagingSink(tmp_path, "rel-1") as sink:
        t = sink.table("person", columns={"pid": {"class": "pseudonymized", "domain": "person"}})
        t.write(batch(0, 3))
        t.write(batch(3, 2))
        sink.table("visit").write(batch(10, 4))
        manifest = sink.publish(
            plan_digest="ab" * 32, key_id="rk_" + "0" * 32, privacy_report={"k": 5}, created_at="t"
        )
    assert manifest.release_dir == tmp_path / "rel-1"
    return manifest.release_dir


def test_publish_writes_files_and_manifest(tmp_path: Path) -> None:
    out = published(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST_NAME,
        "person.csv",
        "person.parquet",
        "visit.csv",
        "visit.parquet",
    ]
    data = json.loads((out / MANIFEST_NAME).read_text())
    assert data["plan_digest"] == "ab" * 32
    assert data["key_id"] == "rk_" + "0" * 32
    assert data["privacy_report"] == {"k": 5}
    by_name = {f["name"]: f for f in data["files"]}
    for name, entry in by_name.items():
        raw = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["size"] == len(raw)
    assert by_name["person.parquet"]["rows"] == 5
    assert by_name["visit.csv"]["rows"] == 4
    assert pq.read_table(out / "person.parquet").num_rows == 5
    assert pacsv.read_csv(out / "person.csv").column("pid").to_pylist() == [
        f"p{i}" for i in range(5)
    ]
    cols = {c["name"]: c for c in data["tables"]["person"]["columns"]}
    assert cols["pid"]["class"] == "pseudonymized"
    assert cols["age"]["type"] == "int64"
    assert not any(p.name.startswith(".staging") for p in tmp_path.iterdir())
    assert verify_release(out).rows("person") == 5


def test_a_crash_mid_build_publishes_nothing(tmp_path: Path) -> None:
    def build() -> None:
        with StagingSink(tmp_path, "rel-2") as sink:
            sink.table("person").write(batch(0, 3))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        build()
    assert list(tmp_path.iterdir()) == []


def test_abort_removes_staging(tmp_path: Path) -> None:
    sink = StagingSink(tmp_path, "rel-3")
    sink.table("t").write(batch(0, 1))
    assert sink.staging_dir.is_dir()
    sink.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DeidError, match="aborted"):
        sink.table("t")


def test_published_release_is_immutable(tmp_path: Path) -> None:
    published(tmp_path)
    with pytest.raises(DeidError, match="already published"):
        StagingSink(tmp_path, "rel-1")


def test_verify_detects_tampering(tmp_path: Path) -> None:
    out = published(tmp_path)
    with open(out / "visit.csv", "ab") as fh:
        fh.write(b"extra\n")
    with pytest.raises(DataError, match=r"visit\.csv"):
        verify_release(out)


def test_rebuild_gives_identical_files(tmp_path: Path) -> None:
    a = published(tmp_path / "a")
    b = published(tmp_path / "b")
    for name in ("person.parquet", "person.csv", "visit.parquet", MANIFEST_NAME):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_schema_drift_is_an_error_naming_the_table(tmp_path: Path) -> None:
    with StagingSink(tmp_path, "rel-4") as sink:
        t = sink.table("person")
        t.write(batch(0, 1))
        with pytest.raises(DataError, match="person"):
            t.write(pa.record_batch({"other": [1]}))


def test_empty_table_and_bad_ids(tmp_path: Path) -> None:
    with StagingSink(tmp_path, "rel-5") as sink:
        sink.table("empty")
        m = sink.publish(plan_digest="x", key_id="k")
    assert m.rows("empty") == 0
    with pytest.raises(DataError):
        StagingSink(tmp_path, "../evil")
