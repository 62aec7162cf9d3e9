"""Quality goals, measured with the project scorer on dev.jsonl and on hand-written notes.

The thresholds asserted are the ones the scrubber reaches; they are at or
above the goals of the issue:
recall >= 0.98 overall and >= 0.95 per type, 1.0 for KR_RRN, PHONE, EMAIL and
MRN, character precision >= 0.85.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deid.text import Scrubber, score
from deid.text.evaluate import read_jsonl

from .handwritten_notes import CLEAN_NOTES, KEEP, gold_notes

NO_LEAK = ("KR_RRN", "PHONE", "EMAIL", "MRN")


def _predict(scrubber: Scrubber, gold: list[dict[str, object]]) -> list[dict[str, object]]:
    res = scrubber.scrub_many([str(g["text"]) for g in gold], langs=[g.get("lang") for g in gold])  # type: ignore[misc]
    return [
        {"id": g["id"], "text": r.text, "entities": [e.to_dict() for e in r.entities]}
        for g, r in zip(gold, res, strict=True)
    ]


@pytest.mark.slow
def test_dev_set_goals(scrubber: Scrubber, shared_dir: Path) -> None:
    gold = read_jsonl(shared_dir / "data" / "phi_notes" / "dev.jsonl")
    sc = score(gold, _predict(scrubber, gold))
    # Reached: every gold span caught (3578/3578), character precision 1.000.
    assert sc.recall == 1.0, sc.missed[:10]
    for etype, ts in sc.per_type.items():
        assert ts.recall == 1.0, (etype, ts)
    assert sc.precision >= 0.995, sc.precision
    assert sc.leaks == []


def test_handwritten_notes_generalize(scrubber: Scrubber) -> None:
    gold = gold_notes()
    pred = _predict(scrubber, gold)
    sc = score(gold, pred)
    assert sc.recall >= 0.98, sc.missed
    for etype in NO_LEAK:
        if etype in sc.per_type:
            assert sc.per_type[etype].recall == 1.0, etype
    assert sc.precision >= 0.9
    assert sc.leaks == []
    for g, p in zip(gold, pred, strict=True):
        for keep in KEEP:
            if keep in str(g["text"]):
                assert keep in str(p["text"]), keep


@pytest.mark.parametrize("index", range(len(CLEAN_NOTES)))
def test_clinical_text_without_phi_is_untouched(scrubber: Scrubber, index: int) -> None:
    text = CLEAN_NOTES[index]
    found = [(e.type, text[e.start : e.end]) for e in scrubber.analyze(text)]
    assert found == []


@pytest.mark.slow
def test_synthetic_cdw_notes_leak_no_identifier(scrubber: Scrubber, tmp_path: Path) -> None:
    """Notes of another generator (fixtures.synthetic_cdw): no name, number or phone survives."""
    import sqlite3

    from fixtures.synthetic_cdw import generate

    db = tmp_path / "cdw.sqlite3"
    generate(f"sqlite:///{db}", patients=60, seed=11)
    con = sqlite3.connect(db)
    notes = con.execute("SELECT note_text, lang FROM note").fetchall()
    secrets: set[str] = set()
    for table, column in (
        ("person", "patient_name"),
        ("person", "rrn"),
        ("person", "registration_no"),
        ("provider", "provider_name"),
    ):
        secrets.update(v for (v,) in con.execute(f"SELECT {column} FROM {table}") if v)  # noqa: S608
    con.close()
    results = scrubber.scrub_many([n for n, _ in notes], langs=[lang for _, lang in notes])
    leaked = sorted(
        {
            v
            for (orig, _), r in zip(notes, results, strict=True)
            for v in secrets
            if v in orig and v in r.text
        }
    )
    assert leaked == []
