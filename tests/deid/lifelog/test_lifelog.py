"""The lifelog transform: windows checked against a plain-Python oracle on the source minutes."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deid.dates import date_shift_days
from deid.errors import DataError, PolicyError, PrivacyTargetNotMet
from deid.lifelog import parse_lifelog_spec
from deid.lifelog.aggregate import SLEEP_STAGES, sigungu_of
from deid.lifelog.release import (
    lifelog_report,
    local_batches,
    minutes_path,
    released_devices,
    source_devices,
)
from deid.lifelog.risk import series_uniqueness
from deid.linkage import read_linkage
from deid.pseudonym import pseudonymize
from deid.transform import PersonSet
from fixtures.lifelog import generate_lifelog

KEY = b"q" * 32
SHIFT_KEY = b"s" * 32


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lifelog")
    generate_lifelog(root, list(range(1, 101)), seed=3, devices=20, days=2, gps_share=0.5)
    return root


def shift(pseudonyms: pa.Array) -> pa.Array:
    return date_shift_days(pseudonyms, SHIFT_KEY, max_days=30)


def run(source: Path, *, keep: range = range(1, 71), **raw: Any) -> tuple[pa.Table, pa.Table]:
    spec = parse_lifelog_spec({"source": str(source), **raw})
    persons = PersonSet(pa.array(list(keep), pa.int64()))
    devices = released_devices(
        spec,
        device_ids=source_devices(minutes_path(spec)),
        contains=persons.contains,
        person_key=KEY,
        shift=shift,
    )
    parts = list(local_batches(spec, devices))
    return pa.concat_tables(parts), devices


def oracle(source: Path, keep: range, window: int) -> dict[tuple[str, dt.datetime], dict[str, Any]]:
    """Per (pseudonym, shifted window): the sums and extremes, by plain Python loops."""
    linkage = read_linkage(source / "linkage.csv", "device_id")
    person = dict(zip(linkage.ids, linkage.persons.to_pylist(), strict=True))
    kept = {d: p for d, p in person.items() if p in keep}
    names = pseudonymize(pa.array(list(kept.values()), pa.int64()), KEY).to_pylist()
    pseudo = dict(zip(kept, names, strict=True))
    days = dict(zip(kept, shift(pa.array(names)).to_pylist(), strict=True))
    out: dict[tuple[str, dt.datetime], dict[str, Any]] = defaultdict(
        lambda: {"steps": 0, "hr": [], **{s: 0 for s in SLEEP_STAGES}}
    )
    for row in pq.read_table(source / "minutes.parquet").to_pylist():
        device = row["device_id"]
        if device not in kept:
            continue
        ts = row["ts"] + dt.timedelta(days=days[device])
        minute = ts.hour * 60 + ts.minute
        start = ts.replace(hour=0, minute=0) + dt.timedelta(minutes=minute - minute % window)
        cell = out[(pseudo[device], start)]
        cell["steps"] += row["steps"]
        if row["heart_rate"] is not None:
            cell["hr"].append(row["heart_rate"])
        if row["sleep_stage"] is not None:
            cell[row["sleep_stage"]] += 1
    return out


@pytest.mark.parametrize("window", ["1h", "30min", "1d"])
def test_windows_match_a_plain_oracle(source: Path, window: str) -> None:
    table, devices = run(source, window=window)
    minutes = {"1h": 60, "30min": 30, "1d": 1440}[window]
    expected = oracle(source, range(1, 71), minutes)
    got = {(r["person_id"], r["window_start"]): r for r in table.to_pylist()}
    assert set(got) == set(expected)
    for k, cell in expected.items():
        row = got[k]
        assert row["steps"] == cell["steps"]
        assert row["minutes_worn"] == len(cell["hr"])
        if cell["hr"]:
            assert row["hr_min"] == min(cell["hr"])
            assert row["hr_max"] == max(cell["hr"])
            assert row["hr_mean"] == pytest.approx(sum(cell["hr"]) / len(cell["hr"]), abs=0.051)
        for s in SLEEP_STAGES:
            assert row[f"sleep_{s}_min"] == cell[s]
    starts = table["window_start"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    assert (starts % (minutes * 60) == 0).all()
    assert devices.num_rows == len({p for p, _ in expected})


def test_only_released_patients_and_no_device_ids(source: Path) -> None:
    table, _ = run(source, keep=range(1, 41))
    linkage = read_linkage(source / "linkage.csv", "device_id")
    released = [p for p in linkage.persons.to_pylist() if p < 41]
    expected = set(pseudonymize(pa.array(released, pa.int64()), KEY).to_pylist())
    assert set(table["person_id"].to_pylist()) == expected
    text = pa.Table.to_pylist(table)
    assert not any(d in str(text) for d in linkage.ids)


def test_shift_is_the_patients_clinical_offset(source: Path) -> None:
    """The same days as deid.transform.patient_shifts gives the clinical tables."""
    from deid.keys import ReleaseKey
    from deid.plan import compile_plan
    from deid.transform import TableSpec, patient_shifts

    spec_yaml = {
        "release": {
            "anchor": "person",
            "link_column": "person_id",
            "date_shift": {"max_days": 30},
        },
        "tables": {
            "person": {
                "policy": {
                    "columns": {
                        "person_id": {
                            "role": "identifier",
                            "transform": "pseudonymize",
                            "domain": "person",
                        },
                        "visit_date": {"role": "insensitive", "date_shift": True},
                        "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
                    },
                    "privacy": {"k": 2},
                }
            }
        },
    }
    plan = compile_plan(spec_yaml, release_id="r", recipient_org_id="o", key_id="k", source="x")
    key = ReleaseKey(key_id="k", release_id="r", recipient_org_id="o", _material=b"m" * 32)
    linkage = read_linkage(source / "linkage.csv", "device_id")
    ids = pa.array(linkage.persons.to_pylist(), pa.int64())
    batch = pa.RecordBatch.from_pydict(
        {"person_id": ids, "visit_date": pa.array([dt.date(2024, 1, 1)] * len(ids))}
    )
    clinical = patient_shifts(batch, spec=TableSpec.from_plan(plan, "person"), key=key)
    from deid.kinds import person_shift

    lifelog_shift = person_shift(plan, key)
    assert lifelog_shift is not None
    pseudonyms = pseudonymize(ids, key.domain_key("person"))
    assert lifelog_shift(pseudonyms).to_pylist() == clinical.to_pylist()


def test_gps_dropped_by_default_or_generalized_to_sigungu(source: Path) -> None:
    dropped, _ = run(source)
    assert "sigungu" not in dropped.column_names
    assert {f.name for f in dropped.schema if pa.types.is_floating(f.type)} == {
        "hr_mean",
        "hr_min",
        "hr_max",
    }
    places, _ = run(source, gps="sigungu")
    values = {v for v in places["sigungu"].to_pylist() if v is not None}
    assert values
    assert all(v.startswith("강원특별자치도 ") for v in values)


def test_sigungu_of_points() -> None:
    import numpy as np

    got = sigungu_of(np.array([37.88, 37.75, 35.1]), np.array([127.73, 128.88, 129.0]))
    assert got == ["강원특별자치도 춘천시", "강원특별자치도 강릉시", None]


def test_device_without_linkage_fails_naming_it(source: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(source, src)
    lines = (src / "linkage.csv").read_text().splitlines()
    missing = lines.pop(5).split(",")[0]
    (src / "linkage.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=missing):
        run(src)


def test_bad_minutes_fail_naming_the_device(source: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(source, src)
    table = pq.read_table(src / "minutes.parquet")
    steps = table["steps"].to_pylist()
    steps[10] = -5
    device = table["device_id"][10].as_py()
    table = table.set_column(2, "steps", pa.array(steps, pa.int32()))
    pq.write_table(table, src / "minutes.parquet")
    with pytest.raises(DataError, match=rf"device {device}.*steps"):
        run(src, keep=range(1, 101))


def test_uniqueness_counts_profiles_within_demographic_classes() -> None:
    def series(person: str, steps: list[int]) -> list[dict[str, Any]]:
        base = dt.datetime(2024, 1, 1)
        return [
            {"person_id": person, "window_start": base + dt.timedelta(hours=4 * i), "steps": s}
            for i, s in enumerate(steps)
        ]

    rows = (
        series("a", [0, 100, 900, 900, 100, 0])
        + series("b", [0, 100, 900, 900, 100, 0])
        + series("c", [0, 100, 900, 900, 100, 0])
        + series("d", [900, 900, 0, 0, 900, 900])
    )
    lifelog = pa.Table.from_pylist(rows)
    person = pa.table({"person_id": ["a", "b", "c", "d"], "sex": ["F", "F", "M", "F"]})
    got = series_uniqueness(lifelog, person, link="person_id", quasi=["sex"])
    # c is alone in class M; d has its own profile; a and b share class and profile
    assert got["unique"] == 2
    assert got["unique_share"] == 0.5
    same_class = series_uniqueness(lifelog, person, link="person_id", quasi=[])
    assert same_class["unique"] == 1  # only d


def test_uniqueness_over_the_limit_publishes_nothing(source: Path) -> None:
    table, devices = run(source)
    person = pa.table({"person_id": devices["person_id"]})
    spec = parse_lifelog_spec({"source": str(source), "max_unique_share": 0.0})
    with pytest.raises(PrivacyTargetNotMet, match="single their person out"):
        lifelog_report(
            spec,
            lifelog=table,
            anchor=person,
            link="person_id",
            quasi=[],
            devices_in=20,
            devices_released=devices.num_rows,
        )


def test_policy_errors_name_the_field() -> None:
    with pytest.raises(PolicyError, match=r"lifelog\.window"):
        parse_lifelog_spec({"window": "7min"})
    with pytest.raises(PolicyError, match=r"lifelog\.gps"):
        parse_lifelog_spec({"gps": "exact"})
    with pytest.raises(PolicyError, match="max_unique_share"):
        parse_lifelog_spec({"max_unique_share": 2})
