"""Dates in Korean, ISO, European/US numeric and English forms, with a parser that
shifts a found date by N days and re-renders it in the same format."""

from __future__ import annotations

import datetime as _dt

import deid.text.recognizers.rx as rx
from deid.hierarchy.dates import DATE_UNITS, date_unit_label
from deid.text.recognizers.base import Rule, Validator

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MON = (
    r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"
)
# A weekday before a date ("Tue, 12 Mar 2024"): re-rendered for the shifted date.
_WD = (
    r"(?P<wd>(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs?)?|Fri|Sat(?:ur)?|Sun)(?:day)?|"
    r"MON|TUE|WED|THU|FRI|SAT|SUN)\.?,?\s+"
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_Y4 = r"(?P<y>(?:19|20)\d{2})"
_M = r"(?P<m>0?[1-9]|1[0-2])"
_D = r"(?P<d>0?[1-9]|[12]\d|3[01])"
# A year-less year reference (leap, so Feb 29 parses).
_REF_YEAR = 2000

DATE_PATTERNS: tuple[tuple[str, rx.Pattern, float], ...] = (
    # 2021-03-05, 2021.03.05, 2021/3/5, 2021. 3. 5.
    (
        "ymd",
        rx.compile(
            r"(?<![\d.])"
            + _Y4
            + r"(?P<s>[-./])\s?"
            + _M
            + r"(?P=s)\s?"
            + _D
            + r"(?!\d)(?:\.(?!\d))?"
        ),
        0.95,
    ),
    # 20210305 with a date label nearby is handled by the MRN/bare-number rule.
    # (A pattern that opens on a digit says so first, "(?=\d)": its look-behind and groups are
    # then tried only there.)
    # 03/05/2021 (US) and 25/03/2021 (day first).
    (
        "mdy",
        rx.compile(r"(?=\d)(?<![\d./-])" + _M + r"(?P<s>[-/.])" + _D + r"(?P=s)" + _Y4 + r"(?!\d)"),
        0.95,
    ),
    (
        "dmy",
        rx.compile(r"(?=\d)(?<![\d./-])" + _D + r"(?P<s>[-/.])" + _M + r"(?P=s)" + _Y4 + r"(?!\d)"),
        0.9,
    ),
    # 21/3/5, 24/11/22, 21.03.05 (two-digit year first).
    (
        "ymd2",
        rx.compile(
            r"(?<![\d./:-])['’]?(?P<y>\d{2})(?P<s>[-/.])"
            + _M
            + r"(?P=s)"
            + _D
            + r"(?![\d/:]|[.-]\d)"
        ),
        0.8,
    ),
    # '25. 12. 1.: a two-digit year after an apostrophe, dots and spaces (Korean forms).
    (
        "ymd2",
        rx.compile(r"['’](?P<y>\d{2})(?P<s>\.)\s?" + _M + r"\.\s?" + _D + r"(?!\d)\.?"),
        0.85,
    ),
    # 3/9/21 (US, two-digit year last; slashes only).
    (
        "mdy2",
        rx.compile(r"(?<![\d./:-])" + _M + r"(?P<s>/)" + _D + r"/(?P<y>\d{2})(?![\d/]|\.\d)"),
        0.8,
    ),
    # 2021년 3월 5일, 21년 3월 5일
    (
        "ko_ymd",
        rx.compile(r"(?P<y>(?:19|20)?\d{2})\s?년\s?" + _M + r"\s?월\s?" + _D + r"\s?일"),
        0.95,
    ),
    # 2019.05, 2019-05: a year and a two-digit month (not a third part after it)
    (
        "ym",
        rx.compile(r"(?<![\d.\-/])" + _Y4 + r"(?P<s>[.-])(?P<m>0[1-9]|1[0-2])(?![\d]|[.\-/]\d|%)"),
        0.8,
    ),
    # 2021년 3월
    ("ko_ym", rx.compile(r"(?P<y>(?:19|20)\d{2})\s?년\s?" + _M + r"\s?월(?!\s?\d)"), 0.85),
    # 3월 5일
    ("ko_md", rx.compile(r"(?<![\d.])" + _M + r"\s?월\s?" + _D + r"\s?일"), 0.9),
    # March 5, 2021 / Mar. 5th 2021
    (
        "mon_d_y",
        rx.compile(
            r"\b"
            + _MON
            + r"\.?(?:\s+|-)"
            + _D
            + r"(?P<ord>st|nd|rd|th)?(?:,?\s+|-)"
            + _Y4
            + r"(?!\d)"
        ),
        0.95,
    ),
    # Tue, 12 Mar 2024 / Tuesday, March 12, 2024
    (
        "wd_d_mon_y",
        rx.compile(
            r"\b" + _WD + _D + r"(?P<ord>st|nd|rd|th)?\s+" + _MON + r"\.?,?\s+" + _Y4 + r"(?!\d)"
        ),
        0.95,
    ),
    (
        "wd_mon_d_y",
        rx.compile(
            r"\b" + _WD + _MON + r"\.?\s+" + _D + r"(?P<ord>st|nd|rd|th)?,?\s+" + _Y4 + r"(?!\d)"
        ),
        0.95,
    ),
    # April 2-5, 2024 (a range of days in one month)
    (
        "mon_dd_y",
        rx.compile(
            r"\b"
            + _MON
            + r"\.?\s+"
            + _D
            + r"\s?[-–~]\s?(?P<d2>0?[1-9]|[12]\d|3[01])(?:,?\s+)"
            + _Y4
            + r"(?!\d)"
        ),
        0.95,
    ),
    # 5 March 2021, 3rd of December 2025 (British letters)
    (
        "d_mon_y",
        rx.compile(
            r"(?=\d)(?<!\d)"
            + _D
            + r"(?P<ord>st|nd|rd|th)?\s+(?:of\s+)?"
            + _MON
            + r"\.?,?\s+"
            + _Y4
            + r"(?!\d)"
        ),
        0.95,
    ),
    # 05-Mar-2021
    ("d_mon_y", rx.compile(r"(?<!\d)" + _D + r"-" + _MON + r"-" + _Y4 + r"(?!\d)"), 0.95),
    # 01DEC2025, 14Nov2025 (run together, as lab and radiology systems print them)
    (
        "d_mon_y",
        rx.compile(r"(?=\d)(?<![\dA-Za-z])" + _D + _MON + _Y4 + r"(?![\dA-Za-z])"),
        0.9,
    ),
    # March 2021
    ("mon_y", rx.compile(r"\b" + _MON + r"\.?,?\s+" + _Y4 + r"(?!\d)"), 0.8),
    # 8/2026, 03/2025: a month and a four-digit year
    ("m_y", rx.compile(r"(?<![\d/.-])" + _M + r"/" + _Y4 + r"(?![\d/])"), 0.8),
    # 18 Mar 25, 19-Mar-25 (two-digit year)
    (
        "d_mon_y2",
        rx.compile(
            r"(?=\d)(?<![\d.,/-])" + _D + r"(?P<s>[ -])" + _MON + r"(?P=s)(?P<y>\d{2})(?![\d:])"
        ),
        0.85,
    ),
    # 19-Mar, Mar-19 (no year)
    ("d_mon", rx.compile(r"(?<![\d.,/-])" + _D + r"-" + _MON + r"\b(?!-\d)"), 0.8),
    ("mon_d", rx.compile(r"\b" + _MON + r"-" + _D + r"(?![\d-])"), 0.8),
    # 5 March, 24th February (no year)
    (
        "d_mon",
        rx.compile(
            r"(?=\d)(?<![\d.,/-])" + _D + r"(?P<ord>st|nd|rd|th)?\s" + _MON + r"\b\.?(?!,?\s?\d)"
        ),
        0.8,
    ),
    # March 5 (no year)
    (
        "mon_d",
        # (a comma after it only before a number: "March 20, nights" is a date; a time may
        # follow: "November 12, 10:30")
        rx.compile(
            r"\b" + _MON + r"\.?\s+" + _D + r"(?P<ord>st|nd|rd|th)?(?![\d:]|,\s?(?!\d{1,2}:)\d)"
        ),
        0.8,
    ),
    # 9/5경부터, 3/2 퇴원: month/day without year, only before a Korean time word.
    (
        "md",
        rx.compile(
            r"(?<![\d./:-])"
            + _M
            + r"/"
            + _D
            + r"(?![\d/])(?=\s?(?:경|부터|일|에\b|까지|~|퇴원|입원|내원|수술|외래|재진|예정))"
        ),
        0.7,
    ),
)


def _year_full(y: str) -> int:
    n = int(y)
    if len(y) == 4:
        return n
    return 2000 + n if n <= 50 else 1900 + n


def parse_date(kind: str, m: rx.Match) -> _dt.date | None:
    """The date a match denotes (year-less dates get the reference year)."""
    gd = m.groupdict()
    try:
        year = _year_full(gd["y"]) if gd.get("y") else _REF_YEAR
        month = _MONTHS[gd["mon"][:3].lower()] if gd.get("mon") else int(gd["m"])
        # Month-only dates shift from mid-month, so +-2 weeks keeps the month.
        day = int(gd["d"]) if gd.get("d") else 15
        return _dt.date(year, month, day)
    except (ValueError, KeyError):
        return None


def _validator(kind: str) -> Validator:
    def check(m: rx.Match, text: str) -> bool:
        return parse_date(kind, m) is not None

    return check


# 10/15 after a word that schedules or dates something ("다음 회의 10/15", "f/u 3/2", "예약일: 4/7").
MD_AFTER_WORD = rx.compile(
    r"(?:회의|예약|예약일|외래|재진|진료|방문|내원|입원|퇴원|수술|시술|검사|일자|일시|날짜|발병|발생|촬영|접종|"
    r"예정|메모|기록|[Ff]/[Uu]|[Ff]ollow-?up|[Nn]ext visit|[Aa]ppt\.?|[Aa]ppointment|[Ss]cheduled|[Dd]ate|"
    r"DOS|seen on|[Rr]eturned call:?[^\n]{0,40}?|[Ll]ast \w+ [\d.]+ on|설명|교육|상담|통화|작성)"
    r"일?\s?[:：]?\s?(?P<md>(?<![\d./:-])" + _M + r"/" + _D + r")(?![\d/]|\.\d)"
)

# 12.16~12.20, 3/2-3/9: a range of month/days (both ends are dates).
_M_ = r"(?:0?[1-9]|1[0-2])"
_D_SLASH = r"(?:0?[1-9]|[12]\d|3[01])"
_D_DOT = r"(?:0[1-9]|[12]\d|3[01])"  # with a dot, two-digit days only: "10.5-11.2" is a lab range
_DOSE = r"(?!\s?(?:tabs?|T\b|caps?|amps?|vials?|cups?|doses?|정|알|앰플|포|컵|회분))"
# (every branch opens on the month's digit: "(?=\d)" spares the look-behinds elsewhere)
MD_RANGE = rx.compile(
    r"(?=\d)(?:(?<![\d./:-])(?P<md>(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01]))"
    rf"(?=\s?[~–-]\s?{_M_}/{_D_SLASH}(?![\d/.]){_DOSE})"
    rf"|(?<={_M_}/{_D_SLASH}\s?[~–-]\s?)(?P<md>(?P<m>0?[1-9]|1[0-2])/(?P<d>{_D_SLASH}))"
    rf"(?![\d/.]){_DOSE}"
    r"|(?<![\d./:-])(?P<md>(?P<m>0?[1-9]|1[0-2])\.(?P<d>0[1-9]|[12]\d|3[01]))"
    rf"(?=\s?[~–-]\s?{_M_}\.{_D_DOT}(?![\d/.]))"
    rf"|(?<={_M_}\.{_D_DOT}\s?[~–-]\s?)(?P<md>(?P<m>0?[1-9]|1[0-2])\.(?P<d>{_D_DOT}))(?![\d/.]))"
)
# 9/15 → 9/17: a date moved to another (both ends month/days, no score on the line:
# "pain 6/10 → 3/10", "power 3/5 → 4/5" stay).
MD_ARROW = rx.compile(
    r"(?<![\d./:-])(?P<a>(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01]))\s?(?:→|->|=>)\s?"
    r"(?P<b>(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))(?![\d/]|\.\d)"
)


def _md_arrow(m: rx.Match, text: str) -> bool:
    line_start = text.rfind("\n", 0, m.start()) + 1
    if _SCORED_LINE.search(text, line_start, m.end()) is not None:
        return False
    before = text[max(line_start, m.start() - 24) : m.start()]
    if _MD_SCORE_BEFORE.search(before) or _MD_COUNT_AFTER.match(text, m.end()):
        return False
    return all(
        (end := _MD_PAIR.fullmatch(m.group(k))) is not None and parse_date("md", end) is not None
        for k in ("a", "b")
    )


_ARROW_FROM = rx.compile(r"\d{1,2}/\d{1,2}\s?(?:→|->|=>|~)\s?$")
_MD_PAIR = rx.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})")


