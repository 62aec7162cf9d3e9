"""The Spark executor gives the local executor's release: same pseudonyms, levels, suppression."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SPEC = """\
release:
  anchor: person
  link_column: person_id
  person_domain: person
  date_shift: {max_days: 30, allow_zero: false}
tables:
  person:
    query: >-
      SELECT p.person_id, p.registration_no, p.patient_name, p.gender_source_value,
             p.year_of_birth, l.sido || ' ' || l.sigungu AS region
      FROM person p JOIN location l ON l.location_id = p.location_id
      ORDER BY p.person_id
    policy:
      columns:
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        registration_no: {role: identifier, transform: pseudonymize, domain: registration}
        patient_name: {role: identifier, transform: drop}
        gender_source_value: {role: quasi, hierarchy: {type: flat}}
        year_of_birth: {role: quasi, hierarchy: {type: interval, widths: [5, 10, 20]}}
        region: {role: quasi, hierarchy: {type: kr_region, from: sigungu}}
      privacy: {k: 5, suppression_limit: 0.05, metric: loss}
  visit_occurrence:
    policy:
      columns:
        visit_occurrence_id: {role: identifier, transform: pseudonymize, domain: visit}
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        visit_source_value: {role: insensitive}
        visit_start_date:
          role: quasi
          date_shift: true
          hierarchy: {type: date, levels: [day, month, quarter, year]}
          options: {level: 1}
  condition_occurrence:
    policy:
      columns:
        condition_occurrence_id: {role: identifier, transform: pseudonymize, domain: condition}
        person_id: {role: identifier, transform: pseudonymize, domain: person}
        condition_start_date: {role: insensitive, date_shift: true}
        condition_source_value:
          role: quasi
          hierarchy: {type: icd10, levels: [category, chapter]}
          options: {level: 1}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import yaml

    from deid.keys import KeyRef, KeyStore, generate_master_key_file
    from deid.plan import compile_plan
    from fixtures.synthetic_cdw import generate

    root = tmp_path_factory.mktemp("spark")
    url = f"sqlite:///{root / 'cdw.sqlite3'}"
    generate(url, patients=800, seed=11)
    master_file = root / "keys" / "master.key"
    master = generate_master_key_file(master_file)
    store = KeyStore(root / "keys", master)
    key_id = store.create_release_key(release_id="R9", recipient_org_id="ORG3")
    plan = compile_plan(
        yaml.safe_load(SPEC),
        release_id="R9",
        recipient_org_id="ORG3",
        key_id=key_id,
        source=url,
        created_at="2026-11-29T00:00:00+00:00",
    )
    ref = KeyRef(keystore_root=str(root / "keys"), key_id=key_id, master_key_file=str(master_file))
    return {"root": root, "url": url, "store": store, "plan": plan, "key_ref": ref}


EVENTS = {
    "m": 2,
    "suppression_limit": 0.5,
    "tables": {
        "visit_occurrence": {
            "id": "visit_occurrence_id",
            "known": ["visit_source_value", "visit_start_date"],
        },
        "condition_occurrence": {
            "id": "condition_occurrence_id",
            "known": ["condition_start_date", "condition_source_value"],
        },
    },
}


def events_spec():
    """SPEC with a longitudinal threat model over visits and diagnoses."""
    import yaml

    spec = yaml.safe_load(SPEC)
    spec["release"]["events"] = EVENTS
    visit = spec["tables"]["visit_occurrence"]["policy"]["columns"]
    visit["visit_source_value"] = {"role": "quasi", "hierarchy": {"type": "flat"}}
    visit["visit_start_date"] = {
        "role": "quasi",
        "date_shift": True,
        "hierarchy": {"type": "date", "levels": ["month", "quarter", "year"]},
    }
    cond = spec["tables"]["condition_occurrence"]["policy"]["columns"]
    cond["condition_start_date"] = {
        "role": "quasi",
        "date_shift": True,
        "hierarchy": {"type": "date", "levels": ["month", "quarter", "year"]},
    }
    return spec


@pytest.fixture(scope="module")
def event_builds(world):
    """Local and Spark builds of a release with a (k, k^m) model over visits and diagnoses."""
    from deid.engines.local import build_release_local
    from deid.engines.spark import build_release_spark, spark_session
    from deid.keys import KeyRef
    from deid.plan import compile_plan
    from deid.sources.sql import SqlSource

    root = world["root"]
    key_id = world["store"].create_release_key(release_id="R10", recipient_org_id="ORG3")
    plan = compile_plan(
        events_spec(),
        release_id="R10",
        recipient_org_id="ORG3",
        key_id=key_id,
        source=world["url"],
        created_at="2026-11-29T00:00:00+00:00",
    )
    ref = KeyRef(
        keystore_root=world["key_ref"].keystore_root,
        key_id=key_id,
        master_key_file=world["key_ref"].master_key_file,
    )
    local = build_release_local(
        plan,
        source=SqlSource(world["url"]),
        keystore=world["store"],
        releases_dir=root / "local-events",
        batch_size=300,
    )
    remote = build_release_spark(
        plan,
        source=world["url"],
        key_ref=ref,
        releases_dir=root / "spark-events",
        batch_size=300,
        spark=spark_session("local[2]"),
    )
    return local, remote


