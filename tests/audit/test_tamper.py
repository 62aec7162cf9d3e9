"""Every kind of damage, done below the triggers, is named at the right sequence number."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.canonical import HASHED_FIELDS, event_hash
from audit.models import AuditChainHead, AuditEvent
from audit.verify import verify_chain
from tests.audit.conftest import append_events, bypass_triggers, run_verify, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> list[AuditEvent]:
    """Ten fresh events on top of whatever the log holds; the log verifies before tampering."""
    events = append_events(10)
    assert run_verify() == (0, "intact")
    bypass_triggers()
    return events


def _damage() -> tuple[str, int]:
    report = verify_chain()
    assert not report.ok
    first = report.first
    assert first is not None
    return first.kind.value, first.seq


def _assert_command_reports(kind: str, seq: int, *args: str) -> None:
    code, message = run_verify(*args)
    assert code == 1
    assert f"first bad seq {seq}: {kind}" in message


def _forge(seq: int, prev_hash: str, **overrides: object) -> AuditEvent:
    """A well-formed event whose hash the attacker computed correctly."""
    template = AuditEvent.objects.order_by("-seq").first()
    assert template is not None
    fields = {
        "seq": seq,
        "time": template.time,
        "actor_user_id": 666,
        "actor_username": "mallory",
        "actor_role": "requester",
        "actor_token_id": "",
        "actor_session": "",
        "actor_ip": "10.6.6.6",
        "action": "file.downloaded",
        "object_type": "governance.release",
        "object_id": "forged",
        "details_json": '{"bytes_sent":0}',
        "prev_hash": prev_hash,
    }
    fields.update(overrides)
    forged = AuditEvent(hash=event_hash(**fields), **fields)
    forged.save()
    return forged


def _rehash(event_seq: int) -> None:
    """Recompute one row's hash after editing it (a careful attacker)."""
    row = AuditEvent.objects.get(seq=event_seq)
    fields = {name: getattr(row, name) for name in HASHED_FIELDS}
    sql("UPDATE audit_auditevent SET hash = %s WHERE seq = %s", [event_hash(**fields), event_seq])


def _renumber(from_seq: int, delta: int) -> None:
    """Shift seq of every event >= from_seq by delta, one row at a time (unique seq)."""
    seqs = list(AuditEvent.objects.filter(seq__gte=from_seq).values_list("seq", flat=True))
    for s in sorted(seqs, reverse=delta > 0):
        sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [s + delta, s])


def test_intact_chain_verifies(chain: list[AuditEvent]) -> None:
    report = verify_chain()
    assert report.ok
    assert report.last_seq == chain[-1].seq
    assert report.last_hash == chain[-1].hash


def test_edited_row(chain: list[AuditEvent]) -> None:
    target = chain[4].seq
    sql(
        "UPDATE audit_auditevent SET details_json = %s WHERE seq = %s",
        ['{"bytes_sent":1,"file":"part-4.parquet"}', target],
    )
    assert _damage() == ("edited", target)
    _assert_command_reports("edited", target)


def test_edited_actor_column(chain: list[AuditEvent]) -> None:
    target = chain[2].seq
    sql("UPDATE audit_auditevent SET actor_username = 'someone_else' WHERE seq = %s", [target])
    assert _damage() == ("edited", target)


def test_edited_and_rehashed_row(chain: list[AuditEvent]) -> None:
    target = chain[3].seq
    sql("UPDATE audit_auditevent SET object_id = 'other' WHERE seq = %s", [target])
    _rehash(target)
    assert _damage() == ("edited", target)


def test_edited_prev_hash(chain: list[AuditEvent]) -> None:
    target = chain[6].seq
    sql("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = %s", ["f" * 64, target])
    assert _damage() == ("edited", target)


def test_deleted_row(chain: list[AuditEvent]) -> None:
    target = chain[5].seq
    sql("DELETE FROM audit_auditevent WHERE seq = %s", [target])
    assert _damage() == ("deleted", target)
    _assert_command_reports("deleted", target)


def test_deleted_rows_with_renumbering(chain: list[AuditEvent]) -> None:
    target = chain[5].seq
    sql("DELETE FROM audit_auditevent WHERE seq IN (%s, %s)", [target, target + 1])
    _renumber(target + 2, -2)
    sql("UPDATE audit_auditchainhead SET seq = seq - 2")  # the careful attacker fixes the head
    assert _damage() == ("deleted", target)


def test_deleted_first_event_of_the_log(chain: list[AuditEvent]) -> None:
    sql("DELETE FROM audit_auditevent WHERE seq = 1")
    assert _damage() == ("deleted", 1)


