"""Person names: Korean (surname list + name syllables, honorifics, labels),
romanized Korean, titled and labelled English names, and spaCy NER PERSON
spans filtered against drugs, eponyms and medical vocabulary."""

from __future__ import annotations

from functools import cache
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.case_names import find_case_names
from deid.text.recognizers.en_cues import bridge_middle_initials, find_cue_names
from deid.text.recognizers.en_layouts import find_layout_names
from deid.text.recognizers.en_names import (
    CITIES,
    LANGUAGES,
    any_name,
    find_more_english_names,
    is_role_word,
)
from deid.text.recognizers.ko_names import KoreanNameScorer
from deid.text.recognizers.note_names import (
    aligned_row_names,
    bracketed_names,
    given_names_again,
    listed_latin_names,
    listed_names,
    repeated_names,
)
from deid.text.recognizers.structured import find_structured_names
from deid.text.recognizers.word_names import find_word_given_names

# ------------------------------------------------------------------ Korean
_HANGUL_RUN = rx.compile(r"[가-힣]+")
# Particles and honorifics glued to a name (longest first).
_KO_SUFFIXES = tuple(
    sorted(
        {
            "님",
            "씨",
            "군",
            "양",
            "님께",
            "님께서",
            "님이",
            "님은",
            "님의",
            "님과",
            "님을",
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
            "와",
            "과",
            "도",
            "만",
            "에게",
            "에게서",
            "께",
            "께서",
            "한테",
            "이가",
            "이는",
            "이의",
            "이와",
            "이에게",
            "으로",
            "로",
            "랑",
            "이랑",
            "환자",
            "환자가",
            "환자는",
            "환자의",
            "환자와",
            "환자분",
            "보호자",
            "교수",
            "교수님",
            "원장",
            "원장님",
            "선생님",
            "선생",
            "전공의",
            "간호사",
            "상담사",
            "과장",
            "과장님",
            "주치의",
            "전문의",
            "레지던트",
            "인턴",
            "약사",
            "팀장",
            "실장",
            "부장",
            "씨께",
        },
        key=len,
        reverse=True,
    )
)
# Words after a name (separated by a space) that mark it as a person.
_KO_AFTER = rx.compile(
    r"\s{0,2}(?:님|씨|환자|보호자|교수|원장|선생|전공의|간호사|상담사|사회복지사|과장|주치의|전문의|레지던트|인턴|"
    r"약사|팀장|실장|부장|\((?:남|여|M|F|\d{1,3}(?:\)|세|,|/|\s?[MF남여])|처|남편|아내|부인|아들|딸|며느리|사위|어머니|아버지|모|부|형|누나|언니|오빠|"
    r"동생|손자|손녀|조카|친구|이웃|보호자|배우자|자녀|본인|시어머니|시아버지|장모|장인|고모|이모|삼촌|외삼촌)|"
    r"\s?/\s?\d{1,3}\s?[MF남여]|\s?/\s?[MF남여]\s?/|,\s?\d{1,3}\s?세|\s?\d{2,3}\s?세|"
    r"\s{1,2}[MF남여]\s?/\s?\d{1,3}(?!\d)|"
    r"\s?\((?:전화|내선|pager|Pager|tel|Tel|TEL|☎|PHS|phs))"
)
# A role or department right before a name: "작성 간호사 X", "내분비내과 X (전화 ...)".
_KO_ROLE_BEFORE = rx.compile(
    r"(?:간호사|교수|전공의|전문의|주치의|담당의|당직의|집도의|마취의|진료의|의뢰의|판독의|수련의|의사|원장|선생님|"
    r"인턴|레지던트|사회복지사|상담사|약사|"
    r"[가-힣]{1,6}과|R\d|PA|Dr\.?|Prof\.?|RN)\s{0,2}$"
)
_HONOR_SUFFIX = rx.compile(
    r"^(?:님|씨|군|양|환자|보호자|교수|원장|선생|전공의|간호사|상담사|과장|주치의|전문의|레지던트|인턴|약사|팀장|실장|부장)"
)
# Without a label or honorific a name needs a person's particle ("에게", "과") or a
# person's predicate next ("김민수 내원하여", "박서준과 면담함").
_PERSON_PARTICLES = frozenset(
    ["에게", "에게서", "께", "께서", "한테", "와", "과", "랑", "이랑", "하고"]
)
_PERSON_PREDICATE = rx.compile(
    r"\s{0,2}(?:[이가은는와과도]\s)?\s?(?:내원|면담|방문|호소|설명|동의|통화|보고|진료|입원|퇴원|사망|수술|거부|요청|"
    r"전화|연락|상담|진술|동반|문의|서명|언급|주장|답변|대답|말함|말하|응답|확인함|귀가|도착|출석|참석|"
    r"(?:\+82|0\d{1,2})[-). ]?\d{3,4})"
)
_LIST_SEP = rx.compile(r"\s*(?:[,·/、&]|및|와|과)\s*")
_SIGNATURE_BEFORE = rx.compile(r"(?:^|\s)[-–—/]\s?$|(?:작성|작성자|서명|signed|by)\s?[:：]?\s?$")
_LINE_END = rx.compile(r"\s*(?:$|\n|\r)")
# Words that name a person's role without a colon ("환자 김민준 010-...").
_KO_SOFT_LABEL = rx.compile(
    r"(?:환자|담당|대상자?|내담자|수진자|수급자|피보험자|신청인|본인|고객)\s{1,2}$"
)
# Without any context only the most common family names (about 80% of Koreans) count.
_COMMON_SURNAMES = frozenset("김이박최정강조윤장임한오서신권황안송류홍")
# Labels before a name. Unambiguous labels may omit the colon; generic ones need it.
_KO_LABEL = rx.compile(
    r"(?:(?:환자\s?명|환자\s?성명|성\s?명|보호자|주치의|담당의|담당\s?의사|작성자|판독의|의뢰의|상담자|예금주|"
    r"보고자|확인자|검사자|유전상담|참석자|동석자|배석자|면담자|통역사|간병인|R\d|signed|Signed|Read by|Dictated by|"
    # a name told in speech: "엄마 이름은 윤영자"
    r"(?:이름|성함|성명)(?:은|는|이)?\s)\s{0,3}[:：]?"
    r"|(?:환자|이\s?름|담당|작성|판독|서명|대상|대상자|수신|발신|참조|Pt|Patient|Name|Caregiver|Guardian|"
    r"Attending|Resident|cc|CC)\s{0,3}[:：])"
    r"\s{0,3}(?:\([^()\n]{1,8}\)\s{0,2})?"
    r"(?:(?:사회복지사|간호사|전공의|전문의|교수|상담사|원장|주치의|담당의|의사|R\d|Dr\.?)\s{1,2})?$"
)
_NOT_FINAL = frozenset("병함증과실료법술약제사적부동리읍면로길의상엽중후")
# Predicate and position endings that never close a name, whatever the context.
_NEVER_FINAL = frozenset("함됨음듯측쪽")


