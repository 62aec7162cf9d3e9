"""Identifier numbers: resident registration, phones, MRNs, insurance, passport,
driver licence, accounts and cards, e-mail, URLs, IP addresses, ages over 89."""

from __future__ import annotations

import datetime as _dt

import deid.text.recognizers.rx as rx
from deid.text.recognizers.base import Rule, Validator

# Boundaries: not glued to other digits/letters/hyphens (so parts of longer ids never match).
# ASCII-only boundaries: Korean particles glue onto numbers ("010-1234-5678로").
_NB = r"(?<![A-Za-z0-9_-])"
_NA = r"(?![A-Za-z0-9_-]|\.\d)"


# ---------------------------------------------------------------- resident registration
def rrn_date_ok(digits: str) -> bool:
    """The first 7 digits of an RRN/foreigner RN encode a real birth date."""
    yy, mm, dd, g = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), digits[6]
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000}
    century.update({"7": 2000, "8": 2000, "9": 1800, "0": 1800})
    try:
        _dt.date(century[g] + yy, mm, dd)
    except ValueError:
        return False
    return True


def rrn_checksum_ok(digits: str) -> bool:
    """Checksum of resident (gender digit 1-4, 9, 0) and foreigner (5-8) numbers.

    Numbers issued since October 2020 carry no checksum; callers accept them on
    context alone.
    """
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
    check = (13 - total % 11) % 10 if digits[6] in "5678" else (11 - total % 11) % 10
    return check == int(digits[12])


# Separators seen in notes: hyphen, en/em dash, minus sign, fullwidth hyphen, dot,
# slash, underscore, or none, with any spacing. Checksum/date validation keeps precision.
_DASHES = "-–—−－"
_RRN_SEP = r"\s*[-–—−－./_]?\s*"
_RRN_RE = rx.compile(_NB + r"(\d{6})" + _RRN_SEP + r"([0-9]\d{6})" + _NA)
_RRN_CONTEXT = ("주민", "rrn", "외국인등록", "등록번호", "resident", "registration", "생년")


def _rrn_valid(m: rx.Match, text: str) -> bool:
    digits = m.group(1) + m.group(2)
    if not rrn_date_ok(digits):
        return False
    if rrn_checksum_ok(digits):
        return True
    # No checksum (post-2020 numbers): hyphenated or labelled.
    before = text[max(0, m.start() - 25) : m.start()].lower()
    return any(d in m.group(0) for d in _DASHES) or any(w in before for w in _RRN_CONTEXT)


# Masked numbers still disclose the birth date and sex: 850315-1******.
_RRN_MASKED_RE = rx.compile(_NB + r"(\d{6})\s*[-–—−－./_]\s*([0-9])[*xX●○]{6}(?![*xX●○])")


def _rrn_masked_valid(m: rx.Match, text: str) -> bool:
    return rrn_date_ok(m.group(1) + m.group(2) + "000000")


# The front half alone after its label: "주민번호 앞자리 910411" (a birth date that the label
# ties to the number).
_RRN_FRONT_RE = rx.compile(
    r"(?:주민(?:등록)?\s?번호|주민번호)\s?(?:앞\s?자리|앞\s?6자리|생년월일)\s?[:：]?\s?(\d{6})(?![\d-])"
)


def _rrn_front_valid(m: rx.Match, text: str) -> bool:
    return rrn_date_ok(m.group(1) + "1")


RRN_RULES = [
    Rule("KR_RRN", _RRN_RE, 0.9, validator=_rrn_valid, context=_RRN_CONTEXT),
    Rule("KR_RRN", _RRN_MASKED_RE, 0.97, validator=_rrn_masked_valid),
    Rule("KR_RRN", _RRN_FRONT_RE, 0.9, group=1, validator=_rrn_front_valid),
]

# ---------------------------------------------------------------- phones
# (a hyphen with spaces too: "010 - 4417 - 0029")
_SEP = r"(?:[-.\s]?| - )"


def _quarter_hour(hhmm: str) -> bool:
    return int(hhmm[:2]) <= 23 and hhmm[2:] in ("00", "15", "30", "45")


def _not_shift_times(m: rx.Match, text: str) -> bool:
    """A service number (1588-1234), not a shift written as two times ("1900-0700")."""
    first, _, second = m.group(0).partition("-")
    return not (_quarter_hour(first) and _quarter_hour(second))


