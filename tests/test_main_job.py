"""The main job end to end (``manage.py demo``), asserted on what the recipient downloads.

One request walks from submission to download through the real services, the real
engine on a freshly generated synthetic CDW, the real worker code, the real REST
API (a live server) and the real client; then the outputs are checked
independently: k-anonymity by a plain group-by, no direct identifier or PHI of
the source patients in any released file, files equal to the manifest, the
audit chain intact.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from tests.deid.longitudinal.oracle import AGES, DAY_DATES, violations

# The demo's own cohort: its event model (k = 5, m = 2, at least half of the visits
# and diagnoses kept) is met on 10,000 patients, not on a few hundred.
PATIENTS = 10_000


@pytest.fixture
def demo_settings(settings: Any, tmp_path: Path) -> Path:
    var = tmp_path / "var"
    settings.VAR_DIR = var
    settings.MEDIA_ROOT = var / "documents"
    settings.DEID_CDW_URL = f"sqlite:///{var / 'cdw.sqlite3'}"
    settings.DEID_RELEASES_DIR = var / "releases"
    settings.DEID_GENOME_DIR = var / "genome"
    settings.DEID_LIFELOG_DIR = var / "lifelog"
    settings.DEID_KEYS_DIR = var / "keys"
    settings.DEID_MASTER_KEY_FILE = var / "keys" / "master.key"
    settings.AUDIT_SIGNING_KEY_FILE = var / "keys" / "audit_signing.key"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    var.mkdir()
    return var


@pytest.fixture
def main_job(demo_settings: Path, live_server: Any) -> Any:
    from governance import demo

    lines: list[str] = []
    result = demo.run(lines.append, patients=PATIENTS, seed=7, api_url=live_server.url)
    result.lines = lines  # type: ignore[attr-defined]
    return result


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_main_job_releases_k_anonymous_phi_free_verified_files(main_job: Any) -> None:
    from django.conf import settings

    from audit.models import AuditEvent
    from governance.models import ReleaseState

    release = main_job.release
    assert release.state == ReleaseState.PUBLISHED
    lines = "\n".join(main_job.lines)
    # The refused path: the legal reviewer may not also take the steward's decision.
    assert "refused" in lines
    assert "permission_denied" in lines

    # Files equal the manifest, byte for byte.
    manifest = json.loads((main_job.download_dir / "manifest.json").read_text())
    assert {p.name for p in main_job.downloaded} == {f["name"] for f in manifest["files"]}
    for entry in manifest["files"]:
        data = (main_job.download_dir / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["size"]

    # k-anonymity of the person table, checked by a plain group-by on the released file.
    policy_k = 5
    person = pq.read_table(main_job.download_dir / "person.parquet")
    qis = [
        c["name"]
        for c in manifest["schema"]["person"]["columns"]
        if c.get("class") == "generalized"
    ]
    assert qis, "the person table must carry generalized quasi-identifiers"
    counts = person.group_by(qis).aggregate([([], "count_all")])
    assert pc.min(counts["count_all"]).as_py() >= policy_k
    report = release.privacy_report["report"]
    assert report["k"] >= policy_k
    assert report["suppressed"] <= report["max_suppressed"]
    assert person.num_rows == report["records_out"] == PATIENTS - report["suppressed"]

    # No direct identifier survives anywhere; person ids are pseudonyms, not source ids.
    engine = create_engine(settings.DEID_CDW_URL)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT person_id, rrn, phone, registration_no, patient_name FROM person")
        ).all()
    engine.dispose()
    released_text = "\n".join(
        (main_job.download_dir / f["name"]).read_text(encoding="utf-8")
        for f in manifest["files"]
        if f["name"].endswith(".csv")
    )
    source_ids = {str(r.person_id) for r in rows}
    assert not source_ids & set(person["person_id"].to_pylist())
    # Every 8-, 10-, 11- and 13-digit window of the released text with hyphens taken
    # out, and every Hangul substring of 2-4 syllables, as sets: set membership instead
    # of a substring search per source value (10,000 patients).
    # Timestamps (the lifelog windows: "YYYY-MM-DD HH:MM:SS") are taken out first: an
    # 8-digit registration number may read as a date by chance.
    id_text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", " ", released_text)
    windows: set[str] = set()
    for run in re.findall(r"\d{8,}", id_text.replace("-", "")):
        for n in (8, 10, 11, 13):
            windows.update(run[i : i + n] for i in range(len(run) - n + 1))
    hangul: set[str] = set()
    for run in re.findall(r"[가-힣]+", released_text):
        hangul.update(run[i : i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1))
    for r in rows:
        assert r.rrn.replace("-", "") not in windows
        assert r.phone.replace("-", "") not in windows
        assert r.registration_no not in windows
    leaked_names = [r.patient_name for r in rows if r.patient_name in hangul]
    assert len(leaked_names) <= len(rows) * 0.01, leaked_names[:10]

    # Release-level privacy, by an attacker reading the downloaded files only: the
    # demographics plus any one or two released visits or diagnoses, with every column
    # the schema does not call a pseudonym, match at least 5 released patients.
    schema = manifest["schema"]

    def known(name: str) -> list[str]:
        return [
            c["name"]
            for c in schema[name]["columns"]
            if c.get("class") not in ("pseudonymized", "scrubbed_text")
        ]

    classes = {
        row["person_id"]: tuple(row[c] for c in known("person")) for row in person.to_pylist()
    }
    events: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        source_events = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM visit_occurrence) "
                "+ (SELECT count(*) FROM condition_occurrence)"
            )
        ).scalar_one()
    engine.dispose()
    released_events = 0
    for name, date_col, code_col in (
        ("visit_occurrence", "visit_start_date", "visit_source_value"),
        ("condition_occurrence", "condition_start_date", "condition_source_value"),
    ):
        table = pq.read_table(main_job.download_dir / f"{name}.parquet")
        cols = known(name)
        assert cols
        for row in table.to_pylist():
            events.setdefault(row["person_id"], []).append((name, *(row[c] for c in cols)))
        # released with their date and code (not suppressed to '*')
        released_events += sum(
            1
            for d, c in zip(table[date_col].to_pylist(), table[code_col].to_pylist(), strict=True)
            if d not in (None, "*") and c not in (None, "*")
        )
    assert violations(classes, events, k=policy_k, m=2) == []
    assert released_events >= 0.5 * source_events
    assert release.privacy_report["longitudinal"]["risk_after"]["m2"]["below_k"] == 0

    # Notes: no date finer than the tables, no exact age.
    notes = pq.read_table(main_job.download_dir / "note.parquet")
    note_text = "\n".join(notes["note_text"].to_pylist())
    for rx in DAY_DATES + AGES:
        assert not re.search(rx, note_text), rx

    # The same person has one pseudonym across tables of the release.
    assert set(notes["person_id"].to_pylist()) <= set(person["person_id"].to_pylist())

    # Genome: one encrypted cohort VCF that the company's demo key decrypts; its sample
    # columns are person pseudonyms of this release; no variant under 5 carriers.
    check_genome_and_lifelog(main_job, manifest, person)

    # Every step is in the audit log and the chain verifies.
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    for action in (
        "request.submitted",
        "request.legal_approved",
        "policy.changed",
        "release.built",
        "release.published",
        "file.downloaded",
    ):
        assert action in actions, f"{action} missing from the audit log: {sorted(actions)}"
    assert main_job.audit_events == AuditEvent.objects.count()


def vcf_carriers(text: str) -> tuple[list[str], list[int]]:
    """Sample names and, per record, the fewest released samples carrying an ALT allele.

    A plain parser of VCF text, independent of the engine's (pysam) code.
    """
    samples: list[str] = []
    fewest: list[int] = []
    for line in text.splitlines():
        if line.startswith("#CHROM"):
            samples = line.split("\t")[9:]
        elif line and not line.startswith("#"):
            cols = line.split("\t")
            n_alts = len(cols[4].split(","))
            keys = cols[8].split(":")
            gt_at = keys.index("GT")
            carriers = [0] * (n_alts + 1)
            for call in cols[9:]:
                gt = call.split(":")[gt_at].replace("|", "/").split("/")
                for allele in {int(a) for a in gt if a != "."}:
                    carriers[allele] += 1
            fewest.append(min(carriers[1:]))
    return samples, fewest


def check_genome_and_lifelog(main_job: Any, manifest: dict[str, Any], person: Any) -> None:
    import gzip

    from django.conf import settings

    from deid.genome.c4gh import decrypt_file, read_secret_key

    names = [f["name"] for f in manifest["files"]]
    assert [n for n in names if n.endswith(".vcf.gz.c4gh")] == ["cohort.vcf.gz.c4gh"]
    assert "lifelog.parquet" in names
    assert "person.parquet" in names
    secret = Path(settings.DEID_KEYS_DIR) / "demo-recipient.c4gh.sec"
    assert secret.stat().st_mode & 0o777 == 0o600
    plain = main_job.download_dir / "check.vcf.gz"
    decrypt_file(main_job.download_dir / "cohort.vcf.gz.c4gh", plain, read_secret_key(secret))
    vcf_text = gzip.decompress(plain.read_bytes()).decode("ascii")
    samples, fewest = vcf_carriers(vcf_text)
    persons = set(person["person_id"].to_pylist())
    assert samples
    assert set(samples) <= persons
    assert fewest
    assert min(fewest) >= 5
    for word in ("commandline", "fileDate", "ggc_run", "##SAMPLE", "/mnt/", "GGC-"):
        assert word not in vcf_text, word

    # No source sample id or device id in any released file.
    genome_ids = [
        line.split(",")[0]
        for line in (Path(settings.DEID_GENOME_DIR) / "linkage.csv").read_text().splitlines()[1:]
    ]
    device_ids = [
        line.split(",")[0]
        for line in (Path(settings.DEID_LIFELOG_DIR) / "linkage.csv").read_text().splitlines()[1:]
    ]
    released = vcf_text + "\n".join(
        (main_job.download_dir / n).read_text(encoding="utf-8") for n in names if n.endswith(".csv")
    )
    tokens = set(re.findall(r"[A-Za-z0-9-]+", released))
    assert not tokens & set(genome_ids)
    assert not tokens & set(device_ids)

    # Lifelog: person pseudonyms of the release, windows on the hour, no coordinates.
    lifelog = pq.read_table(main_job.download_dir / "lifelog.parquet")
    assert lifelog.num_rows > 0
    assert set(lifelog["person_id"].to_pylist()) <= persons
    starts = lifelog["window_start"].cast("int64").to_numpy()  # ms since the epoch
    assert (starts % 3_600_000 == 0).all()
    assert not {"lat", "lon", "latitude", "longitude", "gps"} & set(lifelog.column_names)
    floats = {f.name for f in lifelog.schema if str(f.type) in ("double", "float")}
    assert floats == {"hr_mean", "hr_min", "hr_max"}  # no coordinate can hide in a column
