"""Latin names marked by what stands right beside them, list or no list.

The name lists do not know every name (Elspeth, Aroha, Ngaire, Oluwadamilare); the cue
does the work here, and the lists only keep plain words out:

- **a chat line's speaker**: "[20:43] Aroha Walker: give her the jelly beans", a chat
  handle alone on its line with the time ("jiwoo.kang 7:02 AM");
- **a relation in brackets after it**: "text from Beatriz (pt's sister)";
- **a date of birth after it**: "Ngaire Parata, DOB 1936-03-09";
- **a nickname in quotes between given and family name**: 'Oluwadamilare ("Dami") Okonkwo';
- **a name written family-first in capitals that the lists know**: "HUSSAIN, AYESHA";
- **a letter's subject line**: "Re: Wiremu Te Rangi NHI ZAC4471";
- **a contact before a phone number**: "contact Anahera on 021 448 7702";
- **someone met at a place of work**: "echo booked with Hamid in the echo lab";
- **a companion beside the one addressed**: "to meet you and Joachim", "Tomás and I".
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.en_names import any_name, is_blocked, is_role_word
from deid.text.recognizers.kin import RELATION_WORDS

__all__ = ["bridge_middle_initials", "find_cue_names"]

_UP = "A-ZÀ-ÖØ-ÞĀ-ž"
_LO = "a-zß-öø-ÿĀ-ž"
_CAP = rf"[{_UP}](?:['’][{_UP}])?[{_LO}]+(?:-[{_UP}{_LO}][{_LO}]+)?"
# Particles inside a name: "Te Rangi", "de la Vega", "bin Saeed".
_PARTICLES = r"(?:de|da|del|la|los|las|van|von|der|den|di|du|dos|bin|binti|al|el|Te|Ter|ben)"
_NAME = rf"{_CAP}(?:[ \t](?:{_PARTICLES}[ \t])?{_CAP}){{0,3}}"

# A chat line: a time (in brackets or not, after a date or not) and a speaker before a colon.
_CHAT_SPEAKER = rx.compile(
    r"(?m:^)[ \t]*(?:\[[^\]\n]{0,24}\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]?[AaPp]\.?[Mm]\.?)?\]"
    r"|\d{1,2}:\d{2}(?:[ \t]?[AaPp]\.?[Mm]\.?)?)[ \t]*[-–]?[ \t]*"
    rf"({_NAME})[ \t]*(?:\([^()\n]{{1,30}}\))?[ \t]*:(?!\d)"
)
# A chat handle alone on its line with the time: "jiwoo.kang 7:02 AM", "minji_oh  07:05".
_HANDLE_LINE = rx.compile(
    r"(?m:^)[ \t]*@?([a-z][a-z0-9]{1,15}[._][a-z][a-z0-9]{1,15})[ \t]+\d{1,2}:\d{2}"
    r"(?:[ \t]?[AaPp][Mm])?[ \t]*(?=\n|$)"
)
_RELATION = (
    rf"{RELATION_WORDS}|carer|spouse|step(?:mother|father|son|daughter)|"
    r"(?:mother|father|son|daughter|sister|brother)-in-law"
)
_RELATION_IN_BRACKETS = rx.compile(
    rf"(?<![{_UP}{_LO}'’.-])({_NAME})[ \t]?\((?:the[ \t])?(?:(?:pt|patient|client)['’]?s?|his|her|"
    rf"their)?[ \t]?(?:older[ \t]|younger[ \t]|elder[ \t]|eldest[ \t]|oldest[ \t]|twin[ \t])?"
    rf"(?:{_RELATION})\)"
)
_BIRTH_AFTER = rx.compile(
    rf"(?<![{_UP}{_LO}'’.-])({_CAP}(?:[ \t](?:{_PARTICLES}[ \t])?{_CAP}){{1,3}})"
    r"(?:,[ \t]?|[ \t]?\(|[ \t]{1,3})(?:DOB|D\.O\.B\.?|born|b\.)[ \t]?[:\s]"
)
# A nickname in quotes after a relation or a partner: 'Partner: "Sofi"', 'boyfriend ("DJ")'.
_QUOTED_AFTER_RELATION = rx.compile(
    rf"(?i:\b(?:{_RELATION}))\b[ \t]?[:(]?[ \t]?\(?[\x22“‘']([A-Z][a-z]{{1,14}}|[A-Z]{{2,3}})[\x22”’']"
)
# A speaker naming themself: "this is Kayla.", "my name is Rosalind", "It's Gordon Fairweather".
_SELF_NAMED = rx.compile(
    rf"\b(?:[Tt]his[ \t]is|[Mm]y[ \t]name[ \t]is|[Ii]t['’]s|[Ii][ \t]am|I['’]m)[ \t]"
    rf"({_CAP}(?:[ \t]{_CAP})?)(?=[ \t]*(?:[.,!;]|$|\n)|[ \t](?:from|with|at|calling|and|here)\b)"
)
# A name written family-first before a person's age: "Abernathy, Clyde is a 71 y.o. male".
_FAMILY_FIRST_SUBJECT = rx.compile(
    rf"(?<![{_UP}{_LO}'’.-])({_CAP},[ \t]{_CAP}(?:[ \t][A-Z]\.?)?)"
    r"(?=[ \t](?:is|was)[ \t](?:a|an)[ \t]\d{1,3}|,?[ \t]\d{1,3}[ \t]?(?:y\.?o\.?|yo|[MF])\b"
    r"|[ \t]\(\d{1,3}[ \t]?[MF]?\))"
)
# A middle initial without its period between two found parts: "Shawna M Pettigrew, RN".
_MIDDLE_INITIAL = rx.compile(r"[ \t][A-Z]\.?[ \t]")
_HANGUL = rx.compile(r"[가-힣]")
_NICKNAME_MIDDLE = rx.compile(
    rf"(?<![{_UP}{_LO}'’.-])({_CAP})[ \t]?\([\x22“'‘]({_CAP})[\x22”'’]\)[ \t]?({_CAP})(?![{_UP}{_LO}])"
)
_CAPS_WORD = r"[A-Z]{2,}(?:['’-][A-Z]{2,})?"
_CREDENTIAL = r"(?:MD|DO|RN|NP|PA|PHD|MS|LPN|MRN|DOB|AGE|SEX|DDS|CGC|MSW)"
_CAPS_FAMILY_GIVEN = rx.compile(
    rf"(?<![A-Za-z])({_CAPS_WORD}),[ \t]?({_CAPS_WORD})((?:[ \t](?!{_CREDENTIAL}\b){_CAPS_WORD})?)"
    r"(?![A-Za-z])"
)
_RE_LINE = rx.compile(
    rf"(?m:^)[ \t]*(?:Re|RE|Subject|Regarding)[ \t]?:[ \t]*(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?[ \t])?"
    rf"({_CAP}(?:[ \t](?:{_PARTICLES}[ \t])?{_CAP}){{1,3}})"
    r"(?=[ \t]*(?:,|\(|$|\n|[ \t](?:NHI|NHS|MRN|DOB|D\.O\.B|Hospital|Medicare|Chart|ID)\b))"
)
_CONTACT_PHONE = rx.compile(
    rf"(?<![{_UP}{_LO}'’.-])({_CAP})[ \t](?:on|at)[ \t](?=\+?\(?0?\d[\d \t()-]{{7,}}\d)"
)
_AT_WORKPLACE = rx.compile(
    rf"\b(?:with|by|from|to|ask|call|page|contact|see)[ \t]({_CAP})[ \t](?:in|at|from)[ \t]"
    r"(?:the[ \t])?(?:[a-z]+[ \t])?(?:lab|clinic|unit|office|ward|desk|department|pharmacy|"
    r"team|theatre|theater|suite|room)\b"
)
# A companion named beside the one addressed: "to meet you and Joachim", "Tomás and I".
_WITH_YOU = rx.compile(
    r"(?i:\b(?:meet|met|meeting|see|seeing|saw|seen|visit|visited|visiting|call|called|told|"
    r"with))[ \t](?:you|me|us|him|her)[ \t](?:and|&)[ \t]"
    rf"({_CAP})(?![{_UP}{_LO}'’-])"
    rf"|(?<![{_UP}{_LO}'’.-])({_CAP})[ \t](?:and|&)[ \t]I[ \t](?:were|went|came|met|will|have|"
    r"had|visited|called|saw|are)\b"
)
_AND_HINT = rx.compile(r"\b(?:you|me|us|him|her)[ \t](?:and|&)[ \t][A-Z]|[ \t](?:and|&)[ \t]I[ \t]")
_NOT_COMPANION_LIST = (
    "mom mum dad mother father god jesus family everyone everybody others team staff"
)
_NOT_COMPANIONS = frozenset(_NOT_COMPANION_LIST.split())
_NOT_SPEAKER_LIST = (
    "patient pt care team nurse system note me you doctor dr staff admin pharmacy front desk "
    "reception caller operator bot auto reply triage"
)
_NOT_SPEAKERS = frozenset(_NOT_SPEAKER_LIST.split())


# What each rule's cue needs somewhere in the note (a cheap search before the scan).
_HINTS = {
    _CHAT_SPEAKER: rx.compile(r"\d:\d\d"),
    _RELATION_IN_BRACKETS: rx.compile(rf"(?i:\b(?:{_RELATION})\))"),
    _BIRTH_AFTER: rx.compile(r"\b(?:DOB|D\.O\.B|born|b\.)"),
    _RE_LINE: rx.compile(r"(?m:^)[ \t]*(?:Re|RE|Subject|Regarding)[ \t]?:"),
    _FAMILY_FIRST_SUBJECT: rx.compile(r"[A-Za-z],[ \t][A-Z]"),
}


def _plain(word: str) -> bool:
    """A word of English or of the stop lists, or a role: no name without more to say so."""
    low = word.lower().strip("'’.")
    return (
        is_blocked(word)
        or is_role_word(word)
        or (low in lexicons.english_words() and not any_name(low))
        or low in _NOT_SPEAKERS
    )


def _unnamed(words: list[str]) -> bool:
    """Every capitalized word of the span is a plain word: "Care Team", "Front Desk"."""
    caps = [w for w in words if w[:1].isupper()]
    return not caps or all(_plain(w) for w in caps)


def _span(m: rx.Match, group: int = 1) -> tuple[int, int, str]:
    return m.start(group), m.end(group), m.group(group)


def find_cue_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of the names marked by a cue beside them."""
    out: list[tuple[int, int, float]] = []
    for rule, score in (
        (_CHAT_SPEAKER, 0.7),
        (_RELATION_IN_BRACKETS, 0.75),
        (_BIRTH_AFTER, 0.75),
        (_RE_LINE, 0.7),
        (_FAMILY_FIRST_SUBJECT, 0.75),
        (_SELF_NAMED, 0.7),
    ):
        hint = _HINTS.get(rule)
        if hint is not None and hint.search(text) is None:
            continue  # the cue is nowhere in the note: spare the scan of every capital
        for m in rule.finditer(text):
            s, e, name = _span(m)
            words = name.split()
            while words and _plain(words[0]):
                s += len(words[0]) + 1
                words.pop(0)  # "Parents Zhang Jianguo": a word before the name
            if words and not _unnamed(words):
                out.append((s, e, score))
    for m in _NICKNAME_MIDDLE.finditer(text) if "(" in text else ():
        if not _plain(m.group(1)):
            out.extend((m.start(g), m.end(g), 0.75) for g in (1, 2, 3))
    for m in _CAPS_FAMILY_GIVEN.finditer(text):
        family, given = m.group(1).lower(), m.group(2).lower()
        known = family in lexicons.family_names() and given in lexicons.given_names()
        if known and not _plain(family) and not _plain(given):
            out.append((m.start(1), m.end(3) if m.group(3) else m.end(2), 0.75))
    out.extend(_handles(text))
    out.extend(_companions(text))
    for m in _QUOTED_AFTER_RELATION.finditer(text) if "\x22" in text or "“" in text else ():
        out.append((m.start(1), m.end(1), 0.7))
    for rule in (_CONTACT_PHONE, _AT_WORKPLACE):
        for m in rule.finditer(text):
            word = m.group(1)
            if not _plain(word) and word.lower() not in lexicons.en_stopwords():
                out.append((m.start(1), m.end(1), 0.65))
    return out


