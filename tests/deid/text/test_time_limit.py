"""The recognizers' patterns run under a time limit, and a note that hits it fails by number."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

import deid.text.recognizers.rx as rx
from deid.errors import DataError
from deid.text import Scrubber
from deid.text.scrubber import scrub_array


def test_a_pattern_that_backtracks_without_end_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rx, "TIMEOUT_SECONDS", 0.2)
    pattern = rx.compile(r"(a|aa)+$")  # exponential on a long run of a's that does not end
    started = time.monotonic()
    with pytest.raises(rx.PatternTimeout, match=r"ran over 0\.2 s"):
        pattern.search("a" * 70 + "!")
    assert time.monotonic() - started < 5
    # the same pattern on ordinary text is unaffected
    assert pattern.search("baa").group() == "aa"  # type: ignore[union-attr]
    assert [m.group() for m in rx.finditer(r"\d+", "a 12 b 345")] == ["12", "345"]
    assert rx.sub(r"\d", "#", "r2d2") == "r#d#"


def test_every_recognizer_pattern_runs_under_the_limit() -> None:
    """No recognizer module matches with the standard library's ``re`` (which cannot stop)."""
    import ast
    from pathlib import Path

    import deid.text.recognizers as pkg

    offenders = []
    for path in Path(pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "re" for a in node.names):
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "re":
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_a_note_past_the_limit_fails_the_batch_naming_its_row(
    scrubber: Scrubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = pa.array([None, "환자 홍길동 (010-1234-5678) 2021-03-04 내원."])
    assert scrub_array(notes, scrubber=scrubber).to_pylist()[1] != notes[1].as_py()
    monkeypatch.setattr(rx, "TIMEOUT_SECONDS", 1e-9)  # every pattern now runs out of time
    with pytest.raises(DataError) as caught:
        scrub_array(notes, scrubber=scrubber)
    assert caught.value.record == 1  # the row in the column, not among the non-null notes
    assert caught.value.field == "text"
    assert "nothing of it is released" in str(caught.value)
    assert "홍길동" not in str(caught.value)
