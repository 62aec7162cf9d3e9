"""Names found again in the same note: what one sure finding says about the rest.

A note names its people more than once, and lists them in rows of the same shape; the
recognizers judge each word on its own, so a name they are sure of in one place can slip
through in another, where its context is thin. Note-level passes, run after them:

- **repetition**: every other occurrence of a found name (a whole word, or a Korean name
  followed by a particle) is the same person: "보호자 김소연 ... 저는 김소연이에요"; so is
  the family name of a found Latin name alone ("Giorgos Papadakis ... Papadakis");
- **lists**: the words after a found name and a separator that look like Korean names
  ("동실 환자 권영식, 홍복동");
- **aligned rows**: lines that open the same way (schedules, bed lists, tables without
  rules: "09:00 노성자 (초진)", "09:10 윤태호 (재진)") hold names at the same place; when
  one row's word there is a name, a word there in a sibling row that starts with a Korean
  family name and is no word Kiwi knows is one too; so is such a word in a column of
  three rows or more where most of them are (a bed list with no name found yet).

Each only adds PERSON spans, and each word it adds must still look like a Korean name.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.en_names import is_role_word
from deid.text.recognizers.ko_names import (
    NAME_SUFFIXES,
    KoreanNameScorer,
    korean_role_before,
    surname_share,
)
from deid.text.recognizers.ko_unsurnamed import NATIONALITIES
from deid.text.recognizers.roman import hyphenated_given, roman_given

__all__ = [
    "aligned_row_names",
    "bracketed_names",
    "given_names_again",
    "listed_latin_names",
    "listed_names",
    "repeated_names",
]

_HANGUL = rx.compile(r"[가-힣]")
_HANGUL_RUN = rx.compile(r"[가-힣]+")
_LATIN_NAME = rx.compile(r"[A-Z][A-Za-z'’.\- ]{2,40}")
# What may follow a repeated Korean name: what the scorer cuts off a name (a particle, an
# honorific, a copula), longest first.
# (and 네, a person's household: "최정남네 삼 남매")
_KO_TAIL = rx.compile(
    "(?:"
    + "|".join(rx.escape(t) for t in (*NAME_SUFFIXES, "네", "네가", "네는", "네의"))
    + ")?(?![가-힣])"
)
_ROW_WORD = rx.compile(r"[가-힣]{2,8}")
# The next item after a name in a list: a separator, then a Hangul word.
# An arrow hands over from one name to the next ("Given by 한소희 → 권나래").
_NEXT_ITEM = rx.compile(r"\s?(?:님|씨)?\s?(?:,|·|/|및|、|→|->|=>|>)\s?([가-힣]{3,5})(?![가-힣])")
_PREVIOUS_ITEM = rx.compile(r"(?<![가-힣])([가-힣]{3,4}?)\s?(?:님|씨)?\s?(?:,|·|/|및|、)\s?$")
_NUMBER = rx.compile(r"\d+")
_LATIN = rx.compile(r"[A-Za-z]+")
_SPACES = rx.compile(r"\s+")
_ROLE_END = frozenset("사의")
_UNIT_NUMBER = rx.compile(r"\d+\s?(?:호실|호|번|병상)")
_LABEL_AFTER = rx.compile(r"\s?[:：]|\s?\d")


def repeated_names(
    text: str, spans: list[tuple[int, int, float]], scorer: KoreanNameScorer | None = None
) -> list[tuple[int, int, float]]:
    """Other occurrences of the names in ``spans`` (whole words) in ``text``; a Korean
    given name alone (two syllables) only where Kiwi reads no word ("수정이가 ... 오타 수정")."""
    out: list[tuple[int, int, float]] = []
    seen: set[str] = set()
    for s, name in _name_forms(text, spans):
        if name in seen or not _repeatable(name):
            continue
        seen.add(name)
        out.extend(_occurrences(text, s, name))
    short = [sp for sp in out if sp[1] - sp[0] == 2 and _HANGUL.match(text, sp[0])]
    if scorer is not None and short:
        known = {sp for sp, k in zip(short, scorer.known_words(text, short), strict=True) if k}
        out = [sp for sp in out if sp not in known]
    return out


def _name_forms(text: str, spans: list[tuple[int, int, float]]) -> list[tuple[int, str]]:
    """(start, form) of each found name and the parts of a Latin name said alone."""
    names: list[tuple[int, str]] = []
    for s, e, score in spans:
        name = text[s:e]
        names.append((s, name))
        handle = _HANDLE.fullmatch(name)
        if handle is not None:
            # a user name made of a name: its given name, capitalized, elsewhere
            # ("user: taeyang.moon ... great week Taeyang!")
            given = handle.group(1).capitalize()
            if _is_given(given) or _unlisted_given(given):
                names.append((s, given))
            continue
        parts = name.split()
        if len(parts) < 2 or _HANGUL.match(name):
            continue
        family, given = _latin_parts(name)
        # the family name alone, as a note goes on: "Giorgos Papadakis ... Papadakis", in
        # capitals too: "Smith J ... J SMITH's daughter"
        if family and len(family) >= 4:
            names.append((s + name.find(family), family))
            if not family.isupper():
                names.append((s + name.find(family), family.upper()))
        # the given name alone, where it is one: "Visited Agnes (Agnes Kowalczyk)",
        # "Hae-won Seok ... Thanks, Hae-won"
        # (a name no list holds, where the name was found sure: "Mrs Elspeth Munro ...
        # see Elspeth")
        if given and (_is_given(given) or (score >= 0.7 and _unlisted_given(given))):
            names.append((s + name.find(given), given))
        # a nickname in quotes inside it: 'Guadalupe "Lupe" Ortiz ... Lupe cleans'
        for part in parts[1:-1]:
            if part[:1] in "\x22“" and part[-1:] in "\x22”" and len(part) > 4:
                names.append((s + name.find(part) + 1, part[1:-1]))
    return names


def _occurrences(text: str, s: int, name: str) -> list[tuple[int, int, float]]:
    """The whole-word occurrences of ``name`` in ``text`` other than the one at ``s``."""
    out: list[tuple[int, int, float]] = []
    korean = _HANGUL.match(name) is not None
    at = text.find(name)
    while at >= 0:
        start, end = at, at + len(name)
        at = text.find(name, end)
        if start == s:
            continue
        before = text[start - 1 : start] if start else ""
        after = text[end : end + 8]
        if before and (before.isalpha() or before in "'’-"):
            continue  # inside a longer word
        if korean:
            if _KO_TAIL.match(after) is None:
                continue
        elif after[:1].isalpha() or (
            after[:1] != "" and after[:1] in "'’-" and not _POSSESSIVE.match(after)
        ):
            continue
        else:
            initial = _INITIAL_BEFORE.search(text, max(0, start - 3), start)
            start = initial.start() if initial is not None else start  # "J SMITH"
        out.append((start, end, 0.6))
    return out


_HANDLE = rx.compile(r"([a-z]{3,12})[._][a-z]{2,12}")
_POSSESSIVE = rx.compile(r"['’]s(?![A-Za-z])")
_INITIAL_BEFORE = rx.compile(r"(?<![A-Za-z.])[A-Z]\.?[ \t]$")
_INITIAL_WORD = rx.compile(r"[A-Z]\.?")


def _latin_parts(name: str) -> tuple[str | None, str | None]:
    """(family name, given name) of a Latin name: "Kim, Hyewon" -> ("Kim", "Hyewon"),
    "Agnes Kowalczyk" -> ("Kowalczyk", "Agnes"), "Smith J" -> ("Smith", None)."""
    if "," in name:
        before, _, after = name.partition(",")
        rest = [w for w in after.split() if not _INITIAL_WORD.fullmatch(w)]
        return (before.split()[-1] if before.split() else None), (rest[0] if rest else None)
    words = [w for w in name.split() if not _INITIAL_WORD.fullmatch(w)]
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return words[-1], words[0]


# The same name in the other script, in brackets right after a found one: "Olivia Kim
# (김올리비아, 5세)", "홍길순(Hong Gil-soon)".
_HANGUL_IN_BRACKETS = rx.compile(r"\s?\(([가-힣]{2,8}(?: [가-힣]{2,6})?)(?=[,)/]|\s?\d|\s[MF남여])")
# ...or the name it goes by, in quotes: 'Venkataraman Subramanian ("Venkat")'.
_NICKNAME_IN_BRACKETS = rx.compile(r"\s?\(\s?[\x22“'‘]([A-Z][a-z]{1,14})[\x22”'’]\s?\)")
_LATIN_IN_BRACKETS = rx.compile(r"\s?\(([A-Z][A-Za-z'’-]+(?:[ -][A-Za-z][A-Za-z'’-]+){0,3})\)")


# Common Korean family names and their romanizations: the two writings of one name share
# the family name ("Olivia Kim" and 김올리비아; not "Tran Thi Mai (베트남)").
_ROMANIZED = {
    "김": "kim gim",
    "이": "lee yi rhee ri",
    "박": "park pak bak",
    "최": "choi choe",
    "정": "jung jeong chung",
    "강": "kang gang",
    "조": "cho jo",
    "윤": "yoon yun",
    "장": "jang chang",
    "임": "lim im yim",
    "한": "han",
    "오": "oh o",
    "서": "seo suh",
    "신": "shin sin",
    "권": "kwon gwon",
    "황": "hwang",
    "안": "ahn an",
    "송": "song",
    "유": "yoo yu",
    "류": "ryu yoo yu",
    "전": "jeon jun chun",
    "홍": "hong",
    "고": "ko go koh",
    "문": "moon mun",
    "양": "yang",
    "손": "son sohn",
    "배": "bae",
    "백": "baek paek",
    "허": "heo hur",
    "남": "nam",
    "심": "sim shim",
    "노": "noh no roh",
    "하": "ha",
    "곽": "kwak",
    "성": "sung seong",
    "차": "cha",
    "주": "joo ju",
    "우": "woo",
    "구": "koo gu",
    "민": "min",
    "나": "na",
    "진": "jin",
    "지": "ji",
    "엄": "eom um",
    "원": "won",
    "천": "chun cheon",
    "방": "bang",
    "공": "kong gong",
    "현": "hyun",
    "함": "ham",
    "변": "byun byeon",
    "염": "yeom",
    "여": "yeo",
    "추": "choo chu",
    "도": "do",
    "석": "seok",
    "선": "sun seon",
    "설": "seol sul",
    "마": "ma",
    "길": "gil",
    "연": "yeon",
    "표": "pyo",
    "명": "myung",
    "반": "ban",
    "왕": "wang",
    "옥": "ok",
    "육": "yook yuk",
    "탁": "tak",
    "국": "guk kook",
    "봉": "bong",
    "빈": "bin",
    "경": "kyung gyeong",
    "모": "mo",
}


def _same_family(hangul: str, latin: str) -> bool:
    words = {w.lower() for w in rx.split(r"[\s,-]+", latin) if w}
    return bool(words & set(_ROMANIZED.get(hangul[:1], "").split()))


# A name written twice, Latin and then Hangul in brackets with sex or age: "Heaven Park
# (박헤븐, F/29)", "Rain Cho (조레인, M/31)": found or not, the two writings name each other.
_LATIN_HANGUL_PAIR = rx.compile(
    r"(?<![A-Za-z])([A-Z][a-z]+(?:[ -][A-Za-z][a-z]+){1,2})\s?\(([가-힣]{2,5}|[가-힣]{1,4} [가-힣]{1,4})"
    r"(?=\s?,\s?(?:[가-힣]{2,8},\s?)?(?:[MF]|남|여|\d{1,3}\s?(?:세|[MF]))|\s?/\s?(?:[MF]|남|여|\d))"
)
# A name in hanja before its Hangul writing: "金英子(김영자)".
_HANJA_IN_BRACKETS = rx.compile(r"\s?\(([\u4e00-\u9fff]{2,4})[),]")
_HANJA_BEFORE = rx.compile(r"([\u4e00-\u9fff]{2,4})\s?\($")
_HANJA_HANGUL_IN_BRACKETS = rx.compile(r"\s?\([\u4e00-\u9fff]{2,4},\s?([가-힣]{2,6})(?=\s?[,)])")
_HANGUL_AFTER_SLASH = rx.compile(r"[ \t]?/[ \t]?([가-힣]{2,8} [가-힣]{2,6})(?![가-힣])")


def bracketed_names(
    text: str, spans: list[tuple[int, int, float]], scorer: KoreanNameScorer
) -> list[tuple[int, int, float]]:
    """A found name's writing in the other script, in brackets right after it, with the
    same family name ("Olivia Kim (김올리비아, 5세)", "홍길순(Hong Gil-soon)"); a Latin
    name and its Hangul in brackets before sex or age ("Heaven Park (박헤븐, F/29)"); a
    name in hanja before a found Hangul name in brackets ("金英子(김영자)")."""
    out: list[tuple[int, int, float]] = []
    for pair in _LATIN_HANGUL_PAIR.finditer(text):
        words = list(rx.finditer(r"\S+", pair.group(1)))
        while len(words) > 2 and is_role_word(words[0].group(0)):
            words.pop(0)  # "Pt Lee Jiseon (이지선, F/63)"
        hangul = pair.group(2)
        # the same family name, or a foreign name of two words both ways: "Sato Kenji (사토
        # 켄지", not "John Miller (영어 강사" (words Kiwi knows)
        # ...or a one-word transliteration no word Kiwi knows: "Bolat Nurlanovich (볼랏, 카자흐스탄"
        foreign = (
            (" " not in hangul or len(words) == 2)
            and hangul not in NATIONALITIES  # "Anna Schmidt (독일, F/31)"
            and not _known_hangul(text, pair, scorer)
        )
        if hangul in NATIONALITIES:
            # the Latin name alone, before its nationality and sex or age: "Oyunchimeg
            # Batbayar (몽골, F/52)"
            out.append((pair.start(1) + words[0].start(), pair.end(1), 0.7))
            continue
        if _same_family(hangul, pair.group(1)) or foreign:
            start = pair.start(1) + words[0].start()
            out.extend([(start, pair.end(1), 0.7), (pair.start(2), pair.end(2), 0.7)])
    for s, e, _ in spans:
        # the Hangul after the hanja in brackets: "Chen Xiaoli (陈晓丽, 천샤오리, F/29)"
        both = _HANJA_HANGUL_IN_BRACKETS.match(text, e)
        if both is not None and not any(scorer.known_words(text, [(*both.span(1), 0.0)])):
            out.append((both.start(1), both.end(1), 0.7))
        # a foreign name's Hangul after a slash: "SMIRNOVA ANNA / 스미르노바 안나"
        slash = _HANGUL_AFTER_SLASH.match(text, e)
        if (
            slash is not None
            and not _HANGUL.match(text, s)
            and len(text[s:e].split()) == 2  # as many words both ways
            and not korean_role_before(slash.group(1).split()[0] + " ")  # not "/ 감수 엄기석"
            and _foreign_hangul(text, slash, scorer)
        ):
            out.append((slash.start(1), slash.end(1), 0.7))
        hanja = _HANJA_BEFORE.search(text, max(0, s - 6), s)
        if hanja is not None and _HANGUL.match(text, s):
            out.append((hanja.start(1), hanja.end(1), 0.7))
        after = _HANJA_IN_BRACKETS.match(text, e)  # "Xu Ming (徐明)"
        if after is not None:
            out.append((after.start(1), after.end(1), 0.7))
    for s, e, _ in spans:
        name = text[s:e]
        korean = _HANGUL.match(name) is not None
        nickname = _NICKNAME_IN_BRACKETS.match(text, e)
        if nickname is not None:
            out.append((nickname.start(1), nickname.end(1), 0.7))
            continue
        m = (_LATIN_IN_BRACKETS if korean else _HANGUL_IN_BRACKETS).match(text, e)
        if m is None:
            continue
        hangul, latin = (name, m.group(1)) if korean else (m.group(1), name)
        foreign = not korean and " " in hangul and _foreign_hangul(text, m, scorer)
        if foreign or _same_family(hangul, latin):
            out.append((m.start(1), m.end(1), 0.7))
    return out


# What may follow a given name said alone: the familiar 이, a particle, a vocative, 씨/님.
_GIVEN_TAIL = r"(?:이)?(?:가|는|를|랑|도|한테|에게|의|야|아|나|씨|님)?(?![가-힣])"


def given_names_again(
    text: str, spans: list[tuple[int, int, float]], scorer: KoreanNameScorer
) -> list[tuple[int, int, float]]:
    """The given name of a found Korean name, said alone elsewhere in the note: "아내
    윤순덕 님 ... \"순덕이 어디 갔냐\"" (not a word Kiwi knows: 수정 of 이수정 stays)."""
    candidates: list[tuple[int, int, float]] = []
    seen: set[str] = set()
    found = {(s, e) for s, e, _ in spans}
    for s, e, _ in spans:
        name = text[s:e].replace(" ", "")  # (spaced too: "추 영 남 ... 영남이 형님")
        if not _HANGUL.match(name) or len(name) not in (3, 4):
            continue
        given = name[2:] if len(name) == 4 else name[1:]
        if len(given) != 2 or given in seen or given in lexicons.ko_name_stopwords():
            continue
        seen.add(given)
        for m in rx.finditer(rf"(?<![가-힣]){given}{_GIVEN_TAIL}", text):
            start = m.start()
            if not any(fs <= start < fe for fs, fe in found):
                candidates.append((start, start + 2, 0.6))
    if not candidates:
        return []
    known = scorer.known_words(text, candidates)
    return [c for c, k in zip(candidates, known, strict=True) if not k]


def _foreign_hangul(text: str, m: rx.Match, scorer: KoreanNameScorer) -> bool:
    """Two Hangul words in brackets after a Latin name that write a foreign name: "Mrs.
    Yamamoto (야마모토 하루코, 83, 일본)"; not a nationality and a kind of person ("(베트남
    결혼이주여성, 28)", "(인도 유학생)"), not words Kiwi knows."""
    first, second = m.group(1).split(" ", 1)
    if first in NATIONALITIES or len(second) > 4 or second[-1] in _PERSON_KIND_END:
        return False
    words = [
        (m.start(1) + w.start(), m.start(1) + w.end(), 0.0)
        for w in _HANGUL_RUN.finditer(m.group(1))
    ]
    return not any(scorer.known_words(text, words))