# | 9/22 | 9/23 | 9/24 |: month/days as the column heads of a flowsheet (two or more in
# cells of their own on one line, and no score on it: "| power | 4/5 | 5/5 |" stays).
MD_CELL = rx.compile(
    r"(?<=[|\t][ \t]{0,2})(?P<md>(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01]))(?=[ \t]{0,2}[|\t])"
)


def _md_cell(m: rx.Match, text: str) -> bool:
    line_start = text.rfind("\n", 0, m.start()) + 1
    line_end = text.find("\n", m.end())
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if _SCORED_LINE.search(line) or _MD_SCORE_BEFORE.search(
        line.split("|")[1] if "|" in line else ""
    ):
        return False
    cells = [c.strip() for c in rx.split(r"[|\t]", line) if c.strip()]
    dates = [c for c in cells if _MD_PAIR.fullmatch(c)]
    return len(dates) >= 2 and len(dates) >= len(cells) - 1 and _md_around(m, text) is not None


# 11/19-20: a month/day and the day a night shift or a stay ends on.
MD_DAY_RANGE = rx.compile(
    r"(?<![\d./:-])(?P<md>(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01])-(?P<d2>[0-3]?\d))"
    r"(?![\d/.]|[A-Za-z])"
)


def _md_day_range(m: rx.Match, text: str) -> bool:
    return int(m.group("d")) < int(m.group("d2")) <= 31 and _md_alone(m, text)


