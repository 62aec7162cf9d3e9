"""Round seven: the misses of fresh38 to fresh52 on arrival (chat and e-mail
layouts, names of many origins, addresses and numbers of Australia, New Zealand and
Europe, Korean speakers and one-syllable given names after compound family names), and the
words near them that must stay."""

from __future__ import annotations

import pytest

from deid.text import Scrubber

from .shapes import found as _found


@pytest.mark.parametrize(
    ("text", "lang", "value", "etype"),
    [
        # fresh38: chat and e-mail layouts
        ("jiwoo.kang 7:02 AM\nbed 4 extubated", "mixed", "jiwoo.kang", "PERSON"),
        ("minji_oh 7:05 AM\nok", "mixed", "minji_oh", "PERSON"),
        ("[20:43] Aroha Walker: give her the jelly beans", "en", "Aroha Walker", "PERSON"),
        ("22:10 text from Beatriz (pt's sister): call me", "en", "Beatriz", "PERSON"),
        (
            "Subject: referral – Mrs Elspeth Munro\n\nCould you see Elspeth next week?",
            "en",
            "Elspeth",
            "PERSON",
        ),
        ("From: O'Donnell, Fiona\n\nGareth has the images.\nFiona", "en", "Fiona", "PERSON"),
        ("(오후 2:31) 병동 제갈윤: 네 환자분께 전달했습니다", "ko", "제갈윤", "PERSON"),
        ("보호자 전화 (12.06 19:40)", "ko", "12.06", "DATE"),
        ("→ 다음 면담 12/12, 막내도 참석", "ko", "12/12", "DATE"),
        ("fall at Hotel Seamarq on 2 August", "en", "Hotel Seamarq", "ORGANIZATION"),
        (
            "office at ul. Marszałkowska 84/92, 00-514 Warszawa.",
            "en",
            "ul. Marszałkowska 84/92, 00-514 Warszawa",
            "ADDRESS",
        ),
        ("He may fly to Johannesburg on the 15th.", "en", "the 15th", "DATE"),
        # fresh39: names of many origins, places and numbers abroad
        (
            "Patient: María José Fernández Gutiérrez   DOB: 1990-06-22",
            "en",
            "María José Fernández Gutiérrez",
            "PERSON",
        ),
        (
            "Present: pt's wife Gabriela Sánchez de la Vega, son Andrés",
            "en",
            "Gabriela Sánchez de la Vega",
            "PERSON",
        ),
        ("Referring: HUSSAIN, AYESHA MD", "en", "HUSSAIN, AYESHA", "PERSON"),
        ('Oluwadamilare ("Dami") Okonkwo, 18 mo', "en", "Okonkwo", "PERSON"),
        ('Oluwadamilare ("Dami") Okonkwo, 18 mo', "en", "Dami", "PERSON"),
        ("Ngaire Parata, DOB 1936-03-09", "en", "Ngaire Parata", "PERSON"),
        ("Re: Wiremu Te Rangi NHI ZAC4471", "en", "Wiremu Te Rangi", "PERSON"),
        ("Re: Wiremu Te Rangi NHI ZAC4471", "en", "ZAC4471", "MRN"),
        ("contact via kaiāwhina Anahera on 021 448 7702.", "en", "Anahera", "PERSON"),
        ("contact via kaiāwhina Anahera on 021 448 7702.", "en", "021 448 7702", "PHONE"),
        ("echo booked with Hamid in the echo lab.", "en", "Hamid", "PERSON"),
        ("Re: Mr Iyer, DOB 17/08/1958, Medicare 2951 48306 1", "en", "2951 48306 1", "MRN"),
        (
            "212 Oxford Street, Paddington NSW 2021",
            "en",
            "212 Oxford Street, Paddington NSW 2021",
            "ADDRESS",
        ),
        (
            "Home visit, 44 Kowhai Crescent, Hamilton 3204, 5/12/25",
            "en",
            "44 Kowhai Crescent, Hamilton 3204",
            "ADDRESS",
        ),
        ("lives at Hauptstraße 5, 10115 Berlin", "en", "Hauptstraße 5, 10115 Berlin", "ADDRESS"),
        ("12 rue de la Paix, 75002 Paris", "en", "12 rue de la Paix, 75002 Paris", "ADDRESS"),
        (
            "from Samsung Display Asan plant after fainting",
            "en",
            "Samsung Display Asan plant",
            "ORGANIZATION",
        ),
        (
            "student at Yonsei University Mirae campus. Roommate",
            "en",
            "Yonsei University Mirae campus",
            "ORGANIZATION",
        ),
        ("mine worker at Kyungdong Coal, crush injury", "en", "Kyungdong Coal", "ORGANIZATION"),
        (
            "Referred by Lotus Dental Care (Dr Mei Ling Chua).",
            "en",
            "Lotus Dental Care",
            "ORGANIZATION",
        ),
        ("To: Te Whatu Ora renal clinic", "en", "Te Whatu Ora", "ORGANIZATION"),
        # fresh40: Korean
        ("(환자분 애칭, 본명 구복순) 낮잠 후", "ko", "구복순", "PERSON"),
        ("판독의: 이수민 / 확인의: 황보규", "ko", "황보규", "PERSON"),
        ("당직 주하린 → 주치의 설태웅 교수님께 보고", "ko", "주하린", "PERSON"),
        ("아침 회진 때 안교수님께서 내일 JP 제거하자고 하심.", "ko", "안", "PERSON"),
        ("의료사회복지 상담기록 12.05\n대상: 명태식", "ko", "12.05", "DATE"),
        ("보호자(조카 길현우) 연락 안 됨.\n피수정", "ko", "피수정", "PERSON"),
        # fresh41: the platform's own data kinds
        (
            "##SAMPLE=<ID=GW25-T0412,Individual=x>\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tGW25-T0412\tGW25-N0412",
            "en",
            "GW25-N0412",
            "MRN",
        ),
        ("##SAMPLE=<ID=GW25-T0412,Tissue=Tumor>", "en", "GW25-T0412", "MRN"),
        ("user: taeyang.moon\ncoach note: great week Taeyang! keep", "en", "Taeyang", "PERSON"),
        ("CGM upload — Dexcom G7, transmitter 8HX2K9", "en", "8HX2K9", "MRN"),
        ("마크로젠 검사 결과 회신서", "ko", "마크로젠", "ORGANIZATION"),
        (
            "신청인: 한재우 (메디에이아이 주식회사 연구소장)",
            "ko",
            "메디에이아이 주식회사",
            "ORGANIZATION",
        ),
        ("검토자: 법무법인 세움 윤가온 변호사", "ko", "법무법인 세움", "ORGANIZATION"),
        # fresh42, fresh43
        ("직장 상사 탁부장의 폭언 이후", "ko", "탁", "PERSON"),
        ('아기 태명 "복댕이". 분만 담당', "ko", "복댕이", "PERSON"),
        ("물리치료사 하봄 선생님과 보행 훈련 지속.\n경태식", "ko", "경태식", "PERSON"),
        (
            "Mrs. Yamamoto (야마모토 하루코, 83, 일본) 통역 필요.",
            "mixed",
            "야마모토 하루코",
            "PERSON",
        ),
        ("It was lovely to meet you and Joachim at clinic.", "en", "Joachim", "PERSON"),
        ("It was good to see you and Tomás in clinic today.", "en", "Tomás", "PERSON"),
        # fresh44: an American EHR's layouts
        ("Abernathy, Clyde is a 71 y.o. male with CHF.", "en", "Abernathy, Clyde", "PERSON"),
        ("(Entered by Shawna M Pettigrew, RN):", "en", "Shawna M Pettigrew", "PERSON"),
        ("Surgeon: Vandermeer | Anesth: Oduya | Circ: L. Baptiste", "en", "Oduya", "PERSON"),
        ("(Somerset County EMS Medic 12, P. Greer / J. Hollins)", "en", "J. Hollins", "PERSON"),
        (
            "(Somerset County EMS Medic 12, P. Greer / J. Hollins)",
            "en",
            "Somerset County EMS",
            "ORGANIZATION",
        ),
        (
            "with Marcy Pruitt, NP at Penobscot Valley Cardiology on 12/15",
            "en",
            "Penobscot Valley Cardiology",
            "ORGANIZATION",
        ),
        ("Daughter Lorraine at bedside; son Dale called.", "en", "Lorraine", "PERSON"),
        # fresh45: Korean typed in haste
        ("간호사김민지 → 인계받음.", "ko", "김민지", "PERSON"),
        ("-3호실 오말숙할머니 : 식사x, 수액 유지", "ko", "오말숙", "PERSON"),
        ("민지쌤~ 낼 박세훈환자 CT 몇시에요??", "ko", "민지", "PERSON"),
        ("민지쌤~ 낼 박세훈환자 CT 몇시에요??", "ko", "박세훈", "PERSON"),
        ("보호자분께 금식 말씀 부탁드려요 ㅎㅎ -유나", "ko", "유나", "PERSON"),
        ('22시 추 영 남 님 수면중.\n옆침대 "영남이 형님이 코를 골아서"', "ko", "영남", "PERSON"),
        ("나 12/6 오프야", "ko", "12/6", "DATE"),
        ("통역 레티투 씨.", "ko", "레티투", "PERSON"),
        # fresh47-49: children, insurance and legal kinds, a control
        ("학생: 편지오 (홍천중학교 2학년 3반)", "ko", "편지오", "PERSON"),
        (
            "신고: 강원도아동보호전문기관 노은주 상담원",
            "ko",
            "강원도아동보호전문기관",
            "ORGANIZATION",
        ),
        ('Partner: "Sofi". Lives with dad', "en", "Sofi", "PERSON"),
        ('reports boyfriend ("DJ") left the home.', "en", "DJ", "PERSON"),
        ("DOB 07/22/1984   SSN xxx-xx-4471", "en", "4471", "MRN"),
        (
            "request — Blue Cross Blue Shield of Illinois\nMember:",
            "en",
            "Blue Cross Blue Shield of Illinois",
            "ORGANIZATION",
        ),
        (
            "Counsel: Bradley Kovacs, Esq., Kovacs & Lindqvist LLP",
            "en",
            "Kovacs & Lindqvist LLP",
            "ORGANIZATION",
        ),
        ("성명: SMIRNOVA ANNA / 스미르노바 안나\n여권번호", "mixed", "스미르노바 안나", "PERSON"),
        ("Chen Xiaoli (陈晓丽, 천샤오리, F/29) – 유산", "mixed", "천샤오리", "PERSON"),
        ("다음 진료 12/31 / 갈준서", "ko", "12/31", "DATE"),
        # fresh50-52: speech written down, certificates, research
        ("Agent: Thank you for calling, this is Kayla. Who am I", "en", "Kayla", "PERSON"),
        ('"Hi, this is Rosalind from Hillcrest Home Health, calling', "en", "Rosalind", "PERSON"),
        (
            '"Hi, this is Rosalind from Hillcrest Home Health, calling',
            "en",
            "Hillcrest Home Health",
            "ORGANIZATION",
        ),
        ("A. Yes, at Riverbend Urgent Care.", "en", "Riverbend Urgent Care", "ORGANIZATION"),
        ("Present: Dolores Kaminski (wife), chaplain Br. Anselm.", "en", "Anselm", "PERSON"),
        ('"302호 염분이 할머니 딸 송미정인데요. 엄마가"', "ko", "송미정", "PERSON"),
        ("받은 사람: 육세아", "ko", "육세아", "PERSON"),
        ('고객: "지난달 28일에 진료비가 두 번 결제됐어요."', "ko", "지난달 28일", "DATE"),
        ("통원일: 2025.11.03, 11.10, 11.17, 11.24, 12.01 (5회)", "ko", "11.24", "DATE"),
        ("작성 의사 탁민재 (안과 전문의 제1432호)", "ko", "1432", "MRN"),
        ("대상자: 성O규 (M, 1957)", "ko", "성O규", "PERSON"),
        (
            "SDV 대상자: KR-07-012, KR-07-015\nFinding: 대상자 KR-07-015 ICF",
            "mixed",
            "KR-07-012",
            "MRN",
        ),
        ("Monitor: Catherine Yoo (IQVIA Korea)", "en", "IQVIA Korea", "ORGANIZATION"),
        (
            "Applicant: Dr. Ingrid Lee, NordGen Analytics AB, Stockholm",
            "en",
            "NordGen Analytics AB",
            "ORGANIZATION",
        ),
        ("All aliquots destroyed 12/03/2025 by tech MJ.", "en", "MJ", "PERSON"),
    ],
)
def test_round_seven_shapes(
    scrubber: Scrubber, text: str, lang: str, value: str, etype: str
) -> None:
    assert _found(scrubber, text, lang).get(value) == etype