_PERSON_KIND_END = frozenset("생성자인원사족민부모")


def _known_hangul(text: str, pair: rx.Match, scorer: KoreanNameScorer) -> bool:
    """Is any word of the pair's Hangul one Kiwi knows?"""
    start = pair.start(2)
    words = [(start + w.start(), start + w.end(), 0.0) for w in _HANGUL_RUN.finditer(pair.group(2))]
    return any(scorer.known_words(text, words))


def _is_given(word: str) -> bool:
    """A Latin word that is a given name: one of the world lists, or a romanized Korean
    given name with its hyphen ("Hae-won")."""
    if len(word) < 3 or not word[:1].isupper() or word.isupper():
        return False
    low = word.lower()
    if low in lexicons.en_stopwords() and low not in lexicons.word_given_names():
        return False
    if "-" in word:
        return hyphenated_given(word)
    if roman_given(word):
        return True  # "Kim, Hyewon ... Hyewon ate"
    return (
        low in lexicons.world_given_names()
        or low in _en_given()
        or low in lexicons.word_given_names()  # "Hope Lee ... home with Hope"
    )


def _unlisted_given(word: str) -> bool:
    """A capitalized word of four letters or more that is no English or stop word."""
    low = word.lower()
    return (
        len(word) >= 4
        and word[:1].isupper()
        and word[1:].islower()
        and word.isalpha()
        and low not in lexicons.english_words()
        and low not in lexicons.en_stopwords()
        and low not in lexicons.eponyms()
    )