# 12/9(월), 3.14 (Thu): a month/day with its day of the week after it.
MD_BEFORE_WEEKDAY = rx.compile(
    r"(?=\d)(?<![\d./:-])(?P<md>"
    + _M
    + r"[/.]"
    + _D
    + r"\.?)(?![\d/]|\.\d)(?=\s?\(?(?:[월화수목금토일](?:요일)?|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?\))"
)

# 6/18 14:20: a month/day with a time of day after it; 11.30 05:20 only opening a line (a
# lab value is written so too: "K 3.5 08:00").
MD_BEFORE_TIME = rx.compile(
    r"(?=[\d \t\[])(?:(?<![\d./:-])(?P<md>"
    + _M
    + r"/"
    + _D
    + r")|^[ \t\[]*(?P<md>"
    + _M
    + r"\."
    + _D
    + r")|(?<![\d./:-])(?P<md>(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01])))"
    r"(?![\d/-]|\.\d)(?=\]?,?\s(?:[01]?\d|2[0-3]):[0-5]\d(?:\b|[AaPp][Mm]))",
    rx.M,
)

# 2/12, 02/05, (1/21): a month/day on its own. A slash of small numbers is as often a
# score, a count or a dose (NRS 3/10, LN 2/12, 1/2 tab), so it needs a sign of a date:
# a leading zero, a word of time before it or after it, parentheses of its own, or the
# opening of a line; and no sign of a score or count around it.
MD_ALONE = rx.compile(r"(?<![\d./:\-A-Za-z])(?P<md>" + _M + r"/" + _D + r")(?![\d/]|\.\d|[A-Za-z])")
# 3.19 D근무, 03.18: with a dot, a two-digit day and a stronger sign (a value is written so)
MD_DOT_ALONE = rx.compile(
    r"(?<![\d./:\-A-Za-z])(?P<md>(?P<m>0?[1-9]|1[0-2])\.(?P<d>0[1-9]|[12]\d|3[01]))"
    r"(?![\d/]|\.\d|[A-Za-z%])"
)
_MD_TIME_BEFORE = rx.compile(
    r"(?:^|[\s(\[#])(?i:on|since|until|till|onset|dated|through|thru|as of|starting|started|"
    r"effective|expected|planned|last|next|post|prior|admitted|discharged|readmitted|"
    r"transferred|died|expired|born|vaccinated|operated|D/C|d/c|adm|disch|tx|ERCP|op|OP|"
    r"hospitali[sz]ed|seen|called|notified|enrolled|randomi[sz]ed|consented|dosed|shift|duty|from|"
    # the end of a range of dates: "from 10/28 to 11/1"
    r"\d{1,2}/\d{1,2}\s(?:to|until|till|through|thru)|"
    r"d\.|b\.|DOD|recheck|repeat|due|enc|encounter|tel|"
    # an examination before its date: "Chest CT 9/8", "MRI 3/2", "echo 4/11"
    r"CT|MRI|MR|CXR|X-?ray|US|echo|ECG|EKG|EEG|PET|scan|biopsy|EGD|colonoscopy|labs?|culture|ED|ER|"
    r"ICU|MICU|SICU|CCU|NICU|PICU|PACU|"
    r"entry for|addendum for|note for|charting for|"
    r"completed|performed|done|placed|drawn|collected|obtained|reviewed|signed|updated|"
    # the title of a note or log before its date: "Nursing note 3/17", "Handoff 3/17"
    r"(?i:note|notes|summary|handoff|hand-off|visit|call|memo|log|record|report|rounds?|update|"
    r"entry|admit|admission|discharge|received|sent|reported|faxed|mailed|returned)|"
    # a Korean record's title before its date: "상담기록 12.05", "다음 면담 12/12"
    r"[가-힣]{0,4}(?:기록|일지|면담|상담|회신|통화|메모)|시작|종료|부터|까지|일자|날짜|일시|[가-힣]{2,8}\s?[:：]|"
    # what is done on a day, before its date in brackets too: "담낭절제술 시행(11/25, ...)"
    r"시행|수술|시술|촬영|채혈|접종|입원|퇴원|내원)"
    r"[\s:(]{1,2}$"
)
_MD_TIME_AFTER = rx.compile(
    r"\s?(?:오전|오후|새벽|아침|저녁|밤|[DEN]?근무|듀티|당직|오프|휴무|휴가|OFF|[Oo]ff\b|[AaPp]\.?[Mm]\.?\b|morning|evening|night|"
    r"에|부터|까지|경|이후|이전|전후|재검|예정|퇴원|입원|내원|수술|시술|시행|촬영|검사|"
    r"발생|발병|시작|중단|방문|진료|외래|재진|예약|전화|통화|상담|면담|연락|교육|회진|협진|회신|경과|"
    r"onwards|onward|\d{1,2}\s?시(?!간))"
)
_MD_SCORE_BEFORE = rx.compile(
    r"(?i:\b(?:NRS|VAS|pain|power|grade|gr|apgar|gcs|mmt|motor|murmur|score|scale|ratio|LNs?|"
    r"nodes?|cores?|positive|negative|of|x|mallampati|ecog|gds|mmse|cdr|phq-?\d*|strength|"
    r"reflex(?:es)?|dilat\w*|effaced|station|sats?|tabs?|dose|doses|vials?)\b)[^\n\d]{0,6}$"
    r"|(?:점수|통증|근력|양성|림프절|개|절|정|알|포)\s?[:：]?\s?$"
)
_MD_COUNT_AFTER = rx.compile(
    # (a dose after it too: "1/2 1000 mg")
    r"\s?\d[\d,.]*\s?(?:mg|mcg|ml|mL|cc|g\b|U\b|IU|units?|tabs?|정|알|포)"
    # (a range of fractions of a dose: "from 1/2 to 3/4 tab")
    r"|\s?(?:to|-|~)\s?\d{1,2}/\d{1,2}\s?(?:tabs?\b|T\b|caps?\b|[a-z]{0,2}[gl]\b|정|알|포)"
    r"|\s?(?:of\b|tabs?\b|T\b|caps?\b|positive|negative|nodes?|LNs?\b|cores?|"
    r"[a-z]{0,2}[gl]\b|(?:점|개|정|알|포|앰플|회)(?![가-힣])|cm|mm)"
)


