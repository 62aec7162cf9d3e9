"""The local release build end to end on the synthetic CDW: count -> search -> transform
-> sink, with the privacy properties checked on the published files."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deid.errors import PrivacyTargetNotMet
from deid.keys import KeyStore, MasterKey
from deid.pipeline import build_release
from deid.plan import ReleasePlan, compile_plan
from deid.pseudonym import pseudonymize
from deid.sinks import MANIFEST_NAME, verify_release
from deid.sources.sql import SqlSource

ROOT = Path(__file__).resolve().parents[2]
from tests.deid.specs import small_spec  # noqa: E402

DEMO_SPEC = ROOT / "fixtures" / "policies" / "demo_release.yaml"
QIS = ("gender_source_value", "year_of_birth", "region")


class FakeScrubber:
    """Stands in for the PHI scrubber: records what it gets, returns a fixed text."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        texts: pa.Array,
        *,
        shift_days: pa.Array | None,
        key: bytes,
        column: str,
        langs: pa.Array | None = None,
        **release_text: Any,
    ) -> pa.Array:
        self.calls.append(
            {
                "n": len(texts),
                "shift": shift_days,
                "column": column,
                "langs": langs,
                **release_text,
            }
        )
        return pa.array(["[scrubbed]"] * len(texts), pa.string())


@pytest.fixture(scope="module")
def cdw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.synthetic_cdw import generate

    path = tmp_path_factory.mktemp("cdw") / "cdw.sqlite3"
    generate(f"sqlite:///{path}", patients=600, seed=7)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return KeyStore(tmp_path_factory.mktemp("keys"), MasterKey.from_text("5a" * 32))


def make_plan(
    store: KeyStore,
    *,
    release_id: str = "rel-1",
    recipient: str = "acme",
    spec: dict[str, Any] | None = None,
) -> ReleasePlan:
    key_id = store.create_release_key(release_id=release_id, recipient_org_id=recipient)
    return compile_plan(
        spec or small_spec(),
        release_id=release_id,
        recipient_org_id=recipient,
        key_id=key_id,
        source="sqlite:///cdw.sqlite3",
        created_at="2026-01-01T00:00:00+00:00",
    )


