"""The scorer follows the data README: 90% coverage, char precision, F2, leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deid.cli import main
from deid.errors import DataError
from deid.text.evaluate import read_jsonl, score

GOLD = [
    {
        "id": "n1",
        "text": "환자 김민준 010-1234-5678 내원",
        "spans": [
            {"start": 3, "end": 6, "type": "PERSON"},
            {"start": 7, "end": 20, "type": "PHONE"},
        ],
    },
    {"id": "n2", "text": "MRN 1234567890", "spans": [{"start": 4, "end": 14, "type": "MRN"}]},
]


def test_perfect_prediction() -> None:
    pred = [
        {"id": "n1", "entities": GOLD[0]["spans"], "text": "환자 [P] [T] 내원"},
        {"id": "n2", "entities": GOLD[1]["spans"], "text": "MRN [M]"},
    ]
    sc = score(GOLD, pred)
    assert sc.recall == 1.0
    assert sc.precision == 1.0
    assert sc.f2 == pytest.approx(1.0)
    assert sc.leaks == []


def test_ninety_percent_coverage_rule() -> None:
    # 9 of 10 MRN chars covered: caught; 8 of 10: missed.
    pred9 = [{"id": "n2", "entities": [{"start": 4, "end": 13, "type": "X"}]}]
    pred8 = [{"id": "n2", "entities": [{"start": 4, "end": 12, "type": "X"}]}]
    assert score(GOLD[1:], pred9).per_type["MRN"].caught == 1
    assert score(GOLD[1:], pred8).per_type["MRN"].caught == 0


def test_char_precision_counts_union_of_predictions() -> None:
    # Overlapping predictions count each character once; 4 extra chars outside gold.
    pred = [
        {
            "id": "n2",
            "entities": [
                {"start": 0, "end": 14, "type": "MRN"},
                {"start": 4, "end": 14, "type": "MRN"},
            ],
        }
    ]
    sc = score(GOLD[1:], pred)
    assert sc.precision == pytest.approx(10 / 14)
    p, r = sc.precision, sc.recall
    assert sc.f2 == pytest.approx(5 * p * r / (4 * p + r))


def test_missing_prediction_finds_nothing_and_leaks_are_reported() -> None:
    pred = [{"id": "n1", "entities": [], "text": GOLD[0]["text"]}]
    sc = score(GOLD, pred)
    assert sc.recall == 0.0
    # Only strings of 4+ characters count as leaks: the phone, not the 3-syllable name.
    assert [leak["type"] for leak in sc.leaks] == ["PHONE"]


def test_bad_lines_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"id": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError, match="2"):
        read_jsonl(f)


def test_cli_scrub_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), encoding="utf-8"
    )
    key = tmp_path / "release.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    out = tmp_path / "out.jsonl"
    assert main(["scrub", "--input", str(gold), "--output", str(out), "--key-file", str(key)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["n1", "n2"]
    assert "김민준" not in rows[0]["text"]
    assert "010-1234-5678" not in rows[0]["text"]
    assert {"start", "end", "type", "score"} <= set(rows[0]["entities"][0])
    capsys.readouterr()
    assert main(["eval-phi", str(gold), str(out)]) == 0
    report = capsys.readouterr().out
    assert "overall recall   1.0000" in report
    assert "leaks            0" in report
    assert main(["eval-phi", str(gold), str(out), "--min-recall", "1.01"]) == 1


def test_cli_short_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "k"
    key.write_bytes(b"s3kr1t")
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "1", "text": "x"}\n', encoding="utf-8")
    code = main(
        [
            "scrub",
            "--input",
            str(src),
            "--output",
            str(tmp_path / "o.jsonl"),
            "--key-file",
            str(key),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "at least 16 bytes" in err
    assert "s3kr1t" not in err
