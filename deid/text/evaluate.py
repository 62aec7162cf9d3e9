"""The PHI scorer of ``../shared/data/phi_notes/README.md``.

* recall: a gold span is caught when >= 90% of its characters are covered by
  predicted spans of any type (overall and per gold type);
* precision: character level, the share of predicted characters (union of
  predicted spans) inside gold spans;
* F2 from the two;
* leak check: gold PHI strings of 4+ characters still present verbatim in the
  redacted text (when the prediction carries one).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deid.errors import DataError

COVER = 0.9
LEAK_MIN_LEN = 4


@dataclass
class TypeScore:
    total: int = 0
    caught: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.total if self.total else 1.0


@dataclass
class PhiScore:
    per_type: dict[str, TypeScore] = field(default_factory=dict)
    pred_chars: int = 0
    pred_chars_in_gold: int = 0
    leaks: list[dict[str, Any]] = field(default_factory=list)
    leak_checked_notes: int = 0
    missed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(t.total for t in self.per_type.values())

    @property
    def caught(self) -> int:
        return sum(t.caught for t in self.per_type.values())

    @property
    def recall(self) -> float:
        return self.caught / self.total if self.total else 1.0

    @property
    def precision(self) -> float:
        return self.pred_chars_in_gold / self.pred_chars if self.pred_chars else 1.0

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if (p + r) else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "recall": self.recall,
            "precision_char": self.precision,
            "f2": self.f2,
            "gold_spans": self.total,
            "caught": self.caught,
            "per_type": {
                k: {"recall": v.recall, "caught": v.caught, "total": v.total}
                for k, v in sorted(self.per_type.items())
            },
            "leaks": len(self.leaks),
            "leak_checked_notes": self.leak_checked_notes,
        }


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}:{lineno}: invalid JSON ({exc.msg})", record=lineno
                ) from exc
            if not isinstance(obj, dict) or "id" not in obj:
                raise DataError(f"{path}:{lineno}: expected an object with an 'id'", record=lineno)
            rows.append(obj)
    return rows


def _spans(obj: Mapping[str, Any], key: str, where: str) -> list[tuple[int, int, str]]:
    out = []
    for i, s in enumerate(obj.get(key) or []):
        try:
            start, end = int(s["start"]), int(s["end"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{where}: {key}[{i}] needs integer start and end", record=obj.get("id")
            ) from exc
        out.append((start, end, str(s.get("type", ""))))
    return out


def score(gold: Iterable[Mapping[str, Any]], pred: Iterable[Mapping[str, Any]]) -> PhiScore:
    """Score predictions against gold notes (matched by ``id``; a missing prediction finds nothing)."""
    preds = {str(p["id"]): p for p in pred}
    res = PhiScore()
    per_type: dict[str, TypeScore] = defaultdict(TypeScore)
    for g in gold:
        gid = str(g["id"])
        text = str(g.get("text", ""))
        gspans = _spans(g, "spans", "gold")
        p = preds.get(gid, {})
        pspans = _spans(p, "entities", "prediction")
        covered = bytearray(len(text) + 1)
        for s, e, _ in pspans:
            for k in range(max(0, s), min(e, len(text))):
                covered[k] = 1
        gold_mask = bytearray(len(text) + 1)
        for s, e, t in gspans:
            for k in range(s, e):
                gold_mask[k] = 1
            n = e - s
            hit = sum(covered[s:e])
            ts = per_type[t]
            ts.total += 1
            if n and hit >= COVER * n:
                ts.caught += 1
            else:
                res.missed.append({"id": gid, "type": t, "text": text[s:e], "start": s, "end": e})
        res.pred_chars += sum(covered)
        res.pred_chars_in_gold += sum(1 for k in range(len(text)) if covered[k] and gold_mask[k])
        red = p.get("text")
        if isinstance(red, str):
            res.leak_checked_notes += 1
            for s, e, t in gspans:
                value = text[s:e]
                if len(value) >= LEAK_MIN_LEN and value in red:
                    res.leaks.append({"id": gid, "type": t, "text": value})
    res.per_type = dict(per_type)
    return res


GOALS = {"overall_recall": 0.98, "type_recall": 0.95, "precision": 0.85}
NO_LEAK_TYPES = ("KR_RRN", "PHONE", "EMAIL", "MRN")


def format_report(sc: PhiScore, *, show_missed: int = 0) -> str:
    lines = [f"{'type':<18}{'recall':>8}{'caught':>8}{'total':>7}  goal"]
    for t, ts in sorted(sc.per_type.items()):
        goal = 1.0 if t in NO_LEAK_TYPES else GOALS["type_recall"]
        flag = "ok" if ts.recall >= goal else f"MISSED (< {goal:.2f})"
        lines.append(f"{t:<18}{ts.recall:>8.4f}{ts.caught:>8}{ts.total:>7}  {flag}")
    lines.append("")

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    lines.append(
        f"overall recall   {sc.recall:.4f}  ({sc.caught}/{sc.total})  goal >= 0.98: {mark(sc.recall >= 0.98)}"
    )
    lines.append(f"char precision   {sc.precision:.4f}  goal >= 0.85: {mark(sc.precision >= 0.85)}")
    lines.append(f"F2               {sc.f2:.4f}")
    if sc.leak_checked_notes:
        lines.append(
            f"leaks            {len(sc.leaks)} gold strings (>= 4 chars) verbatim in {sc.leak_checked_notes} redacted notes"
        )
    else:
        lines.append("leaks            not checked (predictions carry no redacted text)")
    for m in sc.missed[:show_missed]:
        lines.append(f"  missed {m['id']} {m['type']}: {m['text']!r}")
    return "\n".join(lines)
