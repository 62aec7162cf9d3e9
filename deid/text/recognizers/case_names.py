"""Names in notes typed all in capitals or all in lower case.

The English rules read a name by its capital letters ("Dr. Halvorsen", "Sandra Kowalski");
old systems print whole notes in capitals, and quick notes and speech-to-text are typed in
lower case. Here the context and the name lists stand in for the capitals:

- **capitals**: a family name after a title ("DR. HALVORSEN", "DR. JI-HO PARK"), a name
  written family-first after a label ("SIGNED BY: REYNOLDS, PATRICK J");
- **lower case**: a name a list knows after a title or "pt" ("dr nguyen", "this is doctor
  farouk dictating"), a given name and a family name the lists know, neither an English
  word ("for elena petrova"), staff initials signing before their post ("-tj rn").
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons

__all__ = ["find_case_names"]

_CAPS_WORD = r"[A-Z][A-Z'’]+(?:-[A-Z]+)?"
_CAPS_TITLED = rx.compile(
    rf"\b(?:DR|MR|MRS|MS|MISS|PROF)\.?[ \t]+({_CAPS_WORD}(?:[ \t]{_CAPS_WORD}){{0,2}})(?![A-Za-z])"
)
_CAPS_LABELLED = rx.compile(
    r"(?i:\b(?:signed by|electronically signed by|dictated by|attending|physician|provider|"
    r"patient|patient name|name|pt))[ \t]*:?[ \t]*"
    # (not a credential after the comma: "Dictated by JANG DASEO, MD")
    rf"({_CAPS_WORD}(?:[ -]{_CAPS_WORD})?,[ \t]?(?!(?:MD|RN|DO|NP|PA|PHD|MS|LPN)\b){_CAPS_WORD}"
    # (more given names and particles: "GONZALEZ-RUIZ, MARIA DEL CARMEN")
    rf"(?:[ \t](?!(?:MD|RN|DO|NP|PA|PHD|MS|LPN|MRN|DOB|AGE|SEX)\b){_CAPS_WORD}){{0,3}}"
    r"(?:[ \t][A-Z](?![A-Za-z])\.?)?)"
)
# A name in brackets written family-first with the family name in capitals: "Specimen
# SO-25-1102 (BECKER, Franziska)".
_CAPS_COMMA_IN_BRACKETS = rx.compile(
    r"\(((?:[A-Z]{2,}(?:-[A-Z]{2,})?),[ \t]?([A-Z][a-z]+(?:[ -][A-Z]?[a-z]+)?))\)"
)
_LOWER_TITLED = rx.compile(
    r"(?<![A-Za-z])(?:dr|doctor|mr|mrs|ms|pt|patient|nurse)\.?[ \t]([a-z][a-z'’-]{2,})"
    r"(?:[ \t]([a-z][a-z'’-]{2,}))?(?![A-Za-z])"
)
# (the second word in a lookahead, so that pairs overlap: "for elena petrova")
_LOWER_PAIR = rx.compile(r"(?<![A-Za-z@._/-])([a-z]{3,})(?=[ \t]([a-z]{3,})(?![A-Za-z@._/-]))")
# A lower-case name at a bed or before a post in brackets: "pls call re bed 12 park",
# "from jess (RN)".
_LOWER_AT_BED = rx.compile(r"\bbed[ \t]?\d{1,3}[a-z]?[ \t]([a-z]{2,12})(?![A-Za-z])")
_LOWER_BEFORE_POST = rx.compile(
    r"(?<![A-Za-z])([a-z]{3,12})[ \t]?\((?:RN|MD|NP|PA|LPN|CNA|RT|PT|OT|charge|nurse)\)"
)
_LOWER_SIGNED = rx.compile(
    r"(?:^|[ \t])[-–—]{1,2}[ \t]?([a-z]{2,3})[ \t](?:rn|md|np|pa|lpn|do)\b[ \t.]*(?:\n|$)"
)


_given = lexicons.given_names
_family = lexicons.family_names


# Function words (the English word list holds content words only).
_FUNCTION_WORD_LIST = (
    "the and but for nor yet via per has had have was were are been being not also only "
    "then than just into onto over under upon about after before again said says her his "
    "its him she they them their this that these those who whom whose what which when "
    "where why how can may will would should could must shall might one two all any "
    "each both few more most some such own same too very from with without within out "
    "off down ago yes you your our ours mine let get got did does done due per pre post "
    "non all tho thru till til upto onto amid among per vs etc she's he's pts"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())


def _plain(word: str) -> bool:
    """An English word or a stop word: no name without capitals to say so."""
    low = word.lower()
    return (
        low in lexicons.english_words() or low in lexicons.en_stopwords() or low in _FUNCTION_WORDS
    )


def _name_like(word: str) -> bool:
    low = word.lower().strip("'’")
    if low in lexicons.roman_surnames():
        return True  # PARK, LEE, YOUNG are English words and family names
    if "-" in low:
        return all(not _plain(p) for p in low.split("-"))
    return not _plain(low) or low in _family()


def find_case_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of names in capitals and in lower case."""
    caps = _capital_names(text) if rx.search(r"[A-Z]{2,}", text) else []
    return caps + _lower_case_names(text)


def _capital_names(text: str) -> list[tuple[int, int, float]]:
    out: list[tuple[int, int, float]] = []
    for m in _CAPS_TITLED.finditer(text):
        words = list(rx.finditer(r"\S+", m.group(1)))
        while words and not _name_like(words[-1].group(0)):
            words.pop()  # "DR. SMITH TODAY": the name ends before a word
        if words:
            out.append((m.start(1) + words[0].start(), m.start(1) + words[-1].end(), 0.8))
    for m in _CAPS_COMMA_IN_BRACKETS.finditer(text):
        if not _plain(m.group(2).split()[0].split("-")[0]):
            out.append((m.start(1), m.end(1), 0.75))
    for m in _CAPS_LABELLED.finditer(text):
        family = m.group(1).split(",")[0]
        if family.split()[-1].lower() not in lexicons.en_stopwords():  # the label says it
            out.append((m.start(1), m.end(1), 0.8))
    return out


def _lower_case_names(text: str) -> list[tuple[int, int, float]]:
    out: list[tuple[int, int, float]] = []
    given, family_names = _given(), _family()
    for m in _LOWER_TITLED.finditer(text):
        first = m.group(1)
        if (first in family_names or first in given) and not _plain(first):
            end = m.end(1)
            second = m.group(2)
            if second and second in family_names and not _plain(second):
                end = m.end(2)
            out.append((m.start(1), end, 0.7))
    for m in _LOWER_PAIR.finditer(text):
        first, second = m.group(1), m.group(2)
        if first in given and second in family_names and not _plain(first) and not _plain(second):
            out.append((m.start(1), m.end(2), 0.65))  # (end(2): inside the lookahead)
    for m in _LOWER_AT_BED.finditer(text):
        if m.group(1) in lexicons.roman_surnames() or (
            m.group(1) in family_names and not _plain(m.group(1))
        ):
            out.append((m.start(1), m.end(1), 0.65))
    for m in _LOWER_BEFORE_POST.finditer(text):
        if m.group(1) in given and not _plain(m.group(1)):
            out.append((m.start(1), m.end(1), 0.65))
    for m in _LOWER_SIGNED.finditer(text):
        out.append((m.start(1), m.end(1), 0.7))
    return out