def test_inserted_forged_row_in_the_middle(chain: list[AuditEvent]) -> None:
    target = chain[4].seq
    _renumber(target, +1)
    _forge(target, prev_hash=chain[3].hash)
    assert _damage() == ("inserted", target)
    _assert_command_reports("inserted", target)


def test_inserted_forged_rows_in_the_middle(chain: list[AuditEvent]) -> None:
    target = chain[4].seq
    _renumber(target, +2)
    first = _forge(target, prev_hash=chain[3].hash)
    _forge(target + 1, prev_hash=first.hash, object_id="forged-2")
    assert _damage() == ("inserted", target)


def test_inserted_forged_row_at_the_end(chain: list[AuditEvent]) -> None:
    last = chain[-1]
    _forge(last.seq + 1, prev_hash=last.hash)
    assert _damage() == ("inserted", last.seq + 1)


def test_swapped_rows(chain: list[AuditEvent]) -> None:
    a, b = chain[6].seq, chain[7].seq
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [-1, a])
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [a, b])
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [b, -1])
    assert _damage() == ("reordered", a)
    _assert_command_reports("reordered", a)


def test_swapped_distant_rows(chain: list[AuditEvent]) -> None:
    a, b = chain[2].seq, chain[8].seq
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [-1, a])
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [a, b])
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [b, -1])
    assert _damage() == ("reordered", a)


def test_truncated_tail(chain: list[AuditEvent]) -> None:
    keep = chain[6].seq
    sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    assert _damage() == ("truncated", keep + 1)
    _assert_command_reports("truncated", keep + 1)


def test_truncated_tail_with_head_fixed_is_caught_only_by_a_checkpoint(
    chain: list[AuditEvent], signing_key, tmp_path: Path
) -> None:
    _key, public = signing_key()
    checkpoint_file = tmp_path / "cp.json"
    call_command("audit_checkpoint", "--out", str(checkpoint_file), stdout=_null(), stderr=_null())
    keep = chain[6].seq
    sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    sql(
        "UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE id = 1",
        [keep, chain[6].hash],
    )
    # Without any checkpoint the shortened chain is self-consistent: this is the limit of a
    # bare hash chain, and why checkpoints are exported to third parties.
    assert run_verify("--no-stored-checkpoints") == (0, "intact")
    _assert_command_reports(
        "truncated", keep + 1, "--no-stored-checkpoints", "--from-checkpoint", str(checkpoint_file),
        "--public-key", str(public),
    )  # fmt: skip
    _assert_command_reports("truncated", keep + 1)  # the stored checkpoint row survives too


def test_rewritten_chain_is_caught_by_a_checkpoint(
    chain: list[AuditEvent], signing_key, tmp_path: Path
) -> None:
    signing_key()
    checkpoint_file = tmp_path / "cp.json"
    call_command("audit_checkpoint", "--out", str(checkpoint_file), stdout=_null(), stderr=_null())
    # Rewrite event 5 and recompute every later hash and link, and the head.
    start = chain[4].seq
    sql("UPDATE audit_auditevent SET object_id = 'rewritten' WHERE seq = %s", [start])
    prev = chain[3].hash
    for event in AuditEvent.objects.filter(seq__gte=start).order_by("seq"):
        sql("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = %s", [prev, event.seq])
        _rehash(event.seq)
        prev = AuditEvent.objects.get(seq=event.seq).hash
    sql("UPDATE audit_auditchainhead SET hash = %s WHERE id = 1", [prev])
    assert run_verify("--no-stored-checkpoints") == (0, "intact")
    _assert_command_reports(
        "rewritten", chain[-1].seq, "--no-stored-checkpoints", "--from-checkpoint",
        str(checkpoint_file),
    )  # fmt: skip


def _rewrite_from(chain: list[AuditEvent], index: int) -> str:
    """Edit event ``index`` and rehash every later event and the head consistently."""
    start = chain[index].seq
    sql("UPDATE audit_auditevent SET object_id = 'rewritten' WHERE seq = %s", [start])
    prev = chain[index - 1].hash
    for event in AuditEvent.objects.filter(seq__gte=start).order_by("seq"):
        sql("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = %s", [prev, event.seq])
        _rehash(event.seq)
        prev = AuditEvent.objects.get(seq=event.seq).hash
    sql("UPDATE audit_auditchainhead SET hash = %s WHERE id = 1", [prev])
    return prev