@cache
def _en_given() -> frozenset[str]:
    return frozenset(lexicons.en_given_names())


def _repeatable(name: str) -> bool:
    if _HANGUL.match(name):
        compact = name.replace(" ", "")
        return 2 <= len(compact) <= 5 and all("가" <= c <= "힣" for c in compact)
    # Latin: a capitalized name of three letters or more that is no word of the stop lists
    if not _LATIN_NAME.fullmatch(name) or len(name.replace(" ", "")) < 3:
        return False
    return name.lower() not in lexicons.en_stopwords()


def _shape(prefix: str) -> str:
    """The shape of a line's opening: numbers and Latin words stand for any of their kind."""
    shape = _NUMBER.sub("0", _LATIN.sub("A", prefix))
    return _SPACES.sub(" ", shape).strip()


def aligned_row_names(
    text: str, spans: list[tuple[int, int, float]], scorer: KoreanNameScorer
) -> list[tuple[int, int, float]]:
    """Korean names at the place of a found name in lines that open the same way."""
    lines: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    if len(lines) < 2:
        return []
    found = {(s, e) for s, e, _ in spans}
    # shape of the opening -> is there a found name right after it? A Latin name counts
    # too: "1. Pyo Mi-ran 302-2", "2. 왕재석 305-1", "3. Nguyen Van Tuan 306-4"
    named_shapes: set[str] = set()
    for s, _ in found:
        line_start = text.rfind("\n", 0, s) + 1
        prefix = text[line_start:s]
        # (a room or bed number may hold Hangul: "• 803호 Aziz Karimov")
        if (
            prefix.strip()
            and len(prefix) <= 12
            and not _HANGUL.search(_UNIT_NUMBER.sub("0", prefix))
        ):
            named_shapes.add(_shape(prefix))
    openings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for start, line in lines:
        for m in _ROW_WORD.finditer(line):
            prefix = line[: m.start()]
            if not prefix.strip() or _HANGUL.search(prefix[-1:] or " "):
                continue
            shape = _shape(prefix)
            if not shape:
                continue
            word_start = start + m.start()
            openings[shape].append((word_start, start + m.end()))
            if any(s == word_start for s, _ in found):
                named_shapes.add(shape)
            break  # the first Hangul word of the line only
    out: list[tuple[int, int, float]] = []
    for shape, rows in openings.items():
        if len(rows) < 2 and shape not in named_shapes:
            continue  # one row is enough where a sibling row holds a found (Latin) name
        candidates = [
            (s, s + len(word), 0.65)
            for s, e in rows
            if not any(fs <= s < fe for fs, fe in found)
            and (word := _name_part(text[s:e])) is not None
        ]
        if not candidates:
            continue
        known = scorer.known_words(text, candidates)
        names = [c for c, k in zip(candidates, known, strict=True) if not k]
        # A found name at that place, or a column of three rows or more where most
        # words are names by shape ("Bed 3 육삼순", "Bed 4 모태봉", "Bed 5 은경애").
        if shape in named_shapes or (len(rows) >= 3 and len(names) * 3 >= len(rows) * 2):
            out.extend(names)
    return out