PHONE_RULES = [
    # Korean mobile: 010-1234-5678, 01012345678, +82 10-1234-5678, +82-(0)10...
    Rule(
        "PHONE",
        rx.compile(
            _NB
            + r"(?:\+82[-.\s]?(?:\(0\))?\s?1[016789]|\(?01[016789]\)?)"
            + _SEP
            + r"\d{3,4}"
            + _SEP
            + r"\d{4}"
            + _NA
        ),
        0.95,
    ),
    # Korean landline / VoIP: 033-258-1234, (033) 742-1234, 02-123-4567, +82 33-..., 070-...
    Rule(
        "PHONE",
        rx.compile(
            r"(?:(?<![A-Za-z0-9_-])\+82[-.\s]?(?:\(0\))?\s?(?:2|[3-6][1-5]|70)|\(0(?:2|[3-6][1-5]|70)\)|(?<![A-Za-z0-9_-])0(?:2|[3-6][1-5]|70|50\d))"
            r"[-.\s)]{0,2}\d{3,4}[-.\s]\d{4}"
            # an extension is part of the number: "033-761-2200 ext. 14"
            r"(?:[ \t]?(?:ext\.?|x|내선)[ \t]?\d{1,5})?" + _NA
        ),
        0.9,
    ),
    # A mobile number with its prefix in words, as a message says it: "공일공 2298 4410".
    Rule("PHONE", rx.compile(r"공일공[\s-]?(\d{3,4}[\s-]?\d{4})" + _NA), 0.85, group=1),
    # Nationwide service numbers 1588-1234.
    Rule("PHONE", rx.compile(_NB + r"1[5689]\d{2}-\d{4}" + _NA), 0.6, validator=_not_shift_times),
    # North-American: (415) 555-0132, 415-555-0132, +1 206-320-8394, 1-800-555-0133.
    Rule(
        "PHONE",
        rx.compile(
            r"(?:(?<![A-Za-z0-9_-])(?:\+1|1)[-.\s]?(?:\(\d{3}\)\s?|\d{3}[-.\s])|\(\d{3}\)\s?|"
            r"(?<![A-Za-z0-9_(-])\d{3}[-.])\d{3}[-.]\d{4}" + _NA
        ),
        0.85,
    ),
    # A local number without its area code, after a word that gives a number to call:
    # "call 555-0199", "reached at 258-7714", "내선 2201"-style extensions stay out.
    Rule(
        "PHONE",
        rx.compile(
            r"(?i:\b(?:call|phone|tel|telephone|cell|mobile|reach(?:ed)?(?: \w+)? at|set that up at|at|"
            r"number|no\.|ph|pager|fax|연락처|전화|휴대폰|핸드폰)[:.]?\s{0,2})"
            r"((?<![\d-])\d{3}-\d{4})" + _NA
        ),
        0.7,
        group=1,
    ),
    # A national number with its trunk 0 in spaced groups, as Australia, New Zealand and
    # Europe write them: "021 448 7702", "0412 345 678", "03 9876 5432".
    Rule(
        "PHONE",
        rx.compile(r"(?<![\w.+/:-])0\d{1,4}(?:[ \t]\d{3,4}){2}(?![\w-]|[.,]\d)"),
        0.7,
        validator=lambda m, text: 9 <= sum(c.isdigit() for c in m.group(0)) <= 11,
        name="trunk_spaced_phone",
    ),
    # International with spaces: +1 647 555 0178, +44 20 7946 0958, +82 33 240 5611.
    Rule(
        "PHONE",
        rx.compile(r"(?<![A-Za-z0-9_-])\+\d{1,3}(?:[\s.-]\(?\d{1,5}\)?){1,4}(?![0-9])"),
        0.8,
        validator=lambda m, text: 8 <= sum(c.isdigit() for c in m.group(0)) <= 15,
    ),
]

