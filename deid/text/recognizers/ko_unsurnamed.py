"""Korean names without a Korean family name in front of them.

The scorer of :mod:`ko_names` reads a family name and a given name; these are the
candidates it cannot see that way, each checked against Kiwi there:

- **a given name with the familiar 이**: "딸 수정이가", "예린이랑", a friend's "철민이" in quotes;
- **a given name alone where its place says so**: "보호자 철수 씨(형)", "영희 엄마", a baby's
  name or a pet name in quotes after what names it (태명 "복댕이");
- **foreign names in Hangul**: two words before 씨/님 or before a nationality and sex and
  age ("잔나 코발렌코 씨", "마리아 가르시아 (스페인, F/36)"), one word after a person's
  label or before 씨 and a nationality ("통역: 올레나", "뚜이 씨(베트남)"), a common family
  name glued to a long given name after an interpreter or kin ("통역 김나타샤").
"""

from __future__ import annotations

from collections.abc import Callable

import deid.text.recognizers.rx as rx
from deid.text.recognizers.ko_model import COMPOUND_SURNAMES, given_name_llr, surname_share

__all__ = ["NATIONALITIES", "unsurnamed_candidates"]

# A given name with the familiar 이 and a particle: "딸 수정이가", "예린이랑" (after a
# final consonant only; 어린이가 and 고양이랑 are words Kiwi knows).
_FAMILIAR_NAME = rx.compile(
    r"(?<![가-힣])([가-힣]{2})['’\x22”]?이(?:가|는|를|랑|도|한테|에게|의|야|나|만|하고|와|와의)(?![가-힣])"
)
_FAMILIAR_LLR = 3.0
# ...in quotes of its own, as a friend is named: 친구 "철민이"
_QUOTED_FAMILIAR = rx.compile(r"[\x22“'‘]([가-힣]{2})이[\x22”'’]")
# A given name alone: before 씨/님 and a relation in brackets ("보호자 철수 씨(형)"), or as a
# child's name before 엄마/아빠 ("영희 엄마(정미란)", "지은이 엄마가").
_GIVEN_ALONE = rx.compile(
    r"(?<![가-힣])([가-힣]{2})(?:\s?(?:씨|님)\s?\((?:형|동생|언니|오빠|누나|아들|딸|남편|아내|친구|보호자)\)"
    r"|이?\s(?:엄마|아빠|어머니|아버지|어머님|아버님)(?![가-힣]))"
)
# A given name alone signing a message after a dash, closing its line: "... 부탁드려요 -유나".
_DASH_GIVEN = rx.compile(r"(?:^|(?<=[\s.!?~ㅎㅋ)]))[-–—~][ \t]?([가-힣]{2})[ \t]*(?=\n|$)", rx.M)
# A given name called by its vocative, opening a message: "연지야 ...", "민준아, ...".
_VOCATIVE = rx.compile(r"(?:^|(?<=[\s\x22“']))([가-힣]{2})(야|아)(?=[ \t~!,.]|$)", rx.M)


def _vocative_fits(m: rx.Match) -> bool:
    """야 after an open syllable, 아 after a closed one (연지야, 민준아)."""
    closed = (ord(str(m.group(1))[-1]) - 0xAC00) % 28 != 0
    return bool((m.group(2) == "아") == closed)


# A (baby's) given name in quotes after what names it: 신생아 이름 예정 "지호", 태명 '튼튼이'.
_QUOTED_GIVEN = rx.compile(
    r"(?:이름|성명|태명|애칭|별명|예명)(?:은|는|이|:|：)?[ \t]?(?:예정|으로|로)?[ \t]?[:：]?[ \t]?"
    r"[\x22“'‘]([가-힣]{2,3})[\x22”'’]"
)
_PERSON_LABELS = frozenset(
    ["대상", "대상자", "환자", "보호자", "성명", "이름", "담당", "작성", "작성자", "통역", "통역사"]
)
# Departments, wards, teams and languages after a label are no names: "담당: 소아청소년과",
# "통역: 러시아어 통역사".
_NOT_A_NAME_END = rx.compile(r"(?:과|실|팀|부|센터|병동|어)$")


