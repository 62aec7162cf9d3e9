"""Names placed by a note's layout, not by the words around them.

E-mail and message layouts (a name before an address, after a greeting, opening a
message; a user name made of a name) and signatures and hurried typing (initials and a
post after a dash, staff initials after a label, a given name signing after a dash, a
typist's initials, a romanized name or a given name typed in lower case). The layout is
the evidence: "Wright" before an e-mail address is a name, word or not.
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.en_names import (
    _CAPWORD,
    _LO,
    _NOT_NAMES,
    _UP,
    _blocked,
    _census_given_names,
    _given_names,
    _surnames,
    is_role_word,
)
from deid.text.recognizers.roman import hyphenated_syllables, two_syllables

__all__ = ["find_layout_names", "message_names", "signature_names"]

# A known given name alone signing a message after a dash, closing its line: "ok thank
# you! - Jess".
_DASH_SIGNATURE = rx.compile(r"(?:^|(?<=\n)|[ \t])[-–—~][ \t]?([A-Z][a-z]{1,14})[ \t]*(?:\n|$)")
# A name before an e-mail address in angle brackets: "To: Thomas Wright <t.wright@...>".
_NAME_BEFORE_EMAIL = rx.compile(
    rf"(?<![{_UP}{_LO}])({_CAPWORD}(?:[ \t](?:[A-Z]\.|{_CAPWORD})){{0,3}})[ \t]*<[^<>@\s]+@[^<>\s]+>"
)
# A greeting or a name alone opening a message: "Hi Ji-ho,", "Tom, the samples ...".
_GREETING = rx.compile(
    rf"(?i:\b(?:hi|hello|hey|good morning|good afternoon))[ \t]+({_CAPWORD})(?=[ \t]*[,!:])"
)
_OPENING_NAME = rx.compile(rf"^[ \t]*({_CAPWORD})(?=,[ \t])", rx.M)
# A transcriptionist's or typist's initials in lower case: "Transcribed: kl", "tr: jh".
# (after a colon only: "tr/ml" is no typist)
_TYPIST = rx.compile(
    r"(?i:\b(?:transcribed(?: by)?|typed(?: by)?|transcriptionist|tr|dt))\s?:\s?([a-z]{2,3})\b"
    # ...or "transcribed by jlr" closing a line (the words, not the abbreviations)
    r"|(?i:\b(?:transcribed|typed) by)\s([a-z]{2,3})[ \t]*\.?[ \t]*(?:\n|$)"
)
# A signature of initials and a post: "-- MLK / PGY2", "— JH, RN".
_SIGNED_INITIALS = rx.compile(
    r"(?:^|\n)[ \t]*(?:--?|—|–)[ \t]*([A-Z]{2,3})[ \t]?[/,][ \t]?"
    r"(?:PGY-?\d|R[1-4]|MD|RN|NP|PA|DO|MS[1-4]|CRNA)\b[ \t]*(?:\n|$)"
)
# Lower-case initials after a staff label: "Sonographer: kj / Radiologist: ...".
_STAFF_INITIALS = rx.compile(
    r"(?i:\b(?:sonographer|technologist|tech|by tech|scribe|recorder|screener|phlebotomist|entered by|"
    # (in capitals too, not a modality: "Technologist: JD", not "Tech: CT")
    r"recorded by|charted by))\s?[:：]?\s?([a-z]{2,3}|(?!CT|MR|US|XR|NM|PET|DR|RN|MD)[A-Z]{2,3})"
    r"(?=[ \t]*(?:[/|,;]|\.?[ \t]*\n|\.?$)|[ \t]{2,})"
)
# A romanized given name signing after a dash, with a post after it: "— Hee-jin, unit clerk".
_DASH_GIVEN = rx.compile(
    r"(?:^|\s)[—–-]{1,2}[ \t]?([A-Z][a-z]+-[a-z]+)(?=,[ \t]?(?:[a-z]+[ \t])?(?:clerk|nurse|RN|MD|"
    r"coordinator|secretary|scribe|aide|assistant|tech|therapist|interpreter|volunteer)\b)"
)
# A romanized Korean name typed in lower case: "kim minsu", "park ji-sung" (the most
# common family names, a given name of two romanized syllables that is no English word).
_LOWER_ROMAN = rx.compile(
    r"(?<![A-Za-z@._/-])(kim|lee|park|choi|jung|jeong|kang|cho|yoon|yun|jang|lim|han|seo|shin|"
    r"kwon|hwang|ahn|yoo|hong|jeon|moon|baek|nam|bae)\s([a-z]{2,}(?:-[a-z]{2,})?)(?![A-Za-z@._/-])"
)
# A given name typed in lower case after a relation: "pt's wife mary called" (census given
# names, not the everyday words among them: "son will bring").
_RELATION_LOWER = rx.compile(
    r"\b(?:wife|husband|son|daughter|mother|father|mom|mum|dad|sister|brother|partner|"
    r"girlfriend|boyfriend|fiancée?|niece|nephew|grandson|granddaughter)\s([a-z]{3,12})\b"
)
_LOWER_NOT_NAMES = lexicons.word_given_names()
# A user name made of a name: "user jpark viewed", "login: minji.kim".
_USER_NAME = rx.compile(
    # (digits may close it: "user=mkim2")
    r"(?i:\b(?:user(?:name)?|login|account|uid))\s?[:=]?\s?([a-z]{1,3}[a-z]{2,12}(?:[._][a-z]{2,12})?\d{0,3})\b"
)
# Accounts of no person ("user admin": ad+min is no name).
_SYSTEM_USERS = frozenset(
    ["admin", "root", "guest", "system", "sysadmin", "operator", "service", "tester", "support"]
)


def find_layout_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of the names of message layouts and signatures."""
    return [(s, e, score) for (s, e), score in (*message_names(text), *signature_names(text))]