# ---------------------------------------------------------------- MRN / record ids
_CASE_KIND = rx.compile(r"\d[가-힣]")
# (Korean labels and Latin ones in two branches, each behind a look at the first
# character: a position of the other script fails at once; the label alternation is the
# costliest regex of the scrubber)
_MRN_LABELS = (
    r"(?=[가-힣])(?:"
    r"(?:등록|환자|차트|병록|진료|의무기록|검체|접수|병리|외래|입원|혈액|세포병리|생검|처방전?)\s?(?:번호|No\.?)|"
    # study subjects, employees, members and examinees by their number
    r"(?:스크리닝|피험자|대상자|연구대상자|참여자|무작위배정|무작위화|사원|회원|수진자|검진|키트|기기)"
    r"\s?(?:번호|No\.?|ID)|사번|"
    r"(?:병록|등록|차트|의무기록)(?=\s{0,2}[:#]?\s{0,2}[A-Za-z]{0,4}-?\d)|환자\s?ID|시리얼|일련\s?번호|"
    # a research subject's id after its label and a colon: "SDV 대상자: KR-07-012"
    r"(?:대상자|피험자|참여자)(?=\s?[:：]?\s?[A-Z]{1,4}-\d))|"
    r"(?=[A-Za-z])(?:"
    # device serials and badges identify a person too (HIPAA's device identifiers)
    r"(?i:serial(?:\s?(?:no\.?|number|#))?|S/N|device\s?(?:ID|serial|no\.?)|transmitter(?:\s?(?:ID|serial|no\.?))?|badge(?:\s?(?:no\.?|number|#))?)|"
    r"(?i:MRN|MR\s?No\.?|MR#|NHS(?:\s?(?:No\.?|Number|#))?|NHI(?:\s?(?:No\.?|Number|#))?|"
    r"Medicare(?:\s?(?:card|No\.?|Number|#))?|(?:DEA|NPI)(?:\s?(?:No\.?|Number|#))?|Pt\.?\s?ID|Patient\s?(?:ID|No\.?|Number|#)|"
    r"Hosp(?:ital|\.)?\s?(?:No\.?|Number|Num\.?|ID|#)|Chart\s?(?:No\.?|Number|#)|Chart(?=\s{1,2}[A-Z]{0,3}-?\d)|"
    r"(?:Med(?:ical)?\s)?Rec(?:ord|\.)?\s?(?:No\.?|Number|#)|Reg(?:istration|\.)?\s?(?:No\.?|Number|#)|"
    r"Specimen\s?(?:ID|No\.?|Number|#)?|Sample\s?(?:ID|No\.?|#)?|Acc(?:ession|\.)?\s?(?:No\.?|Number|#)?|"
    r"Case\s?(?:No\.?|Number|#)|Unit\s?No\.?|Kit\s?(?:No\.?|#)|Report\s?(?:No\.?|#)|"
    r"Exam\s?(?:No\.?|#|ID)|Study\s?(?:ID|No\.?|#)|Lab\s?(?:ID|No\.?|#)|Visit\s?(?:ID|No\.?|#)|"
    r"(?:ED|ER|OPD|ICU|OR|Rx)\s?(?:#|No\.?)|ID\s?(?:#|No\.?)|Subj(?:ect)?s?(?:\s?(?:ID|No\.?|#|Number))?|"
    r"Participants?(?:\s?(?:ID|No\.?|#|Number))?|Screening\s?(?:ID|No\.?|#)|Enrol(?:l)?ment\s?(?:ID|No\.?|#)|[A-Za-z]{3,12}\s(?:no\.|number|#))|"
    r"(?<![A-Za-z])ID|(?<![A-Za-z])[A-Z]{2,4}\s?#)"
)
# An identifier token (a regex, not a secret).
_ID_TOKEN = r"([A-Za-z]{0,5}\d{0,4}[-_]?[A-Za-z0-9]*\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)"  # noqa: S105


def _has_digits(n: int) -> Validator:
    def check(m: rx.Match, text: str) -> bool:
        return sum(c.isdigit() for c in str(m.group(1))) >= n

    return check


_PRODUCT_CONTEXT = rx.compile(
    r"(?i)(?:\blot|\bbatch|제조번호|로트)\s?(?:no\.?|number|#|번호)?\s?[:#]?\s*$"
)


def _not_product_code(m: rx.Match, text: str) -> bool:
    """Vaccine and drug lot/batch numbers identify a product, not a person."""
    return _PRODUCT_CONTEXT.search(text[max(0, m.start() - 20) : m.start()]) is None


# A quantity, not an identifier: viral loads, doses, money ("HBV DNA 23000000 IU/mL", "12000000원").
_UNIT_AFTER = rx.compile(
    # a slash only right after the number ("23000000/mL"): "20931842 / F/47" is a field end
    r"/|\s?(?:IU|iu|copies|cp|mg|mcg|g\b|mL|ml|U/|U\b|cells|개|원|won|KRW|₩|%|x\s?10|×|회|명|건)"
)
_QUANTITY_BEFORE = rx.compile(
    r"(?i)(?:DNA|RNA|viral load|copies|용량|금액|비용|치료비|진료비|₩|\$)\s?[:=]?\s*$"
)