_MILITARY_TIME_AFTER = rx.compile(
    r"[ \t](?:[01]\d|2[0-3])[0-5]\d(?![\d.,])(?!\s?(?:mg|mcg|ml|mL|cc|g\b|U\b|u\b|IU|units?|명|원|개|cells))"
)
# (scales scored as a fraction too: "Apgar history 6/8", "Katz ADL 5/6, Lawton IADL 4/8")
_SCORED_LINE = rx.compile(
    r"(?i:pain|nrs|vas|score|통증|apgar|i?adls?\b|mmse|moca|barthel|katz|lawton|bishop|gcs\b|"
    r"braden|morse|phq|gad-?7|epworth|mini-cog|cores\b|power\b|strength)|\d/10\b"
)


_VALUE_BEFORE = rx.compile(r"[\d%]\s?$")
_LAB_BEFORE = rx.compile(r"(?:\b[A-Za-z][A-Za-z0-9-]{0,5}\s?[:=]?|→|->|~|[<>≥≤])\s?$")


def _md_around(m: rx.Match, text: str) -> tuple[int, str, str] | None:
    """(line start, text before, text after) of a month/day that parses and has no score
    or count word next to it; None otherwise."""
    if parse_date("md", m) is None:
        return None
    s, e = m.span("md")
    line_start = text.rfind("\n", 0, s) + 1
    before, after = text[max(line_start, s - 24) : s], text[e : e + 12]
    if _MD_SCORE_BEFORE.search(before) or _MD_COUNT_AFTER.match(after):
        return None
    # the second of two values: "power 3/5 → 4/5" is a score as its first is
    earlier = _ARROW_FROM.search(before)
    if earlier is not None and _MD_SCORE_BEFORE.search(before[: earlier.start()]):
        return None
    return line_start, before, after