def message_names(text: str) -> list[tuple[tuple[int, int], float]]:
    """Names of e-mail and message layouts: before an address, after a greeting, opening
    a message, a user name made of a name."""
    out: list[tuple[tuple[int, int], float]] = []
    given = _given_names()
    for m in _NAME_BEFORE_EMAIL.finditer(text):
        words = list(rx.finditer(r"\S+", m.group(1)))
        while words and (
            is_role_word(words[0].group(0)) or words[0].group(0).lower() in _NOT_NAMES
        ):
            words.pop(0)
        if words:
            out.append(((m.start(1) + words[0].start(), m.start(1) + words[-1].end()), 0.75))
    for m in _GREETING.finditer(text):
        out.append((m.span(1), 0.7))
    for m in _OPENING_NAME.finditer(text):
        word = m.group(1).lower()
        if word in _census_given_names() or (
            word not in lexicons.english_words()
            and (hyphenated_syllables(word) or (word in given and not _blocked(m.group(1))))
        ):
            out.append((m.span(1), 0.65))
    surnames = _surnames()
    for m in _USER_NAME.finditer(text):
        parts = rx.split(r"[._]", m.group(1).rstrip("0123456789"))
        if len(parts) == 2:
            ok = parts[0] in given or parts[1] in surnames
        else:
            word = parts[0]
            ok = any(word[i:] in lexicons.roman_surnames() or word[i:] in surnames for i in (1, 2))
        if ok and m.group(1) not in lexicons.english_words() and m.group(1) not in _SYSTEM_USERS:
            out.append((m.span(1), 0.7))
    return out


def signature_names(text: str) -> list[tuple[tuple[int, int], float]]:
    """Names of signatures and hurried typing: initials and a post after a dash, staff
    initials after a label, a given name signing after a dash, a typist's initials, a
    romanized name in lower case."""
    out: list[tuple[tuple[int, int], float]] = []
    given = _given_names()
    for m in _SIGNED_INITIALS.finditer(text):
        out.append((m.span(1), 0.7))
    for m in _STAFF_INITIALS.finditer(text):
        out.append((m.span(1), 0.7))
    for m in _DASH_SIGNATURE.finditer(text):
        word = m.group(1)
        if word.lower() in given and not _blocked(word) and not is_role_word(word):
            out.append((m.span(1), 0.65))
    for m in _DASH_GIVEN.finditer(text):
        if not _blocked(m.group(1)) and not is_role_word(m.group(1)):
            out.append((m.span(1), 0.7))
    for m in _TYPIST.finditer(text):
        group = 1 if m.group(1) else 2
        out.append((m.span(group), 0.7))
    census = _census_given_names()
    for m in _RELATION_LOWER.finditer(text):
        if m.group(1) in census and m.group(1) not in _LOWER_NOT_NAMES:
            out.append((m.span(1), 0.65))
    for m in _LOWER_ROMAN.finditer(text):
        first = m.group(2)
        if (
            (two_syllables(first.replace("-", "")) or hyphenated_syllables(first))
            and first not in lexicons.english_words()
            and first not in lexicons.en_stopwords()
        ):
            out.append(((m.start(1), m.end(2)), 0.65))
    return out