def _bare_number_is_id(m: rx.Match, text: str) -> bool:
    if not _not_product_code(m, text):
        return False
    if _UNIT_AFTER.match(text, m.end(1)):
        return False
    return _QUANTITY_BEFORE.search(text[max(0, m.start(1) - 16) : m.start(1)]) is None


def _labelled_id(m: rx.Match, text: str) -> bool:
    value = str(m.group("id"))
    digits = sum(c.isdigit() for c in value)
    if " " in value and not 8 <= digits <= 16:
        return False  # spaced groups: as long as a real number
    mixed = len(value) >= 6 and digits >= 2 and sum(c.isalpha() for c in value) >= 2
    if digits < 4 and not (digits == 3 and _SHORT_PREFIXED.fullmatch(value)) and not mixed:
        # (a short number with a prefix after its label is one: "SCR-014"; so is a serial
        # of letters and digits mixed: "transmitter 8HX2K9")
        return False
    return _PRODUCT_CONTEXT.search(text[max(0, m.start("id") - 20) : m.start("id")]) is None


_SHORT_PREFIXED = rx.compile(r"[A-Za-z]{2,5}-\d{3}")


MRN_RULES = [
    Rule(
        "MRN",
        rx.compile(
            r"(?:" + _MRN_LABELS + r")\s?(?:[:#=.]|No\.?)?\s{0,3}[:#]?\s{0,3}"
            # the id, or groups of digits with spaces: "NHS no. 485 777 3456" (one pass of
            # the label alternation for both: it is the costliest regex of the scrubber)
            r"(?:(?P<id>(?=(?:\d ?){8})\d{2,6}(?: \d{1,6}){1,3})(?![A-Za-z0-9_-]|\.\d| ?\d)|"
            + _ID_TOKEN.replace("(", "(?P<id>", 1)
            + _NA
            + ")"
        ),
        0.95,
        group="id",
        validator=_labelled_id,
    ),
    # A masked social security number's last four digits: "SSN xxx-xx-4471".
    Rule("MRN", rx.compile(r"(?<![\w*•-])[xX*•]{3}-[xX*•]{2}-(\d{4})(?![\w-])"), 0.85, group=1),
    # Any Korean "...번호" (number) label: 외래번호, 접수번호, 수진자번호, 면허번호: 제 88214호...
    Rule(
        "MRN",
        rx.compile(
            r"[가-힣]{1,6}\s?번호\s?[:#]?\s{0,3}(?:제\s?)?" + _ID_TOKEN + r"(?:(?=호)|" + _NA + ")"
        ),
        0.85,
        group=1,
        validator=_has_digits(4),
        prefilter=rx.compile("번호"),
    ),
    # A licence number without 번호: "(면허 제66120호)", "자격 제 2231호".
    Rule(
        "MRN",
        rx.compile(r"(?:면허|자격|등록|전문의|인증|허가)\s?[:#]?\s?제\s?(\d{3,8})(?=\s?호)"),
        0.85,
        group=1,
        prefilter=rx.compile("제"),
    ),
    # The other end of a range of ids: "subjects 07-0031 to 07-0054", "Subj 07-0031~0054".
    Rule(
        "MRN",
        rx.compile(
            r"(?i:subj(?:ect)?s?|participants?|samples?|specimens?|cases?)\s?(?:ID|No\.?|#)?\s?[:#]?\s?"
            r"[A-Za-z]{0,4}-?\d[\dA-Za-z-]*\s?(?:to|through|~|-|–)\s?([A-Za-z]{0,4}-?\d{2}[\dA-Za-z-]*)"
            + _NA
        ),
        0.85,
        group=1,
        validator=_has_digits(4),
    ),
    # The last four digits of a social security or card number: "SSN on file (last 4 4471)".
    Rule(
        "MRN",
        rx.compile(
            r"(?i:\b(?:SSN|social security|social|card|acct|account)\b[^\n]{0,20}?\blast\s?(?:4|four)"
            r"(?:\s?digits)?)\s?[:#(]?\s?(\d{4})(?!\d)"
        ),
        0.85,
        group=1,
    ),
    # A REDCap record: "REDCap note — record 118".
    Rule(
        "MRN",
        rx.compile(
            r"(?i:\bREDCap\b[^\n]{0,30}?\brecord(?:\s?(?:ID|#|no\.?))?)\s?[:#]?\s?(\d{1,8})(?!\d)"
        ),
        0.85,
        group=1,
    ),
    # A log row's number before a person's initials: "0031 — N.K. — eligible".
    Rule(
        "MRN",
        rx.compile(r"(?m:^)[ \t]*(\d{3,6})[ \t]?[—–|][ \t]?(?=(?:[A-Z]\.-?){2,3}[ \t]?[—–|])"),
        0.75,
        group=1,
    ),
    # A letter's reference, with slashes: "our ref GWP/25/11093", "Your ref: KH/ONC/2291".
    Rule(
        "MRN",
        rx.compile(
            r"(?i:\b(?:our|your|my)\s+ref(?:erence)?\.?(?:\s?(?:no\.?|#))?)\s?[:#]?\s{0,2}"
            r"([A-Za-z0-9]{1,8}(?:[/-][A-Za-z0-9]{1,10}){1,4})(?![\w/-])"
        ),
        0.85,
        group=1,
        validator=_has_digits(4),
    ),
    # A Korean court's case number: year, the kind of case in Hangul, serial ("2025느단10233",
    # "2024가합51234"): it names a party to the case.
    Rule(
        "MRN",
        rx.compile(
            r"(?<![\d가-힣])((?:19|20)\d{2}(?![년월일회차호명세개번층동])[가-힣]{1,3}\d{2,7})(?![\d가-힣])"
        ),
        0.8,
        group=1,
        name="court_case",
        prefilter=_CASE_KIND,
    ),
    # Specimen/record ids shaped like AB-1234567, NGS21-00421, GS18-79001.
    Rule(
        "MRN",
        rx.compile(
            _NB
            + r"([A-Z]{1,5}\d{0,3}(?:-[A-Z]{1,5})?(?:-[A-Z]?\d{2,4})?-\d{4,10}(?:-\d{1,3})?)"
            + _NA
        ),
        0.7,
        group=1,
        validator=_not_product_code,
    ),
    # A number in a patient header beside sex and age: "표태섭 / M / 71 / 3311-0928".
    # (on either side of "M / 71": a lookbehind of any width, which ``regex`` allows)
    Rule(
        "MRN",
        rx.compile(
            r"(?:(?<=(?:\b[MF]|남|여)\s?/\s?\d{1,3}\s?[/,]\s?)"
            r"|(?<![\d-])(?=\d{3,4}-\d{4,8}\s?/\s?(?:[MF]\b|남|여)\s?/\s?\d{1,3}))"
            # (after sex and age, a number without a hyphen too: "[김태곤/M/67/30918827]")
            r"(?:\d{3,4}-\d{4,8}|(?<=(?:\b[MF]|남|여)\s?/\s?\d{1,3}\s?[/,]\s?)\d{6,10})(?![\d-])"
        ),
        0.8,
    ),
    # Record numbers with a year or site prefix: 23-551207, 2019-004512, 91-004417.
    Rule(
        "MRN",
        rx.compile(r"(?<![A-Za-z0-9_.,:/-])(\d{2,4}-\d{5,8})(?![A-Za-z0-9_/-]|[.,]\d)"),
        0.5,
        group=1,
        validator=_bare_number_is_id,
    ),
    # A bare run of 7-12 digits in a note is an identifier of some kind.
    Rule(
        "MRN",
        rx.compile(r"(?<![A-Za-z0-9_.,:/-])(\d{7,12})(?![A-Za-z0-9_/-]|[.,]\d)"),
        0.5,
        group=1,
        validator=_bare_number_is_id,
    ),
]