# 04-09 after "hospitalized": a month-day with a hyphen, both numbers of two digits, the
# month with its leading zero, and a word of time next to it (an id or a range is written
# so too: "Subject 07-114", "pages 10-12").
MD_DASH_ALONE = rx.compile(
    r"(?<![\d./:\-A-Za-z])(?P<md>(?P<m>0[1-9])-(?P<d>0[1-9]|[12]\d|3[01]))(?![\d/-]|\.\d|[A-Za-z])"
)


def _md_dash_alone(m: rx.Match, text: str) -> bool:
    around = _md_around(m, text)
    if around is None:
        return False
    _, before, after = around
    return bool(_MD_TIME_BEFORE.search(before) or _MD_TIME_AFTER.match(after))


_DATE_ROW_BEFORE = rx.compile(
    r"\d{4}[./-]\d{1,2}[./-]\d{1,2}\.?(?:,[ \t]?\d{1,2}\.\d{2}\.?)*,[ \t]?$"
)
_TIME_CLOSING = rx.compile(r"[ \t](?:[01]?\d|2[0-3]):[0-5]\d\)")


def _md_dot_alone(m: rx.Match, text: str) -> bool:
    around = _md_around(m, text)
    if around is None:
        return False
    line_start, before, after = around
    if m.group("m").startswith("0"):
        return True
    if _LAB_BEFORE.search(before):
        return False  # a lab value: "Hb 10.12 오후", "Cr 1.19 → 1.20"
    # a signature's date: "상담: 남예린 사회복지사 / 3.19" closing the line
    signed = before.rstrip().endswith("/") and rx.match(r"[ \t]*(?:\n|$)", after) is not None
    # opening a line before Korean words: "11.26 신경과 협진 회신" (a value follows its name)
    opens_korean_line = not before.strip(" \t[-*•#") and rx.match(r" [가-힣]", after) is not None
    # in brackets of its own after words, not after a value's name: "외래 초진 (10.07)"
    # (a time may share its brackets: "보호자 전화 (12.06 19:40)")
    alone_in_parens = (
        before.endswith("(")
        and (after.startswith(")") or _TIME_CLOSING.match(after) is not None)
        and not _LAB_BEFORE.search(before[:-1])
        and not _VALUE_BEFORE.search(before[:-1])  # "Cr 1.2 (1.05)": an earlier value
    )
    # the next of a row of dates after a full one: "통원일: 2025.11.03, 11.10, 11.17"
    in_row = _DATE_ROW_BEFORE.search(text, line_start, m.start("md")) is not None
    return bool(
        signed
        or in_row
        or opens_korean_line
        or alone_in_parens
        or _MD_TIME_AFTER.match(after)
        or _MILITARY_TIME_AFTER.match(after)
        or (_MD_TIME_BEFORE.search(before) and not before.rstrip().endswith(":"))
    )


