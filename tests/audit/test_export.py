"""Exports: exact JSON Lines an auditor can recompute, CSV guarded against formulas."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.actions import AuditAction
from audit.canonical import event_hash
from audit.export import csv_safe, export_events
from audit.models import AuditEvent
from audit.services import Actor, record_event
from tests.audit.conftest import _Sink, append_events, run_verify

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "＝1+1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_safe_prefixes_formula_cells(value: str) -> None:
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "", '{"a":1}', 42, None, "a=b"])
def test_csv_safe_leaves_other_cells_alone(value: object) -> None:
    assert csv_safe(value) == value


def test_csv_export_guards_every_hostile_cell(tmp_path: Path) -> None:
    for i, value in enumerate(HOSTILE):
        record_event(
            action=AuditAction.FILE_DOWNLOADED,
            actor=Actor(username=value, role="requester"),
            object_type="governance.release",
            object_id=value,
            details={"i": i},
        )
    out = tmp_path / "audit.csv"
    call_command("audit_export", "--format", "csv", "--out", str(out), stderr=_Sink())
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    hostile_rows = [r for r in rows if r["action"] == "file.downloaded"][-len(HOSTILE) :]
    assert len(hostile_rows) == len(HOSTILE)
    for row, value in zip(hostile_rows, HOSTILE, strict=True):
        assert row["actor_username"] == "'" + value
        assert row["object_id"] == "'" + value
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_jsonl_export_lets_an_auditor_recompute_every_hash(tmp_path: Path) -> None:
    append_events(5)
    out = tmp_path / "audit.jsonl"
    call_command("audit_export", "--out", str(out), stderr=_Sink())
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 5
    prev = None
    for line in lines:
        fields = {k: line[k] for k in line if k not in {"v", "details", "hash"}}
        assert event_hash(**fields) == line["hash"]
        if prev is not None:
            assert line["prev_hash"] == prev
        prev = line["hash"]
    # The export itself is audited.
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None
    assert last.action == AuditAction.AUDIT_EXPORTED
    assert last.details["events"] == len(lines)


def test_export_time_window(tmp_path: Path) -> None:
    append_events(2)
    # A date means midnight in the project's TIME_ZONE: two days ahead is the future anywhere.
    future = (timezone.now() + timedelta(days=2)).date().isoformat()
    out = tmp_path / "none.jsonl"
    call_command("audit_export", "--since", future, "--out", str(out), stderr=_Sink())
    assert out.read_text() == ""
    with pytest.raises(CommandError, match="--since"):
        call_command("audit_export", "--since", "yesterday", stdout=_Sink())
    with pytest.raises(CommandError, match="before --until"):
        call_command(
            "audit_export", "--since", "2026-02-01", "--until", "2026-01-01", stdout=_Sink()
        )


def test_auditor_verifies_an_export_against_a_checkpoint(signing_key, tmp_path: Path) -> None:
    _key, public = signing_key()
    append_events(4)
    checkpoint = tmp_path / "cp.json"
    call_command("audit_checkpoint", "--out", str(checkpoint), stdout=_Sink(), stderr=_Sink())
    export = tmp_path / "audit.jsonl"
    call_command("audit_export", "--out", str(export), stderr=_Sink())
    args = ["--export", str(export), "--from-checkpoint", str(checkpoint)]
    assert run_verify(*args, "--public-key", str(public)) == (0, "intact")

    lines = export.read_text(encoding="utf-8").splitlines()
    target = json.loads(lines[1])
    target["object_id"] = "tampered"
    lines[1] = json.dumps(target)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, message = run_verify(*args, "--public-key", str(public))
    assert code == 1
    assert f"first bad seq {target['seq']}: edited" in message


def test_partial_export_is_verified_from_its_first_event(tmp_path: Path) -> None:
    events = append_events(4)
    export = tmp_path / "part.jsonl"
    with export.open("w", encoding="utf-8") as handle:
        export_events(handle, fmt="jsonl", since=events[1].time, until=events[3].time)
    lines = export.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [events[1].seq, events[2].seq]
    code, message = run_verify("--export", str(export))
    assert code == 3  # links up, but nothing vouches for it
    assert "unanchored" in message
    export.write_text(lines[1] + "\n" + lines[0] + "\n", encoding="utf-8")  # reordered
    code, message = run_verify("--export", str(export))
    assert code == 1
    assert f"first bad seq {events[1].seq}: reordered" in message


def _write(path: Path, records: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _forge_consistently(records: list[dict], index: int) -> list[dict]:  # type: ignore[type-arg]
    """Edit record ``index`` and rehash it and every later record (a careful forger)."""
    out = [dict(r) for r in records]
    out[index]["object_id"] = "forged"
    for i in range(index, len(out)):
        if i > index:
            out[i]["prev_hash"] = out[i - 1]["hash"]
        fields = {k: out[i][k] for k in out[i] if k not in {"v", "details", "hash"}}
        out[i]["hash"] = event_hash(**fields)
    return out


def test_partial_export_without_a_checkpoint_is_unanchored(tmp_path: Path) -> None:
    """A forged self-consistent partial export, or a truncated one, must not report ok."""
    events = append_events(5)
    export = tmp_path / "part.jsonl"
    with export.open("w", encoding="utf-8") as handle:
        export_events(handle, fmt="jsonl", since=events[1].time)
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert records[0]["seq"] == events[1].seq
    for variant in (records, _forge_consistently(records, 1), records[:-2]):
        code, message = run_verify("--export", str(_write(tmp_path / "v.jsonl", variant)))
        assert code == 3, message
        assert "unanchored" in message
        assert "taken on trust" in message
        assert f"seq {variant[0]['seq']}..{variant[-1]['seq']}" in message


def test_full_export_needs_a_checkpoint_at_its_end(signing_key, tmp_path: Path) -> None:
    _key, public = signing_key()
    append_events(3)
    checkpoint = tmp_path / "cp.json"
    call_command("audit_checkpoint", "--out", str(checkpoint), stdout=_Sink(), stderr=_Sink())
    cp_seq = json.loads(checkpoint.read_text())["seq"]
    export = tmp_path / "audit.jsonl"
    call_command("audit_export", "--out", str(export), stderr=_Sink())
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert records[0]["seq"] == 1
    assert records[-1]["seq"] == cp_seq
    trust = ["--public-key", str(public)]
    with_cp = ["--from-checkpoint", str(checkpoint), *trust]
    assert run_verify("--export", str(export), *with_cp) == (0, "intact")

    # From genesis but with no checkpoint: anchored at its start only, truncation undetectable.
    code, message = run_verify("--export", str(export), *trust)
    assert code == 3
    assert "genesis" in message
    assert "truncated" in message
    truncated = _write(tmp_path / "short.jsonl", records[:-2])
    code, message = run_verify("--export", str(truncated), *with_cp)
    assert code == 3  # the checkpoint lies beyond the export: it cannot vouch for it
    assert f"checkpoint at seq {records[-3]['seq']}" in message
    # A tail after the checkpoint is not vouched for (it could be forged).
    later = append_events(2)
    export2 = tmp_path / "audit2.jsonl"
    call_command("audit_export", "--out", str(export2), stderr=_Sink())
    code, message = run_verify("--export", str(export2), *with_cp)
    assert code == 3
    assert f"seq 1..{cp_seq} are anchored" in message
    assert f"seq {cp_seq + 1}..{later[-1].seq}" in message
    # A consistent forgery before the checkpoint is damage, not merely unanchored.
    forged = _write(tmp_path / "forged.jsonl", _forge_consistently(records, len(records) - 2))
    code, message = run_verify("--export", str(forged), *with_cp)
    assert code == 1
    assert f"first bad seq {cp_seq}: rewritten" in message