def listed_names(
    text: str, spans: list[tuple[int, int, float]], scorer: KoreanNameScorer
) -> list[tuple[int, int, float]]:
    """The next items of a list that a found name opens ("권영식, 홍복동", "김민수·이영희"),
    and the item just before a found name."""
    candidates: list[tuple[int, int, float]] = []
    ends = sorted({e for _, e, _ in spans})
    starts = {s for s, _, _ in spans}
    # ...and the item before a found name: "회원 석만호·제복희" when only 제복희 was found
    for start in sorted(starts):
        m = _PREVIOUS_ITEM.search(text, max(0, start - 12), start)
        if m is None or m.end(1) in ends:
            continue
        word = _name_part(m.group(1))
        if word is not None and len(word) == len(m.group(1)):
            candidates.append((m.start(1), m.end(1), 0.65))
    for end in ends:
        pos = end
        while True:
            m = _NEXT_ITEM.match(text, pos)
            if m is None or m.start(1) in starts:
                break
            word = _name_part(m.group(1))
            if word is None or _LABEL_AFTER.match(text, m.start(1) + len(word)):
                break  # "금하윤, 주민번호 950405-...": a field's label, not the next name
            candidates.append((m.start(1), m.start(1) + len(word), 0.65))
            pos = m.start(1) + len(word)
    if not candidates:
        return []
    known = scorer.known_words(text, candidates)
    return [c for c, k in zip(candidates, known, strict=True) if not k]