# ---------------------------------------------------------------- insurance, passport, licence, accounts
_INS_LABELS = (
    "건강보험",
    "보험증",
    "보험번호",
    "insurance",
    "member id",
    "medicare",
    "mbi",
    "nhis",
    "policy",
    "subscriber",
    "요양기관",
)
_MBI = r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]{2}\d{2}"
INSURANCE_RULES = [
    Rule(
        "HEALTH_INSURANCE",
        rx.compile(
            r"(?i:건강보험증\s?번호|건강보험\s?번호|보험증\s?번호|보험\s?번호|보험증|"
            r"insurance\s?(?:no\.?|number|id|#)|member\s?(?:id|no\.?|number)?|medicare\s?(?:no\.?|number|id|#)?|"
            r"mbi|nhis\s?(?:no\.?|number|id)?|policy\s?(?:no\.?|number|#)|subscriber\s?id)"
            r"\s?[:#.]?\s{0,3}([A-Za-z0-9][A-Za-z0-9-]{5,20})" + _NA
        ),
        0.97,
        group=1,
        validator=_has_digits(4),
    ),
    Rule("HEALTH_INSURANCE", rx.compile(_NB + r"(" + _MBI + r")" + _NA), 0.8, group=1),
    Rule("HEALTH_INSURANCE", rx.compile(_NB + r"(\d-\d{10})" + _NA), 0.8, group=1),
    Rule(
        "HEALTH_INSURANCE",
        rx.compile(_NB + r"([A-Z]{3}\d{9})" + _NA),
        0.5,
        group=1,
        context=_INS_LABELS,
        context_window=40,
    ),
]