def test_spark_and_local_release_the_same_events(event_builds):
    """Same levels, same suppressed events, same rows in every table, same measured risk."""
    local, remote = event_builds
    lr, rr = local.privacy_report["longitudinal"], remote.privacy_report["longitudinal"]
    assert lr["events_suppressed"] > 0, "the fixture should exercise event suppression"
    for key in ("levels", "anchor_levels", "tables", "loss", "events_suppressed", "risk_before"):
        assert lr[key] == rr[key], key
    assert lr["risk_after"] == rr["risk_after"]
    assert rr["risk_after"]["m2"]["below_k"] == 0
    for name in ("person", "visit_occurrence", "condition_occurrence"):
        a, b = _table(local, name), _table(remote, name)
        assert a.column_names == b.column_names, name
        assert a.num_rows == b.num_rows > 0, name
        for col in a.column_names:
            assert (
                a.column(col).to_pylist()
                == b.column(col).cast(a.schema.field(col).type).to_pylist()
            ), f"{name}.{col} differs"


@pytest.fixture(scope="module")
def builds(world):
    from deid.engines.local import build_release_local
    from deid.engines.spark import build_release_spark, spark_session
    from deid.sources.sql import SqlSource

    root = world["root"]
    local = build_release_local(
        world["plan"],
        source=SqlSource(world["url"]),
        keystore=world["store"],
        releases_dir=root / "local",
        batch_size=500,
    )
    phases = []
    spark = spark_session("local[2]")
    remote = build_release_spark(
        world["plan"],
        source=world["url"],
        key_ref=world["key_ref"],
        releases_dir=root / "spark",
        batch_size=500,
        spark=spark,
        progress=lambda phase, done, total: phases.append((phase, done, total)),
    )
    return local, remote, phases


def _table(manifest, name: str) -> pa.Table:
    files = [manifest.release_dir / f.name for f in manifest.files if f.table == name]
    files = [f for f in files if f.suffix == ".parquet"]
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.sort_by([(c, "ascending") for c in table.column_names])


def test_spark_and_local_release_the_same_records(builds):
    local, remote, _ = builds
    for name in ("person", "visit_occurrence", "condition_occurrence"):
        a, b = _table(local, name), _table(remote, name)
        assert a.column_names == b.column_names, name
        assert a.num_rows == b.num_rows > 0, name
        for col in a.column_names:
            assert (
                a.column(col).to_pylist()
                == b.column(col).cast(a.schema.field(col).type).to_pylist()
            ), f"{name}.{col} differs"


def test_spark_and_local_choose_the_same_levels_and_suppress_the_same_records(builds):
    local, remote, _ = builds
    lr, rr = local.privacy_report, remote.privacy_report
    assert lr["levels"] == rr["levels"]
    assert lr["report"] == rr["report"], "same search result: node, classes, metrics, risk"
    for key in (
        "suppressed_classes",
        "records_in",
        "records_released",
        "records_suppressed",
        "persons_released",
        "plan_digest",
    ):
        assert lr[key] == rr[key], key
    assert lr["records_suppressed"] > 0, "the fixture should exercise suppression"
    assert lr["tables"] == rr["tables"]
    # The person pseudonym is the same in every table (joins survive) in both outputs.
    persons = set(_table(remote, "person").column("person_id").to_pylist())
    visits = set(_table(remote, "visit_occurrence").column("person_id").to_pylist())
    assert visits <= persons


def test_spark_manifest_lists_partitioned_parquet_with_hashes(builds):
    from deid.sinks import verify_release

    _, remote, phases = builds
    verified = verify_release(remote.release_dir)
    assert verified.sha256 == remote.sha256
    names = [f.name for f in remote.files]
    assert all(n.endswith(".parquet") and "-part-" in n for n in names)
    assert sum(f.rows for f in remote.files if f.table == "person") == remote.rows("person")
    assert not any(p.name.startswith(".staging") for p in remote.release_dir.parent.iterdir())
    assert {p for p, _, _ in phases} >= {"count", "search", "transform:person", "publish"}


def test_spark_tasks_get_a_key_reference_never_key_material(world):
    import pickle

    from deid.transform import TableTransformer

    fn = TableTransformer(
        plan_json=world["plan"].to_json(),
        table="person",
        anonymization_json=None,
        key_ref=world["key_ref"],
    )
    blob = pickle.dumps(fn)
    key = world["store"].release_key(world["plan"].key_id)
    for domain in ("person", "registration", "visit"):
        assert key.domain_key(domain) not in blob
    master = Path(world["key_ref"].master_key_file).read_bytes().strip()
    assert master not in blob


