"""Signed checkpoints: signing, files, verification, forgeries, key handling."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.checkpoints import (
    CheckpointFormatError,
    SigningKeyError,
    load_checkpoint_file,
    load_signing_key,
    sign_checkpoint,
    signature_problem,
    write_checkpoint_file,
)
from audit.models import AuditCheckpoint
from tests.audit.conftest import _Sink, append_events, bypass_triggers, run_verify, sql

pytestmark = pytest.mark.django_db


def _checkpoint(tmp_path: Path, name: str = "cp.json") -> Path:
    out = tmp_path / name
    call_command("audit_checkpoint", "--out", str(out), stdout=_Sink(), stderr=_Sink())
    return out


def test_sign_and_verify_roundtrip(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    cp = sign_checkpoint(key, seq=42, head_hash="ab" * 32, time=timezone.now())
    path = write_checkpoint_file(cp, tmp_path / "c.json")
    loaded = load_checkpoint_file(path)
    assert signature_problem(loaded, [key.public_key()]) is None
    other = Ed25519PrivateKey.generate()
    assert "not a trusted audit key" in (signature_problem(loaded, [other.public_key()]) or "")


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 43), ("hash", "cd" * 32), ("time", "2030-01-01T00:00:00.000000Z")],
)
def test_any_edit_of_a_signed_checkpoint_breaks_the_signature(
    tmp_path: Path, field: str, value: object
) -> None:
    key = Ed25519PrivateKey.generate()
    cp = sign_checkpoint(key, seq=42, head_hash="ab" * 32, time=timezone.now())
    path = write_checkpoint_file(cp, tmp_path / "c.json")
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    problem = signature_problem(load_checkpoint_file(path), [key.public_key()])
    assert problem is not None
    assert "signature does not match" in problem


def test_checkpoint_command_signs_the_head_and_verify_accepts_it(
    signing_key, tmp_path: Path
) -> None:
    _key, public = signing_key()
    events = append_events(3)
    path = _checkpoint(tmp_path)
    data = json.loads(path.read_text())
    assert data["seq"] == events[-1].seq
    assert data["hash"] == events[-1].hash
    assert data["type"] == "gangwon-deid-audit-checkpoint"
    assert AuditCheckpoint.objects.filter(seq=events[-1].seq, hash=events[-1].hash).exists()
    append_events(2)  # later appends keep an old checkpoint valid
    assert run_verify("--from-checkpoint", str(path), "--public-key", str(public)) == (
        0,
        "intact",
    )


def test_forged_checkpoint_file_is_detected(signing_key, tmp_path: Path) -> None:
    _key, public = signing_key()
    events = append_events(3)
    path = _checkpoint(tmp_path)
    data = json.loads(path.read_text())
    data["hash"] = events[0].hash  # claim the chain ended elsewhere
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    code, message = run_verify(
        "--no-stored-checkpoints", "--from-checkpoint", str(forged), "--public-key", str(public)
    )
    assert code == 1
    assert f"first bad seq {events[-1].seq}: forged_checkpoint" in message


def test_checkpoint_signed_by_an_outsider_is_detected(signing_key, tmp_path: Path) -> None:
    _key, public = signing_key()
    events = append_events(2)
    mallory = Ed25519PrivateKey.generate()
    cp = sign_checkpoint(
        mallory, seq=events[-1].seq, head_hash=events[-1].hash, time=timezone.now()
    )
    path = write_checkpoint_file(cp, tmp_path / "mallory.json")
    code, message = run_verify("--from-checkpoint", str(path), "--public-key", str(public))
    assert code == 1
    assert "forged_checkpoint" in message
    assert "not a trusted audit key" in message


def test_forged_checkpoint_row_in_the_database_is_detected(signing_key, tmp_path: Path) -> None:
    signing_key()
    events = append_events(2)
    _checkpoint(tmp_path)
    bypass_triggers()
    sql("UPDATE audit_auditcheckpoint SET hash = %s", [events[0].hash])
    code, message = run_verify()
    assert code == 1
    assert "forged_checkpoint" in message


def test_checkpoint_refuses_to_sign_a_damaged_chain(signing_key, tmp_path: Path) -> None:
    signing_key()
    events = append_events(3)
    bypass_triggers()
    sql("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = %s", [events[1].seq])
    with pytest.raises(CommandError, match=f"first bad seq {events[1].seq}"):
        _checkpoint(tmp_path)


def test_development_key_is_created_owner_only(signing_key, settings) -> None:
    signing_key()
    path = Path(settings.AUDIT_SIGNING_KEY_FILE)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_production_refuses_a_missing_key(tmp_path: Path, settings) -> None:
    settings.PRODUCTION = True
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "missing.key"
    append_events(1)
    with pytest.raises(CommandError, match="does not exist"):
        _checkpoint(tmp_path)
    assert not (tmp_path / "missing.key").exists()


def test_production_refuses_a_world_readable_key(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    load_signing_key(path, create=True, strict_permissions=True)
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="mode 644"):
        load_signing_key(path, create=False, strict_permissions=True)


def test_malformed_checkpoint_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "gangwon-deid-audit-checkpoint", "v": 1, "seq": "1"}')
    with pytest.raises(CheckpointFormatError, match="'seq' must be int"):
        load_checkpoint_file(bad)
    assert run_verify("--from-checkpoint", str(bad))[0] == 2