def _companions(text: str) -> list[tuple[int, int, float]]:
    """A companion named beside the one addressed ("good to see you and Tomás"): the layout
    is the evidence (the English list holds names too: "Joachim")."""
    out: list[tuple[int, int, float]] = []
    if _AND_HINT.search(text) is None:
        return out
    for m in _WITH_YOU.finditer(text):
        g = 1 if m.group(1) else 2
        word = m.group(g)
        if not (is_blocked(word) or is_role_word(word) or word.lower() in _NOT_COMPANIONS):
            out.append((m.start(g), m.end(g), 0.65))
    return out


def bridge_middle_initials(
    text: str, spans: list[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """One name where two found parts stand either side of a middle initial: "Shawna" and
    "Pettigrew" in "Shawna M Pettigrew, RN" are "Shawna M Pettigrew"."""
    ends: dict[int, float] = {}
    for _, e, sc in spans:
        ends[e] = max(sc, ends.get(e, 0.0))
    out: list[tuple[int, int, float]] = []
    for s, e, sc in spans:
        for gap in (3, 4):  # " M " or " M. "
            start = s - gap
            if start in ends and _MIDDLE_INITIAL.fullmatch(text, start, s):
                left = [sp for sp in spans if sp[1] == start]
                if left and not _HANGUL.search(text, left[0][0], e):
                    out.append((left[0][0], e, min(sc, ends[start])))
    return out


def _handles(text: str) -> list[tuple[int, int, float]]:
    """A chat handle alone on its line with the time, made of a name ("jiwoo.kang 7:02 AM")."""
    out: list[tuple[int, int, float]] = []
    for m in _HANDLE_LINE.finditer(text):
        parts = rx.split(r"[._]", m.group(1))
        if any(any_name(p) for p in parts) and not any(p in _NOT_SPEAKERS for p in parts):
            out.append((m.start(1), m.end(1), 0.7))
    return out
