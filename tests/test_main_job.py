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
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

PATIENTS = 400


@pytest.fixture
def demo_settings(settings: Any, tmp_path: Path) -> Path:
    var = tmp_path / "var"
    settings.VAR_DIR = var
    settings.MEDIA_ROOT = var / "documents"
    settings.DEID_CDW_URL = f"sqlite:///{var / 'cdw.sqlite3'}"
    settings.DEID_RELEASES_DIR = var / "releases"
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
    for r in rows:
        assert r.rrn not in released_text
        assert r.rrn.replace("-", "") not in released_text
        assert r.phone not in released_text
        assert r.registration_no not in released_text
    leaked_names = [r.patient_name for r in rows if r.patient_name in released_text]
    assert len(leaked_names) <= len(rows) * 0.01, leaked_names[:10]

    # The same person has one pseudonym across tables of the release.
    notes = pq.read_table(main_job.download_dir / "note.parquet")
    assert set(notes["person_id"].to_pylist()) <= set(person["person_id"].to_pylist())

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
