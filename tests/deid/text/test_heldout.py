"""Recall on notes the scrubber was not written for: two hand-written corpora.

``corpus/handwritten.md`` (156 notes) was written before the name and identifier
work of this round and then used to find kinds of misses (so it is partly tuned
on); ``corpus/fresh.md`` (50 notes) was written after that work and scored once,
never tuned on. The floors are what the scrubber reaches on each (it is
deterministic): a change that loses recall on either fails here. The goals of the
issue (overall and PERSON recall >= 0.95 on unseen notes) are not yet met on the
fresh corpus; its floors record where it stands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deid.text import Scrubber, score
from deid.text.evaluate import PhiScore

from .handwritten import CORPUS, load

FRESH = CORPUS.parent / "fresh.md"

# corpus -> (overall recall, character precision, {type: recall})
FLOORS: dict[str, tuple[float, float, dict[str, float]]] = {
    "handwritten": (
        0.98,
        0.97,
        {"PERSON": 0.98, "MRN": 1.0, "PHONE": 1.0, "KR_RRN": 1.0, "EMAIL": 1.0, "DATE": 1.0},
    ),
    "fresh": (
        0.88,
        0.96,
        {"PERSON": 0.87, "MRN": 0.94, "PHONE": 1.0, "EMAIL": 1.0, "ADDRESS": 1.0},
    ),
}


def _score(scrubber: Scrubber, path: Path) -> PhiScore:
    gold = load(path)
    res = scrubber.scrub_many([g["text"] for g in gold], langs=[g["lang"] for g in gold])
    pred: list[dict[str, Any]] = [
        {"id": g["id"], "text": r.text, "entities": [e.to_dict() for e in r.entities]}
        for g, r in zip(gold, res, strict=True)
    ]
    return score(gold, pred)


@pytest.mark.parametrize(("name", "path"), [("handwritten", CORPUS), ("fresh", FRESH)])
def test_recall_on_hand_written_notes_holds(scrubber: Scrubber, name: str, path: Path) -> None:
    sc = _score(scrubber, path)
    overall, precision, per_type = FLOORS[name]
    assert sc.recall >= overall, (sc.recall, sc.missed[:20])
    assert sc.precision >= precision, sc.precision
    for etype, floor in per_type.items():
        got = sc.per_type[etype].recall
        assert got >= floor, (etype, got, [m for m in sc.missed if m["type"] == etype][:10])


def test_corpora_are_well_formed() -> None:
    for path in (CORPUS, FRESH):
        notes = load(path)
        assert notes
        for note in notes:
            for span in note["spans"]:
                value = note["text"][span["start"] : span["end"]]
                assert value == value.strip(), (note["id"], value)
                assert not value.startswith(("Dr.", "Mr.", "Mrs.", "Ms.")), (note["id"], value)
    assert len(load(CORPUS)) + len(load(FRESH)) >= 150