def _korean_shaped(word: str) -> bool:
    """A Korean family name and a two-syllable given name that reads as one (a compound
    family name too: 독고준혁)."""
    if len(word) == 4 and word[:2] in COMPOUND_SURNAMES:
        return given_name_llr(word[2:]) > 0
    return len(word) == 3 and surname_share(word[0]) > 0 and given_name_llr(word[1:]) > 0


# A foreign name of two words in Hangul before 씨 or 님: "잔나 코발렌코 씨".
_FOREIGN_PAIR_TITLED = rx.compile(
    r"(?<![가-힣0-9])([가-힣]{1,5}) ([가-힣]{2,6})(?=\s?(?:씨|님)(?![가-힣]))"
    # ...or before a nationality and sex and age in brackets: "마리아 가르시아 (스페인, F/36)"
    r"|(?<![가-힣0-9])([가-힣]{1,5}) ([가-힣]{2,6})"
    r"(?=\s?\((?:[가-힣]{2,6},\s?)?(?:[MF]|남|여)\s?/\s?\d)"
)
# Countries and peoples in Hangul, as notes give a foreigner's nationality in brackets.
_NATIONALITY_LIST = (
    "베트남|중국|필리핀|캄보디아|태국|몽골|우즈베키스탄|우즈벡|카자흐스탄|키르기스스탄|러시아|일본|"
    "미국|캐나다|네팔|인도네시아|스리랑카|미얀마|방글라데시|파키스탄|인도|라오스|동티모르|나이지리아|"
    "가나|우크라이나|조선족|고려인|독일|영국|프랑스|스페인|이탈리아|호주|뉴질랜드|브라질|멕시코|"
    "아르헨티나|칠레|페루|콜롬비아|튀르키예|터키|이란|이라크|사우디|이집트|에티오피아|케냐|남아공|"
    "기니|말리|세네갈|카메룬|폴란드|루마니아|체코|헝가리|스웨덴|노르웨이|덴마크|핀란드|네덜란드|"
    "벨기에|스위스|오스트리아|그리스|포르투갈|아일랜드|대만|홍콩|싱가포르|말레이시아|타지키스탄|"
    "투르크메니스탄|아프가니스탄|시리아|요르단|레바논|이스라엘|한국|북한|탈북민"
)
NATIONALITIES = frozenset(_NATIONALITY_LIST.split("|"))
# A foreign name of one word before 씨 and a nationality in brackets: "뚜이 씨(베트남, 결혼이주)".
_GIVEN_NATIONALITY = rx.compile(
    rf"(?<![가-힣])([가-힣]{{2,5}})\s?(?:씨|님)\s?\((?:{_NATIONALITY_LIST})(?![가-힣])"
)
# A common Korean family name and a foreign given name of three syllables or more, glued,
# after a role: "(통역 김나타샤)".
_SURNAME_LONG_GIVEN = rx.compile(r"(?<![가-힣])([가-힣])[가-힣]{3,5}(?![가-힣])")
# ...only after an interpreter, carer or spouse, and not ending as a word, a department
# or a particle does: "(통역 김나타샤)", not "의뢰과: 신장내과", "이성태씨"
_FOREIGN_KIN_BEFORE = rx.compile(
    r"(?:통역사?|간병인|보호자|배우자|남편|아내|부인|아들|딸|며느리|사위|손자|손녀|모친|부친|조카)"
    r"\s?[:：]?\s?$"
)
_NOT_A_LONG_NAME_END = rx.compile(r"(?:씨|님|이|가|은|는|을|를|의|과|와|도|실|팀|부|센터|병동|어)$")
# A foreign name alone after a person's label: "통역: 올레나", "보호자: 타티아나".
_FOREIGN_AFTER_LABEL = rx.compile(
    r"(?:통역사?|보호자|성명|이름|환자명?|작성자|담당자?|대상자|간병인|Interpreter)\s?[:：]\s?"
    r"([가-힣]{2,6})(?![가-힣])"
)