@pytest.fixture(scope="module")
def built(cdw: Path, store: KeyStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    plan = make_plan(store)
    out = tmp_path_factory.mktemp("releases")
    phases: list[tuple[str, int, int | None]] = []
    scrubber = FakeScrubber()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEID_BUILD_THREADS", "1")
        manifest = build_release(
            plan,
            source=SqlSource(f"sqlite:///{cdw}"),
            keystore=store,
            releases_dir=out,
            progress=lambda phase, done, total: phases.append((phase, done, total)),
            text_scrubber=scrubber,
            batch_size=500,
        )
    return {"plan": plan, "manifest": manifest, "phases": phases, "scrubber": scrubber, "out": out}


def table(built: dict[str, Any], name: str) -> pa.Table:
    return pq.read_table(built["manifest"].release_dir / f"{name}.parquet")


def test_release_is_published_and_verifies(built: dict[str, Any]) -> None:
    manifest = built["manifest"]
    assert manifest.release_dir == built["out"] / "rel-1"
    again = verify_release(manifest.release_dir)
    assert again.sha256 == manifest.sha256
    data = json.loads((manifest.release_dir / MANIFEST_NAME).read_text())
    assert data["plan_digest"] == built["plan"].digest()
    assert data["key_id"] == built["plan"].key_id
    assert {f["name"] for f in data["files"]} == {
        f"{t}.{ext}"
        for t in ("person", "visit_occurrence", "condition_occurrence", "measurement", "note")
        for ext in ("parquet", "csv")
    }
    for f in data["files"]:
        if f["name"].endswith(".parquet"):
            assert pq.read_metadata(manifest.release_dir / f["name"]).num_rows == f["rows"]
    assert not [p for p in built["out"].iterdir() if p.name.startswith(".staging")]


def test_anchor_is_k_anonymous_and_report_matches(built: dict[str, Any]) -> None:
    person = table(built, "person")
    sizes = Counter(zip(*(person.column(q).to_pylist() for q in QIS), strict=True))
    assert min(sizes.values()) >= 5
    report = built["manifest"].privacy_report
    assert report["records_in"] == 600
    assert report["records_released"] == person.num_rows
    assert report["records_suppressed"] <= 0.05 * 600
    assert report["report"]["k"] >= 5
    assert person.column_names == ["person_id", *QIS]


def test_no_direct_identifier_leaves(built: dict[str, Any], cdw: Path) -> None:
    con = sqlite3.connect(cdw)
    rrns, regs, phones, names = zip(
        *con.execute("SELECT rrn, registration_no, phone, patient_name FROM person"), strict=True
    )
    con.close()
    released = "".join(
        (built["manifest"].release_dir / f"{t}.csv").read_text()
        for t in ("person", "visit_occurrence", "condition_occurrence", "measurement", "note")
    )
    for values in (rrns, regs, phones, names):
        assert not [v for v in values[:200] if v in released]


def test_linked_tables_hold_only_released_persons_under_one_pseudonym(
    built: dict[str, Any], cdw: Path, store: KeyStore
) -> None:
    released = set(table(built, "person").column("person_id").to_pylist())
    key = store.release_key(built["plan"].key_id)
    con = sqlite3.connect(cdw)
    all_ids = [r[0] for r in con.execute("SELECT person_id FROM person ORDER BY person_id")]
    con.close()
    pseud = dict(
        zip(
            pseudonymize(pa.array(all_ids), key.domain_key("person")).to_pylist(),
            all_ids,
            strict=True,
        )
    )
    assert released <= set(pseud)
    suppressed = set(pseud) - released
    assert len(suppressed) == built["manifest"].privacy_report["records_suppressed"]
    for name in ("visit_occurrence", "condition_occurrence", "measurement", "note"):
        persons = set(table(built, name).column("person_id").to_pylist())
        assert persons <= released, name
        assert not persons & suppressed
    stats = built["manifest"].privacy_report["tables"]
    assert all(stats[t]["rows_out"] == table(built, t).num_rows for t in stats)
    # Visit pseudonyms join across tables (domain "visit"): a diagnosis names its visit
    # (a released one, or one the event model suppressed) of the same released person.
    con = sqlite3.connect(cdw)
    visit_rows = con.execute(
        "SELECT visit_occurrence_id, person_id FROM visit_occurrence"
    ).fetchall()
    con.close()
    visit_ps = pseudonymize(pa.array([v for v, _ in visit_rows]), key.domain_key("visit"))
    person_ps = pseudonymize(pa.array([p for _, p in visit_rows]), key.domain_key("person"))
    visit_person = dict(zip(visit_ps.to_pylist(), person_ps.to_pylist(), strict=True))
    released_visits = set(
        table(built, "visit_occurrence").column("visit_occurrence_id").to_pylist()
    )
    assert released_visits <= set(visit_person)
    conditions = table(built, "condition_occurrence")
    for visit, person in zip(
        conditions.column("visit_occurrence_id").to_pylist(),
        conditions.column("person_id").to_pylist(),
        strict=True,
    ):
        assert visit_person[visit] == person
    suppressed_visits = set(visit_person) - released_visits
    longitudinal = built["manifest"].privacy_report["longitudinal"]
    assert (
        len([v for v in suppressed_visits if visit_person[v] in released])
        == longitudinal["tables"]["visit_occurrence"]["events_suppressed"]
    )


def test_linked_records_of_persons_absent_from_the_anchor_are_dropped(
    cdw: Path, store: KeyStore, tmp_path: Path
) -> None:
    """Linked records keep only persons with a released anchor record: orphans (persons
    not in the anchor table) go too, and the report counts the released persons."""
    import shutil

    path = tmp_path / "cdw.sqlite3"
    shutil.copy(cdw, path)
    con = sqlite3.connect(path)
    cols = [r[1] for r in con.execute("PRAGMA table_info(visit_occurrence)")]
    rows = con.execute("SELECT * FROM visit_occurrence LIMIT 3").fetchall()
    for j, row in enumerate(rows):
        values = dict(zip(cols, row, strict=True))
        values["visit_occurrence_id"] = 90_000_000 + j
        values["person_id"] = [99_999_999, -5, 0][j]
        con.execute(
            f"INSERT INTO visit_occurrence ({','.join(cols)}) "  # noqa: S608 - PRAGMA names
            f"VALUES ({','.join('?' * len(cols))})",
            [values[c] for c in cols],
        )
    con.commit()
    plan = make_plan(store, release_id="rel-orphans")
    manifest = build_release(
        plan,
        source=SqlSource(f"sqlite:///{path}"),
        keystore=store,
        releases_dir=tmp_path / "out",
        text_scrubber=FakeScrubber(),
        batch_size=128,
    )
    key = store.release_key(plan.key_id)
    raw = [r[0] for r in con.execute("SELECT person_id FROM person")]
    pseud = dict(
        zip(pseudonymize(pa.array(raw), key.domain_key("person")).to_pylist(), raw, strict=True)
    )
    released = {
        pseud[p]
        for p in pq.read_table(manifest.release_dir / "person.parquet")
        .column("person_id")
        .to_pylist()
    }
    visits = [r[0] for r in con.execute("SELECT person_id FROM visit_occurrence")]
    con.close()
    out = pq.read_table(manifest.release_dir / "visit_occurrence.parquet")
    stats = manifest.privacy_report["longitudinal"]["tables"]["visit_occurrence"]
    assert stats["events_of_absent_or_unlinked_patients"] == 3
    assert out.num_rows == sum(p in released for p in visits) - stats["events_suppressed"]
    assert stats["events_out"] == out.num_rows
    assert manifest.privacy_report["persons_released"] == len(released)


DATE_SHAPES = {
    "month": r"\d{4}-\d{2}",
    "quarter": r"\d{4}-Q[1-4]",
    "year": r"\d{4}",
    "*": r"\*",
}


def test_dates_generalized_and_notes_get_patient_shifts(built: dict[str, Any]) -> None:
    levels = built["manifest"].privacy_report["longitudinal"]["levels"]
    label = levels["visit_occurrence.visit_start_date"]["label"]
    dates = table(built, "visit_occurrence").column("visit_start_date").to_pylist()
    assert dates
    assert all(re.fullmatch(DATE_SHAPES[label], d) for d in dates)
    assert levels["condition_occurrence.condition_source_value"]["label"] == "category"
    assert all(
        len(c) == 3
        for c in table(built, "condition_occurrence").column("condition_source_value").to_pylist()
    )
    calls = built["scrubber"].calls
    assert calls
    assert sum(c["n"] for c in calls) == table(built, "note").num_rows
    for c in calls:
        shifts = c["shift"].to_pylist()
        assert all(s != 0 and abs(s) <= 30 for s in shifts)
        assert c["langs"] is not None


def test_progress_reports_every_phase(built: dict[str, Any]) -> None:
    phases = [p for p, _, _ in built["phases"]]
    for phase in ("count", "search", "transform:person", "transform:note", "publish"):
        assert phase in phases
    count_done = [d for p, d, t in built["phases"] if p == "count"]
    assert count_done[-1] == 600


def test_rebuild_gives_identical_files_and_recipients_differ(
    built: dict[str, Any],
    cdw: Path,
    store: KeyStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = built["plan"]
    monkeypatch.setenv("DEID_BUILD_THREADS", "3")  # other batch size, other thread count
    again = build_release(
        plan,
        source=SqlSource(f"sqlite:///{cdw}"),
        keystore=store,
        releases_dir=tmp_path / "again",
        text_scrubber=FakeScrubber(),
        batch_size=250,
    )
    for f in built["manifest"].files:
        assert (again.release_dir / f.name).read_bytes() == (
            built["manifest"].release_dir / f.name
        ).read_bytes(), f.name
    assert again.sha256 == built["manifest"].sha256
    other = make_plan(store, release_id="rel-1", recipient="globex")
    m2 = build_release(
        other,
        source=SqlSource(f"sqlite:///{cdw}"),
        keystore=store,
        releases_dir=tmp_path / "other",
        text_scrubber=FakeScrubber(),
    )
    a = set(table(built, "person").column("person_id").to_pylist())
    b = set(pq.read_table(m2.release_dir / "person.parquet").column("person_id").to_pylist())
    assert not a & b


def test_unmet_privacy_target_writes_nothing(cdw: Path, store: KeyStore, tmp_path: Path) -> None:
    spec = small_spec()
    spec["tables"]["person"]["policy"]["privacy"] = {"k": 1000, "suppression_limit": 0.0}
    plan = make_plan(store, release_id="rel-k", spec=spec)
    with pytest.raises(PrivacyTargetNotMet) as info:
        build_release(
            plan,
            source=SqlSource(f"sqlite:///{cdw}"),
            keystore=store,
            releases_dir=tmp_path,
            text_scrubber=FakeScrubber(),
        )
    assert info.value.report["best_nodes"]
    assert list(tmp_path.iterdir()) == []


def test_crash_mid_build_publishes_nothing(cdw: Path, store: KeyStore, tmp_path: Path) -> None:
    plan = make_plan(store, release_id="rel-crash")

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase == "transform:measurement" and done > 0:
            raise KeyboardInterrupt("worker killed")

    with pytest.raises(KeyboardInterrupt):
        build_release(
            plan,
            source=SqlSource(f"sqlite:///{cdw}"),
            keystore=store,
            releases_dir=tmp_path,
            progress=progress,
            text_scrubber=FakeScrubber(),
            batch_size=1000,
        )
    assert list(tmp_path.iterdir()) == []


def test_destroyed_key_cannot_build(cdw: Path, store: KeyStore, tmp_path: Path) -> None:
    from deid.errors import KeyMaterialError

    plan = make_plan(store, release_id="rel-gone")
    store.destroy(plan.key_id)
    with pytest.raises(KeyMaterialError):
        build_release(
            plan,
            source=SqlSource(f"sqlite:///{cdw}"),
            keystore=store,
            releases_dir=tmp_path,
            text_scrubber=FakeScrubber(),
        )
    assert not (tmp_path / "rel-gone").exists()


@pytest.mark.slow
def test_notes_are_scrubbed_by_the_phi_scrubber(store: KeyStore, tmp_path: Path) -> None:
    """Wired to the real scrubber (deid.text): patients' identifiers leave no note."""
    from fixtures.synthetic_cdw import generate

    db = tmp_path / "small.sqlite3"
    generate(f"sqlite:///{db}", patients=40, seed=3)
    spec = small_spec(("person", "note"))
    spec["tables"]["person"]["policy"]["privacy"] = {"k": 2, "suppression_limit": 0.5}
    plan = make_plan(store, release_id="rel-notes", spec=spec)
    manifest = build_release(
        plan, source=SqlSource(f"sqlite:///{db}"), keystore=store, releases_dir=tmp_path / "out"
    )
    notes = pq.read_table(manifest.release_dir / "note.parquet").column("note_text").to_pylist()
    assert notes
    con = sqlite3.connect(db)
    rrns, regs, names = zip(
        *con.execute("SELECT rrn, registration_no, patient_name FROM person"), strict=True
    )
    con.close()
    text = "\n".join(notes)
    for values in (rrns, regs, names):
        assert not [v for v in values if v in text]
    assert "[PERSON_" in text or "[MRN_" in text


def test_cli_keys_plan_build(
    cdw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from deid.cli import main

    monkeypatch.delenv("DEID_MASTER_KEY", raising=False)
    monkeypatch.delenv("DEID_MASTER_KEY_FILE", raising=False)
    keys = tmp_path / "keys"
    assert main(["keys", "init-master", "--keys-dir", str(keys)]) == 0
    assert (keys / "master.key").stat().st_mode & 0o777 == 0o600
    capsys.readouterr()
    assert (
        main(
            [
                "keys",
                "create",
                "--keys-dir",
                str(keys),
                "--release-id",
                "cli-1",
                "--recipient",
                "acme",
            ]
        )
        == 0
    )
    key_id = capsys.readouterr().out.strip()
    assert key_id.startswith("rk_")
    spec = small_spec(("person", "visit_occurrence"))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    url = f"sqlite:///{cdw}"
    plan_path = tmp_path / "plan.json"
    assert (
        main(
            [
                "plan",
                "--spec",
                str(spec_path),
                "--release-id",
                "cli-1",
                "--recipient",
                "acme",
                "--key-id",
                key_id,
                "--source",
                url,
                "-o",
                str(plan_path),
            ]
        )
        == 0
    )
    digest = capsys.readouterr().out.strip()
    assert ReleasePlan.from_json(plan_path.read_text()).digest() == digest
    out = tmp_path / "releases"
    assert (
        main(
            [
                "build",
                "--plan",
                str(plan_path),
                "--source",
                url,
                "--out",
                str(out),
                "--keys-dir",
                str(keys),
                "--quiet",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["plan_digest"] == digest
    verify_release(out / "cli-1")
    # A second build of the same release is refused (releases are immutable): exit code 2.
    assert (
        main(
            [
                "build",
                "--plan",
                str(plan_path),
                "--source",
                url,
                "--out",
                str(out),
                "--keys-dir",
                str(keys),
                "--quiet",
            ]
        )
        == 2
    )
    assert "already published" in capsys.readouterr().err


# --- the source changes between the passes; one anchor row per person ----------------

LIVE_SPEC: dict[str, Any] = {
    "release": {"anchor": "person", "link_column": "person_id"},
    "tables": {
        "person": {
            "policy": {
                "columns": {
                    "person_id": {
                        "role": "identifier",
                        "transform": "pseudonymize",
                        "domain": "person",
                    },
                    "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [10]}},
                    "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
                },
                "privacy": {"k": 5, "suppression_limit": 0.0},
            }
        },
        "visit": {
            "policy": {
                "columns": {
                    "person_id": {
                        "role": "identifier",
                        "transform": "pseudonymize",
                        "domain": "person",
                    },
                    "x": {"role": "insensitive"},
                }
            }
        },
    },
}


class LiveSource:
    """A live CDW: the anchor's rows after the first read are ``later`` (default: same)."""

    def __init__(
        self, first: list[tuple[int, int, str]], later: list[tuple[int, int, str]] | None = None
    ) -> None:
        self.first, self.later = first, later if later is not None else first
        self.reads = 0

    def count(self, table: str, query: str | None = None) -> int:
        return len(self.first) if table == "person" else 3

    def batches(self, table: str, **_: Any) -> Any:
        if table != "person":
            ids = [self.later[0][0], self.later[-1][0], 12345]
            yield pa.record_batch({"person_id": pa.array(ids, pa.int64()), "x": ["a", "b", "c"]})
            return
        rows = self.first if self.reads == 0 else self.later
        self.reads += 1
        for start in range(0, len(rows), 7):  # several batches
            part = rows[start : start + 7]
            yield pa.record_batch(
                {
                    "person_id": pa.array([r[0] for r in part], pa.int64()),
                    "age": pa.array([r[1] for r in part], pa.int64()),
                    "sex": [r[2] for r in part],
                }
            )


def _people() -> list[tuple[int, int, str]]:
    return [(i, 30 + i % 3, "M") for i in range(10)] + [(10 + i, 45, "F") for i in range(10)]


def _live_build(store: KeyStore, tmp_path: Path, source: LiveSource, rid: str) -> Any:
    return build_release(
        make_plan(store, release_id=rid, spec=LIVE_SPEC),
        source=source,
        keystore=store,
        releases_dir=tmp_path,
        batch_size=7,
    )


def test_unchanged_live_source_builds(store: KeyStore, tmp_path: Path) -> None:
    manifest = _live_build(store, tmp_path, LiveSource(_people()), "live-same")
    out = pq.read_table(manifest.release_dir / "person.parquet")
    assert out.num_rows == 20
    assert manifest.privacy_report["report"]["k"] == 10


def test_record_added_between_passes_fails_the_build(store: KeyStore, tmp_path: Path) -> None:
    from deid.errors import SourceChangedError

    added = LiveSource(_people(), [*_people(), (999, 87, "F")])
    with pytest.raises(SourceChangedError, match=r"'person'.*20 rows"):
        _live_build(store, tmp_path, added, "live-added")
    assert list(tmp_path.iterdir()) == []  # nothing published, no staging left
    removed = LiveSource(_people(), _people()[:-1])
    with pytest.raises(SourceChangedError, match=r"20 rows.*19"):
        _live_build(store, tmp_path, removed, "live-removed")
    assert list(tmp_path.iterdir()) == []


def test_records_replaced_between_passes_fail_the_build(store: KeyStore, tmp_path: Path) -> None:
    """Same row count, different records: a new patient of a class the search never saw
    (the allow-list would drop it), or records moved out of an approved class (which
    would shrink it below k): the released classes are not the approved ones, so the
    build fails and nothing is published."""
    from deid.errors import SourceChangedError

    swapped = _people()
    swapped[3] = (999, 87, "F")
    # six of the ten women leave, six men arrive: the class of women would hold 4 < k
    shrunk = _people()[:14] + [(50 + i, 31, "M") for i in range(6)]
    for rid, later in (("live-swapped", swapped), ("live-shrunk", shrunk)):
        assert len(later) == len(_people())
        with pytest.raises(SourceChangedError, match="classes differ"):
            _live_build(store, tmp_path, LiveSource(_people(), later), rid)
        assert list(tmp_path.iterdir()) == []


def test_anchor_with_several_rows_per_person_is_refused(store: KeyStore, tmp_path: Path) -> None:
    """k counts rows: one person with 5 anchor rows would form a class of 5 alone."""
    from deid.errors import DataError

    rows = [(i, 30, "M") for i in range(20)] + [(777, 91, "M")] * 5  # across batches
    with pytest.raises(DataError, match="one row per person") as info:
        _live_build(store, tmp_path, LiveSource(rows), "live-dup")
    assert info.value.field == "person.person_id"
    assert "25 rows" in str(info.value)
    assert "21 distinct persons" in str(info.value)
    assert list(tmp_path.iterdir()) == []