def _md_alone(m: rx.Match, text: str) -> bool:
    around = _md_around(m, text)
    if around is None:
        return False
    line_start, before, after = around
    s = m.start("md")
    zero = m.group("m").startswith("0") or m.group("d").startswith("0")
    # a line that scores pain ("Pain 6/10 ... Reassessed 2230: 3/10.") gives the weak signs
    # below (brackets, a line's opening or end) no weight
    scored = _SCORED_LINE.search(text, line_start, s) is not None
    alone_in_parens = before.endswith("(") and after.startswith(")")
    opens_line = not before.strip(" \t-*•#[") and after[:1] in (" ", "\t", ")", "]", "")
    # closing a line or a sentence: "[물리치료 경과] 3/5", "privacy officer notified 3/5."
    closes_line = rx.match(r"[ \t]*(?:\.?[ \t]*(?:\n|$)|\.[ \t]+[-–—(A-Z가-힣])", after) is not None
    # a 24-hour time without a colon after it: "Nursing note 3/17 1530" (not "1/2 1000 mg")
    military_time = _MILITARY_TIME_AFTER.match(after) is not None
    return bool(
        zero
        or (not scored and (alone_in_parens or opens_line or closes_line))
        or military_time
        or _MD_TIME_BEFORE.search(before)
        or _MD_TIME_AFTER.match(after)
    )


