"""The hand-written evaluation corpus (``corpus/handwritten.md``) as gold notes.

Each note: ``### <id> | <lang> | <kind>`` then its text; PHI inline as
``[[TYPE:value]]``. :func:`load` strips the markup and returns the notes in the
dev set's shape (``{"id", "lang", "kind", "text", "spans": [{start, end, type}]}``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from deid.text.types import ENTITY_TYPES

CORPUS = Path(__file__).resolve().parent / "corpus" / "handwritten.md"
TYPES = frozenset(ENTITY_TYPES)  # the scrubber's entity types, nothing else
_HEADER = re.compile(r"^### (\S+) \| (ko|en|mixed) \| (\S+)\s*$")
_MARK = re.compile(r"\[\[([A-Z_]+):([^\]]+?)\]\]")


def parse(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and spans of one marked-up note."""
    out: list[str] = []
    spans: list[dict[str, Any]] = []
    pos = 0
    length = 0
    for m in _MARK.finditer(text):
        kind, value = m.group(1), m.group(2)
        if kind not in TYPES:
            raise ValueError(f"unknown PHI type {kind!r} in {m.group(0)!r}")
        out.append(text[pos : m.start()])
        length += m.start() - pos
        spans.append({"start": length, "end": length + len(value), "type": kind})
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(text[pos:])
    plain = "".join(out)
    if "[[" in plain or "]]" in plain:
        raise ValueError(f"unbalanced markup near {plain[plain.find('[[') :][:40]!r}")
    return plain, spans


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    header: tuple[str, str, str] | None = None
    body: list[str] = []

    def flush() -> None:
        if header is not None:
            text, spans = parse("\n".join(body).strip("\n"))
            notes.append(
                {
                    "id": header[0],
                    "lang": header[1],
                    "kind": header[2],
                    "text": text,
                    "spans": spans,
                }
            )

    for line in path.read_text(encoding="utf-8").splitlines():
        m = _HEADER.match(line)
        if m:
            flush()
            header, body = (m.group(1), m.group(2), m.group(3)), []
        elif line.startswith("###"):
            raise ValueError(f"malformed header {line!r}")
        else:
            body.append(line)
    flush()
    ids = [n["id"] for n in notes]
    if len(set(ids)) != len(ids):
        raise ValueError("note ids repeat")
    return notes
