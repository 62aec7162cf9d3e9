"""A release with CDW tables, an encrypted cohort VCF and a lifelog table (local executor),
and its failures: each leaves nothing published."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from deid.errors import DataError, PolicyError
from deid.genome.c4gh import decrypt_file, generate_keypair, read_secret_key
from deid.keys import KeyStore, MasterKey
from deid.pipeline import build_release
from deid.plan import compile_plan
from deid.sinks import verify_release
from deid.sources.sql import SqlSource
from tests.deid.genome.test_vcf import carriers, vcf_records
from tests.deid.specs import small_spec
from tests.deid.test_pipeline import FakeScrubber


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from fixtures.genome import generate_genome
    from fixtures.lifelog import generate_lifelog
    from fixtures.synthetic_cdw import generate

    root = tmp_path_factory.mktemp("kinds")
    cdw = root / "cdw.sqlite3"
    generate(f"sqlite:///{cdw}", patients=600, seed=7)
    persons = list(range(1, 601))
    generate_genome(root / "genome", persons, seed=2, samples=150, variants=500)
    generate_lifelog(root / "lifelog", persons, seed=2, devices=40, days=2)
    public = generate_keypair(root / "r.sec", root / "r.pub")
    store = KeyStore(root / "keys", MasterKey.from_text("6b" * 32))
    return {"root": root, "cdw": cdw, "store": store, "public": public}


def make_plan(world: dict[str, Any], release_id: str, **overrides: Any) -> Any:
    store = world["store"]
    key_id = store.create_release_key(release_id=release_id, recipient_org_id="acme")
    root = world["root"]
    args = {
        "genome_source": str(root / "genome"),
        "lifelog_source": str(root / "lifelog"),
        "recipient_public_key": world["public"],
        **overrides,
    }
    return compile_plan(
        small_spec(kinds=True),
        release_id=release_id,
        recipient_org_id="acme",
        key_id=key_id,
        source="sqlite:///cdw.sqlite3",
        created_at="2026-01-01T00:00:00+00:00",
        **args,
    )


def build(world: dict[str, Any], plan: Any, out: Path) -> Any:
    return build_release(
        plan,
        source=SqlSource(f"sqlite:///{world['cdw']}"),
        keystore=world["store"],
        releases_dir=out,
        text_scrubber=FakeScrubber(),
        batch_size=500,
    )


@pytest.fixture(scope="module")
def built(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build(world, make_plan(world, "k1"), tmp_path_factory.mktemp("out"))


def test_release_carries_all_three_kinds_and_verifies(built: Any) -> None:
    names = {f.name: f for f in built.files}
    assert {"person.parquet", "lifelog.parquet", "lifelog.csv", "cohort.vcf.gz.c4gh"} <= set(names)
    assert names["cohort.vcf.gz.c4gh"].table == "genome"
    assert names["cohort.vcf.gz.c4gh"].format == "vcf.gz.c4gh"
    verify_release(built.release_dir)
    report = built.privacy_report
    assert report["genome"]["variants_released"] == names["cohort.vcf.gz.c4gh"].rows
    assert report["lifelog"]["windows_released"] == names["lifelog.parquet"].rows
    assert built.data["tables"]["lifelog"]["columns"][0] == {
        "name": "person_id",
        "type": "string",
        "class": "pseudonymized",
        "domain": "person",
    }


def test_vcf_samples_and_lifelog_persons_are_released_persons(built: Any, world: Any) -> None:
    person = set(pq.read_table(built.release_dir / "person.parquet")["person_id"].to_pylist())
    plain = built.release_dir.parent / "k1.vcf.gz"
    decrypt_file(
        built.release_dir / "cohort.vcf.gz.c4gh", plain, read_secret_key(world["root"] / "r.sec")
    )
    samples, rows = vcf_records(gzip.decompress(plain.read_bytes()).decode("ascii"))
    assert samples
    assert set(samples) <= person
    assert rows
    assert all(min(carriers(r)) >= 5 for r in rows)
    lifelog = pq.read_table(built.release_dir / "lifelog.parquet")
    assert set(lifelog["person_id"].to_pylist()) <= person
    # the person table's ids are pseudonyms in the person domain: so are the others
    visits = pq.read_table(built.release_dir / "visit_occurrence.parquet")
    assert set(visits["person_id"].to_pylist()) <= person


def assert_nothing_published(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


def test_device_without_linkage_publishes_nothing(world: Any, tmp_path: Path) -> None:
    lifelog = tmp_path / "lifelog"
    shutil.copytree(world["root"] / "lifelog", lifelog)
    lines = (lifelog / "linkage.csv").read_text().splitlines()
    device = lines.pop(7).split(",")[0]
    (lifelog / "linkage.csv").write_text("\n".join(lines) + "\n")
    plan = make_plan(world, "k2", lifelog_source=str(lifelog))
    out = tmp_path / "out"
    with pytest.raises(DataError, match=device):
        build(world, plan, out)
    assert_nothing_published(out)


def test_genome_without_recipient_key_publishes_nothing(world: Any, tmp_path: Path) -> None:
    plan = make_plan(world, "k3", recipient_public_key=None)
    out = tmp_path / "out"
    with pytest.raises(PolicyError, match="Crypt4GH public key"):
        build(world, plan, out)
    assert_nothing_published(out)


def test_plan_records_kinds_and_keeps_old_digests(world: Any) -> None:
    plan = make_plan(world, "k4")
    data = plan.to_dict()
    assert data["genome"]["min_carriers"] == 5
    assert data["genome"]["recipient_public_key"].startswith("-----BEGIN CRYPT4GH PUBLIC KEY")
    assert data["lifelog"] == {
        "window": "1h",
        "gps": "drop",
        "max_unique_share": None,
        "source": str(world["root"] / "lifelog"),
    }
    from deid.plan import ReleasePlan

    assert ReleasePlan.from_dict(data).digest() == plan.digest()
    without = compile_plan(
        small_spec(),
        release_id="k5",
        recipient_org_id="acme",
        key_id="kid",
        source="x",
        created_at="2026-01-01T00:00:00+00:00",
    ).to_dict()
    assert "genome" not in without
    assert "lifelog" not in without