def test_spark_refuses_an_anchor_with_several_rows_per_person(world, tmp_path):
    """k counts rows: a person with 5 anchor rows would form a class of 5 alone."""
    from deid.engines.spark import build_release_spark, spark_session
    from deid.errors import DataError
    from deid.keys import KeyRef
    from deid.plan import compile_plan

    src = tmp_path / "src"
    src.mkdir()
    ids = pa.array([*range(20), *[777] * 5], pa.int64())
    ages = pa.array([30] * 20 + [91] * 5, pa.int64())
    pq.write_table(pa.table({"person_id": ids, "age": ages}), src / "visit.parquet")
    pid = {"role": "identifier", "transform": "pseudonymize", "domain": "person"}
    age = {"role": "quasi", "hierarchy": {"type": "interval", "widths": [10, 20]}}
    spec = {
        "release": {"anchor": "visit", "link_column": "person_id"},
        "tables": {
            "visit": {
                "policy": {
                    "columns": {"person_id": pid, "age": age},
                    "privacy": {"k": 5, "suppression_limit": 0.0},
                }
            }
        },
    }
    key_id = world["store"].create_release_key(release_id="R-dup", recipient_org_id="ORG3")
    plan = compile_plan(
        spec,
        release_id="R-dup",
        recipient_org_id="ORG3",
        key_id=key_id,
        source=str(src),
        created_at="2026-11-29T00:00:00+00:00",
    )
    ref = KeyRef(
        keystore_root=world["key_ref"].keystore_root,
        key_id=key_id,
        master_key_file=world["key_ref"].master_key_file,
    )
    out = tmp_path / "out"
    with pytest.raises(DataError, match="one row per person") as info:
        build_release_spark(
            plan, source=src, key_ref=ref, releases_dir=out, spark=spark_session("local[2]")
        )
    assert info.value.field == "visit.person_id"
    assert "25 rows" in str(info.value)
    assert "21 distinct persons" in str(info.value)
    assert list(out.iterdir()) == []  # nothing published, no staging left


@pytest.fixture(scope="module")
def kinds_builds(world):
    """Local and Spark builds of a release with an encrypted VCF and a lifelog table."""
    import yaml

    from deid.engines.local import build_release_local
    from deid.engines.spark import build_release_spark, spark_session
    from deid.genome.c4gh import generate_keypair
    from deid.keys import KeyRef
    from deid.plan import compile_plan
    from deid.sources.sql import SqlSource
    from fixtures.genome import generate_genome
    from fixtures.lifelog import generate_lifelog

    root = world["root"]
    persons = list(range(1, 801))
    generate_genome(root / "genome", persons, seed=4, samples=200, variants=400)
    generate_lifelog(root / "lifelog", persons, seed=4, devices=30, days=2)
    public = generate_keypair(root / "r.sec", root / "r.pub")
    spec = yaml.safe_load(SPEC)
    spec["genome"] = {"min_carriers": 5}
    spec["lifelog"] = {"window": "1h", "gps": "sigungu"}
    key_id = world["store"].create_release_key(release_id="R11", recipient_org_id="ORG3")
    plan = compile_plan(
        spec,
        release_id="R11",
        recipient_org_id="ORG3",
        key_id=key_id,
        source=world["url"],
        created_at="2026-11-29T00:00:00+00:00",
        genome_source=str(root / "genome"),
        lifelog_source=str(root / "lifelog"),
        recipient_public_key=public,
    )
    ref = KeyRef(
        keystore_root=world["key_ref"].keystore_root,
        key_id=key_id,
        master_key_file=world["key_ref"].master_key_file,
    )
    local = build_release_local(
        plan, source=SqlSource(world["url"]), keystore=world["store"], releases_dir=root / "lk"
    )
    remote = build_release_spark(
        plan,
        source=world["url"],
        key_ref=ref,
        releases_dir=root / "sk",
        spark=spark_session("local[2]"),
    )
    return local, remote


def test_spark_and_local_release_the_same_genome_and_lifelog(kinds_builds, world):
    import gzip

    from deid.genome.c4gh import decrypt_file, read_secret_key
    from deid.longitudinal.measure import read_released_table

    local, remote = kinds_builds
    for section in ("genome", "lifelog"):
        assert local.privacy_report[section] == remote.privacy_report[section]
    secret = read_secret_key(world["root"] / "r.sec")
    texts = []
    for manifest, name in ((local, "l"), (remote, "r")):
        out = world["root"] / f"{name}.vcf.gz"
        decrypt_file(manifest.release_dir / "cohort.vcf.gz.c4gh", out, secret)
        texts.append(gzip.decompress(out.read_bytes()))
    assert texts[0] == texts[1]
    a = read_released_table(local.release_dir, "lifelog")
    b = read_released_table(remote.release_dir, "lifelog")
    b = b.sort_by([("person_id", "ascending"), ("window_start", "ascending")]).cast(a.schema)
    assert a.num_rows > 0
    assert a.equals(b)
    remote_files = {f.name for f in remote.files}
    assert "cohort.vcf.gz.c4gh" in remote_files
    assert any(n.startswith("lifelog-part-") for n in remote_files)
