"""Given names that are English words: Grace, Hope, Will, April, Major, Young.

The name lists leave such words out (a lone "Hope" or "Will" is a word far more often than
a person), so the other recognizers pass them by. Here they are names where the context
leaves no doubt:

- before a family name that is no English word: "Grace Park", "Will Sohn", "Faith Osei";
- before any family name where a person's context follows (sex and age, a credential):
  "Major Thompson, 58M", "Brooke Hill, MD";
- after a relation word, in any case: "Wife April at bedside", "her sister Blessing";
- a name in apposition to a relation: "Destiny Baker, the patient's foster mother";
- a Latin name after a Korean person word: "누나 Snow Cho".
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.kin import RELATION_WORDS
from deid.text.recognizers.ko_names import korean_role_before

__all__ = ["find_word_given_names"]

_CAP = r"[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?"
# A capitalized word and the family name after it (the second in a lookahead: pairs may
# overlap).
_PAIR = rx.compile(rf"(?<![A-Za-z'’.-])([A-Z][a-z]+)[ \t]({_CAP})(?![A-Za-z'’-])")
_PERSON_AFTER = rx.compile(
    r",?\s(?:\d{1,3}\s?(?:[MF]|y/?o|yo)\b|\(\d{1,3}\s?[MF]?\)|\((?:[MF]|남|여)/\d)"
    r"|,\s?(?:MD|M\.D\.|RN|NP|PA|DO|PhD|MS|CGC|LPN)\b|,\s\d{1,3}[,.;)]"
)
# A named thing, not a person: "Rose Bengal stain", "Grace Kelly bag".
_THING_AFTER = rx.compile(
    r"(?i:\s(?:stain|test|sign|score|scale|syndrome|disease|bag|criteria|index|solution))\b"
)
_RELATION = RELATION_WORDS
_REL_WORD = rx.compile(rf"(?i:\b(?:{_RELATION}))\b,?\s([A-Z][a-z]+)(?![A-Za-z'’-])")
_APPOSITIVE = rx.compile(
    rf"(?<![A-Za-z'’.-])({_CAP}(?:[ \t]{_CAP}){{1,2}}),\s(?:the\s)?(?:patient['’]s|pt['’]s|his|her|their)\s"
    rf"(?:[a-z-]+\s)?(?:{_RELATION}|caseworker|social worker|case manager|foster parent)\b"
)
# A Latin name of two words after a Korean person word: "동승: 누나 Snow Cho".
_LATIN_PAIR = rx.compile(rf"(?<![A-Za-z'’.-])([A-Z][a-z]+[ \t]{_CAP})(?![A-Za-z'’-])")


_surnames = lexicons.family_names


def _word_name(word: str) -> bool:
    return word.lower() in lexicons.word_given_names()


def find_word_given_names(text: str) -> list[tuple[int, int, float]]:
    out: list[tuple[int, int, float]] = []
    words = lexicons.english_words()
    surnames = _surnames()
    for m in _PAIR.finditer(text):
        given, family = m.group(1), m.group(2)
        if not _word_name(given) or _THING_AFTER.match(text, m.end()):
            continue
        known = family.lower() in surnames and family.lower() not in words
        if known or _PERSON_AFTER.match(text, m.end()):
            out.append((m.start(1), m.end(2), 0.7))
    for m in _REL_WORD.finditer(text):
        if _word_name(m.group(1)):
            out.append((m.start(1), m.end(1), 0.7))
    for m in _APPOSITIVE.finditer(text):
        out.append((m.start(1), m.end(1), 0.7))
    for m in _LATIN_PAIR.finditer(text):
        family = m.group(1).split()[-1].lower()
        line_start = text.rfind("\n", 0, m.start()) + 1
        before = text[max(line_start, m.start() - 16) : m.start()]
        if (
            family in lexicons.roman_surnames()
            and rx.search(r"[가-힣]\s$", before)
            and korean_role_before(before)
        ):
            out.append((m.start(1), m.end(1), 0.7))
    return out