_TITLE_GIVEN = frozenset(
    ["교수", "선생", "원장", "과장", "부장", "실장", "팀장", "주임", "간호", "여사"]
)


def _is_ko_name(word: str, strong: bool) -> bool:
    """``word`` is a plausible Korean full name (surname + given)."""
    if word in lexicons.ko_name_stopwords():
        return False
    n = len(word)
    if n < 2 or n > 5 or word[-1] in _NEVER_FINAL:
        return False
    given_set = lexicons.ko_given_syllables()
    for sur in lexicons.ko_surnames():
        if not word.startswith(sur):
            continue
        given = word[len(sur) :]
        if not 1 <= len(given) <= 2 or given in _TITLE_GIVEN:
            continue  # (a family name glued to a title is no full name: 안+교수님께서)
        if strong:
            return True
        # Without context: a two-syllable given name of name syllables only.
        if len(given) == 2 and all(c in given_set for c in given) and given[-1] not in _NOT_FINAL:
            return True
    return False


def find_korean_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of Korean names."""
    out: list[tuple[int, int, float]] = []
    for m in _HANGUL_RUN.finditer(text):
        run, start = m.group(0), m.start()
        before = text[max(0, start - 24) : start]
        label = _KO_LABEL.search(before) is not None
        # The next item of a list of names ("참석: 김민수, 이영희, 박철수"): name-shaped words only.
        listed = (
            bool(out)
            and out[-1][2] >= 0.8
            and _LIST_SEP.fullmatch(text[out[-1][1] : start]) is not None
        )
        candidates: list[tuple[str, str]] = [(run, "")]
        for suf in _KO_SUFFIXES:
            if run.endswith(suf) and len(run) - len(suf) >= 2:
                candidates.append((run[: -len(suf)], suf))
        stop = lexicons.ko_name_stopwords()
        if any(w in stop for w, _ in candidates):
            continue
        for word, suf in candidates:
            if len(word) > 5:
                continue
            after = text[start + len(word) + len(suf) : start + len(word) + len(suf) + 16]
            honor = _HONOR_SUFFIX.match(suf) is not None
            in_parens = text[start - 1 : start] == "(" and after[:1] == ")"
            # A signature: "... 재진. - 최나연", "문의 033-... / 박다은" at the end of a line.
            signature = (
                _SIGNATURE_BEFORE.search(before) is not None and _LINE_END.match(after) is not None
            )
            strong = (
                label
                or honor
                or in_parens
                or signature
                or _KO_ROLE_BEFORE.search(before) is not None
                or _KO_AFTER.match(after) is not None
            )
            if not strong and listed and _is_ko_name(word, False):
                out.append((start, start + len(word), 0.8))
                break
            if not strong and (
                word[0] not in _COMMON_SURNAMES
                or (
                    suf not in _PERSON_PARTICLES
                    and _PERSON_PREDICATE.match(after) is None
                    and _KO_SOFT_LABEL.search(before) is None
                )
            ):
                continue  # without context: a common surname acting as a person does
            if len(word) == 2 and not (label or honor or in_parens):
                continue  # one-syllable given names only with a label or honorific
            if not strong and after[:1] in (":", "："):
                continue  # "상담일:" is a field label, not a name
            if _is_ko_name(word, strong):
                out.append((start, start + len(word), 0.9 if strong else 0.6))
                break
    return out


# ------------------------------------------------------------------ English / romanized
_SYL = (
    r"(?:kk|tt|pp|ss|jj|ch|sh|[bcdghjklmnprstwy])?"
    r"(?:yeo|yae|wae|ae|ai|ea|ee|ei|eo|eu|oe|oo|ou|ui|wa|we|wi|wo|ya|ye|yo|yu|a|e|i|o|u)"
    r"(?:ng|n|m|l|k|p|t|r|h)?"
)
_GIVEN_RE = rx.compile(rf"(?i:{_SYL})(?:-?(?i:{_SYL}))?")
_CAP = r"[A-ZÀ-ÖØ-ÞĀ-ž][a-zA-ZÀ-ÖØ-öø-ÿĀ-ž'’]*(?:-[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][a-zA-ZÀ-ÖØ-öø-ÿĀ-ž'’]*)*"
# Particles inside a family name: "van der Berg", "de la Cruz", "Ó Súilleabháin".
_PARTICLES = r"(?:van|von|de|del|della|di|da|du|la|le|der|den|ter|bin|binti|al|el|Ó|Ní|Mac|Nic)"
_CAPSEQ = rf"{_CAP}(?:[ \t](?:{_PARTICLES}[ \t])*{_CAP}){{1,2}}"
_PARTICLE_WORD = rx.compile(_PARTICLES)
_GENERATION = rx.compile(r"(?:II|III|IV|Jr|Sr|Jnr|Snr)\.?,?")
_TITLE_RE = rx.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Nurse|Sister|Sr|Rev|Reverend|Fr|Father|Imam|Rabbi|"
    # (initials with or without their dots: "Dr J. Okoye", "Dr J Okoye")
    rf"Pastor|Deacon|Brother)\.?\s+((?:[A-Z](?:\.\s?|\s)){{0,2}}(?:{_PARTICLES}\s)*{_CAP}"
    rf"(?:[ \t](?:{_PARTICLES}[ \t])*{_CAP}){{0,2}})"
)
_MONTH_GIVEN = frozenset(["april", "may", "june", "july", "august"])
_LABEL_RE = rx.compile(
    r"(?:\b(?:Patient|Pt|pt|Name|Patient name|Caregiver|Guardian|Interpreter|Dictated by|Read by|Reported by|"
    r"Reviewed by|Signed by|signed|Signed|Sincerely|Discussed with|seeing|Attending|Resident|Fellow|Physician|"
    r"Referred by|Referring physician|Contact|Counselor|Surgeon|Radiologist|Pathologist|Author|Examined by|"
    r"Performed by|Prepared by|Approved by|Verified by|Informant|Next of kin|NOK|Emergency contact|Spouse|"
    r"Son|Daughter|Wife|Husband|Mother|Father|cc|CC|Attn|Dear)\b\s*[:,-]?\s*|"
    r"(?:환자명?|성명|보호자|담당의?|주치의|작성자?|판독의?|의뢰의|상담자|대상|예금주|서명|교수|전공의|"
    r"통역사|통역|간병인|후원자|기증자|면담자|간호사|참석자?|동석자?|배석자?)\s?[:：]?\s{0,3})"
    rf"({_CAP}, ?{_CAP}(?:[ \t][A-Z]\.|[ \t]{_CAP}(?:[ \t][A-Z]\.)?)?(?![a-z])|{_CAPSEQ}|[A-Z]{{2,}}(?:[ \t-][A-Z]{{2,}}){{1,2}})"
)
_REL_AFTER_RE = rx.compile(
    rf"({_CAPSEQ}|[A-Z]{{2,}}(?:\s[A-Z]{{2,}}){{1,2}})\s*(?:\((?:spouse|wife|husband|son|daughter|mother|father|sister|"
    r"brother|friend|caregiver|guardian|niece|nephew|grandson|granddaughter|daughter-in-law|son-in-law|partner|"
    r"fellow|resident|attending|nurse|RN|MD|pager|[MF]\b|\d{1,3}\s?[MF]?\b(?![/.-]\d)|아들|딸|며느리|사위|남편|아내|처|배우자|"
    r"어머니|아버지|모|부|형|누나|언니|오빠|동생|손자|손녀|조카|친구|보호자|남|여|\d{1,3}세)|,\s?(?:MD|M\.D\.|RN|PhD|DO|NP|PA|MSW|CGC)\b|"
    r",\s?(?:a|an)\s\d{1,3}-year)"
)
# A capitalized word with a lower-case letter ("Gong", "Min-seok"; not "CS" in "CS Gong").
_CAPL = r"[A-Z][a-z][a-zA-Z'’]*(?:-[A-Za-z][a-zA-Z'’]*)*"
# (the second word in a lookahead, so that it can open the next pair: "Parents Lim Jae-hyuk")
_ROMAN_RE = rx.compile(
    rf"\b({_CAPL})(?=[ \t]({_CAPL})(?![A-Za-z]))|\b([A-Z]{{2,}})(?=[ \t]([A-Z]{{2,}})(?![A-Za-z]))"
)
_EPONYM_AFTER = rx.compile(
    r"(?i)^(?:'s|’s|'|\s(?:disease|syndrome|sign|score|scale|test|criteria|classification|lymphoma|dementia|"
    r"palsy|reflex|maneuver|manoeuvre|position|catheter|tube|stain|grade|method|curve|phenomenon|ulcer|"
    r"sarcoma|tumou?r|node|law|formula|equation|procedure|operation|fracture|disorder|thyroiditis|"
    r"encephalopathy|type|cell|cells|body|bodies|esophagus|ring|triad|index|murmur))"
)
# Smith, Ye-rin, O'Brien, McDonald, KIM, and initials (J.).
_NAME_WORD = rx.compile(
    r"^[A-ZÀ-ÖØ-ÞĀ-ž][a-zß-öø-ÿĀ-ž]*(?:['’][A-Z]?[a-zß-öø-ÿĀ-ž]+)?(?:[A-Z][a-zß-öø-ÿĀ-ž]+)?"
    r"(?:-[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][a-zß-öø-ÿĀ-ž'’]*)?$|^[A-Z]{2,}(?:-[A-Z]+)?$|^[A-Z]\.$"
)
# A first name after a relation word: "daughter Emily", "his wife, Maria".
# (or after a family name alone: "Pt: Smith J")
_BARE_INITIAL = rx.compile(r"[A-Z]\.?")
_COMMA_NAME_INITIAL = rx.compile(r"(?:,[ \t]?\S+|^[A-Z][a-z]+)[ \t]([A-Z])$")
_REL_BEFORE_RE = rx.compile(
    r"\b(?:daughter|son|wife|husband|mother|father|sister|brother|niece|nephew|grandson|granddaughter|"
    r"friend|partner|fiancée?|boyfriend|girlfriend|neighbou?r|caregiver|guardian|named|called|"
    r"comadre|compadre|godmother|godfather|goddaughter|godson|"
    # opening a sentence too: "Husband Reza cell 010-..."
    r"(?:(?<=\n)|(?<=[.;:] )|(?<![\s\S]))(?:Daughter|Wife|Husband|Mother|Father|Sister|Brother|Partner))"
    r"\b,?\s+"
    # (not an acronym: "called EMS")
    rf"(?![A-Z]{{2,4}}\b)({_CAP}(?:[ \t]{_CAP})?)(?![A-Za-z])"
)
# Drug and disease word endings: only applied to spaCy NER spans (the rules have their own context).
_DRUG_SUFFIX = rx.compile(
    r"(?i)(?:olol|pril|sartan|statin|mab|nib|azole|cillin|mycin|floxacin|prazole|tidine|dipine|gliptin|"
    r"gliflozin|parin|xaban|triptan|afil|lukast|semide|thiazide|azepam|oxetine|platin|taxel|olone|asone|"
    r"ovir|cycline|profen|codone|morphine|zepine|apine|tropium|terol|glutide|itis|omas?|emia|osis|pathy|"
    r"ectomy|otomy|ostomy|plasty|scopy|graphy|ation|ition|ment|ness|ance|ence|ity|ure|ology|iatry|uria|algia)$"
)


def _given_ok(word: str) -> bool:
    return _GIVEN_RE.fullmatch(word) is not None and len(word) <= 10


def _looks_name_word(word: str, *, ner: bool = False) -> bool:
    if _GENERATION.fullmatch(word):
        return False  # "III", "Jr.": after the name, no part of it
    lw = word.lower().strip("'’")
    if lw in lexicons.en_stopwords() and lw not in lexicons.roman_surnames():
        return False
    if ner and _DRUG_SUFFIX.search(lw) and lw not in lexicons.roman_surnames():
        return False
    # All-caps: a name (KIM YEONWON), not a code or abbreviation (ID, DT, CBC).
    if (
        word.isupper()
        and not rx.fullmatch(r"[A-Z]\.", word)
        and lw not in lexicons.roman_surnames()
        and lw not in lexicons.cn_surnames()
        and (len(word) < 3 or not rx.search(r"[AEIOUY]", word))
    ):
        return False
    return _NAME_WORD.match(word) is not None


def _ok_sequence(words: list[str], text_after: str, *, ner: bool = False) -> bool:
    if not words:
        return False
    for i, w in enumerate(words):
        if 0 < i < len(words) - 1 and _PARTICLE_WORD.fullmatch(w):
            continue  # "de la" in "Pieter de la Cruz"
        if not _looks_name_word(w, ner=ner):
            return False
        base = rx.sub(r"(?:['’]s?)$", "", w.lower())
        if (base in lexicons.eponyms() or w.lower() in lexicons.eponyms()) and _EPONYM_AFTER.match(
            text_after
        ):
            return False
    return True


def _trim_words(s: str, start: int) -> tuple[int, int, list[str]]:
    words = s.split()
    return start, start + len(s), words


def _titled_names(text: str, roman: frozenset[str]) -> list[tuple[int, int, bool]]:
    """Names after a title: one surname is enough ("Dr. Oh"). A month is a given name there
    when a name follows it ("Mrs. June Whitfield", not "Dr. May" alone); such a span is
    returned checked (True), the others still go through the word checks."""
    out: list[tuple[int, int, bool]] = []
    for m in _TITLE_RE.finditer(text):
        s, e = m.span(1)
        words = text[s:e].split()
        if (
            len(words) >= 2
            and words[0].lower() in _MONTH_GIVEN
            and _ok_sequence(words[1:], text[e : e + 20])
        ):
            out.append((s, e, True))
        elif _PARTICLE_WORD.fullmatch(words[0]) and _ok_sequence(words[-1:], text[e : e + 20]):
            out.append((s, e, True))  # "Dr van der Berg": the particles open the family name
        elif words[0].lower() in roman or _looks_name_word(words[0]):
            out.append((s, e, False))
        elif len(words) >= 2 and _BARE_INITIAL.fullmatch(words[0]) and _looks_name_word(words[-1]):
            out.append((s, e, True))  # "Dr J Okoye": an initial without its dot
    return out


def _without_initial(text: str, start: int, end: int) -> tuple[int, int | None]:
    """(end without a closing middle initial, the end with it, or None if there is none)."""
    initial = _COMMA_NAME_INITIAL.search(text[start:end])
    if initial is None or text[end : end + 1].isalnum():
        return end, None
    return len(text[: start + initial.start(1)].rstrip()), end


def find_english_names(text: str) -> list[tuple[int, int, float]]:
    out: list[tuple[int, int, float]] = []
    roman = lexicons.roman_surnames()

    def add(start: int, end: int, score: float, min_words: int = 1) -> None:
        # a middle initial without its dot closing a name written family-first: "DUARTE,
        # Ines M" (not the G of "Park Eun-ha G2P1")
        end, kept = _without_initial(text, start, end)
        name_end = end
        words = text[start:end].replace(",", " ").split()
        # Drop trailing words that are not name-like (e.g. "Kim Pulmonology").
        while words and not _looks_name_word(words[-1]):
            end -= len(words[-1])
            end = len(text[:end].rstrip())
            words.pop()
        while words and (not _looks_name_word(words[0]) or words[0].lower() in LANGUAGES):
            start += len(words[0])
            start += len(text[start:]) - len(text[start:].lstrip())
            words.pop(0)
        enough = len(words) + (kept is not None) >= min_words  # (the initial is a word)
        if enough and words and _ok_sequence(words, text[end : end + 20]):
            out.append((start, kept if kept is not None and end == name_end else end, score))

    for s, e, checked in _titled_names(text, roman):
        if checked:
            out.append((s, e, 0.9))
        else:
            add(s, e, 0.9)
    for m in _LABEL_RE.finditer(text):
        add(m.start(1), m.end(1), 0.8, min_words=2)
    for m in _REL_BEFORE_RE.finditer(text):
        add(m.start(1), m.end(1), 0.75)
    for m in _REL_AFTER_RE.finditer(text):
        add(m.start(1), m.end(1), 0.8, min_words=2)
    # Romanized Korean names: "Kim Ye-rin", "Ye-rin Kim", "KIM YEONWON", "Changsook Lee".
    for m in _ROMAN_RE.finditer(text):
        a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        la, lb = a.lower(), b.lower()
        hyph = "-" in a or "-" in b
        if is_role_word(a) and not (la in roman and "-" in b):
            continue  # "Surgeon Yang Tae-hoon": the role is no given name (but "Son Ji-woo" is)
        if la in roman and _given_ok(b) and lb not in roman | {"md"}:
            sure = hyph or len(b) >= 5
        elif lb in roman and _given_ok(a) and la not in roman:
            sure = hyph or len(a) >= 5
        else:
            continue
        if sure:
            add(m.start(), m.end(2) if m.group(1) else m.end(4), 0.75)
    return out


_NER_WORD = rx.compile(r"[^\s,]+")
_NAME_PARTICLES = frozenset(
    [
        "de",
        "da",
        "del",
        "della",
        "di",
        "du",
        "la",
        "le",
        "van",
        "von",
        "der",
        "den",
        "dos",
        "das",
        "bin",
        "binti",
        "al",
        "el",
        "ter",
        "y",
        "e",
    ]
)


def _trim_ner(text: str, start: int, end: int) -> tuple[int, int]:
    """An NER span cut to the name in it: up to a line break or a run of spaces (a
    column), without a role before it (``Surgeon``, ``Hiking partner``) or lowercase
    words after it (``arrived``, ``present``)."""
    cut = rx.search(r"\n|\s{2,}|,\s*\n", text[start:end])
    if cut is not None:
        end = start + cut.start()
    words = list(_NER_WORD.finditer(text, start, end))
    # a lower-case word that is no name particle ends the name: "Jang Dong-il of Dongbang
    # Fisheries" is a name and an employer
    for i, w in enumerate(words[1:], 1):
        if w.group(0)[:1].islower() and w.group(0) not in _NAME_PARTICLES:
            words = words[:i]
            break
    while words and (words[-1].group(0)[:1].islower() or words[-1].group(0) in ("'s", "’s")):
        words.pop()
    while words and is_role_word(words[0].group(0)):
        words.pop(0)
    # an English word that is no name opens it: "Dad Joaquín", "Discussed Hodgkin-type"
    while len(words) > 1 and (
        _plain_english(words[0].group(0)) or words[0].group(0).lower() in LANGUAGES
    ):
        words.pop(0)
    if not words:
        return start, start
    return words[0].start(), words[-1].end()


_ACRONYM = rx.compile(r"[A-Z]{2,4}")


def _surname_word(word: str) -> bool:
    low = word.lower()
    return low in lexicons.roman_surnames() or low in lexicons.cn_surnames()


_EPONYM_COMPOUND = rx.compile(r"[A-Z][a-z'’]+-[a-z]+")


# Words that open an NER span and are no part of the name: how family are called, and
# verbs of the note ("Discussed", "Visiting").
_NOT_NAME_OPENER_WORDS = (
    "mom mum dad papa mama grandma grandpa granny nana auntie aunty uncle sis bro baby "
    "yours sincerely regards thanks cheers best faithfully truly"
)
_NOT_NAME_OPENERS = frozenset(_NOT_NAME_OPENER_WORDS.split())


def _plain_english(word: str) -> bool:
    low = word.lower()
    if low in _NOT_NAME_OPENERS:
        return True
    verb = low.endswith(("ed", "ing")) and len(low) > 5
    if verb and low in lexicons.english_words() and not any_name(low):
        return True
    # a plural of a word: "Parents Zhang Jianguo and Wang Fang"
    return low.endswith("s") and low[:-1] in lexicons.english_words() and not any_name(low)


def _ner_person_ok(span_text: str, after: str) -> bool:
    if rx.search(r"[\d가-힣@/|:;()\[\]]", span_text):
        return False
    if span_text.lower() in CITIES:
        return False
    words = span_text.replace(",", " ").split()
    if any(
        _EPONYM_COMPOUND.fullmatch(w) and w.split("-")[0].lower() in lexicons.eponyms()
        for w in words
    ):
        return False  # "Hodgkin-type", "Crohn's-like": a named disease, not a person
    if _EPONYM_AFTER.match(after) and not after.startswith(("'", "’")):
        return False  # "Rose Bengal stain", "Mallory Weiss tear": the name of a thing
    mixed = any(w[:1].isupper() and not w.isupper() for w in words)
    if mixed and any(_ACRONYM.fullmatch(w) and not _surname_word(w) for w in words):
        return False  # "Thyroid FNA": a word and an abbreviation, not "KIM Min-su"
    if not words or len(words) > 4:
        return False
    if len(words) == 1 and words[0].lower() not in lexicons.roman_surnames():
        return False  # a lone capitalized word from NER is too often a lab, drug or heading
    return _ok_sequence(words, after, ner=True)


@cache
def _korean_scorer() -> KoreanNameScorer:
    return KoreanNameScorer()


class PersonRecognizer(EntityRecognizer):
    """PERSON from Korean rules, English rules and (filtered) spaCy NER."""

    def __init__(self, language: str, use_ner: bool) -> None:
        self.use_ner = use_ner
        super().__init__(
            supported_entities=["PERSON"], name="PersonRecognizer", supported_language=language
        )

    def load(self) -> None:
        """Word lists load lazily."""

    def analyze(
        self, text: str, entities: list[str] | None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [RecognizerResult("PERSON", s, e, sc) for s, e, sc in self.find(text, nlp_artifacts)]

    def find(self, text: str, nlp_artifacts: Any = None) -> list[tuple[int, int, float]]:
        scorer = _korean_scorer()
        ruled = find_korean_names(text)
        # The listing rules know no morphology: drop what Kiwi reads as a word.
        spans = [
            sp
            for sp, known in zip(ruled, scorer.known_words(text, ruled), strict=True)
            if not known
        ]
        spans.extend(scorer.find(text))
        spans.extend(find_more_english_names(text))
        spans.extend(find_layout_names(text))
        spans.extend(find_english_names(text))
        spans.extend(find_structured_names(text))
        spans.extend(find_word_given_names(text))
        spans.extend(find_case_names(text))
        spans.extend(find_cue_names(text))
        if self.use_ner and nlp_artifacts is not None:
            for ent in getattr(nlp_artifacts, "entities", None) or []:
                if ent.label_ != "PERSON":
                    continue
                s, e = ent.start_char, ent.end_char
                # On mixed text NER may run a name into the Korean that follows it.
                hangul = _HANGUL_RUN.search(text, s, e)
                if hangul is not None:
                    e = len(text[: hangul.start()].rstrip())
                s, e = _trim_ner(text, s, e)
                if e > s and _ner_person_ok(text[s:e], text[e : e + 20]):
                    spans.append((s, e, 0.7))
        # What the note says elsewhere about the names found: rows of the same shape,
        # and the same name again.
        spans.extend(aligned_row_names(text, spans, scorer))
        spans.extend(listed_names(text, spans, scorer))
        spans.extend(listed_latin_names(text, spans))
        spans.extend(bracketed_names(text, spans, scorer))
        spans.extend(repeated_names(text, spans, scorer))
        spans.extend(given_names_again(text, spans, scorer))
        spans.extend(bridge_middle_initials(text, spans))
        return spans