PASSPORT_RULES = [
    Rule(
        "PASSPORT",
        rx.compile(
            r"(?i:여권\s?번호|여권|passport\s?(?:no\.?|number|#)?)\s?(?:\([^()\n]{1,30}\)\s?)?[:#.]?\s{0,3}"
            r"([A-Z]{1,2}\d{7,8}|[A-Z]\d{3}[A-Z]\d{4}|\d{9}|\d{2} \d{7})" + _NA
        ),
        0.97,
        group=1,
    ),
    # Korean passports: M12345678 (old) and M123A4567 (since 2021).
    Rule(
        "PASSPORT", rx.compile(_NB + r"([MSRDG]\d{8}|[MSRDG]\d{3}[A-Z]\d{4})" + _NA), 0.7, group=1
    ),
]

_REGIONS = "서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산|세종"
DRIVER_LICENSE_RULES = [
    Rule(
        "DRIVER_LICENSE",
        rx.compile(
            r"(?<![A-Za-z0-9_-])((?:(?:" + _REGIONS + r")\s?\d{2}|\d{2}-\d{2})-\d{6}-\d{2})" + _NA
        ),
        0.95,
        group=1,
    ),
    Rule(
        "DRIVER_LICENSE",
        rx.compile(
            r"(?i:운전\s?면허\s?(?:증|번호)?|driver'?s?\s?licen[cs]e(?:\s?(?:no\.?|number|#))?|\bDL\s?(?:no\.?|#)?)"
            r"\s?[:#.]?\s{0,3}([A-Z0-9][A-Z0-9-]{5,18})" + _NA
        ),
        0.95,
        group=1,
        validator=_has_digits(5),
    ),
]