# A date in words, as speech-to-text writes it: "march third nineteen seventy two",
# "June 21st, two thousand and five". (Not parsed: redacted, never shifted.)
_ORDINAL_WORDS = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"twenty[ -](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|"
    r"thirty[ -]first"
)
_UNIT_WORDS = r"one|two|three|four|five|six|seven|eight|nine"
_YEAR_WORDS = (
    rf"(?:nineteen|twenty)[ -](?:(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    rf"seventeen|eighteen|nineteen)|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    rf"(?:[ -](?:{_UNIT_WORDS}))?|o[h]?[ -](?:{_UNIT_WORDS}))"
    rf"|two thousand(?:[ -](?:and[ -])?(?:{_UNIT_WORDS}|ten|eleven|twelve|thirteen|fourteen|"
    rf"fifteen|sixteen|seventeen|eighteen|nineteen|twenty(?:[ -](?:{_UNIT_WORDS}))?))?"
)
SPOKEN_DATE = rx.compile(
    r"(?i:\b(?:january|february|march|april|may|june|july|august|september|october|november|"
    rf"december)[ ](?:the[ ])?(?:{_ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th)?)"
    rf"(?:,?[ ](?P<year>{_YEAR_WORDS}))?)(?![a-z])"
)


# A day of a month named relatively: "지난달 28일", "다음 달 3일" (not parsed: redacted,
# never shifted).
KO_RELATIVE_MONTH_DAY = rx.compile(
    r"(?<![가-힣])(?:지난\s?달|지난\s?월|이번\s?달|다음\s?달|전월|금월|익월)\s?(?:[1-9]|[12]\d|3[01])일(?!\s?(?:간|동안|째))"
)
# A day of this month by its ordinal: "The cast can come off on the 17th." (not "on the
# 3rd day", "by the 2nd attempt": no word may follow it). Not parsed: redacted, never shifted.
ORDINAL_DAY = rx.compile(
    r"\b(?:on|by|until|till|from|after|before|since)[ \t](?P<day>the[ \t](?:[1-9]|[12]\d|3[01])"
    r"(?:st|nd|rd|th))(?=[ \t]?[.,;)]|[ \t]*(?:\n|$)|[ \t](?:at|or|and|to|until)\b)"
)


def _spoken_ok(m: rx.Match, text: str) -> bool:
    """Not a verb: "may first be seen", "march second" need a year after them."""
    month = m.group(0).split()[0]
    return not (month in ("may", "march") and m.group("year") is None)


DATE_RULES = [
    Rule("DATE", rx, score, validator=_validator(kind), name=kind)
    for kind, rx, score in DATE_PATTERNS
] + [
    Rule("DATE", MD_AFTER_WORD, 0.7, group="md", validator=_validator("md"), name="md_after_word"),
    Rule(
        "DATE", MD_BEFORE_TIME, 0.7, group="md", validator=_validator("md"), name="md_before_time"
    ),
    Rule("DATE", MD_RANGE, 0.7, group="md", validator=_validator("md"), name="md_range"),
    Rule("DATE", MD_ALONE, 0.65, group="md", validator=_md_alone, name="md_alone"),
    Rule("DATE", MD_DOT_ALONE, 0.6, group="md", validator=_md_dot_alone, name="md_dot_alone"),
    Rule("DATE", MD_DASH_ALONE, 0.6, group="md", validator=_md_dash_alone, name="md_dash_alone"),
    Rule("DATE", MD_DAY_RANGE, 0.65, group="md", validator=_md_day_range, name="md_day_range"),
    Rule("DATE", MD_CELL, 0.65, group="md", validator=_md_cell, name="md_cell"),
    Rule("DATE", MD_ARROW, 0.65, group="a", validator=_md_arrow, name="md_arrow_from"),
    Rule("DATE", MD_ARROW, 0.65, group="b", validator=_md_arrow, name="md_arrow_to"),
    Rule(
        "DATE",
        MD_BEFORE_WEEKDAY,
        0.7,
        group="md",
        validator=_validator("md"),
        name="md_before_weekday",
    ),
    Rule("DATE", SPOKEN_DATE, 0.8, validator=_spoken_ok, name="spoken"),
    Rule("DATE", ORDINAL_DAY, 0.6, group="day", name="ordinal_day"),
    Rule("DATE", KO_RELATIVE_MONTH_DAY, 0.65, name="ko_relative_month_day"),
]


