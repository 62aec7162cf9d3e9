"""Korean person names, scored instead of listed.

A candidate is a word of two to four syllables (its particles and honorifics cut
off) that starts with a Korean family name. Its score adds up evidence, in
log-odds:

- **the name itself**: how common the family name is (census shares) and how
  name-like the given syllables are (a syllable model of Korean given names by
  position, from the ``korean-name-generator`` package's statistics:
  :mod:`deid.text.recognizers.ko_model`);
- **morphology**: Kiwi (``kiwipiepy`` with its bundled model: offline) tags the word
  as a proper noun (NNP), or as a common word it knows (a common noun, a verb);
- **context**: a label or role before it (``성명:``, ``EM``, ``RN``, ``R2``, ``간호사``,
  ``보호자``), a relation word (``남편``, ``딸``), an honorific or title after it (``님``,
  ``선생님``, ``교수``), a bracket with a relation, sex or age (``(딸)``, ``(F/67)``), a
  person's particle (``에게``, ``와``);
- **what it is not**: words the project lists as never names (departments, diseases,
  drugs, places) and clinical word endings.

A name with a one-syllable given name, or with no evidence from context, needs the
other evidence to be strong (Kiwi's proper noun and a name-like given name).
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache, lru_cache

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.ko_model import (
    COMPOUND_SURNAMES,
    given_name_llr,
    surname_share,
    surname_shares,
)
from deid.text.recognizers.ko_unsurnamed import unsurnamed_candidates

__all__ = [
    "NAME_SUFFIXES",
    "KoreanNameScorer",
    "given_name_llr",
    "korean_role_before",
    "line_words",
    "surname_share",
]

_HANGUL_RUN = rx.compile(r"[가-힣]+")

_REPEATED_BONUS = 1.0
_COMPOUND = COMPOUND_SURNAMES

# Context before a name (end of the text before it, same line).
_ROLE_BEFORE = rx.compile(
    r"(?:^|[\s(/:·,\x22\x27“‘「『\[<])(?:EM|RN|LPN|NP|PA|CRNA|R[1-4]|PGY-?\d|Dr\.?|Prof\.?|MD|Pt\.?|pt\.?|"
    r"인턴|레지던트|전공의|전임의|펠로우|fellow|Fellow|간호사|수간호사|책임간호사|교수|교수님|의사|원장|원장님|"
    r"주치의|담당의|당직의|전문의|집도의|마취의|판독의|의뢰의|회신의|진료의|수련의|조수|제\d조수|"
    r"사회복지사|영양사|약사|물리치료사|작업치료사|언어치료사|상담사|유전상담사|상담자|코디네이터|"
    # a profession with a qualifier before it: 연구간호사, 연구코디네이터, 임상병리사
    r"[가-힣]{1,4}(?:간호사|코디네이터|상담사|치료사|복지사|병리사|방사선사|위생사|통역사|구조사)|"
    r"요양보호사|간병인|통역사|통역|경찰|경장|경사|경위|형사|기사|팀장|부장|과장|대리|주임|교사|"
    r"담당|작성|작성자|판독|확인|서명|보고자|인계자|인수자|인계|인수|진료|시술|시술자|집도|설명의사|설명자|의뢰자|"
    r"상담|회신|마취|보조|처방의|조제|근무자|당직|받은\s?사람|수신자|발신자|통화자|전달자|"
    r"성명|이름|본명|실명|환자명|환자|학생|아동|환아|보호자|대리인|신청인|대상자|내담자|수진자|피보험자|예금주|수신|발신|"
    r"남편|아내|처|부인|배우자|딸|아들|자녀|어머니|아버지|엄마|아빠|모|부|형|누나|언니|오빠|동생|"
    r"남동생|여동생|형제|자매|손자|손녀|조카|며느리|사위|할머니|할아버지|시어머니|시아버지|장모|장인|"
    r"모친|부친|조모|조부|외조모|외조부|시모|시부|"
    # staff, clergy, teachers and coaches, fire-service ranks
    r"위생사|기공사|조무사|방사선사|병리사|원목|신부|목사|스님|수녀|코치|감독|담임|교감|교장|트레이너|"
    r"매니저|구급대원|소방사|소방교|소방장|소방위|소방경|통장|이장|반장|"
    r"친구|동료|직장동료|룸메이트|이웃|산모|환아|고인|망인|부모|가족|staff|Staff|기록|기록자|회송의|"
    # kin with an order or side (큰딸, 장남, 외손자, 아들분), partners, shift labels
    r"(?:큰|작은|막내|맏|둘째|셋째|외|친|의붓)?(?:딸|아들|며느리|사위|손자|손녀|형|누나|언니|오빠|동생)(?:분|님)?|"
    r"(?:외|친)(?:할머니|할아버지|삼촌|숙모|손자|손녀)|"
    r"장남|차남|삼남|장녀|차녀|삼녀|여자\s?친구|남자\s?친구|애인|약혼자|동거인|시누이|올케|처남|처제|형수|"
    r"매형|매제|고모|이모|삼촌|외삼촌|숙모|사촌|나이트|데이|이브닝|Night|Day|Eve|"
    r"[가-힣]{0,5}과|[A-Za-z가-힣]{0,4}팀|"
    # English roles in a mixed note: "Attending 오승민", "Interpreter 응우옌", "PT 김하람"
    r"[Aa]ttending|[Rr]esident|[Ii]ntern|[Nn]urse|[Ss]urgeon|[Ii]nterpreter|[Ss]cribe|[Tt]herapist|"
    r"[Ee]ndoscopist|[Aa]nesthesiologist|[Pp]athologist|[Rr]adiologist|[Cc]oordinator|[Cc]ounselor|"
    r"[Gg]uardian|[Cc]aregiver|[Ss]pouse|[Dd]aughter|[Ss]on|[Ww]ife|[Hh]usband|[Mm]other|[Ff]ather|"
    r"PT|OT|ST|SW|CM|NOK)\s{0,2}[:：]?\s{0,2}$"
)
# A word that names a role by its ending (피접종자, 면담의, 치위생사, 원무과장, 소방교):
# weaker than a listed role.
_ROLE_ENDING_BEFORE = rx.compile(
    r"(?:^|[\s(/:·,\x22\x27“‘「『\[<])(?:(?!(?:검사|조사|감사|회사|인사|봉사|주사|복사|동의|회의|병원|입원|"
    r"퇴원|내원|통원|지원|현장|입장|기관|원인|요인|사인|개인|본인|타인|결과)\s{0,2}[:：]?\s{0,2}$)[가-힣]{1,6}[자사의원장교관인]|"
    # what a person does in the record: 집도 김OO, 마취 이OO, 면담 박OO
    r"집도|마취|보조|어시스트|소독|순환|참관|입회|동행|면담|상담|처방|투약|채혈|시행|의뢰|회신|인계|인수|"
    r"통화|면회|접수|입력|검수|감수|승인|결재|참석|참여|"
    # ...and in English: "Given by 한소희", "seen by 여민호", "d/w 구자철"
    r"by|d/w|[Ss]igned|[Cc]alled|[Pp]aged|[Nn]otified|[Ii]nformed)"
    # (numbered and with a colon too: "진단의 2: 라윤경")
    r"(?:\s?\d{1,2})?\s?[:：]?\s{1,2}$"
)
# ...but an institution is no role (강원대학교병원 신장내과, 본원 외래).
_INSTITUTION_BEFORE = rx.compile(r"(?:병원|의원|학원|요양원|법원|공원|본원|분원|지원)\s{1,2}$")
# A family name and a given name written apart: "길 태 호", "김 수 자", "박 올가".
# (not a piece of a longer spaced run, but a title may follow: "이 준 호 님 귀하")
_SPACED_NAME = rx.compile(
    r"(?<![가-힣])([가-힣]) (?:[가-힣] [가-힣]|[가-힣]{1,2})(?![가-힣])(?! (?!님|씨)[가-힣](?![가-힣]))"
)
# A compound family name and a given name written apart: "선우 혁", "남궁 민수".
_SPACED_COMPOUND = rx.compile(
    r"(?<![가-힣])(?:남궁|황보|제갈|선우|독고|사공|서문|동방) (?:[가-힣] [가-힣]|[가-힣]{1,2})(?![가-힣])"
)
# Vietnamese family names in Hangul and the middle names 반 (Văn) and 티 (Thị).
_VIETNAMESE_HANGUL = rx.compile(
    r"(?<![가-힣])(?:응우옌|응웬|쩐|레|팜|호앙|후인|판|부이|보|당|도|응오|즈엉|리|하|마이|찐|딘|다오)"
    r"\s(?:반|티)\s[가-힣]{1,3}(?![가-힣])"
)
# ...and without a middle name, where a title follows or a role precedes: "팜 투 짱 선생님"
# (the family names that are no Korean syllable or word)
_VIETNAMESE_LOOSE = rx.compile(
    r"(?<![가-힣])(?:응우옌|응웬|쩐|팜|호앙|후인|부이|응오|즈엉|다오|찐|딘)(?:\s[가-힣]{1,2}){1,2}(?![가-힣])"
)
# ...and glued, with the middle name, the way Korean forms write them: "간병인 쩐티화 씨"
_VIETNAMESE_GLUED = rx.compile(
    r"(?<![가-힣])(?:응우옌|응웬|쩐|팜|호앙|후인|부이|응오|즈엉|찐|딘|레|당|마이)(?:티|반)[가-힣]{1,3}?"
    r"(?:(?![가-힣])|(?=씨|님|이|가|는|을|를|의|와|도|에게))"
)
_BRACKET_OR_COMMA = rx.compile(r"\s?[(,/]")
# A family name alone before a title, apart or glued: "김 교수님께", "정 간호사가", "박과장님",
# "김쌤" (not a determiner: 전 교수님 is a former professor, 본/모/각/동/현 the same).
_SURNAME_TITLE = (
    r"교수님?|선생님?|간호사님?|과장님?|원장님?|팀장님?|실장님?|주임님?|부장님?|약사님?|전공의|"
    r"전임의|치료사님?|복지사님?|쌤"
)
_SURNAME_TITLED = rx.compile(
    rf"(?<![가-힣])(?!(?:전|현|본|모|각|귀|타|동|제|저|그|해|양|당|한|총|부|우|좌|상|하)(?:\s|{_SURNAME_TITLE}))"
    rf"([가-힣])(?:\s(?={_SURNAME_TITLE})|(?=(?:{_SURNAME_TITLE})"
    r"(?:께|께서|이|은|는|을|를|의|도|에게|한테|이가|~)?(?![가-힣])))"
)
# A name masked in its middle: "윤*희 (F/44)", "김○수 님" (two of three syllables still name).
_MASKED_NAME = rx.compile(r"(?<![가-힣])([가-힣])[*＊○◯●XxO]([가-힣]{1,2})(?![가-힣])")
# A family name alone after an English title: "Wound repair by Dr. 봉".
_TITLE_SURNAME = rx.compile(r"\b(?:Dr|Prof)\.?\s?([가-힣]{1,2})(?![가-힣])")
# A Korean family name and a given name apart, before sex and age: "김 아나스타샤 (F/39)",
# "박 올가 (F/45)".
_SPACED_FOREIGN = rx.compile(r"(?<![가-힣0-9])([가-힣]) ([가-힣]{2,6})(?![가-힣])")
# A cell of its own in a table row (used for Latin names too, by en_names).
CELL_BEFORE = _CELL_BEFORE = rx.compile(r"[|\t]\s{0,2}$")
CELL_AFTER = _CELL_AFTER = rx.compile(r"\s{0,2}[|\t]")
# (a numbered label too: "진단의 2: 라윤경")
_LABEL_COLON = rx.compile(r"[가-힣A-Za-z]{1,8}(?:\s?\d{1,2})?\s{0,2}[:：]\s{0,2}$")
_TITLE_AFTER = rx.compile(
    r"(?:님|씨|선생님|선생|교수님|교수|원장님|원장|간호사|전공의|전임의|과장|팀장|부장|실장|대리|주임|"
    r"학생|치료사|상담사|복지사|영양사|약사|기사|요원|대원|위원|직원|수녀님|신부님|목사님|스님|여사님|여사|"
    r"경위|경장|경사|어르신|할머니|할아버지|환자|보호자|군|양|님께|선생님께|아기|"
    r"주무관|사무관|담당관|계장|팀원|손해사정사|"
    # professions, with a qualifier before them: 임상병리사, 방사선사, 치위생사, 연구간호사
    r"[가-힣]{0,4}(?:병리사|방사선사|위생사|조무사|구조사|보호사|지원사|통역사|변호사|세무사|노무사|"
    r"연구원|간호사|코디네이터|복지사|치료사|상담사)|"
    # military ranks: "임태준 중사", "김하늘 중위"
    r"이병|일병|상병|병장|하사|중사|상사|원사|준위|소위|중위|대위|소령|중령|대령|준장|소장|중장|"
    r"중대장|소대장|대대장|연대장|사단장|"
    # how a letter or a message addresses a person: "우경민 고객님", "이 준 호 님 귀하"
    r"고객님|고객|귀하|회원님|수검자|수험자|어머님|아버님|쌤|샘)"
)
_CREDENTIAL_AFTER = rx.compile(
    r"[ \t/,(]{1,2}(?:RN|MD|NP|PA|PharmD|RD|MSW|LPN|CRNA|PGY-?\d|R[1-4])\b"
)
_BRACKET_AFTER = rx.compile(
    # (not a date in brackets: "보호자 전화 (12.06 19:40)")
    r"\s?\((?!\s?\d{1,2}[./-]\d{1,2}(?:\s|\)))\s?(?:남|여|M|F|\d{1,3}|남편|아내|처|부인|배우자|딸|아들|자녀|어머니|아버지|엄마|아빠|모|부|"
    r"형|누나|언니|오빠|동생|손자|손녀|조카|며느리|사위|친구|보호자|본인|관계|환자|"
    r"생년|생년월일|생일|DOB|만\s?\d|등록|병록|환자번호|ID|#|\d{2,4}[.-]\d)"
)
# A name opening a line of a chat or message log: "민경호 오전 9:31 - ...", "정유나(7W RN): ..."
_SPEAKER_AFTER = rx.compile(r"\s?(?:\([^)\n]{0,20}\))?\s?(?:[:：]|오전|오후|\[?\d{1,2}:\d{2})")
# A chat line's time, and a ward or team, before its speaker: "(오후 2:31) 병동 제갈윤: 네".
_CHAT_PREFIX = rx.compile(
    r"[ \t]*[\[(]?(?:오전|오후)?[ \t]?\d{1,2}:\d{2}[\])]?[ \t]*(?:[가-힣A-Za-z0-9]{1,6}[ \t])?"
)
_GLUED_ROLES = (
    r"간호사|교수님?|주치의|담당의|담당|전공의|보호자|환자|당직의|당직|인턴|레지던트|약사|치료사|"
    r"작성자|기록자|인계자|인수자"
)
_GLUED_ROLE_RUN = rx.compile(rf"(?<![가-힣])(?:{_GLUED_ROLES})([가-힣]{{3,6}})(?![가-힣])")
_LINE_END = rx.compile(r"[ \t]*(?:\n|$)")
# Another name of a list before it: "환자 왕춘희, 남보배", "부모(빈경식/모현주)"
_LIST_BEFORE = rx.compile(r"(?:^|[\s(:])[가-힣]{3}(?:님|씨)?\s?[,/·]\s?$")
_SEX_AGE_AFTER = rx.compile(r"\s{0,2}(?:[MF남여]\s?/\s?\d|\d{1,3}\s?/\s?[MF남여]|\d{1,3}\s?세)")
_PARTICLE_AFTER = ("에게", "에게서", "께", "께서", "한테", "와", "과", "이랑", "랑", "하고")
# ...and with a topic or focus particle after it: "엄기봉과는", "이수진에게도", "박민과만"
_PARTICLE_COMBOS = tuple(p + q for p in _PARTICLE_AFTER for q in ("는", "도", "만", "의"))
NAME_SUFFIXES = _SUFFIXES = tuple(
    sorted(
        {
            *_PARTICLE_AFTER,
            *_PARTICLE_COMBOS,
            "님",
            "씨",
            "님께",
            "님께서",
            "님이",
            "님은",
            "님의",
            "님과",
            "님을",
            # a title or kin word glued to the name: "오말숙할머니", "박세훈환자", "민지쌤"
            "할머니",
            "할아버지",
            "어르신",
            "환자",
            "쌤",
            "샘",
            "님에게",
            "님도",
            "씨가",
            "씨는",
            "씨의",
            "씨와",
            "씨를",
            "씨에게",
            "이",
            "가",
            "은",
            "는",
            "을",
            "를",
            "의",
            "도",
            "만",
            "으로",
            "로",
            "이가",
            "이는",
            "이의",
            "이와",
            "이에게",
            # "남편 고태식에 의한", "아들 박민수로부터"
            "에",
            "로부터",
            "으로부터",
            # a copula after a name: "딸 김소연이에요", "담당 박지호입니다", "딸 송미정인데요"
            "인데요",
            "이고요",
            "고요",
            "이에요",
            "이예요",
            "예요",
            "에요",
            "입니다",
            "이고",
            "이며",
            "이라고",
            "라고",
            "선생님",
            "선생님께",
            "선생님께서",
            "선생님이",
            "선생님은",
            "교수님",
            "교수님께",
            "교수",
            "원장님",
            "원장",
            "간호사",
            "전공의",
        },
        key=len,
        reverse=True,
    )
)
# Word endings of clinical and administrative words, never of a name.
_NOT_NAME_END = frozenset("함됨음듯측쪽병증과실료법술약제적부동리읍면로길상엽후중외내")
# ...of which these end no name at all (the others, as 리 in 유리 or 동 in 지동, may end
# one next to a role or title).
_HARD_END = frozenset("함됨음듯측쪽병증과실료법술약제적")
# Noun suffixes after a known word (원무+과, 서명+일): never the end of a name there.
_WORD_PLUS = frozenset("과실일팀부방표에량률치값")
_PARTICLE_SYLLABLES = frozenset("은는을를와과도의가")
# Endings of role nouns (신고자, 소방사, 면담의): a line's label, not its speaker.
# ...or a case particle after a known word, when a listing rule took the two for a name
# (전화+로 after "보호자(배우자 오금순)").
_WORD_PLUS_OR_PARTICLE = _WORD_PLUS | frozenset("로를을가도식")
_DEPARTMENT_END = rx.compile(
    r"(?:내과|외과|의학과|소아과|안과|치과|피부과|신경과|비뇨기과|산부인과)$"
)
_ROLE_END = frozenset("자사의")
# Endings of place names: a name ending so needs context ("강남구", "원주시").
_PLACE_END = frozenset("구시군도")


# The least a family name weighs (log-odds) on a word Kiwi does not know.
_RARE_FLOOR = -1.0
# Most Korean given names have two syllables: "석지은" is a name before "석지" + "은".
_ONE_SYLLABLE_GIVEN = 1.5
# Honorifics Kiwi may keep inside a proper noun it has not seen ("홍길동님").
# Particles Kiwi may read into an unknown proper noun before a number ("마서진이 4/6"):
# no evidence either way.
_GLUED_PARTICLES = frozenset(["이", "가", "은", "는", "을", "를", "의", "도"])
_SUFFIXES_KIWI_KEEPS = frozenset(
    ["님", "씨", "님께", "님이", "님은", "님의", "님과", "님을", "님도"]
)


def _splits_known_word(common: set[tuple[int, int]], start: int, end: int) -> bool:
    """A candidate that is a word Kiwi knows, or whose end cuts one (구강+궤양): Kiwi reads
    words there, not a name."""
    return any(s < end < e or (s == start and e == end) for s, e in common)


@lru_cache(maxsize=4096)
def _line_words(
    line: str,
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Kiwi's reading of one line: (proper nouns and unknown nouns, known common words) as
    (start, end) in the line. Cached: the listing-rule veto and the scorer read the same
    lines, and headers and labels repeat across notes."""
    proper: list[tuple[int, int]] = []
    known: list[tuple[int, int]] = []
    tokens = _kiwi().tokenize(line)  # type: ignore[attr-defined]
    for i, t in enumerate(tokens):
        if t.tag == "NNP" or (t.oov and t.tag.startswith("NN")):
            proper.append((t.start, t.start + t.len))
        elif t.tag in ("NNG", "VV", "VA", "XR", "MAG", "NNB", "NP") and t.len >= 2:
            known.append((t.start, t.start + t.len))
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or nxt.start != t.start + t.len:
            continue
        # a verb's stem of one syllable and its endings ("오+면": if one comes, "오+시+면"):
        # a word, though each part is one syllable (a longer stem is as often a name Kiwi
        # misreads: 구하+은; a determiner and a noun too: 연+보라)
        if t.tag in ("VV", "VA") and t.len == 1 and nxt.tag.startswith("E"):
            end = nxt.start + nxt.len
            for more in tokens[i + 2 : i + 3]:
                if more.tag.startswith("E") and more.start == end and end - t.start < 3:
                    end = more.start + more.len
            if end - t.start <= 3:
                known.append((t.start, end))
    return tuple(proper), tuple(known)