def luhn_ok(number: str) -> bool:
    """The Luhn check of payment card numbers."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _account_digits(m: rx.Match, text: str) -> bool:
    n = sum(c.isdigit() for c in str(m.group(1)))
    return 9 <= n <= 20


_BANKS = (
    "농협|국민|신한|우리|하나|기업|IBK|KB|SC제일|카카오뱅크|토스뱅크|우체국|새마을금고|신협|수협|"
    "부산|대구|경남|광주|전북|제주|씨티|케이뱅크|산업"
)
ACCOUNT_RULES = [
    Rule(
        "ACCOUNT",
        rx.compile(
            r"(?i:계좌\s?번호|계좌|account\s?(?:no\.?|number|#)?|acct\.?\s?(?:no\.?|#)?|"
            r"(?:credit|debit|payment)\s?card(?:\s?(?:no\.?|number|#))?|card\s?(?:no\.?|number|#)|카드\s?번호|카드)"
            r"\s?[:#.]?\s{0,3}(?:(?:" + _BANKS + r")(?:은행)?\s{1,3})?"
            r"(\d[\d -]{7,24}\d)" + _NA
        ),
        0.95,
        group=1,
        validator=_account_digits,
    ),
    Rule(
        "ACCOUNT",
        rx.compile(
            r"(?:(?:" + _BANKS + r")(?:은행)?)\s{1,3}(\d{2,6}-\d{2,6}-\d{2,7}(?:-\d{1,3})?)" + _NA
        ),
        0.9,
        group=1,
        validator=_account_digits,
    ),
    # Payment cards: 4 groups of 4 digits (Luhn raises the score).
    Rule("ACCOUNT", rx.compile(_NB + r"(\d{4}[- ]\d{4}[- ]\d{4}[- ]\d{4})" + _NA), 0.7, group=1),
    # Bank-account shapes: 3-6 / 2-6 / 4-7 digit groups, 10+ digits.
    Rule(
        "ACCOUNT",
        rx.compile(_NB + r"(\d{3,6}-\d{2,6}-\d{4,7}(?:-\d{1,3})?)" + _NA),
        0.45,
        group=1,
        validator=_account_digits,
    ),
]

# ---------------------------------------------------------------- network
_MAIL_PROVIDER_LIST = (
    "gmail naver daum hanmail kakao nate yahoo hotmail outlook icloud live msn korea "
    "hanafos empal dreamwiz paran chol lycos aol protonmail"
)
_MAIL_PROVIDERS = frozenset(_MAIL_PROVIDER_LIST.split())


def _spelled_email_ok(m: rx.Match, text: str) -> bool:
    """A mailbox, not words: the local part has a digit, a dot or an underscore, or the
    domain is a mail provider ("me at gmail dot com", not "looked at me dot com")."""
    local = m.group(0).split()[0]
    return bool(rx.search(r"[\d._]", local)) or m.group("domain").lower() in _MAIL_PROVIDERS


_TLD = r"(?:[a-z]{2,24})"
# URL characters: printable ASCII without quotes and brackets (a Korean particle ends the URL).
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]"
_URL_END = r"[A-Za-z0-9\-_~/#=%&+]"
NETWORK_RULES = [
    Rule(
        "EMAIL",
        rx.compile(
            r"(?<![A-Za-z0-9_.+-])[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\."
            + _TLD
            + r"(?![A-Za-z0-9_-])",
            rx.I,
        ),
        0.97,
    ),
    # An address written out to fool harvesters: "jhkim1972 at daum dot net".
    Rule(
        "EMAIL",
        rx.compile(
            r"(?<![A-Za-z0-9_.+-])[A-Za-z0-9_.+-]{2,40}\s?(?:\bat\b|\[at\]|\(at\))\s?"
            r"(?P<domain>[A-Za-z0-9-]{2,30})(?:\s?(?:\bdot\b|\[dot\]|\(dot\))\s?[A-Za-z]{2,10}){1,3}\b"
        ),
        0.85,
        validator=_spelled_email_ok,
        prefilter=rx.compile(r"\bdot\b|\[dot\]|\(dot\)"),
    ),
    Rule(
        "URL",
        rx.compile(r"(?i)(?:https?://|ftp://|www\.)" + _URL_CHARS + r"*" + _URL_END),
        0.95,
    ),
    # Bare domains with a path: blog.naver.com/someone, pf.kakao.com/_x.
    Rule(
        "URL",
        rx.compile(
            r"(?i)(?<![A-Za-z0-9_@./-])(?:[a-z0-9-]+\.)+(?:com|net|org|kr|io|me|co|ly|gl|tv|info|page|site)"
            r"/" + _URL_CHARS + r"*" + _URL_END
        ),
        0.85,
    ),
    Rule(
        "IP_ADDRESS",
        rx.compile(
            r"(?<![A-Za-z0-9_.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![A-Za-z0-9_]|\.\d)"
        ),
        0.9,
    ),
    Rule(
        "IP_ADDRESS",
        rx.compile(r"(?i)(?<![A-Za-z0-9_:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![A-Za-z0-9_:])"),
        0.9,
    ),
]

# ---------------------------------------------------------------- ages over 89


_TEMPERATURE_BEFORE = rx.compile(r"(?i)(?:\bBT|\btemp(?:erature)?|\bT|체온|fever|열)\s?[:=]?\s*$")


def _age_over_89(m: rx.Match, text: str) -> bool:
    if not 90 <= int(m.group("age")) <= 130:
        return False
    # "BT 101 F" is a temperature in Fahrenheit, not a 101-year-old woman.
    return _TEMPERATURE_BEFORE.search(text[max(0, m.start("age") - 14) : m.start("age")]) is None


_A = r"(?P<age>\d{2,3})"
AGE_RULES = [
    Rule(
        "AGE",
        rx.compile(r"(?<![\d.])" + _A + r"\s?(?:세|살)"),
        0.9,
        group="age",
        validator=_age_over_89,
    ),
    Rule(
        "AGE",
        rx.compile(
            r"(?i)(?<![\d.])" + _A + r"[\s-]?(?:years?|yrs?|y)[\s-]?(?:old|o(?![A-Za-z])|/o)"
        ),
        0.9,
        group="age",
        validator=_age_over_89,
    ),
    Rule(
        "AGE",
        rx.compile(r"(?i)(?:\b[MF]|\bmale|\bfemale|남|여|남자|여자)\s?/\s?" + _A + r"(?!\d|\.\d)"),
        0.85,
        group="age",
        validator=_age_over_89,
    ),
    Rule(
        "AGE",
        rx.compile(r"(?<![\d./])" + _A + r"\s?/?\s?(?:[MF]|남|여)(?![a-zA-Z])"),
        0.85,
        group="age",
        validator=_age_over_89,
    ),
    Rule(
        "AGE",
        rx.compile(r"(?i)(?:\bage[ds]?|\bage/sex|나이|연령|만)\s?[:=]?\s?" + _A + r"(?!\d|\.\d)"),
        0.85,
        group="age",
        validator=_age_over_89,
    ),
    # An apposition after a name: "her father Stanley Kowalczyk, 95, ...", "Pt Walter Simmons, 96."
    Rule(
        "AGE",
        rx.compile(r"\b[A-Z][a-z]+(?:-[a-z]+)?, " + _A + r"(?=[,;.)]\s|[,;)])"),
        0.7,
        group="age",
        validator=_age_over_89,
    ),
    # ...or in brackets after it: "Mrs. Kwak (93) is comfortable", "조부 김갑수(92)".
    Rule(
        "AGE",
        rx.compile(r"(?:\b[A-Z][a-z]+|[가-힣]{2,4})\s?\(" + _A + r"\)"),
        0.7,
        group="age",
        validator=_age_over_89,
    ),
]


# ---------------------------------------------------------------- ids in a list
_ID_SEPARATOR = rx.compile(r"[ \t]?(?:,|/|;|및|and|&)[ \t]?")
_ID_WORD = rx.compile(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9](?![\w-])")
_DIGIT = rx.compile(r"\d")
_LETTER = rx.compile(r"[A-Za-z]")


def _id_shape(value: str) -> str:
    return _LETTER.sub("A", _DIGIT.sub("9", value))


def listed_ids(
    text: str, found: list[tuple[str, int, int, float]]
) -> list[tuple[str, int, int, float]]:
    """The next items of a list that a found identifier opens, written in the same shape:
    "혈액번호 25-11-028811, 25-11-028812" (a label names the first only)."""
    out: list[tuple[str, int, int, float]] = []
    for etype, start, end, score in found:
        if etype != "MRN":
            continue
        shape = _id_shape(text[start:end])
        if sum(c == "9" for c in shape) < 4:
            continue
        pos = end
        while (sep := _ID_SEPARATOR.match(text, pos)) is not None:
            word = _ID_WORD.match(text, sep.end())
            if word is None or _id_shape(word.group(0)) != shape:
                break
            out.append(("MRN", word.start(), word.end(), score * 0.9))
            pos = word.end()
    return out + _repeated_ids(text, found)


# Identifiers whose value a note may give again without its label.
_REPEATABLE_IDS = frozenset(["MRN", "ACCOUNT", "PASSPORT", "HEALTH_INSURANCE", "DRIVER_LICENSE"])


def _repeated_ids(
    text: str, found: list[tuple[str, int, int, float]]
) -> list[tuple[str, int, int, float]]:
    """A found identifier's value said again elsewhere in the note, a whole word there:
    "대상자: KR-07-015 ... Finding: 대상자 KR-07-015 ICF" (six characters or more, digits
    among them: a short number may be anything)."""
    out: list[tuple[str, int, int, float]] = []
    seen: set[str] = set()
    for etype, start, end, score in found:
        value = text[start:end]
        if etype not in _REPEATABLE_IDS or value in seen or len(value) < 6:
            continue
        if sum(c.isdigit() for c in value) < 3:
            continue
        seen.add(value)
        at = text.find(value)
        while at >= 0:
            stop = at + len(value)
            inside = (at and text[at - 1].isalnum()) or (stop < len(text) and text[stop].isalnum())
            if at != start and not inside:
                out.append((etype, at, stop, score * 0.9))
            at = text.find(value, stop)
    return out