def _render_month_name(orig: str, month: int) -> str:
    full = _MONTH_NAMES[month - 1]
    if orig.isupper():
        return full[:3].upper() if len(orig) <= 4 else full.upper()
    if len(orig) >= len(_MONTH_NAMES[_MONTHS[orig[:3].lower()] - 1]) and len(orig) > 4:
        return full
    return full if orig in _MONTH_NAMES else full[:3]


def _ordinal(day: int) -> str:
    """The English ordinal suffix of a day: 1st, 2nd, 3rd, 11th, 22nd."""
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _render_weekday(orig: str, weekday: int) -> str:
    full = _WEEKDAYS[weekday]
    word = full if len(orig) > 4 and orig[:1].isupper() and not orig.isupper() else full[:3]
    return word.upper() if orig.isupper() else word


# For re-parsing a found date: patterns whose detection needs a lookahead outside the span.
_PARSE_ONLY: tuple[tuple[str, rx.Pattern, float], ...] = (
    ("md", rx.compile(_M + r"[/.-]" + _D + r"\.?"), 0.0),
)


def shift_date_text(text: str, days: int) -> str | None:
    """``text`` (one date as found) shifted by ``days``, in the same format; None if unparseable."""
    for kind, pattern, _ in DATE_PATTERNS + _PARSE_ONLY:
        m = pattern.fullmatch(text.strip())
        if m is None:
            continue
        d = parse_date(kind, m)
        if d is None:
            continue
        new = d + _dt.timedelta(days=days)
        gd = m.groupdict()
        if not gd.get("y") and new.year != _REF_YEAR:
            # Year-less dates keep their own calendar arithmetic.
            new = new.replace(year=_REF_YEAR) if not (new.month == 2 and new.day == 29) else new
        pad = any(gd.get(k) and len(gd[k]) == 2 and gd[k].startswith("0") for k in ("m", "d"))
        if not pad and gd.get("m") and gd.get("d") and kind in ("ymd", "mdy", "dmy", "ymd2"):
            pad = len(gd["m"]) == 2 and len(gd["d"]) == 2
        values: dict[str, str] = {}
        if gd.get("y"):
            values["y"] = f"{new.year % 100:02d}" if len(gd["y"]) == 2 else f"{new.year:04d}"
        if gd.get("m"):
            values["m"] = f"{new.month:02d}" if pad else str(new.month)
        if gd.get("d"):
            values["d"] = f"{new.day:02d}" if pad else str(new.day)
        if gd.get("mon"):
            values["mon"] = _render_month_name(gd["mon"], new.month)
        if gd.get("wd"):
            values["wd"] = _render_weekday(gd["wd"], new.weekday())
        if gd.get("ord"):
            values["ord"] = _ordinal(new.day)
        if gd.get("d2"):
            end = (
                d.replace(day=int(gd["d2"])) + _dt.timedelta(days=days)
                if int(gd["d2"]) >= d.day
                else None
            )
            if end is None or (end.year, end.month) != (new.year, new.month):
                return None  # a range that now spans two months: the caller tags it
            values["d2"] = str(end.day)
        # Rebuild the matched string group by group.
        spans = sorted((m.span(k), k) for k in values)
        out, pos = [], 0
        src = m.string
        for (s, e), k in spans:
            out.append(src[pos:s])
            out.append(values[k])
            pos = e
        out.append(src[pos:])
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        return lead + "".join(out) + trail
    return None


def generalize_date_text(text: str, days: int | None, level: str) -> str | None:
    """``text`` (one date as found) shifted by ``days`` and written at ``level``.

    ``level`` is a date unit of the release's tables (``day`` keeps the note's own
    format; ``month`` -> ``2021-03``, ``quarter`` -> ``2021-Q1``, ``half``, ``year``,
    ``decade``); None when the date cannot be rendered that way (no year in the
    text, unparseable, or ``*``): the caller puts a tag there.
    """
    if level == "day":
        return shift_date_text(text, days or 0)
    if level in ("*", "") or (days is None and level not in ("year", "decade")):
        return None
    for kind, pattern, _ in DATE_PATTERNS + _PARSE_ONLY:
        m = pattern.fullmatch(text.strip())
        if m is None:
            continue
        if not m.groupdict().get("y"):
            return None  # a year-less date cannot be placed in a month of the tables
        d = parse_date(kind, m)
        if d is None:
            continue
        new = d + _dt.timedelta(days=days or 0)
        return date_unit_label(new, level) if level in DATE_UNITS else None
    return None