@pytest.mark.parametrize(
    ("text", "lang", "word"),
    [
        ("To: Oncology Nurse Navigator\nSent: Monday", "en", "Navigator"),
        ("[20:43] Care Team: see you then", "en", "Care Team"),
        ("Parents Zhang Jianguo and Wang Fang are flying in.", "en", "Parents"),
        ("on the 3rd day of fever", "en", "3rd"),
        ("K 3.5 (3.51 08:00)", "en", "3.51"),
        ("보호자 전화 (12.06 19:40)", "ko", "전화"),
        ("원무팀 설지혜: 네 보호자 오면 나한테 연락줘", "ko", "오면"),
        ("- 위정숙 님 → 화목토로 변경 (아드님 요청)", "ko", "화목토로"),
        ("검체: 위 내시경 생검 (전정부)", "ko", "전정부"),
        ("환자 본인 서명이 어려워 대리인 서명", "ko", "서명이"),
        ("최초 발견자: 이웃 맹춘자 (신고자, 010-3319-7052)", "ko", "신고자"),
        ("출동: 홍천소방서 구급대\n환자: 편상우", "ko", "구급대"),
        ("아침 회진 때 안교수님께서 내일", "ko", "안교수"),
        ("IRB 승인서(2025.11.21) 확인", "ko", "승인서"),
        ("주식회사 연구소장 김민수", "ko", "주식회사"),
        ("FNA 결과 Bethesda II.", "en", "Bethesda"),
        ("Pt (베트남 결혼이주여성, 28) 통역 필요", "mixed", "결혼이주여성"),
        ("Thank you and Welcome to the clinic", "en", "Welcome"),
        ("활력징후 안정적.\n이상무", "ko", "이상무"),
        ("EXAM: XR CHEST\nIMPRESSION: No acute process.", "en", "No"),
        ("OT Evaluation\nPatient: Ignacio Barrientos", "en", "Evaluation"),
        ("Peds Clinic — Well visit", "en", "Peds"),
        ("seen by Pediatric Cardiology and Interventional Radiology", "en", "Cardiology"),
        ("간호사김민지 → 인계받음.", "ko", "인계받음"),
        ("김옥분 할머니 보호자 오시면 나한테 연락줘", "ko", "오시면"),
        ("장복례 님, 당뇨식 교육.", "ko", "당뇨식"),
        ("회신의: R3 Moon Jae-hee / 감수 엄기석 교수", "mixed", "감수"),
        ('"엄마 이름은 윤영자, 생일은 3월 5일이에요"', "ko", "이름은"),
        ("PT: My sister made me come.\nDR: Is she here?\nPT: No, she's at work.", "en", "No"),
        ("Son (Michael): Dad always said no machines.", "en", "Dad"),
        ("A. My MA, Tonya Blevins.", "en", "MA"),
        ("ICF 서명일(2025.08.14)과 screening date 불일치.", "mixed", "서명일"),
        ("Hb 10.12, 11.05", "en", "11.05"),
        ("It's Monday.", "en", "Monday"),
    ],
)
def test_round_seven_words_stay(scrubber: Scrubber, text: str, lang: str, word: str) -> None:
    found = _found(scrubber, text, lang)
    assert not any(word in span for span in found), found


def test_a_name_seen_with_its_title_is_found_alone_at_the_notes_end(scrubber: Scrubber) -> None:
    """A given name no list holds, said again where the note ends (a sign-off)."""
    text = "Subject: visit of Mrs Elspeth Munro\n\nPlease call me.\nThanks,\nElspeth"
    ends = [(e.start, e.end) for e in scrubber.analyze(text, "en") if e.type == "PERSON"]
    assert (len(text) - len("Elspeth"), len(text)) in ends