def line_words(line: str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Kiwi's proper nouns and known common words of one line (see ``_line_words``)."""
    return _line_words(line)


@cache
def _kiwi() -> object:
    from kiwipiepy import Kiwi

    return Kiwi()  # the model ships in kiwipiepy-model: nothing is downloaded


def korean_role_before(before: str) -> bool:
    """Whether the text before a word ends with a Korean role or relation (of anyone's name,
    Korean or not): "주치의", "보호자 아들", "동행인"."""
    before = before[-16:] + " "
    return bool(
        _ROLE_BEFORE.search(before)
        or (_ROLE_ENDING_BEFORE.search(before) and not _INSTITUTION_BEFORE.search(before))
    )


class KoreanNameScorer:
    """Finds Korean names in a text: ``find(text) -> [(start, end, score)]``."""

    threshold = 0.0

    def __init__(self) -> None:
        self.stop = lexicons.ko_name_stopwords()

    def find(self, text: str) -> list[tuple[int, int, float]]:
        return self._find_words(text) + self._find_spaced(text) + self._find_unsurnamed(text)

    def _find_unsurnamed(self, text: str) -> list[tuple[int, int, float]]:
        """Names without a Korean family name in front: a given name with the familiar 이
        ("딸 수정이가", "예린이랑"), a given name alone where its place says so ("보호자 철수
        씨(형)", "영희 엄마"), a foreign name in Hangul before 씨/님 ("잔나 코발렌코 씨"), a
        foreign name after a person's label ("통역: 올레나"). Each needs Kiwi to read no
        common word there (어린이가, 고양이랑, 아이 엄마 and 통역: 없음 stay); a foreign name
        needs Kiwi to read a proper noun in it."""
        found = unsurnamed_candidates(text, korean_role_before)
        if not found:
            return []
        nnp, common = self._morphology(text, [f[0] for f in found])
        out: list[tuple[int, int, float]] = []
        for _, s, e, score, what in found:
            words = [(w.start() + s, w.end() + s) for w in _HANGUL_RUN.finditer(text[s:e])]
            if what != "nickname" and any(
                cs < we and ws < ce for ws, we in words for cs, ce in common
            ):
                continue  # a word Kiwi knows
            if what == "foreign" and not any(nnp.get(ws, -1) >= we for ws, we in words):
                continue
            out.append((s, e - 1 if what == "familiar" else e, score))  # the 이 is no part
        return out

    def _find_spaced(self, text: str) -> list[tuple[int, int, float]]:
        """Names written with spaces after a label or role: "성 명 : 길 태 호", "통역사 박 올가",
        "선우 진 (M/55)"; and the other ways of :meth:`_find_apart`."""
        out: list[tuple[int, int, float]] = []
        spaced: list[rx.Match] = []
        for m in _SPACED_NAME.finditer(text):
            first = m.group(1)
            line_start = text.rfind("\n", 0, m.start()) + 1
            before = text[max(line_start, m.start() - 16) : m.start()]
            after = text[m.end() : m.end() + 8]
            person_label = bool(
                _ROLE_BEFORE.search(before)
                or rx.search(r"성\s?명\s?[:：]?\s*$", before)
                or (after[:1] == " " and _TITLE_AFTER.match(after.lstrip()))
            )
            # "김 진" (one syllable each) only after a person's label: "부위: 좌 측" is none
            one_syllable = len(m.group(0)) == 3
            labelled = person_label or (not one_syllable and _LABEL_COLON.search(before))
            if not labelled or first not in surname_shares():
                continue
            spaced.append(m)
        if spaced:
            # no common word after the family name: "Dr. 허 외래 예약" is a name and a word
            _, common = self._morphology(text, spaced)
            for m in spaced:
                given = m.start() + 2
                if not any(cs == given and ce - cs >= 2 for cs, ce in common):
                    out.append((m.start(), m.end(), 0.75))
        for m in _SPACED_COMPOUND.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            before = text[max(line_start, m.start() - 16) : m.start()]
            after = text[m.end() : m.end() + 8]
            if (
                korean_role_before(before)
                or _LABEL_COLON.search(before)
                or _TITLE_AFTER.match(after.lstrip())
                or _SEX_AGE_AFTER.match(after.lstrip(" ("))  # "선우 진 (M/55)"
            ):
                out.append((m.start(), m.end(), 0.75))
        return out + self._find_apart(text)

    def _find_apart(self, text: str) -> list[tuple[int, int, float]]:
        """A family name and a given name apart in other ways: Vietnamese names in Hangul
        ("응우옌 반 훙", "팜 투 짱 선생님", "쩐티화 씨"), a family name alone after "Dr.", a Korean family
        name and a foreign given name before sex and age ("김 아나스타샤 (F/39)")."""
        out: list[tuple[int, int, float]] = []
        for m in _VIETNAMESE_HANGUL.finditer(text):
            out.append((m.start(), m.end(), 0.75))
        for m in _VIETNAMESE_GLUED.finditer(text):
            out.append((m.start(), m.end(), 0.7))
        for m in _SURNAME_TITLED.finditer(text):
            # (not the rarest: 가, 사, 상, 동 open words before a title)
            if surname_share(m.group(1)) >= 0.0004:
                out.append((m.start(1), m.end(1), 0.65))
        for m in _MASKED_NAME.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            before = text[max(line_start, m.start() - 16) : m.start()]
            after = text[m.end() : m.end() + 10]
            if surname_share(m.group(1)) > 0 and (
                _SEX_AGE_AFTER.match(after.lstrip(" ("))
                or (after[:1] == " " and _TITLE_AFTER.match(after.lstrip()))
                or korean_role_before(before)
            ):
                out.append((m.start(), m.end(), 0.7))
        for m in _TITLE_SURNAME.finditer(text):
            family = m.group(1)
            if (family in _COMPOUND or len(family) == 1) and surname_share(family) > 0:
                out.append((m.start(1), m.end(1), 0.75))
        foreign = [
            m
            for m in _SPACED_FOREIGN.finditer(text)
            if surname_share(m.group(1)) > 0
            and _SEX_AGE_AFTER.match(text[m.end() : m.end() + 10].lstrip(" ("))
        ]
        if foreign:
            _, common = self._morphology(text, [m for m in foreign])
            for m in foreign:
                # no word Kiwi knows opens it ("이 환자분": 환자+분)
                if not any(cs == m.start(2) for cs, _ in common):
                    out.append((m.start(), m.end(), 0.7))
        for m in _VIETNAMESE_LOOSE.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            before = text[max(line_start, m.start() - 16) : m.start()]
            after = text[m.end() : m.end() + 8]
            if (after[:1] == " " and _TITLE_AFTER.match(after.lstrip())) or korean_role_before(
                before
            ):
                out.append((m.start(), m.end(), 0.7))
        return out

    def _find_words(self, text: str) -> list[tuple[int, int, float]]:
        runs = [
            m
            for m in _HANGUL_RUN.finditer(text)
            if len(m.group(0)) >= 2 and self._starts(m.group(0))
        ]
        # a name glued to the role before it: "간호사김민지 → 인계", "담당의박지훈"
        glued = list(_GLUED_ROLE_RUN.finditer(text))
        if not runs and not glued:
            return []
        nnp_starts, common = self._morphology(text, runs + glued)
        pieces = [(m.group(0), m.start(), m.end()) for m in runs]
        pieces += [(m.group(1), m.start(1), m.end(1)) for m in glued]
        # A proper noun of a name's shape that the note repeats is one person it talks
        # about ("차은결이 ... 차은결의"): more likely a name than a one-off.
        seen = Counter(word for run, _, _ in pieces for word, _ in self._candidates(run))
        out: list[tuple[int, int, float]] = []
        for run, start, run_end in pieces:
            best: tuple[float, int, int] | None = None
            for word, suffix in self._candidates(run, text[run_end : run_end + 2]):
                end = start + len(word)
                score = self.score(text, start, end, suffix, nnp_starts, common)
                if (
                    score is not None
                    and seen[word] >= 2
                    and nnp_starts.get(start) in (end, end + len(suffix))
                ):
                    score += _REPEATED_BONUS
                if score is not None and (best is None or score > best[0]):
                    best = (score, start, end)
            if best is not None and best[0] >= self.threshold:
                out.append((best[1], best[2], min(0.95, 0.6 + best[0] / 20)))
        return out

    def _listed_name(self, before: str) -> bool:
        """The word before the list separator is itself a name (family name + given name)."""
        m = rx.search(r"([가-힣]{3})(?:님|씨)?\s?[,/·]\s?$", before)
        if m is None:
            return False
        word = m.group(1)
        return (
            word not in self.stop and surname_share(word[0]) > 0 and given_name_llr(word[1:]) > 2.0
        )

    def known_words(self, text: str, spans: list[tuple[int, int, float]]) -> list[bool]:
        """For spans found by other rules: is each one a word Kiwi knows, or a cut of one
        (단톡방, 소독(간호사), 원무과, 구강궤(양))?"""
        if not spans:
            return []
        runs = [
            m
            for m in _HANGUL_RUN.finditer(text)
            if any(m.start() <= s < m.end() for s, _, _ in spans)
        ]
        nnp, common = self._morphology(text, runs)
        out: list[bool] = []
        for s, e, _ in spans:
            known = _splits_known_word(common, s, e)
            # a known word and a noun suffix (원무+과, 서명+일)
            known = known or (
                text[e - 1] in _WORD_PLUS_OR_PARTICLE
                and any(cs == s and ce == e - 1 and ce - cs >= 2 for cs, ce in common)
            )
            # a cut of a longer proper noun Kiwi reads (소독 of 소독간호사)
            nnp_end = nnp.get(s)
            known = known or (
                nnp_end is not None and nnp_end > e and text[e:nnp_end] not in _SUFFIXES_KIWI_KEEPS
            )
            out.append(known)
        return out

    @staticmethod
    def _morphology(text: str, runs: list[rx.Match]) -> tuple[dict[int, int], set[tuple[int, int]]]:
        """Kiwi's proper nouns and words outside its dictionary (start -> end), and the
        common words it knows, on the lines with candidates only (Kiwi spends most of its
        time on Latin text). An unknown word of a family name and two syllables is most
        often a name Kiwi has not seen; its guess at a tag (NNG) is not evidence of a
        common word."""
        starts = sorted({text.rfind("\n", 0, m.start()) + 1 for m in runs})
        lines: list[str] = []
        for ls in starts:
            le = text.find("\n", ls)
            lines.append(text[ls : le if le >= 0 else len(text)])
        nnp: dict[int, int] = {}
        common: set[tuple[int, int]] = set()
        # Line by line: a line's words do not run into the next line's (a name closing one
        # line made Kiwi read the label opening the next as a proper noun).
        # One call per line: a list makes Kiwi start worker threads, which do not survive
        # the fork of the parallel scrubber.
        for ls, line in zip(starts, lines, strict=True):
            proper, known = _line_words(line)
            nnp.update((ls + a, ls + b) for a, b in proper)
            common.update((ls + a, ls + b) for a, b in known)
        return nnp, common

    @staticmethod
    def _starts(run: str) -> bool:
        return run[:2] in _COMPOUND or run[0] in surname_shares()

    def _candidates(self, run: str, after: str = "") -> list[tuple[str, str]]:
        out = [(run, "")] if len(run) <= 4 else []
        # a bracket or a comma right after: the last syllable is the name's, not a particle
        # ("아들 손정만 (동거)" is 손정만, not 손정 + 만)
        bracket = len(run) <= 4 and _BRACKET_OR_COMMA.match(after) is not None
        for suf in _SUFFIXES:
            if bracket and len(suf) == 1:
                continue
            if run.endswith(suf) and 2 <= len(run) - len(suf) <= 4:
                out.append((run[: -len(suf)], suf))
        return out

    def score(  # noqa: C901
        self,
        text: str,
        start: int,
        end: int,
        suffix: str,
        nnp_starts: dict[int, int],
        common: set[tuple[int, int]],
    ) -> float | None:
        word = text[start:end]
        if word in self.stop or (suffix and (start, end + len(suffix)) in common):
            return None  # listed, or a cut of one word Kiwi knows (정형외+과, 원무+과)
        if suffix == "과" and _DEPARTMENT_END.search(word + suffix):
            return None  # a department, whatever Kiwi reads: 신장내+과, 흉부외+과
        if _splits_known_word(common, start, end) and (start, end) not in common:
            return None  # 구강+궤(양): the end of the candidate cuts a word Kiwi knows
        surname = word[:2] if word[:2] in _COMPOUND and len(word) >= 3 else word[:1]
        given = word[len(surname) :]
        if not 1 <= len(given) <= 2:
            return None
        share = surname_share(surname)
        if share <= 0:
            return None
        prior = max(-2.0, min(1.5, math.log(share / 0.01))) + given_name_llr(given) / 2
        # a compound family name (남궁, 선우) is evidence enough for a one-syllable given name
        one_syllable = _ONE_SYLLABLE_GIVEN if len(given) == 1 and len(surname) == 1 else 0.0
        prior -= one_syllable
        line_start = text.rfind("\n", 0, start) + 1
        before = text[max(line_start, start - 16) : start]
        after = text[end + len(suffix) : end + len(suffix) + 12]
        context = 0.0
        if _ROLE_BEFORE.search(before):
            context += 3.0
        elif _ROLE_ENDING_BEFORE.search(before) and not _INSTITUTION_BEFORE.search(before):
            context += 2.0
        elif _LABEL_COLON.search(before):
            context += 1.5
        named_before = context > 0.0
        if suffix and _TITLE_AFTER.fullmatch(suffix.rstrip("께서이은의과를을도가는에게")):
            context += 3.0
        elif suffix in _PARTICLE_AFTER or suffix in _PARTICLE_COMBOS:
            context += 1.0
        if not suffix:
            if _TITLE_AFTER.match(after.lstrip()) and after[:1] == " ":
                context += 3.0
            if _BRACKET_AFTER.match(after) or _CREDENTIAL_AFTER.match(after):
                context += 3.0  # "(남편)", "구다인 RN", "하은서 MD"
            elif _SEX_AGE_AFTER.match(after):
                context += 2.5
        if (
            (not before.strip() or _CHAT_PREFIX.fullmatch(before) is not None)
            and not suffix
            and _SPEAKER_AFTER.match(after)
            and (start, end) not in common
            and word[-1] not in _ROLE_END
        ):
            context += 2.0
        if (
            not before.strip()
            and not suffix
            and _LINE_END.match(after) is not None
            and len(given) == 2
            and word[-1] not in _ROLE_END
        ):
            # a name alone on its line: a signature ("...연락 안 됨.\n피수정"), the more so
            # closing the note
            context += 3.0 if not text[end:].strip() else 1.5
        if _LIST_BEFORE.search(before) and word[-1] not in _ROLE_END and self._listed_name(before):
            context += 2.0
        if before.endswith("(") and after[:1] in (")", ",", "/"):
            context += 1.0
        elif _CELL_BEFORE.search(before) and _CELL_AFTER.match(after):
            context += 1.5  # a cell of its own in a table row: "| 맹도윤 | 10291174 | 59/M |"
        if _TITLE_AFTER.fullmatch(given):
            return None  # a family name glued to a title: 안+교수(님께서)
        if (
            word[-1] in "자이서식"
            and (start, end - 1) in common
            and (context < 3.0 or (word[-1] == "서" and not named_before))
        ):
            # a known word and a person or document suffix or a particle: 신고+자, 서명+이,
            # 승인+서
            return None
        if word[-1] in _WORD_PLUS and (start, end - 1) in common:
            return None  # a known word and a noun suffix: 원무+과, 서명+일, 단톡+방
        if word[-1] in _PARTICLE_SYLLABLES and (start, end - 1) in common:
            return None  # a known word and its particle: 이름+은, 정보+와
        if word[-1] in _NOT_NAME_END and (
            context < 3.0 or (start, end) in common or len(word) == 2 or word[-1] in _HARD_END
        ):
            return None  # a clinical or place word ending needs a role or title next to it
        if share < 0.001 and (start, end) in common:
            return None  # a rare family name in front of a word Kiwi knows: the word
        morph = 0.0
        nnp_end = nnp_starts.get(start)
        if nnp_end == end or (nnp_end == end + len(suffix) and suffix in _SUFFIXES_KIWI_KEEPS):
            morph += 1.5
        elif (
            nnp_end is not None
            and nnp_end > end
            and not (nnp_end == end + len(suffix) and suffix in _GLUED_PARTICLES)
        ):
            morph -= 1.0  # Kiwi reads a longer proper noun (신장내과): the cut is no name
        if (start, end) in common:
            # Kiwi reads a common word; a role or title next to it weighs more
            morph -= 1.0 if context >= 2.5 else 2.5
        # (a word Kiwi knows may still be a name between a role and a credential: "작성 이훈 RN")
        # (a compound family name is evidence enough with less: "확인의: 황보규")
        needed = 2.5 if len(surname) == 1 else 1.5
        if len(given) == 1 and (context < needed or ((start, end) in common and context < 5.5)):
            return None  # a one-syllable given name needs context, and not to be a word
        if context == 0.0 and (morph < 1.5 or len(given) != 2 or word[-1] in _PLACE_END):
            return None  # without context: Kiwi's proper noun and a two-syllable given name
        if (morph >= 1.5 or context >= 3.0) and prior < _RARE_FLOOR + given_name_llr(given) / 2:
            # Kiwi reads no known word here, or a role names the word: a rare family name
            # says little against a name
            prior = _RARE_FLOOR + given_name_llr(given) / 2 - one_syllable
        return -2.5 + prior + context + morph
