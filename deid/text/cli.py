"""``deid scrub`` and ``deid eval-phi``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from deid.errors import DataError, KeyMaterialError


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("scrub", help="scrub PHI from notes (JSONL in, JSONL out)")
    p.add_argument("--input", required=True, type=Path, help="JSONL lines {id, text, lang?}")
    p.add_argument("--output", required=True, type=Path, help="JSONL lines {id, text, entities}")
    p.add_argument(
        "--key-file", type=Path, help="release key file (raw bytes); random key if absent"
    )
    p.add_argument("--surrogate", choices=("tag", "fake"), default="tag")
    p.add_argument(
        "--date-shift-days", type=int, default=None, help="shift dates instead of tagging them"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--processes", type=int, default=1)
    p.set_defaults(func=cmd_scrub)

    e = subparsers.add_parser("eval-phi", help="score PHI predictions against gold spans")
    e.add_argument("gold", type=Path)
    e.add_argument("pred", type=Path)
    e.add_argument("--json", action="store_true", help="print the scores as JSON")
    e.add_argument(
        "--show-missed", type=int, default=0, metavar="N", help="list N missed gold spans"
    )
    e.add_argument(
        "--min-recall", type=float, default=None, help="exit 1 if overall recall is lower"
    )
    e.add_argument(
        "--min-precision", type=float, default=None, help="exit 1 if char precision is lower"
    )
    e.set_defaults(func=cmd_eval)


def read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise KeyMaterialError(f"key file {str(path)!r}: cannot read ({exc.strerror})") from exc
    if len(key) < 16:
        raise KeyMaterialError(
            f"key file {str(path)!r}: expected at least 16 bytes, got {len(key)}"
        )
    return key


def cmd_scrub(args: argparse.Namespace) -> int:
    from deid.text.evaluate import read_jsonl
    from deid.text.scrubber import Scrubber

    key = read_key(args.key_file) if args.key_file else None
    rows = read_jsonl(args.input)
    texts: list[str] = []
    langs: list[str | None] = []
    for i, row in enumerate(rows, 1):
        text = row.get("text")
        if not isinstance(text, str):
            raise DataError(
                f"{args.input}:{i}: expected a string", record=row.get("id"), field="text"
            )
        texts.append(text)
        lang = row.get("lang")
        langs.append(str(lang) if lang else None)
    scrubber = Scrubber(key=key, surrogate=args.surrogate)
    results = scrubber.scrub_many(
        texts,
        langs=langs,
        date_shift_days=args.date_shift_days,
        batch_size=args.batch_size,
        n_process=args.processes,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(args.output.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row, res in zip(rows, results, strict=True):
            out = {
                "id": row["id"],
                "text": res.text,
                "entities": [e.to_dict() for e in res.entities],
            }
            fh.write(json.dumps(out, ensure_ascii=False) + "\n")
    tmp.replace(args.output)
    print(
        f"scrubbed {len(rows)} notes, {sum(len(r.entities) for r in results)} entities -> {args.output}"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from deid.text.evaluate import format_report, read_jsonl, score

    sc = score(read_jsonl(args.gold), read_jsonl(args.pred))
    if args.json:
        print(json.dumps(sc.to_dict(), indent=2))
    else:
        print(format_report(sc, show_missed=args.show_missed))
    code = 0
    if args.min_recall is not None and sc.recall < args.min_recall:
        print(f"overall recall {sc.recall:.4f} < --min-recall {args.min_recall}", file=sys.stderr)
        code = 1
    if args.min_precision is not None and sc.precision < args.min_precision:
        print(
            f"char precision {sc.precision:.4f} < --min-precision {args.min_precision}",
            file=sys.stderr,
        )
        code = 1
    return code
