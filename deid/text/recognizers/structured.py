"""Identifiers by their place in a structured layout: HL7 v2 segments and delimited tables.

Inside an HL7 message or a table a value's meaning comes from where it stands, not from
the words around it: PID-5 is the patient's name and PID-7 the birth date whatever they
look like, and the cells of a column headed ``dob`` or ``export_id`` are birth dates and
identifiers. Two passes:

- **HL7 v2**: the fields of PID, NK1, GT1, IN1, PV1, ORC, OBR, OBX and MSH that hold a
  name, an identifier, a date/time, an address or a phone number (HL7 2.5 field tables);
- **keyed values**: XML elements and attributes, JSON members, ``key=value`` pairs and
  indented or quoted YAML (``<family>Moon</family>``, ``"given": ["Chiamaka"]``,
  ``환자명=권말순``, ``mrn: "7720-1193"``), the key read as a column header is;
- **tables**: blocks of two lines or more that split into the same number of cells on a
  comma, semicolon, tab or pipe (CSV exports, sample manifests, Markdown tables), whose
  first line is a header of short labels. A column's header names its kind (name, id,
  date, phone, address, e-mail); where the header fits two kinds (``subject``,
  ``sample``, ``patient``) each cell's content decides. Each cell must still look like its
  kind: a name cell holds no digits, a date cell looks like a date, an id cell has digits.

Spans: ``(entity, start, end, score)``; PERSON spans go through the person recognizer (so
the note-level passes see them), the others through :class:`StructuredRecognizer`.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

import deid.text.recognizers.rx as rx
from deid.text import lexicons

__all__ = ["StructuredRecognizer", "find_structured", "find_structured_names"]

Span = tuple[str, int, int, float]

# ---------------------------------------------------------------- HL7 v2
# segment -> (field number, entity, first component of a name: 0 for XPN, 1 for XCN
# "id^family^given"; for other entities the whole field, or component 0 for an id CX)
_HL7_FIELDS: dict[str, tuple[tuple[int, str, int], ...]] = {
    "MSH": ((7, "DATE", 0),),
    "PID": (
        (2, "MRN", 0),
        (3, "MRN", 0),
        (4, "MRN", 0),
        (5, "PERSON", 0),
        (6, "PERSON", 0),
        (7, "DATE", 0),
        (9, "PERSON", 0),
        (11, "ADDRESS", 0),
        (13, "PHONE", 0),
        (14, "PHONE", 0),
        (18, "MRN", 0),
        (19, "MRN", 0),
        (20, "DRIVER_LICENSE", 0),
        (29, "DATE", 0),
    ),
    "NK1": ((2, "PERSON", 0), (4, "ADDRESS", 0), (5, "PHONE", 0), (6, "PHONE", 0)),
    "GT1": ((3, "PERSON", 0), (5, "ADDRESS", 0), (6, "PHONE", 0), (7, "PHONE", 0)),
    "IN1": ((16, "PERSON", 0), (18, "DATE", 0), (19, "ADDRESS", 0), (36, "HEALTH_INSURANCE", 0)),
    "PV1": (
        (7, "PERSON", 1),
        (8, "PERSON", 1),
        (9, "PERSON", 1),
        (17, "PERSON", 1),
        (19, "MRN", 0),
        (44, "DATE", 0),
        (45, "DATE", 0),
    ),
    "ORC": (
        (2, "MRN", 0),
        (3, "MRN", 0),
        (9, "DATE", 0),
        (10, "PERSON", 1),
        (11, "PERSON", 1),
        (12, "PERSON", 1),
    ),
    "OBR": (
        (2, "MRN", 0),
        (3, "MRN", 0),
        (7, "DATE", 0),
        (8, "DATE", 0),
        (14, "DATE", 0),
        (16, "PERSON", 1),
        (22, "DATE", 0),
        (32, "PERSON", 1),
    ),
    "OBX": ((14, "DATE", 0), (16, "PERSON", 1)),
}
_HL7_SEGMENT = rx.compile(r"^(" + "|".join(_HL7_FIELDS) + r")\|", rx.M)
_LETTER = rx.compile(r"[A-Za-z가-힣]")
_DIGIT = rx.compile(r"\d")


def _hl7(text: str) -> list[Span]:
    out: list[Span] = []
    for m in _HL7_SEGMENT.finditer(text):
        line_end = text.find("\n", m.start())
        line = text[m.start() : line_end if line_end >= 0 else len(text)].rstrip("\r")
        fields = line.split("|")
        starts = [0]
        for f in fields[:-1]:
            starts.append(starts[-1] + len(f) + 1)
        # MSH-1 is the field separator itself: MSH-n is fields[n - 1]
        shift = 1 if m.group(1) == "MSH" else 0
        for number, entity, first in _HL7_FIELDS[m.group(1)]:
            k = number - shift
            if k >= len(fields):
                continue
            for rep_start, rep in _repetitions(fields[k], starts[k]):
                span = _hl7_value(rep, entity, first)
                if span is not None:
                    s, e = span
                    out.append((entity, m.start() + rep_start + s, m.start() + rep_start + e, 0.85))
    return out


def _hl7_value(rep: str, entity: str, first: int) -> tuple[int, int] | None:
    """The part of one field repetition that is PHI, as offsets into ``rep``."""
    parts = rep.split("^")
    if entity == "PERSON":
        name = parts[first : first + 3]
        if not any(_LETTER.search(p) for p in name):
            return None
        s = sum(len(p) + 1 for p in parts[:first])
        return s, s + len("^".join(name).rstrip("^"))
    if entity in ("MRN", "HEALTH_INSURANCE", "DRIVER_LICENSE"):
        # CX: id^check digit^scheme^authority^type -- the id is component 0
        value = parts[0]
        return (0, len(value)) if _DIGIT.search(value) else None
    if entity == "DATE":
        value = parts[0]
        return (0, len(value)) if len(value) >= 6 and value[:6].isdigit() else None
    if entity == "ADDRESS":
        # XAD: street^other^city^state^zip^country -- street to zip
        kept = "^".join(parts[:5]).rstrip("^")
        return (0, len(kept)) if _LETTER.search(kept) else None
    value = parts[0]  # XTN: the number
    return (0, len(value)) if sum(c.isdigit() for c in value) >= 7 else None


def _repetitions(field: str, start: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for rep in field.split("~"):
        if rep:
            out.append((start, rep))
        start += len(rep) + 1
    return out


# ---------------------------------------------------------------- delimited tables
_HL7_LINE = rx.compile(r"^[A-Z][A-Z0-9]{2}\|")
_DELIMITERS = (",", ";", "\t", "|")
_RULE_ROW = rx.compile(r"^[\s|:+\-=]+$")  # a Markdown rule row: |---|:--|


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Header labels, normalized (lower case, runs of other characters as "_").
_ID_WORDS = _words(
    "id mrn no num number nr chart record accession acc barcode kit specimen serial "
    "sn case encounter enc visit_id ssn 번호 등록번호 환자번호 차트번호 병록번호 검체번호 의무기록번호 접수번호 연구번호 "
    "대상자번호"
)
_NAME_WORDS = _words(
    "name names patient_name pt_name full_name fullname first_name last_name "
    "firstname lastname surname given_name family_name given family subject_name "
    "participant_name physician doctor provider author nurse clinician reviewer "
    "signed_by signer guardian next_of_kin nok contact_name caregiver mother father "
    "spouse donor_name requester attending resident surgeon referrer referring_physician "
    "성명 이름 환자명 환자성명 보호자 보호자명 의사 담당의 주치의 담당자 작성자 검사자 판독의 "
    "간호사 대상자명 참여자명 서명"
)
# a header that fits a name or an id: the cell's content decides
_EITHER_WORDS = _words(
    "patient pt subject participant sample donor member 환자 대상자 참여자 검체 공여자"
)
_DATE_WORDS = _words(
    "dob date dt birth birthdate birthday date_of_birth birth_date collected "
    "collection received reported visit visit_date admitted admission admit "
    "discharged discharge death died deceased shipped enrolled consented signed 생년월일 "
    "일자 날짜 일시 입원일 퇴원일 검사일 방문일 수술일 채취일 접수일 사망일 내원일 진료일 등록일"
)
_PHONE_WORDS = _words("phone tel telephone mobile cell fax 연락처 전화 전화번호 휴대폰 핸드폰")
_ADDRESS_WORDS = _words("address addr street home_address 주소 거주지 자택주소")
_EMAIL_WORDS = _words("email e_mail mail 이메일 메일")
# Header words of codes and things, not people: "icd_10_id", "drug name", "gene", "lot no".
_THING_WORDS = _words(
    "icd kcd code codes loinc snomed cpt atc edi rs rsid dbsnp gene genes variant "
    "hgvs transcript omim clinvar pmid nct protocol lot batch drug drugs medication "
    "medications med meds test tests item items product file device brand generic "
    "study site facility hospital company org organization ward room bed "
    "assay panel exon chr chromosome position pos ref alt 약품 약품명 약제 검사 검사명 코드 상병 상병코드 "
    "병동 병실 제품 로트"
)
# Qualifiers that keep "name" a person's: "patient name", "mother's name", "first name".
_PERSON_QUALIFIERS = _words(
    "patient pt full first last given family maiden mother mothers father fathers "
    "guardian contact provider physician doctor nurse subject participant donor user "
    "member owner emergency kin spouse author reviewer caregiver 환자 보호자 대상자 참여자 의사"
)
_NOT_NAMES = _words("n/a na none unknown self yes no nil - -- 본인 미상 없음 해당없음 full pending")
_NORMAL = rx.compile(r"[^0-9a-z가-힣/]+")
_DATE_CELL = rx.compile(
    r"(?i)^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{8}(?:\d{4,6})?|"
    r"\d{4}\s?년\s?\d{1,2}\s?월(?:\s?\d{1,2}\s?일)?|"
    r"\d{1,2}[\s-]?[A-Za-z]{3,9}\.?[\s-]?\d{2,4}|[A-Za-z]{3,9}\.?\s\d{1,2},?\s\d{4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
# (Latin letters beyond ASCII too: "García, Ana", "Sørensen, Bo")
_NAME_CELL = rx.compile(
    r"^(?:[A-ZÀ-ÖØ-ÞĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’.\-]*(?:,?\s[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’.\-]*){0,4}"
    r"|[가-힣]{2,5}(?:\s[가-힣]{1,4}){0,2})$"
)
_ID_CELL = rx.compile(r"^[A-Za-z]{0,6}[-_#]?[A-Za-z0-9]*\d[A-Za-z0-9]*(?:[-_/.][A-Za-z0-9]+){0,4}$")


# An id word run into its qualifier: "patientid", "recordno", "subjectnum" (not "fluid").
_RUN_TOGETHER_ID = rx.compile(
    r"(?:patient|pt|subject|participant|sample|specimen|record|visit|encounter|case|chart|member|"
    r"user|study|export|hosp|hospital|unit)(?:id|no|num|nr)"
)


def _kind(label: str) -> str | None:
    """The kind of a column from its header label."""
    norm = _NORMAL.sub("_", label.strip().lower()).strip("_")
    if not norm or len(norm) > 30:
        return None
    words = norm.split("_")
    if any(w in _THING_WORDS for w in words):
        return None
    for table, kind in (
        (_EMAIL_WORDS, "EMAIL"),
        (_PHONE_WORDS, "PHONE"),
        (_ADDRESS_WORDS, "ADDRESS"),
        (_NAME_WORDS, "PERSON"),
        (_DATE_WORDS, "DATE"),
    ):
        if norm in table:
            return kind
    # a label ending in an id word ("export_id", "sample no", "등록번호"), or an id word
    # with a qualifier before it
    if (
        norm in _ID_WORDS
        or words[-1] in _ID_WORDS
        or norm.endswith("번호")
        or _RUN_TOGETHER_ID.fullmatch(words[-1]) is not None
    ):
        return "ID"
    if norm in _EITHER_WORDS:
        return "EITHER"
    if words[-1] in _DATE_WORDS or words[0] in ("date", "dt") or norm.endswith(("일자", "일시")):
        return "DATE"
    if (words[-1] in ("name", "이름", "성명") or norm.endswith(("성명", "이름"))) and all(
        w in _PERSON_QUALIFIERS for w in words[:-1]
    ):
        return "PERSON"
    return None


def _cells(line: str, delim: str) -> list[tuple[int, int]]:
    """The cells of a line (offsets of their content, quotes and spaces off)."""
    out: list[tuple[int, int]] = []
    start, quoted = 0, False
    for i, c in enumerate(line + delim):
        if c == '"':
            quoted = not quoted
        elif c == delim and not quoted:
            s, e = start, i
            while s < e and line[s] in ' "':
                s += 1
            while e > s and line[e - 1] in ' "\r':
                e -= 1
            out.append((s, e))
            start = i + 1
    if delim == "|":  # a table row opened and closed by pipes: "| a | b |"
        if line.lstrip().startswith("|") and out and out[0][0] == out[0][1]:
            out = out[1:]
        if line.rstrip().endswith("|") and out and out[-1][0] == out[-1][1]:
            out = out[:-1]
    return out


def _cell_span(kind: str, value: str) -> str | None:
    """The entity of a cell of a column of ``kind``, if the value looks like one."""
    if not value or value.lower() in _NOT_NAMES:
        return None
    if kind == "EITHER":
        if _NAME_CELL.match(value) and not _DIGIT.search(value):
            return "PERSON" if _no_word(value) else None
        kind = "ID"
    if kind == "PERSON":
        return (
            "PERSON" if _NAME_CELL.match(value) and len(value) <= 40 and _no_word(value) else None
        )
    if kind == "ID":
        ok = _ID_CELL.match(value) and sum(c.isdigit() for c in value) >= 4 and len(value) <= 30
        return "MRN" if ok else None
    if kind == "DATE":
        return "DATE" if _DATE_CELL.match(value) and _real_date(value) else None
    if kind == "PHONE":
        return "PHONE" if 7 <= sum(c.isdigit() for c in value) <= 15 else None
    if kind == "EMAIL":
        return "EMAIL" if "@" in value else None
    return "ADDRESS" if _LETTER.search(value) and len(value) >= 4 else None


def _no_word(value: str) -> bool:
    """A name cell is not a drug, test or other word of the stop lists ("Metformin"), nor
    one English word alone ("Pending")."""
    words = [w.strip(".,'’").lower() for w in value.replace(",", " ").split()]
    stop = lexicons.en_stopwords() | lexicons.eponyms()
    if all(w in stop for w in words):
        return False
    return not (len(words) == 1 and words[0] in lexicons.english_words())


def _real_date(value: str) -> bool:
    """A compact yyyymmdd must be a real date (not an 8-digit number)."""
    if not value[:8].isdigit():
        return True
    try:
        _dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return 1800 <= int(value[:4]) <= 2200


def _tables(text: str) -> list[Span]:
    lines: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    out: list[Span] = []
    i = 0
    while i < len(lines):
        used = _table_at(lines, i, out)
        i += max(used, 1)
    return out


def _table_at(lines: list[tuple[int, str]], i: int, out: list[Span]) -> int:
    """Read a table whose header is line ``i``; the number of lines it takes (0: none)."""
    _, header = lines[i]
    if _HL7_LINE.match(header) or _DIGIT.search(header):
        return 0
    for delim in _DELIMITERS:
        if header.count(delim) < (2 if delim != "|" else 3 if header.strip()[:1] == "|" else 2):
            continue
        heads = _cells(header, delim)
        if len(heads) < 3 or any(e - s > 30 for s, e in heads):
            continue
        kinds = [_kind(header[s:e]) for s, e in heads]
        if not any(kinds):
            continue
        rows = 0
        j = i + 1
        while j < len(lines):
            row_start, row = lines[j]
            if _RULE_ROW.match(row) and row.strip():
                j += 1
                continue
            cells = _cells(row, delim)
            if len(cells) != len(heads):
                break
            rows += 1
            for (s, e), kind in zip(cells, kinds, strict=True):
                if kind is None:
                    continue
                entity = _cell_span(kind, row[s:e])
                if entity is not None:
                    out.append((entity, row_start + s, row_start + e, 0.8))
            j += 1
        if rows:
            return j - i
    return 0


# ---------------------------------------------------------------- keyed values
_XML_ELEMENT = rx.compile(r"<([A-Za-z][\w:.-]{0,30})(?:\s[^<>\n]{0,200})?>([^<>\n]{1,60})</\1>")
_XML_ATTRIBUTE = rx.compile(r"(?<=\s)([A-Za-z][\w:.-]{0,30})=\x22([^\x22\n]{1,60})\x22")
_JSON_MEMBER = rx.compile(
    r"\x22([^\x22\n]{1,30})\x22\s*:\s*(?:\x22([^\x22\n]{1,60})\x22|\[\s*\x22([^\x22\n]{1,60})\x22)"
)
# (a comma ends the value: VCF meta lines run pairs together, "<ID=GW25-T0412,Tissue=...>")
_KEY_EQUALS = rx.compile(r"(?<![\w./?&=-])([A-Za-z가-힣_][\w가-힣]{0,20})=([^;&,\s\x22<>]{1,40})")
# A VCF's column header: the columns after FORMAT are its samples ("#CHROM ... FORMAT S1 S2").
_VCF_HEADER = rx.compile(
    r"^#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT((?:\t[^\t\n]+)+)", rx.M
)
# (indented or after a list dash, or with its value in quotes: not a note's "Name: ...")
_YAML_MEMBER = rx.compile(
    r"^(?:[ \t]{2,}|[ \t]*-[ \t]+)([A-Za-z가-힣_][\w가-힣 ]{0,20}):[ \t]+\x22?([^\x22\n]{1,60}?)\x22?[ \t]*$"
    r"|^[ \t]*([A-Za-z가-힣_][\w가-힣 ]{0,20}):[ \t]+\x22([^\x22\n]{1,60})\x22[ \t]*$",
    rx.M,
)
_KEYED_HINT = rx.compile(r"</|\x22\s*:|=|^[ \t]*-?[ \t]*[A-Za-z가-힣_]+:|^#CHROM\t", rx.M)
_TITLE = rx.compile(r"(?:Dr|Mr|Mrs|Ms|Prof)\.?\s")
_NAME_PART_KEYS = _words(
    "family given surname last_name first_name lastname firstname family_name given_name"
)


def _keyed(text: str) -> list[Span]:
    out: list[Span] = []
    pairs: list[tuple[str, int, int]] = []  # (key, value start, value end)
    for m in _XML_ELEMENT.finditer(text):
        pairs.append((m.group(1), m.start(2), m.end(2)))
    for m in _XML_ATTRIBUTE.finditer(text):
        pairs.append((m.group(1), m.start(2), m.end(2)))
    for m in _JSON_MEMBER.finditer(text):
        g = 2 if m.group(2) is not None else 3
        pairs.append((m.group(1), m.start(g), m.end(g)))
    for m in _KEY_EQUALS.finditer(text):
        pairs.append((m.group(1), m.start(2), m.end(2)))
    for m in _YAML_MEMBER.finditer(text):
        g = 1 if m.group(1) is not None else 3
        pairs.append((m.group(g), m.start(g + 1), m.end(g + 1)))
    for m in _VCF_HEADER.finditer(text):
        pos = m.start(1)
        for cell in m.group(1).split("\t")[1:]:
            pos += 1
            if _DIGIT.search(cell):
                out.append(("MRN", pos, pos + len(cell), 0.8))  # a sample's id
            pos += len(cell)
    for key, s, e in pairs:
        # a CDA <id extension="..."> is the identifier; the key otherwise reads as a header
        kind = "ID" if key == "extension" else _kind(key.split(":")[-1])
        if kind is None:
            continue
        title = _TITLE.match(text, s, e)
        if title is not None:
            s = title.end()  # "clinician": "Dr. Soo-min Baek"
        value = text[s:e].strip()
        entity = _cell_span(kind, value)
        if entity is None and _NORMAL.sub("_", key.lower()) in _NAME_PART_KEYS:
            # a field that holds a name part holds a name, word or not: <family>Moon</family>
            ok = _NAME_CELL.match(value) and value.lower() not in lexicons.en_stopwords()
            entity = "PERSON" if ok and not _DIGIT.search(value) else None
        if entity is not None:
            out.append((entity, s, e, 0.8))
    return out


# ---------------------------------------------------------------- entry points
@lru_cache(maxsize=8)
def find_structured(text: str) -> tuple[Span, ...]:
    """Every span of HL7 segments and delimited tables in ``text`` (cached: the person
    recognizer and :class:`StructuredRecognizer` read the same note one after the other)."""
    keyed = _keyed(text) if _KEYED_HINT.search(text) else []
    if "|" not in text and "," not in text and "\t" not in text and ";" not in text:
        return tuple(keyed)
    return tuple(_hl7(text) + _tables(text) + keyed)


def find_structured_names(text: str) -> list[tuple[int, int, float]]:
    """The PERSON spans of :func:`find_structured`."""
    return [(s, e, sc) for t, s, e, sc in find_structured(text) if t == "PERSON"]


class StructuredRecognizer(EntityRecognizer):
    """Presidio recognizer for what :func:`find_structured` finds, names aside."""

    ENTITIES = ("MRN", "DATE", "ADDRESS", "PHONE", "EMAIL", "HEALTH_INSURANCE", "DRIVER_LICENSE")

    def __init__(self, language: str) -> None:
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name="StructuredRecognizer",
            supported_language=language,
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str] | None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(entity_type=t, start=s, end=e, score=sc)
            for t, s, e, sc in find_structured(text)
            if t != "PERSON"
        ]
