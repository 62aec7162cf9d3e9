"""Recognizer logic: validation, context, formats, and what must NOT be flagged."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.text import Scrubber
from deid.text.recognizers import luhn_ok, rrn_checksum_ok, rrn_date_ok, shift_date_text
from deid.text.recognizers.names import find_korean_names

from .shapes import found as _found


def _mk_rrn(prefix12: str) -> str:
    for d in range(10):
        if rrn_checksum_ok(prefix12 + str(d)):
            return prefix12 + str(d)
    raise AssertionError


def test_rrn_checksum_and_date() -> None:
    good = _mk_rrn("790412123456")
    assert rrn_date_ok(good)
    assert rrn_checksum_ok(good)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not rrn_checksum_ok(bad)
    assert not rrn_date_ok("7913321234567")  # month 13
    assert not rrn_date_ok("7902301234567")  # 30 February


def test_rrn_detection_with_and_without_hyphen(scrubber: Scrubber) -> None:
    good = _mk_rrn("520830234567")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    text = f"주민번호 {good[:6]}-{good[6:]} 확인. 보관번호 {bad} 와 {good} 기재."
    found = _found(scrubber, text)
    assert found[f"{good[:6]}-{good[6:]}"] == "KR_RRN"
    assert found[good] == "KR_RRN"
    # An unhyphenated 13-digit number failing the checksum, without a label, is no RRN
    # (it is still treated as an identifier of some kind).
    assert found.get(bad) != "KR_RRN"


@pytest.mark.parametrize("sep", [".", "/", "_", "—", "−", "－", "–", " . ", " / ", " - ", ""])
@pytest.mark.parametrize("label", ["주민번호 ", "외국인등록번호 ", "ID ", ""])
@pytest.mark.parametrize("prefix12", ["850312123456", "920101567890"])  # resident, foreigner
def test_rrn_separator_variants(scrubber: Scrubber, sep: str, label: str, prefix12: str) -> None:
    good = _mk_rrn(prefix12)
    text = f"{label}{good[:6]}{sep}{good[6:]} 확인"
    scrubbed = scrubber.scrub(text).text
    # Neither half survives: the birth date and the serial are both gone.
    assert good[:6] not in scrubbed, (text, scrubbed)
    assert good[6:] not in scrubbed, (text, scrubbed)
    if label != "ID ":  # "ID" makes it a generic record number; still removed
        assert _found(scrubber, text).get(f"{good[:6]}{sep}{good[6:]}") == "KR_RRN", text


@pytest.mark.parametrize("sep", ["-", ".", "/", "_", "—", " - "])
def test_masked_rrn_separator_variants(scrubber: Scrubber, sep: str) -> None:
    text = f"주민번호 850315{sep}1****** 확인"
    assert _found(scrubber, text).get(f"850315{sep}1******") == "KR_RRN", text


def test_rrn_without_checksum_needs_a_dash_or_label(scrubber: Scrubber) -> None:
    good = _mk_rrn("850312123456")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)  # post-2020 style: no checksum
    assert _found(scrubber, f"주민번호 {bad[:6]}.{bad[6:]}").get(f"{bad[:6]}.{bad[6:]}") == (
        "KR_RRN"
    )
    assert _found(scrubber, f"번호 {bad[:6]}—{bad[6:]}").get(f"{bad[:6]}—{bad[6:]}") == "KR_RRN"
    assert _found(scrubber, f"값 {bad[:6]}.{bad[6:]} 측정").get(f"{bad[:6]}.{bad[6:]}") != (
        "KR_RRN"
    )


def test_masked_rrn_still_discloses_birth_date(scrubber: Scrubber) -> None:
    text = "주민번호 850315-1****** 확인"
    assert _found(scrubber, text).get("850315-1******") == "KR_RRN"


def test_rrn_impossible_date_not_rrn(scrubber: Scrubber) -> None:
    text = "참고 수치 991399-1234567 (시험 번호)"
    assert "KR_RRN" not in {e.type for e in scrubber.analyze(text)}


@pytest.mark.parametrize(
    "phone",
    [
        "010-1234-5678", "01012345678", "010 1234 5678", "010.1234.5678", "+82 10-1234-5678",
        "+82-10-1234-5678", "033-258-1234", "(033) 742-1234", "02-123-4567", "033)250-1234",
        "+82 33-386-9959", "(415) 555-0132", "+1 206-320-8394", "312-773-8735",
    ],
)  # fmt: skip
def test_phone_formats(scrubber: Scrubber, phone: str) -> None:
    text = f"연락처 {phone} 로 연락 바람"
    ents = scrubber.analyze(text)
    assert any(text[e.start : e.end] == phone and e.type == "PHONE" for e in ents), ents


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("등록번호: 00123456 입원", "00123456"),
        ("MRN 12345678 admitted", "12345678"),
        ("Pt ID AB-1234567 seen", "AB-1234567"),
        ("검체번호 NGS21-00421 접수", "NGS21-00421"),
        ("Chart #: 0012345", "0012345"),
        ("환자번호 12-345678", "12-345678"),
    ],
)
def test_mrn_with_labels(scrubber: Scrubber, text: str, value: str) -> None:
    assert value in _found(scrubber, text)


@pytest.mark.parametrize(
    "text",
    [
        "HBV DNA 23000000 IU/mL 로 증가",
        "치료비 12000000원 본인부담",
        "BT 101 F, HR 98",
        "고위험그룹 분류",
    ],
)
def test_quantities_and_temperatures_are_not_phi(scrubber: Scrubber, text: str) -> None:
    assert scrubber.analyze(text) == []


def test_vaccine_lot_numbers_are_not_ids(scrubber: Scrubber) -> None:
    text = "인플루엔자 백신 접종 시행(Lot No. A21-5422), batch 4471234 사용"
    assert scrubber.analyze(text) == []


@pytest.mark.parametrize(
    ("text", "age"),
    [("환자는 92세 여자", "92"), ("a 95-year-old man", "95"), ("Age/Sex: 96/F", "96"),
     ("(F/101) 입원", "101"), ("Pt: Lee (104 M)", "104"), ("aged 91, lives alone", "91")],
)  # fmt: skip
def test_ages_over_89_digits_only(scrubber: Scrubber, text: str, age: str) -> None:
    found = _found(scrubber, text)
    assert found.get(age) == "AGE"


@pytest.mark.parametrize(
    "text", ["환자는 89세 여자", "a 45-year-old man", "Age/Sex: 37/M", "(F/26)"]
)
def test_ages_under_90_are_not_phi(scrubber: Scrubber, text: str) -> None:
    assert "AGE" not in {e.type for e in scrubber.analyze(text)}


@pytest.mark.parametrize(
    "date",
    [
        "2021-03-05", "2021.03.05", "2021/3/5", "03/05/2021", "March 5, 2021", "Mar. 5th 2021",
        "5 March 2021", "2021년 3월 5일", "21/3/5", "3월 5일", "2021. 3. 5", "'23.4.18", "3/9/21",
    ],
)  # fmt: skip
def test_date_formats(scrubber: Scrubber, date: str) -> None:
    text = f"검사일 {date} 시행"
    assert _found(scrubber, text).get(date) == "DATE"


@pytest.mark.parametrize(
    "text", ["2015년 진단", "since 2015", "ACMG/AMP 2015", "NRS 6/10", "BP 120/80"]
)
def test_year_alone_and_scores_are_not_dates(scrubber: Scrubber, text: str) -> None:
    assert "DATE" not in {e.type for e in scrubber.analyze(text)}


@pytest.mark.parametrize(
    ("date", "days", "expected"),
    [
        ("2021-03-05", 30, "2021-04-04"),
        ("2021.3.5", -5, "2021.2.28"),
        ("03/05/2021", 1, "03/06/2021"),
        ("2021년 3월 5일", 27, "2021년 4월 1일"),
        ("3월 5일", 1, "3월 6일"),
        ("March 5, 2021", 30, "April 4, 2021"),
        ("Mar 5, 2021", 30, "Apr 4, 2021"),
        ("21/3/5", 365, "22/3/5"),
        ("2021. 7. 14.", 1, "2021. 7. 15."),
        ("Tue, 12 Mar 2024", 3, "Fri, 15 Mar 2024"),
        ("Tuesday, March 12, 2024", 7, "Tuesday, March 19, 2024"),
        ("April 2-5, 2024", 3, "April 5-8, 2024"),
        ("April 28-30, 2024", 3, "May 1-3, 2024"),
        ("April 28-30, 2024", 2, None),  # now across two months: the caller tags it
        # ordinals follow the new day; a dotted month/day keeps its closing period
        ("3rd Dec.", 10, "13th Dec."),
        ("21st March 2024", 1, "22nd March 2024"),
        ("March 1st, 2024", 10, "March 11th, 2024"),
        ("12.3.", 3, "12.6."),
        ("01DEC2025", 14, "15DEC2025"),
    ],
)
def test_shift_keeps_format(date: str, days: int, expected: str | None) -> None:
    assert shift_date_text(date, days) == expected


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(1930, 1, 1), dt.date(2060, 12, 31)), st.integers(-3650, 3650))
def test_shift_round_trip(d: dt.date, days: int) -> None:
    for fmt in ("%Y-%m-%d", "%Y.%m.%d", "%m/%d/%Y"):
        s = d.strftime(fmt)
        shifted = shift_date_text(s, days)
        assert shifted is not None
        assert shift_date_text(shifted, -days) == s
        assert shifted == (d + dt.timedelta(days=days)).strftime(fmt)


def test_luhn() -> None:
    assert luhn_ok("4111 1111 1111 1111")
    assert not luhn_ok("4111 1111 1111 1112")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("환자명: 임수호   등록번호", "임수호"),
        ("담당의 지예빈에게 보고함", "지예빈"),
        ("김윤은 교수 외래 예약", "김윤은"),
        ("보호자 김서아 (며느리)", "김서아"),
        ("남궁민수 님 내원", "남궁민수"),
        ("작성: 신하우 전공의", "신하우"),
        ("참석자: 김민수, 이영희, 남궁옥분 (사회복지팀)", "남궁옥분"),
        ("권영순 F/75 등록번호 23882939", "권영순"),
        ("2020-07-14 재진. - 최나연", "최나연"),
        ("consult, Dr. 배경호", "배경호"),
        ("오늘 김민수 내원하여 혈압 측정함", "김민수"),
        ("환자 김민준 010-1234-5678 내원", "김민준"),
    ],
)
def test_korean_names(text: str, name: str) -> None:
    names = [text[s:e] for s, e, _ in find_korean_names(text)]
    assert name in names


@pytest.mark.parametrize(
    "text",
    [
        "고혈압, 당뇨 기저질환 있으며 심부전 악화",
        "간호사 상담사 주치의 전공의 보호자에게 설명함",
        "조영제 투여 후 정상 소견, 이상지질혈증 치료 중",
        "파킨슨병, 베체트병, 호지킨림프종, 하시모토 갑상선염",
        "신경과 정형외과 가정의학과 협진",
        "경과 관찰 위해 추가 검사 예정. 안내함. 전환함. 제시함.",
    ],
)
def test_korean_medical_words_are_not_names(text: str) -> None:
    assert find_korean_names(text) == []


@pytest.mark.parametrize(
    "keep",
    [
        "Parkinson's disease", "Crohn disease", "Hodgkin lymphoma", "Graves' disease",
        "Babinski sign negative", "Bisoprolol 2.5 mg qd", "PLT 241K (150-450)", "CYFRA 21-1 4.4 ng/mL",
        "E11.9", "EGFR L858R", "NM_005228.5:c.2573T>G", "rs121434568", "ACMG/AMP 2015", "ClinVar",
        "gnomAD", "NRS 6/10", "주소(C.C.): 흉통", "파킨슨병", "베체트병", "Alzheimer's dementia",
        "Methimazole 10 mg qd", "Urine culture negative",
    ],
)  # fmt: skip
def test_not_phi_survives(scrubber: Scrubber, keep: str) -> None:
    text = f"Assessment: {keep}. 경과 관찰."
    assert keep in scrubber.scrub(text).text


def test_western_names_in_free_text(scrubber: Scrubber) -> None:
    text = "Discussed with Anne Marie Curie and Grant Bryant; Mary Moore agrees."
    found = _found(scrubber, text, "en")
    for name in ("Anne Marie Curie", "Grant Bryant", "Mary Moore"):
        assert found.get(name) == "PERSON", found


def test_english_names(scrubber: Scrubber) -> None:
    text = (
        "Patient: Kim Ye-rin (62 F). Caregiver: Trevor Torres (spouse). Follow-up with Dr. Oh, "
        "Pulmonology. Dictated by Shin Do-sol, MD. Read by Siwon Park, MD."
    )
    found = _found(scrubber, text, "en")
    for name in ("Kim Ye-rin", "Trevor Torres", "Oh", "Shin Do-sol", "Siwon Park"):
        assert found.get(name) == "PERSON", (name, found)
    assert "Pulmonology" not in found


def test_addresses_and_orgs(scrubber: Scrubber) -> None:
    text = (
        "주소지: (24551) 강원특별자치도 속초시 중앙로 4, 101동 1203호\n거주지 원주시 단구동\n"
        "US address: 165 Joseph Path, West Ambertown, NY 78815.\n"
        "연세대학교 원주세브란스기독병원 신경과, Hallym University Chuncheon Sacred Heart Hospital, 온누리내과의원에서"
    )
    found = _found(scrubber, text)
    assert found.get("(24551) 강원특별자치도 속초시 중앙로 4, 101동 1203호") == "ADDRESS"
    assert found.get("원주시 단구동") == "ADDRESS"
    assert found.get("165 Joseph Path, West Ambertown, NY 78815") == "ADDRESS"
    assert found.get("연세대학교 원주세브란스기독병원") == "ORGANIZATION"
    assert found.get("Hallym University Chuncheon Sacred Heart Hospital") == "ORGANIZATION"
    assert found.get("온누리내과의원") == "ORGANIZATION"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("주소: 중앙로 12, 101동 1203호", "중앙로 12, 101동 1203호"),
        ("거주지 퇴계로 123번길 45", "퇴계로 123번길 45"),
        ("현대아파트 101동 202호 거주", "현대아파트 101동 202호"),
    ],
)
def test_partial_korean_addresses(scrubber: Scrubber, text: str, value: str) -> None:
    assert _found(scrubber, text, "ko").get(value) == "ADDRESS"


@pytest.mark.parametrize(
    "text", ["주소(C.C.): 흉통", "주소: 흉통 및 호흡곤란", "혈관조영술 12회 시행 2층 병동"]
)
def test_chief_complaint_is_not_an_address(scrubber: Scrubber, text: str) -> None:
    assert scrubber.analyze(text, "ko") == []


def test_generic_hospital_words_are_not_orgs(scrubber: Scrubber) -> None:
    text = (
        "본원 외래 경유하여 입원함. 타병원 전원 고려. 대학병원 진료 권유. Hospital course: stable."
    )
    assert "ORGANIZATION" not in {e.type for e in scrubber.analyze(text)}


@pytest.mark.parametrize(
    ("text", "value", "etype"),
    [
        ("e-mail hong.gd@naver.com 로", "hong.gd@naver.com", "EMAIL"),
        ("blog https://blog.naver.com/abc123 참고", "https://blog.naver.com/abc123", "URL"),
        ("via www.instagram.com/yusol_936.", "www.instagram.com/yusol_936", "URL"),
        ("from workstation 192.168.185.36.", "192.168.185.36", "IP_ADDRESS"),
        ("Passport no. M24638259.", "M24638259", "PASSPORT"),
        ("여권 M699B4391 확인", "M699B4391", "PASSPORT"),
        ("운전면허증 11-16-624615-48 제시", "11-16-624615-48", "DRIVER_LICENSE"),
        ("driver license 강원 24-041540-64.", "강원 24-041540-64", "DRIVER_LICENSE"),
        ("환불 계좌 358611-37-151340 (정서린)", "358611-37-151340", "ACCOUNT"),
        ("credit card 5368 7030 6444 5012 (authorized)", "5368 7030 6444 5012", "ACCOUNT"),
        ("건강보험증번호 41784445192 확인", "41784445192", "HEALTH_INSURANCE"),
        ("insurance member ID 3KF8-T93-KP77.", "3KF8-T93-KP77", "HEALTH_INSURANCE"),
    ],
)
def test_identifier_types(scrubber: Scrubber, text: str, value: str, etype: str) -> None:
    assert _found(scrubber, text).get(value) == etype


@pytest.mark.parametrize(
    ("text", "value", "etype"),
    [
        ("연락처010-1234-5678로 연락", "010-1234-5678", "PHONE"),
        ("메일 kim.ys@naver.com으로 보냄", "kim.ys@naver.com", "EMAIL"),
        ("PACS 10.0.0.1에서 전송", "10.0.0.1", "IP_ADDRESS"),
        ("등록번호12345678입니다", "12345678", "MRN"),
        ("링크 https://blog.naver.com/abc123에서 확인", "https://blog.naver.com/abc123", "URL"),
        ("Kim Ye-rin님 내원", "Kim Ye-rin", "PERSON"),
        ("Asan Medical Center에서 전원", "Asan Medical Center", "ORGANIZATION"),
        ("KNUH에서 전원", "KNUH", "ORGANIZATION"),
        ("2021-03-05에 입원", "2021-03-05", "DATE"),
    ],
)
def test_korean_particles_glued_to_phi(
    scrubber: Scrubber, text: str, value: str, etype: str
) -> None:
    assert _found(scrubber, text).get(value) == etype


def test_rrn_glued_to_hangul(scrubber: Scrubber) -> None:
    good = _mk_rrn("850315123456")
    text = f"주민번호{good[:6]}-{good[6:]}이며"
    assert _found(scrubber, text).get(f"{good[:6]}-{good[6:]}") == "KR_RRN"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("통역사 John Smith 동석하여 설명함.", "John Smith"),
        ("오늘 Robert Brown 동석하여 설명함.", "Robert Brown"),
    ],
)
def test_latin_names_in_korean_notes(scrubber: Scrubber, text: str, name: str) -> None:
    assert _found(scrubber, text, "ko").get(name) == "PERSON"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Date: Tue, 12 Mar 2024 09:14", "Tue, 12 Mar 2024"),
        ("denial of inpatient days April 2-5, 2024.", "April 2-5, 2024"),
        ("다음 회의 10/15.", "10/15"),
        ("F/U 3/2 with labs", "3/2"),
    ],
)
def test_weekday_range_and_scheduled_dates(scrubber: Scrubber, text: str, date: str) -> None:
    assert _found(scrubber, text).get(date) == "DATE"


@pytest.mark.parametrize("text", ["take 1/2 tablet at night", "BP 120/80, HR 72", "EF 3/4 normal"])
def test_fractions_are_not_dates(scrubber: Scrubber, text: str) -> None:
    assert "DATE" not in _found(scrubber, text).values()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # family names too rare to count on, names Kiwi has never seen
        ("피접종자 은하준 (생년월일 2019.04.02)", "은하준"),
        ("구급대원 소방교 이한결, 소방사 최서진", "최서진"),
        ("보조 치위생사 한예솔", "한예솔"),
        ("면담의 천하율", "천하율"),
        ("국립춘천병원 원무과장 석도훈 (직인)", "석도훈"),
        ("| 맹도윤 | 10291174 | 59/M | 1205 | 위암 |", "맹도윤"),
        ("부모(우성민/김현정) 연락", "우성민"),
        ("신원 확인 후 어동진으로 확인", "어동진"),
    ],
)
def test_korean_names_by_role_table_and_unknown_word(
    scrubber: Scrubber, text: str, name: str
) -> None:
    assert _found(scrubber, text, "ko").get(name) == "PERSON"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Anticoagulation clinic (phone)\nThompson, Gerald — INR 4.6", "Thompson, Gerald"),
        ("DISCHARGE SUMMARY\nO'Donnell, Siobhan — admitted 9/12/2024", "O'Donnell, Siobhan"),
        ("ED: Delgado-Ruiz, Marisol | 52 F", "Delgado-Ruiz, Marisol"),
        ("Reported by Lucia Fernández, RN.", "Lucia Fernández"),
        ("eligibility review by PI Dr. Felipe Araújo.", "Felipe Araújo"),
        ("Chair 4 — Wanda Pierce, AV fistula L arm", "Wanda Pierce"),
        ("To: CS Gong Min-seok 교수님", "Gong Min-seok"),
    ],
)
def test_english_names_by_shape(scrubber: Scrubber, text: str, name: str) -> None:
    assert _found(scrubber, text).get(name) == "PERSON"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Best, Rebecca", "Best"),
        ("Surgeon Yang Tae-hoon, Assist R3 Ma Ji-ho", "Surgeon"),
        ("Hiking partner Claire Dubois present.", "present"),
        ("Pt: HONG Gil Dong   Hospital # 4417203", "Hospital"),
        ("Clinician: Dr. Park Hye-rin, Colorectal Surgery", "Colorectal Surgery"),
    ],
)
def test_name_spans_stop_at_the_name(scrubber: Scrubber, text: str, kept: str) -> None:
    ents = scrubber.analyze(text, "en")
    start = text.index(kept)
    assert not any(e.start <= start < e.end for e in ents), [text[e.start : e.end] for e in ents]


def test_hl7_name_fields(scrubber: Scrubber) -> None:
    msg = (
        "MSH|^~\\&|LAB|KWNUH|EMR|KWNUH|20240311101500||ORU^R01|MSG00021|P|2.5\n"
        "PID|1||00912774^^^KWNUH^MR||CHOI^MIN SEO||19870512|F\n"
        "PV1|1|I|7W^712^1||||1234^KIM^JAE HO^^^DR\n"
        "NK1|1|CHOI^YOUNG JA|MTH\n"
        "OBX|1|NM|WBC||11.4|10*3/uL|4.0-10.0|H"
    )
    found = _found(scrubber, msg, "en")
    for name in ("CHOI^MIN SEO", "KIM^JAE HO", "CHOI^YOUNG JA"):
        assert found.get(name) == "PERSON", found
    assert "WBC" not in found


@pytest.mark.parametrize(
    ("text", "lang", "names"),
    [
        # one initial and a family name of any country
        ("Specimen received by R. Castellanos at 0810.", "en", ["R. Castellanos"]),
        ("Chart reviewed with JW Park (fellow).", "en", ["JW Park"]),
        # a lone name in a labelled list, beside another name, after kin, with a role
        ("Witnesses: Okafor, Tanaka", "en", ["Okafor", "Tanaka"]),
        ("Her children Aylin and Burak visited today.", "en", ["Aylin", "Burak"]),
        ("Session co-led with Nkechi (PT student).", "en", ["Nkechi"]),
        # a Latin name in Korean text, after a role or before a particle
        ("통역인 Dmitri 동석하에 설명함.", "ko", ["Dmitri"]),
        ("환자는 Anneke와 함께 내원함.", "ko", ["Anneke"]),
        # Korean: a particle and a topic particle; a compound family name and one syllable
        ("막내딸 추영숙과는 연락이 됨", "ko", ["추영숙"]),
        ("집도의 남궁 훈 교수, 보조 황보 민", "ko", ["남궁 훈", "황보 민"]),
        ("친구 제갈윤)과 함께 옴", "ko", ["제갈윤"]),
        # a given name that is also a word (아름, 하늘), after a role
        ("인수자 길하늘 / 인계자 편아름", "ko", ["길하늘", "편아름"]),
        # a role inside a quotation
        ('"남편 변춘식이 계속 기침을 한다"고 함', "ko", ["변춘식"]),
        # capitals: a family name and a comma; a romanized Korean name
        ("Specimen of OKONJO, Adaeze received.", "en", ["OKONJO, Adaeze"]),
        ("Patient: CHOI YOUNG-HO, 71M", "en", ["CHOI YOUNG-HO"]),
        # a group's list, lexicon or not
        ("Officers Brannigan and Wexley took the statement.", "en", ["Brannigan", "Wexley"]),
    ],
)
def test_names_with_little_context(
    scrubber: Scrubber, text: str, lang: str, names: list[str]
) -> None:
    spans = [(e.start, e.end) for e in scrubber.analyze(text, lang) if e.type == "PERSON"]
    for name in names:
        start = text.index(name)
        covered = any(s <= start and start + len(name) <= e for s, e in spans)
        assert covered, (name, [text[s:e] for s, e in spans])


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # the same name again, with a particle; a family name alone later
        ("보호자 우경민 님과 면담함.\n우경민 재방문 예정.", ["우경민", "우경민 재"]),
        ("Interpreter Bogdan Marinescu present.\nMarinescu translated the consent.", ["Marinescu"]),
        # rows of the same shape, one of them with a name found by its context
        ("09:00 우경민 님 (재진)\n09:20 석만호 (재진)", ["석만호"]),
        # a column of name-shaped words with no name found yet
        ("Bed 7 남기춘 체중 61\nBed 8 여봉선 체중 48\nBed 9 탁필례 체중 52", ["남기춘", "탁필례"]),
        # the next items of a list a found name opens
        ("면회객 우경민 님, 석만호, 용만길", ["석만호", "용만길"]),
    ],
)
def test_a_note_tells_more_about_the_names_it_holds(
    scrubber: Scrubber, text: str, names: list[str]
) -> None:
    spans = [(e.start, e.end) for e in scrubber.analyze(text, None) if e.type == "PERSON"]
    for name in names:
        start = text.rindex(name)
        covered = any(s <= start < e for s, e in spans)
        assert covered, (name, [text[s:e] for s, e in spans])


@pytest.mark.parametrize(
    "text",
    [
        "| 항목 | 결과 |\n| 심전도 | 정상 |\n| 방사선 | 정상 |",
        "1. 고혈압 조절 중\n2. 당뇨병 식이\n3. 심부전 악화",
        "Bed 7 체중 61\nBed 8 체중 48\nBed 9 체중 52",
    ],
)
def test_rows_of_clinical_words_are_no_names(scrubber: Scrubber, text: str) -> None:
    found = _found(scrubber, text, "ko")
    assert "PERSON" not in found.values(), found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("수술 예정 3/14(목) 오전", "3/14"),
        ("외래 4.2(화) 재진", "4.2"),
        ("11.5 07:10 체온 38.2, 해열제 투여", "11.5"),
        ("입원일 2/27, 주치의 변경", "2/27"),
        ("휴가 기간 (11.04~11.08) 대진", "11.04"),
        ("휴가 기간 (11.04~11.08) 대진", "11.08"),
        ("입원 3/2-3/9 경과", "3/9"),
    ],
)
def test_month_day_dates_by_their_company(scrubber: Scrubber, text: str, value: str) -> None:
    assert _found(scrubber, text, "ko").get(value) == "DATE"


@pytest.mark.parametrize(
    "text",
    [
        "K 3.5 08:00 재검",
        "Hb 10.5 14:00 수혈 후 재검",
        "I/O 1.2 (목표)",
        "Hb 10.5-11.2 유지",
        "1/2-1/4 tab qd",
    ],
)
def test_lab_values_before_a_time_are_no_dates(scrubber: Scrubber, text: str) -> None:
    assert "DATE" not in _found(scrubber, text, "ko").values()


@pytest.mark.parametrize(
    "text",
    [
        "Ulcer base clean (Forrest III); biopsy x2.",
        "INR 교정(Vit K, FFP) 후 재검",
        "s/p Ivor Lewis esophagectomy 2019",
        "Lauren: intestinal type. HER2 1+.",
        "Breslow thickness 1.2 mm, Clark level IV.",
        "CT and MR reviewed; US Doppler negative.",
        "PET CT SCAN, WHOLE BODY: no FDG avid lesion.",
        "DIAGNOSIS: ADENOCARCINOMA, Gleason 4+3.",
    ],
)
def test_eponyms_and_abbreviations_beside_names_stay(scrubber: Scrubber, text: str) -> None:
    found = _found(scrubber, text)
    assert "PERSON" not in found.values(), found


def test_world_name_lists_hold_no_english_or_clinical_word() -> None:
    """The committed world lists (names-dataset, generated by ``build_world_names``) are
    lower case, sorted, and hold no English word, stop word or eponym, whatever the
    dataset held: a word there would become a person wherever it stands beside a name."""
    from deid.data import build_en_given_names, build_world_names
    from deid.text import lexicons

    banned = build_en_given_names._english_words() | lexicons.en_stopwords() | lexicons.eponyms()
    for name in ("world_given_names.txt", "world_surnames.txt"):
        text = (build_world_names.HERE / name).read_text(encoding="utf-8")
        words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
        assert words == sorted(words), name
        assert all(w == w.lower() and len(w) >= 3 for w in words), name
        assert not banned & set(words), (name, sorted(banned & set(words))[:10])
    assert {"chidinma", "zeynep", "sergei", "declan"} <= lexicons.world_given_names()
    assert {"okeke", "yıldız", "petrović", "nakamura"} <= lexicons.world_surnames()
    assert not {"gleason", "lauren", "forrest", "heart", "patient"} & (
        lexicons.world_given_names() | lexicons.world_surnames()
    )


def test_name_words_are_nouns_only_and_no_clinical_word() -> None:
    """``world_name_words.txt``: frequent given names of English-speaking countries that
    WordNet lists as nouns and nothing else (Lorraine, Dale, Tom); never a verb or an
    adjective (Rose, Grant, Will), a month, a stop word, or a lower-case clinical word."""
    from deid.data import build_world_names
    from deid.text import lexicons

    text = (build_world_names.HERE / "world_name_words.txt").read_text(encoding="utf-8")
    words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    assert words == sorted(words)
    assert not (lexicons.en_stopwords() | lexicons.eponyms()) & set(words)
    assert {"lorraine", "dale", "tom", "walter", "marguerite"} <= set(words)
    assert not {"rose", "grant", "will", "june", "max", "tia", "cam", "mag", "jan", "norm"} & set(
        words
    )
    assert {"lorraine", "tom"} <= lexicons.world_given_names()


def test_census_given_names_file_is_generated() -> None:
    """The committed list is what its builder writes (US census given names minus words)."""
    from deid.data import build_en_given_names

    assert build_en_given_names.OUT.read_text(encoding="utf-8") == build_en_given_names.build()
    words = set(build_en_given_names.OUT.read_text(encoding="utf-8").split())
    assert {"wanda", "felipe", "sharon"} <= words
    assert not {"rose", "hope", "gene", "grant", "will"} & words


@pytest.mark.parametrize(
    ("text", "lang", "value", "etype"),
    [
        ("성 명 : 길 태 호      성별/나이 : 남/47", "ko", "길 태 호", "PERSON"),
        ("통역: 러시아어 통역사 박 올가", "ko", "박 올가", "PERSON"),
        ("통역 응우옌 반 훙 동석", "ko", "응우옌 반 훙", "PERSON"),
        ("Pt Tran Thi Mai (베트남, 결혼이주)", "mixed", "Tran Thi Mai", "PERSON"),
        ("Dear Ji-woo,\nYour results are back.", "en", "Ji-woo", "PERSON"),
        ("Megan O.: ok thx, I'll tell the team", "en", "Megan O.", "PERSON"),
        ("Initials: K.S.L.   Sex: M", "en", "K.S.L.", "PERSON"),
        ("1) 704-1 봉춘자 할머니: fever 지속", "ko", "봉춘자", "PERSON"),
        ("가족(장남 석진우) DNR 논의 예정", "ko", "석진우", "PERSON"),
        ("동실 환자 왕춘희, 남보배 선별검사 시행", "ko", "남보배", "PERSON"),
        ("민경호 오전 9:31 - 저 오후에 갈게요", "ko", "민경호", "PERSON"),
        ("사업장 (주)태백광업 / 사번 TB-20931", "ko", "(주)태백광업", "ORGANIZATION"),
        ("보험사: 한화생명 / 증권번호 2024-771-3392014", "ko", "한화생명", "ORGANIZATION"),
        (
            "workplace (Harbor Freight Logistics) on a phone",
            "en",
            "Harbor Freight Logistics",
            "ORGANIZATION",
        ),
        ("my assistant can set that up at 555-0199.", "en", "555-0199", "PHONE"),
        ("her father Stanley Kowalczyk, 95, confused", "en", "95", "AGE"),
        ("Returned call: A. Greene, RN, 6/18 14:20", "en", "6/18", "DATE"),
        ("Subject 04-0117 withdrew", "en", "04-0117", "MRN"),
    ],
)
def test_round_two_shapes(scrubber: Scrubber, text: str, lang: str, value: str, etype: str) -> None:
    assert _found(scrubber, text, lang).get(value) == etype, _found(scrubber, text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("재활의학과 전과 고려.", "ko"),
        ("발급 담당: 원무과 구해솔", "ko"),  # 원무과 is a department
        ("집도의 우승훈 / 소독간호사 복채린", "ko"),  # 소독 is the nurse's role
        ("서명일 2024. 10. 2.", "ko"),
        ("고인의 뜻에 따라 신부님께 연락드림.", "ko"),
        ("상기인은 위와 같이 진단함", "ko"),
        ("Best, Rebecca", "en"),
    ],
)
def test_words_next_to_names_stay(scrubber: Scrubber, text: str, lang: str) -> None:
    found = _found(scrubber, text, lang)
    for word in ("전과", "원무과", "소독", "서명일", "신부", "상기인", "Best"):
        assert not any(word in k for k in found if found[k] == "PERSON" and word in text), found


@settings(max_examples=200, deadline=None)
@given(
    # the years the note patterns read (19xx and 20xx), a year away from either end
    day=st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2098, 12, 31)),
    shift=st.integers(-365, 365),
    unit=st.sampled_from(["week", "month", "quarter", "half", "year", "decade"]),
)
def test_a_note_writes_a_date_at_the_tables_unit_as_the_table_does(
    day: dt.date, shift: int, unit: str
) -> None:
    """One rule for both: a date in a note, shifted and generalized, reads exactly as the
    date hierarchy releases the same shifted day in a table."""
    import pyarrow as pa

    from deid.hierarchy import DateHierarchy, build_hierarchy
    from deid.text.recognizers.dates import generalize_date_text

    hierarchy = build_hierarchy({"type": "date", "levels": ["day", unit]}, field="t", base_dir=".")
    assert isinstance(hierarchy, DateHierarchy)
    shifted = (day + dt.timedelta(days=shift)).isoformat()
    table = hierarchy.generalize(pa.array([shifted]), 1).to_pylist()[0]
    assert generalize_date_text(day.isoformat(), shift, unit) == table


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Transferred to St. Brigid's for rehab.", "St. Brigid's"),
        ("Admitted via Saint Columba Hospital ED.", "Saint Columba Hospital"),
    ],
)
def test_saints_name_hospitals(scrubber: Scrubber, text: str, value: str) -> None:
    assert _found(scrubber, text, "en").get(value) == "ORGANIZATION"


def test_a_saint_in_a_sentence_is_no_hospital(scrubber: Scrubber) -> None:
    assert "ORGANIZATION" not in _found(scrubber, "St. John wort interacts with warfarin.").values()
