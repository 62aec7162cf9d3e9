"""Longitudinal releases end to end: the written files, read alone, are (k, k^m)-anonymous."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid.errors import PolicyError, PrivacyTargetNotMet
from deid.keys import KeyStore, MasterKey
from deid.pipeline import build_release
from deid.sources.files import ParquetSource
from deid.sources.sql import SqlSource
from tests.deid.longitudinal.oracle import AGES, DAY_DATES, match_counts, violations
from tests.deid.longitudinal.world import draw_world, plan_for, spec_for, write_world
from tests.deid.specs import small_spec


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return KeyStore(tmp_path_factory.mktemp("keys"), MasterKey(b"L" * 32))


def read_release(folder: Path, manifest: Any) -> tuple[dict[Any, Any], dict[Any, list[Any]]]:
    """Classes and events as an attacker reads them: every released column but pseudonyms."""
    tables = manifest.data["tables"]

    def known(name: str) -> list[str]:
        return [
            c["name"]
            for c in tables[name]["columns"]
            if c.get("class") not in ("pseudonymized", "scrubbed_text")
        ]

    person = pq.read_table(folder / "person.parquet").to_pylist()
    classes = {row["person_id"]: tuple(row[c] for c in known("person")) for row in person}
    events: dict[Any, list[Any]] = defaultdict(list)
    for name in tables:
        if name == "person":
            continue
        for row in pq.read_table(folder / f"{name}.parquet").to_pylist():
            events[row["person_id"]].append((name, *(row[c] for c in known(name))))
    return classes, events


@given(seed=st.integers(0, 10_000), persons=st.integers(10, 40), m=st.integers(1, 3))
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_written_release_is_k_km_anonymous_by_brute_force(
    store: KeyStore, tmp_path_factory: pytest.TempPathFactory, seed: int, persons: int, m: int
) -> None:
    root = tmp_path_factory.mktemp("w")
    src = write_world(draw_world(seed, persons), root / "src")
    key_id = store.create_release_key(release_id=f"R{seed}", recipient_org_id="ORG")
    plan = plan_for(spec_for(k=3, m=m, limit=0.9), key_id, str(src), release_id=f"R{seed}")
    try:
        manifest = build_release(
            plan, source=ParquetSource(src), keystore=store, releases_dir=root / "out"
        )
    except PrivacyTargetNotMet:
        assert not (root / "out" / f"R{seed}").exists()
        return
    classes, events = read_release(manifest.release_dir, manifest)
    assert violations(classes, events, k=3, m=m) == []
    # the report's measured risk is what the brute force measures on the same files
    after = manifest.privacy_report["longitudinal"]["risk_after"]
    for mm in (1, 2, 3):
        worst = match_counts(classes, events, mm)
        assert after[f"m{mm}"]["below_k"] == sum(1 for w in worst.values() if w < 3)
        assert after[f"m{mm}"]["highest"] == pytest.approx(max(1 / w for w in worst.values()))
    report = manifest.privacy_report["longitudinal"]
    out = sum(t["events_out"] for t in report["tables"].values())
    assert out == sum(len(v) for v in events.values())


def test_unreachable_target_publishes_nothing(store: KeyStore, tmp_path: Path) -> None:
    src = write_world(draw_world(5, 20, max_visits=6), tmp_path / "src")
    key_id = store.create_release_key(release_id="Rx", recipient_org_id="ORG")
    spec = spec_for(k=8, m=2, limit=0.0, min_kept=1.0)
    spec["tables"]["dx"]["policy"]["columns"]["code"]["options"] = {"max_level": 0}
    plan = plan_for(spec, key_id, str(src), "Rx")
    with pytest.raises(PrivacyTargetNotMet) as info:
        build_release(
            plan, source=ParquetSource(src), keystore=store, releases_dir=tmp_path / "out"
        )
    assert "best_nodes" in info.value.report
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_released_column_outside_the_threat_model_is_refused() -> None:
    spec = spec_for()
    spec["tables"]["visit"]["policy"]["columns"]["note"] = {"role": "insensitive"}
    with pytest.raises(PolicyError) as info:
        plan_for(spec, "rk", "x")
    assert info.value.field == "tables.visit.policy.columns.note"
    spec = spec_for()
    del spec["release"]["events"]["tables"]["dx"]
    with pytest.raises(PolicyError, match="unmeasured") as info:
        plan_for(spec, "rk", "x")
    assert info.value.field == "tables.dx.policy.columns.code"


def test_event_model_errors_name_their_field() -> None:
    for change, fld in (
        ({"m": 7}, "release.events.m"),
        ({"suppression_limit": 2}, "release.events.suppression_limit"),
        ({"text": {"tags": "sometimes"}}, "release.events.text.tags"),
        ({"text": {"sex_column": "age_band"}}, "release.events.text.sex_column"),
        ({"follow": {"visit": "dx"}}, "release.events.follow.visit"),
    ):
        spec = spec_for()
        spec["release"]["events"].update(change)
        with pytest.raises(PolicyError) as info:
            plan_for(spec, "rk", "x")
        assert info.value.field == fld, change


def test_without_a_threat_model_linked_risk_is_measured_and_warned(
    store: KeyStore, tmp_path: Path
) -> None:
    src = write_world(draw_world(9, 30), tmp_path / "src")
    spec = spec_for()
    del spec["release"]["events"]
    for name, col in (("visit", "kind"), ("visit", "site"), ("dx", "code")):
        spec["tables"][name]["policy"]["columns"][col] = {"role": "insensitive"}
    key_id = store.create_release_key(release_id="Rn", recipient_org_id="ORG")
    manifest = build_release(
        plan_for(spec, key_id, str(src), "Rn"),
        source=ParquetSource(src),
        keystore=store,
        releases_dir=tmp_path / "out",
    )
    report = manifest.privacy_report
    assert report["warnings"]
    assert "measured, not controlled" in report["warnings"][0]
    section = report["longitudinal"]
    assert section["model"] is None
    classes, events = read_release(manifest.release_dir, manifest)
    worst = match_counts(classes, events, 2)
    assert section["risk_after"]["m2"]["below_k"] == sum(1 for w in worst.values() if w < 3) > 0


def test_a_fixed_level_0_month_releases_months_not_days(store: KeyStore, tmp_path: Path) -> None:
    """A linked date column whose hierarchy starts at the month releases the month at
    level 0 (it released the shifted day before: finer than its own hierarchy)."""
    import datetime as dt

    import pyarrow as pa

    world = draw_world(4, 20)
    n = world["visit"].num_rows
    world["visit"] = world["visit"].append_column(
        "day", pa.array([dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(n)])
    )
    src = write_world(world, tmp_path / "src")
    spec = spec_for()
    del spec["release"]["events"]
    spec["release"]["date_shift"] = {"max_days": 10, "allow_zero": False}
    for name, col in (("visit", "kind"), ("visit", "site"), ("dx", "code")):
        spec["tables"][name]["policy"]["columns"][col] = {"role": "insensitive"}
    spec["tables"]["visit"]["policy"]["columns"]["day"] = {
        "role": "quasi",
        "date_shift": True,
        "hierarchy": {"type": "date", "levels": ["month", "year"]},
        "options": {"level": 0},
    }
    key_id = store.create_release_key(release_id="Rm", recipient_org_id="ORG")
    manifest = build_release(
        plan_for(spec, key_id, str(src), "Rm"),
        source=ParquetSource(src),
        keystore=store,
        releases_dir=tmp_path / "out",
    )
    days = pq.read_table(manifest.release_dir / "visit.parquet").column("day").to_pylist()
    assert days
    assert all(re.fullmatch(r"\d{4}-\d{2}", d) for d in days)


@pytest.mark.slow
def test_notes_carry_nothing_finer_than_the_tables(store: KeyStore, tmp_path: Path) -> None:
    """Real scrubber on CDW notes: dates at the release's unit, no exact age, plain tags."""
    from fixtures.synthetic_cdw import generate

    db = tmp_path / "cdw.sqlite3"
    generate(f"sqlite:///{db}", patients=60, seed=5)
    spec = copy.deepcopy(small_spec(("person", "visit_occurrence", "condition_occurrence", "note")))
    spec["tables"]["person"]["policy"]["privacy"] = {"k": 2, "suppression_limit": 0.5}
    key_id = store.create_release_key(release_id="Rnotes", recipient_org_id="ORG")
    plan = plan_for(spec, key_id, f"sqlite:///{db}", "Rnotes")
    manifest = build_release(
        plan, source=SqlSource(f"sqlite:///{db}"), keystore=store, releases_dir=tmp_path / "out"
    )
    notes = pq.read_table(manifest.release_dir / "note.parquet").column("note_text").to_pylist()
    assert notes
    rules = manifest.privacy_report["longitudinal"]["notes"]
    assert rules["date_level"] in ("month", "quarter", "year")
    text = "\n".join(notes)
    for rx in DAY_DATES + AGES:
        assert not re.search(rx, text), rx
    assert "[AGE]" in text
    assert not re.search(r"\[(PERSON|ORGANIZATION)_[0-9a-f]{6}\]", text)
    assert rules["icd10_level"] == "category"
    assert not re.search(r"\b[A-Z]\d{2}\.\d", text)  # codes no finer than the table's
    assert re.search(r"\bE11\b|\bI10\b", text)
    if rules["remove_sex"]:
        assert not re.search(r"\b(male|female)\b|남성|여성", text)
    # notes of suppressed visits are gone with them
    visits = set(
        pq.read_table(manifest.release_dir / "visit_occurrence.parquet")
        .column("visit_occurrence_id")
        .to_pylist()
    )
    note_visits = (
        pq.read_table(manifest.release_dir / "note.parquet")
        .column("visit_occurrence_id")
        .to_pylist()
    )
    assert set(note_visits) <= visits