def unsurnamed_candidates(
    text: str, role_before: Callable[[str], bool]
) -> list[tuple[rx.Match, int, int, float, str]]:
    """(match, start, end, score, what) of :meth:`KoreanNameScorer._find_unsurnamed`'s
    candidates: "familiar" spans carry the 이 until checked (``role_before``: does a
    text end on a person's role, :func:`ko_names.korean_role_before`)."""
    found: list[tuple[rx.Match, int, int, float, str]] = []
    for m in _FAMILIAR_NAME.finditer(text):
        given = m.group(1)
        if (ord(given[-1]) - 0xAC00) % 28 and given_name_llr(given) > _FAMILIAR_LLR:
            found.append((m, m.start(1), m.end(1) + 1, 0.65, "familiar"))
    for m in _GIVEN_ALONE.finditer(text):
        if given_name_llr(m.group(1)) > _FAMILIAR_LLR:
            found.append((m, m.start(1), m.end(1), 0.65, "given"))
    for rule in (_DASH_GIVEN, _VOCATIVE):
        for m in rule.finditer(text):
            fits = rule is _DASH_GIVEN or _vocative_fits(m)
            if fits and given_name_llr(m.group(1)) > _FAMILIAR_LLR:
                found.append((m, m.start(1), m.end(1), 0.65, "given"))
    for m in _QUOTED_FAMILIAR.finditer(text):
        given = m.group(1)
        if (ord(given[-1]) - 0xAC00) % 28 and given_name_llr(given) > 0:
            found.append((m, m.start(1), m.end(1) + 1, 0.65, "familiar"))
    for m in _QUOTED_GIVEN.finditer(text):
        given = m.group(1)
        # (a pet name is a name whatever its syllables: 태명 "복댕이")
        nickname = m.group(0)[:2] in ("태명", "애칭", "별명", "예명")
        if nickname or given_name_llr(given[-2:]) > 0 or _korean_shaped(given):
            found.append((m, m.start(1), m.end(1), 0.7, "nickname" if nickname else "quoted"))
    return found + _foreign_candidates(text, role_before)


def _foreign_candidates(
    text: str, role_before: Callable[[str], bool]
) -> list[tuple[rx.Match, int, int, float, str]]:
    """Foreign names in Hangul: two words before 씨/님 or before nationality, sex and age, one
    word after a label or before 씨 and a nationality, a family name glued to a long given name."""
    found: list[tuple[rx.Match, int, int, float, str]] = []
    for m in _FOREIGN_PAIR_TITLED.finditer(text):
        g = 1 if m.group(1) else 3
        first, second = m.group(g), m.group(g + 1)
        if first in _PERSON_LABELS or _korean_shaped(second):
            continue  # "대상 최막례 님": a label and a Korean name
        if role_before(first + " "):
            # "통번역사 레티투 씨": a role and a name of one word
            found.append((m, m.start(g + 1), m.end(g + 1), 0.7, "foreign"))
            continue
        found.append((m, m.start(g), m.end(g + 1), 0.7, "foreign"))
    for m in _GIVEN_NATIONALITY.finditer(text):
        found.append((m, m.start(1), m.end(1), 0.7, "given"))
    for m in _FOREIGN_AFTER_LABEL.finditer(text):
        if not _NOT_A_NAME_END.search(m.group(1)):
            found.append((m, m.start(1), m.end(1), 0.7, "foreign"))
    for m in _SURNAME_LONG_GIVEN.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        before = text[max(line_start, m.start() - 16) : m.start()]
        if (
            surname_share(m.group(1)) >= 0.01
            and _FOREIGN_KIN_BEFORE.search(before)
            and not _NOT_A_LONG_NAME_END.search(m.group(0))
        ):
            found.append((m, m.start(), m.end(), 0.7, "foreign"))
    return found