def test_checkpoint_refuses_to_sign_over_a_contradicted_checkpoint(
    chain: list[AuditEvent], signing_key, tmp_path: Path
) -> None:
    """A consistently rehashed chain (head row included) must not get a fresh signature."""
    from audit.models import AuditCheckpoint

    signing_key()
    call_command("audit_checkpoint", "--out", str(tmp_path / "a.json"), stdout=_null(),
                 stderr=_null())  # fmt: skip
    new_head = _rewrite_from(chain, 4)
    assert run_verify("--no-stored-checkpoints") == (0, "intact")  # self-consistent
    stored = AuditCheckpoint.objects.count()
    with pytest.raises(CommandError) as info:
        call_command("audit_checkpoint", "--out", str(tmp_path / "b.json"), stdout=_null(),
                     stderr=_null())  # fmt: skip
    assert info.value.returncode != 0
    message = str(info.value)
    assert f"first bad seq {chain[-1].seq}: rewritten" in message
    assert "refusing to sign" in message
    assert AuditCheckpoint.objects.count() == stored
    assert not AuditCheckpoint.objects.filter(hash=new_head).exists()
    assert not (tmp_path / "b.json").exists()
    # --no-verify is the explicit escape hatch and still signs only a head that exists.


def test_checkpoint_checks_checkpoint_files_and_old_keys(
    chain: list[AuditEvent], signing_key, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.checkpoints import public_key_pem, sign_checkpoint, write_checkpoint_file

    _key, _public = signing_key()
    # A checkpoint kept outside the database, signed by the key used before a rotation.
    old = Ed25519PrivateKey.generate()
    old_pub = tmp_path / "old.pem"
    old_pub.write_bytes(public_key_pem(old.public_key()))
    cp = sign_checkpoint(old, seq=chain[-1].seq, head_hash=chain[-1].hash, time=chain[-1].time)
    cp_file = write_checkpoint_file(cp, tmp_path / "old-cp.json")
    _rewrite_from(chain, 6)
    out = tmp_path / "new.json"
    args = ["--out", str(out), "--from-checkpoint", str(cp_file)]
    with pytest.raises(CommandError, match="forged_checkpoint"):  # the old key is not trusted
        call_command("audit_checkpoint", *args, stdout=_null(), stderr=_null())
    with pytest.raises(CommandError, match=f"first bad seq {chain[-1].seq}: rewritten"):
        call_command("audit_checkpoint", *args, "--public-key", str(old_pub), stdout=_null(),
                     stderr=_null())  # fmt: skip
    assert not out.exists()


def test_only_the_first_damage_is_the_headline(chain: list[AuditEvent]) -> None:
    sql("DELETE FROM audit_auditevent WHERE seq > %s", [chain[8].seq])
    sql("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = %s", [chain[1].seq])
    assert _damage() == ("edited", chain[1].seq)


@pytest.mark.parametrize("statement", ["UPDATE", "DELETE"])
@pytest.mark.parametrize("table", ["audit_auditevent", "audit_auditcheckpoint"])
def test_triggers_reject_update_and_delete(statement: str, table: str) -> None:
    append_events(2)
    query = (
        f"UPDATE {table} SET seq = seq WHERE 1 = 1"  # noqa: S608 - table from the parameter list
        if statement == "UPDATE"
        else f"DELETE FROM {table} WHERE 1 = 1"  # noqa: S608
    )
    if table == "audit_auditcheckpoint":
        sql(
            "INSERT INTO audit_auditcheckpoint (seq, hash, time, key_id, public_key, signature)"
            " VALUES (1, %s, %s, %s, %s, %s)",
            ["a" * 64, AuditEvent.objects.first().time, "k" * 64, "p", "s"],
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(query)
    assert AuditEvent.objects.count() >= 2


def test_head_cannot_be_deleted_or_moved_back() -> None:
    append_events(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM audit_auditchainhead")
    with pytest.raises(DatabaseError, match="advance"), transaction.atomic():
        sql("UPDATE audit_auditchainhead SET seq = seq - 1")
    with pytest.raises(DatabaseError, match="advance"), transaction.atomic():
        sql("UPDATE audit_auditchainhead SET seq = seq + 5")
    assert AuditChainHead.objects.get(pk=1).seq == AuditEvent.objects.order_by("-seq")[0].seq


@pytest.mark.parametrize(
    "table", ["audit_auditevent", "audit_auditcheckpoint", "audit_auditchainhead"]
)
def test_postgres_trigger_rejects_truncate(table: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    append_events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(f"TRUNCATE {table}")


def _null() -> object:
    from tests.audit.conftest import _Sink

    return _Sink()