# The next item of a list of names with a note each: "감재희 (RadOnc), Schellenberg (MedOnc)".
_NEXT_BRACKETED = rx.compile(
    r"\s?\([^()\n]{1,24}\)\s?[,;/]\s?"
    r"([A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+(?:[ -][A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+)?)\s?\([^()\n]{1,24}\)"
)


def listed_latin_names(
    text: str, spans: list[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """A Latin name as the next item of a list whose items are a name and a note in
    brackets, after a found name ("감재희 (RadOnc), Schellenberg (MedOnc)"); no English
    word ("Kim (Cardiology), Nursing (Ward 5)"); an initial and a family name after a
    found one of that shape ("P. Greer / J. Hollins")."""
    out: list[tuple[int, int, float]] = []
    starts = {s for s, _, _ in spans}
    for start, end, _ in sorted(spans):
        if _INITIALED.fullmatch(text, start, end):
            nxt = _NEXT_INITIALED.match(text, end)
            if nxt is not None and not _plain_word(nxt.group(2)):
                out.append((nxt.start(1), nxt.end(1), 0.65))
        pos = end
        while (m := _NEXT_BRACKETED.match(text, pos)) is not None and m.start(1) not in starts:
            words = m.group(1).replace("-", " ").split()
            if any(_plain_word(w) for w in words):
                break
            out.append((m.start(1), m.end(1), 0.65))
            pos = m.end(1)
    return out


_INITIALED = rx.compile(r"(?:[A-Z]\.[ \t]?){1,2}[A-Z][a-zß-öø-ÿ'’-]+")
_NEXT_INITIALED = rx.compile(
    r"[ \t]?[/&,;][ \t]?((?:[A-Z]\.[ \t]?){1,2}([A-Z][a-zß-öø-ÿ'’-]+))(?![A-Za-z])"
)


def _plain_word(word: str) -> bool:
    low = word.lower()
    return len(low) < 3 or low in lexicons.english_words() or low in lexicons.en_stopwords()


_WEEKDAYS = rx.compile(r"[월화수목금토일]{2,}(?:로|에|만|요일)?")


def _name_part(run: str) -> str | None:
    """The name in a row's first Hangul word (its particle or honorific cut off), if the
    word looks like a Korean name: a family name, one or two more syllables."""
    stop = lexicons.ko_name_stopwords()
    for word in (run, *(run[: -len(t)] for t in ("님", "씨", "님이", "님은") if run.endswith(t))):
        if word[-1] in _ROLE_END:
            continue  # a role noun ("위생사", "예진의") labelling the next name
        if (
            3 <= len(word) <= 4
            and word not in stop
            and surname_share(word[0]) > 0
            and _WEEKDAYS.fullmatch(word) is None  # "화목토로 변경": days of a schedule
            and word[-1] not in "음함됨임"  # "→ 인계받음": a verb made a noun
        ):
            return word
    return None
