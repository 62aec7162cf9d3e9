"""Hospitals, clinics, labs and employers (ORGANIZATION); Korean road/lot and US
street addresses (ADDRESS)."""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.base import Rule
from deid.text.recognizers.ko_names import line_words

_PROVINCES = (
    r"강원특별자치도|강원도|강원|서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|"
    r"인천광역시|인천시|인천|광주광역시|광주시|대전광역시|대전시|대전|울산광역시|울산시|울산|"
    r"세종특별자치시|세종시|세종|경기도|경기|충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북|"
    r"전라남도|전남|경상북도|경북|경상남도|경남|제주특별자치도|제주도|제주"
)
# Words ending in 시/군/구 that are not places.
_NOT_UNIT = (
    "당시|즉시|동시|표시|지시|재시|다시|역시|혹시|무시|잠시|항시|수시|일시|개시|감시|제시|명시|착시|"
    "연구|요구|입구|출구|가구|도구|친구|기구|백혈구|적혈구|호중구|림프구|단핵구|호산구|호염구|장군|"
    "추구|탐구|강구|전구|지구|고구|쌍구"
)
_UNIT = rf"(?!(?:{_NOT_UNIT})(?![가-힣]))[가-힣]{{1,5}}(?:시|군|구)"
_SUB = r"[가-힣0-9]{1,8}(?:읍|면|동|리|가)"
_ROAD = r"[가-힣0-9]{1,10}(?:대로|로|길)(?:\s?\d{1,4}(?:번?길))?"
_NUM = r"(?:산\s?)?\d{1,5}(?:-\d{1,5})?(?:번지)?"
# A Gangwon city or county without 시/군, before its dong, eup or myeon: "원주 무실동 ...".
_SHORT_CITY = (
    r"(?:춘천|원주|강릉|동해|태백|속초|삼척|홍천|횡성|영월|평창|정선|철원|화천|양구|인제|양양)"
    r"(?=\s[가-힣0-9]{1,8}(?:읍|면|동)(?![가-힣]))"
)
_DETAIL = (
    r"(?:,?\s?(?:[가-힣A-Za-z0-9]{1,12}(?:아파트|빌라|맨션|오피스텔|타운|빌딩)\s?)?(?:\d{1,4}\s?동\s?)?\d{1,5}\s?호"
    # an apartment and its wing-unit in shorthand: "현대아파트 101-1001"
    r"|,?\s?[가-힣A-Za-z0-9]{1,12}(?:아파트|빌라|맨션|오피스텔|단지)\s?\d{1,4}-\d{1,5}(?![\d-])"
    r"|,?\s?(?:지하\s?)?\d{1,3}\s?층(?:\s?\d{1,4}\s?호)?"
    # a building of any name, one or two words, then its wing, floor or unit: "H스퀘어 N동 7층",
    # "e편한세상 춘천한숲시티 102동 1403호"
    r"|,?\s?(?:[가-힣A-Za-z0-9]{1,14}\s){1,2}(?:[A-Za-z0-9]{1,4}\s?동\s?)?"
    r"(?:\d{1,3}\s?층(?:\s?\d{1,4}\s?호)?|\d{1,5}\s?호)"
    r"|\s?\([가-힣0-9,\s]{1,30}\))*"
)
_POSTAL = r"(?:\(\d{5}\)\s?|\[\d{5}\]\s?|\d{5}\s)?"
KO_ADDRESS = rx.compile(
    rf"{_POSTAL}(?:(?:{_PROVINCES})\s)?(?:(?:{_UNIT}\s){{1,2}}|{_SHORT_CITY}\s)(?:{_SUB}\s)?"
    rf"(?:(?:{_ROAD})\s?{_NUM}|{_SUB}\s?{_NUM}|{_SUB}(?![가-힣]))"
    rf"{_DETAIL}"
)
KO_ADDRESS_PROVINCE_ONLY = rx.compile(
    rf"{_POSTAL}(?:{_PROVINCES})\s(?:{_SUB}\s)?(?:{_ROAD})\s?{_NUM}{_DETAIL}"
)
US_ADDRESS = rx.compile(
    r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?[A-Z][A-Za-z.'-]*(?:\s+[A-Z][A-Za-z.'-]*){0,4}"
    r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Fl\.?|Floor|#)\s*[\dA-Z-]+)?,?\s+"
    r"[A-Z][A-Za-z.'-]*(?:\s+[A-Z][A-Za-z.'-]*){0,3},\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?(?!\d)"
)
# A UK address, closed by its postcode: "Flat 3, 12 Rose Lane, Manchester M1 2AB",
# "221 Kingsway, Cardiff CF10 3AT".
UK_ADDRESS = rx.compile(
    r"(?:\b(?:Flat|Apt\.?|Unit)[ \t][\dA-Z]{1,4},[ \t])?\b\d{1,5}[A-Z]?[ \t]"
    r"[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,3},[ \t](?:[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?,?[ \t])?"
    r"[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}\b"
)
# A post-office box, with its town, state and ZIP: "PO Box 1187, Sitka, AK 99835".
PO_BOX = rx.compile(
    r"\b(?:P\.?[ \t]?O\.?[ \t]?Box|Post Office Box)[ \t]\d{1,6}"
    r"(?:,[ \t][A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?,[ \t][A-Z]{2}[ \t]\d{5}(?:-\d{4})?)?"
)
# A street address without its city: "14 Maple Ct", "221 N Harbor View Dr, Apt 3B".
US_STREET = rx.compile(
    # (a unit may open it, and a town close it: "Unit 4, 210 Cedar Lane, Wonju")
    r"(?:\b(?:Unit|Apt\.?|Apartment|Suite|Ste\.?|Flat|Room|Rm\.?)[ \t]?[\dA-Z-]{1,5},[ \t])?"
    r"(?<![\d/.:-])\b\d{1,6}[A-Z]?[ \t]+(?:[NSEW]\.?[ \t]+)?[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){0,3}[ \t]+"
    r"(?:St|Street|Ave|Avenue|Rd|Road|Dr|Drive|Ct|Court|Ln|Lane|Blvd|Boulevard|Way|Pl|Place|Ter|"
    r"Terrace|Cir|Circle|Pkwy|Parkway|Hwy|Highway)\.?"
    r"(?:,?[ \t]+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|#)[ \t]*[\dA-Z-]+)?(?![A-Za-z])"
    r"(?:,[ \t](?!(?:Mr|Mrs|Ms|Dr|Apt|Unit|Suite)\b)[A-Z][a-z]+(?:-si)?"
    r"(?=[ \t]*(?:$|\n|[.;)]|,[ \t]?(?:[A-Z]{2}\b|Korea|Gangwon)))"
    # (Dublin's postal districts: "14 Ballymun Road, Dublin 9")
    r"|,[ \t]Dublin[ \t]\d{1,2}W?(?!\d))?"
)
# Romanized Korean addresses: "12 Gangnam-daero, Seocho-gu, Seoul 06611", "Jungang-ro 12, Chuncheon-si".
_RO_ROAD = r"[A-Z][a-z]+(?:-[a-z0-9]+)*-(?:daero|ro|gil)(?:\s?\d{1,4}(?:beon)?-?gil)?"
_RO_UNIT = r"[A-Z][a-z]+(?:-[a-z]+)?-(?:gu|si|gun|dong|eup|myeon|ri|do)"
# Towns of Gangwon written without -si/-gun ("33 Hwangji-ro, Taebaek").
_RO_TOWNS = (
    r"Chuncheon|Wonju|Gangneung|Donghae|Taebaek|Sokcho|Samcheok|Hongcheon|Hoengseong|Yeongwol|"
    r"Pyeongchang|Jeongseon|Cheorwon|Hwacheon|Yanggu|Inje|Goseong|Yangyang"
)
RO_ADDRESS = rx.compile(
    # (an apartment or unit may open it: "Apt 1102, 33 Hwangji-ro")
    r"(?:\b(?:Apt\.?|Apartment|Unit|Suite|Ste\.?|Room|Rm\.?|Flat)\s?[\dA-Z-]{1,5},?\s)?"
    r"(?:\b\d{1,5}(?:-\d{1,4})?,?\s+" + _RO_ROAD + r"|\b" + _RO_ROAD + r"\s+\d{1,5}(?:-\d{1,4})?)"
    # (a unit after the road: "14 Beotkkot-gil, Unit 302, Sokcho")
    r"(?:,?\s(?:Apt\.?|Apartment|Unit|Suite|Ste\.?|Room|Rm\.?|Flat|#)\s?[\dA-Z-]{1,6}(?![\w-]))?"
    r"(?:,?\s+" + _RO_UNIT + r")*(?:,?\s+(?:Seoul|Busan|Incheon|Daegu|Daejeon|Gwangju|Ulsan|Sejong|"
    r"Gangwon(?:-do)?|Gyeonggi(?:-do)?|[A-Z][a-z]+-(?:si|do)|(?:" + _RO_TOWNS + r")(?![A-Za-z-])))?"
    r"(?:,?\s+(?:Korea|South Korea|Republic of Korea))?"
    r"(?:,?\s+\d{5})?(?!\d)"
)
# A district without a road: "Yanggu-gun, Gangwon", "in Danggu-dong, Wonju-si". A given
# name ends so too (Min-gu, Ji-dong): a province or city after it, or a word of place
# before it, is needed.
_RO_PROVINCE = (
    r"(?:Seoul|Busan|Incheon|Daegu|Daejeon|Gwangju|Ulsan|Sejong|Jeju|Gangwon(?:-do)?|Gyeonggi(?:-do)?|"
    r"[A-Z][a-z]+-(?:si|do))"
)
_RO_DISTRICT = r"[A-Z][a-z]+-(?:gun|gu|dong|eup|myeon|ri)"
_RO_CITY = r"(?:[A-Z][a-z]+-si,?\s)?"  # "Sokcho-si, Joyang-dong"
RO_DISTRICT = rx.compile(
    # a city and its district are an address on their own: "Donghae-si, Cheongok-dong",
    # and so is a numbered lot in a district: "88 Gyo-dong, Gangneung-si"
    rf"\b([A-Z][a-z]+-si,?\s{_RO_DISTRICT}(?:,?\s{_RO_PROVINCE})?(?![A-Za-z-])|"
    rf"\d{{1,5}}(?:-\d{{1,4}})?\s{_RO_DISTRICT}(?:,?\s{_RO_UNIT})*"
    rf"(?:,?\s(?:{_RO_PROVINCE}|(?:{_RO_TOWNS})(?![A-Za-z-])))?(?![A-Za-z-])|"
    rf"{_RO_CITY}{_RO_DISTRICT}(?:,?\s{_RO_UNIT})*,?\s{_RO_PROVINCE}(?:,?\s(?:Korea|South Korea))?)"
    r"(?![A-Za-z-])"
    rf"|(?:\b(?:[Ii]n|[Aa]t|[Ff]rom|[Nn]ear|[Ll]ives|[Rr]esides|[Aa]ddress:?|[Vv]illage of))\s"
    rf"({_RO_CITY}{_RO_DISTRICT}(?:,?\s{_RO_UNIT})*(?:,?\s{_RO_PROVINCE})?)(?![A-Za-z-])"
)


def _district_ok(m: rx.Match, text: str) -> bool:
    """Not the given name of "Kim Min-gu, Gangwon": no family name before it."""
    before = text[max(0, m.start() - 12) : m.start()].split()
    return not before or before[-1].lower() not in lexicons.roman_surnames()


# Without city or province: a road address with a unit ("중앙로 12, 101동 1203호") or an
# apartment unit ("현대아파트 101동 202호"), or a road address after an address label.
_UNIT_DETAIL = (
    r"(?:,?\s?(?:[가-힣A-Za-z0-9]{1,12}(?:아파트|빌라|맨션|오피스텔|타운|빌딩)\s?)?\d{1,4}\s?동\s?\d{1,5}\s?호"
    r"|,?\s?(?:지하\s?)?\d{1,3}\s?층)"
)
KO_ROAD_UNIT = rx.compile(rf"{_POSTAL}(?:{_ROAD})\s?{_NUM}{_UNIT_DETAIL}{_DETAIL}")
KO_APT_UNIT = rx.compile(
    r"(?<![가-힣])[가-힣A-Za-z0-9]{1,12}(?:아파트|빌라|맨션|오피스텔)\s?\d{1,4}\s?동\s?\d{1,5}\s?호"
)
KO_LABELED_ROAD = rx.compile(
    rf"(?:주소지|거주지|자택|현주소|실거주지|주\s?소|Address|address)\s?[:：]?\s{{0,3}}"
    rf"({_POSTAL}(?:{_ROAD})\s?{_NUM}{_DETAIL})"
)
# A street without its number after a word of place: "Rx sent to Walgreens on Elm St".
STREET_ALONE = rx.compile(
    r"\b(?:on|at|off|near|along)\s((?:[A-Z][a-z]+\s){1,2}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|"
    r"Boulevard|Ln|Lane|Way|Ct|Court|Terrace|Pl|Place|Pkwy|Parkway))\b\.?"
)
# A road on its own after a word of place: "on Toegye-ro", "near Gangnam-daero".
RO_ROAD_ALONE = rx.compile(
    r"\b(?:on|at|in|near|along|off|from)\s(" + _RO_ROAD + r"|(?:Route|Highway|Hwy\.?|Interstate|"
    r"State Road|County Road|National Road)\s\d{1,4}|I-\d{1,3})(?![A-Za-z0-9-])"
)
# What a Korean address always holds: a city, county or district word before a space, or
# a road and its number.
_KO_UNIT_WORD = rx.compile(r"[가-힣](?:시|군|구)\s|" + _SHORT_CITY)
HANGUL = rx.compile(r"[가-힣]")
_KO_ROAD_NUMBER = rx.compile(r"(?:대로|로|길)\s?(?:산\s?)?\d")
ADDRESS_RULES = [
    Rule("ADDRESS", KO_ROAD_UNIT, 0.8, prefilter=_KO_ROAD_NUMBER),
    Rule("ADDRESS", KO_APT_UNIT, 0.8, prefilter=HANGUL),
    Rule("ADDRESS", KO_LABELED_ROAD, 0.8, group=1),
    Rule("ADDRESS", RO_ADDRESS, 0.8),
    Rule("ADDRESS", RO_DISTRICT, 0.75, group=1, validator=_district_ok, name="ro_district"),
    Rule("ADDRESS", RO_DISTRICT, 0.75, group=2, name="ro_district_after_word"),
    Rule("ADDRESS", KO_ADDRESS, 0.85, prefilter=_KO_UNIT_WORD),
    Rule("ADDRESS", KO_ADDRESS_PROVINCE_ONLY, 0.85, prefilter=_KO_ROAD_NUMBER),
    Rule("ADDRESS", US_ADDRESS, 0.85),
    Rule("ADDRESS", UK_ADDRESS, 0.85, name="uk_address"),
    Rule("ADDRESS", PO_BOX, 0.8, name="po_box"),
    Rule("ADDRESS", US_STREET, 0.75, name="us_street"),
    Rule("ADDRESS", RO_ROAD_ALONE, 0.6, group=1, name="ro_road_alone"),
    Rule("ADDRESS", STREET_ALONE, 0.6, group=1, name="street_alone"),
]

# ------------------------------------------------------------------ organizations
_KO_ORG_SUFFIX = (
    r"(?:대학교병원|대학병원|병원|의료원|의원|한의원|치과|보건소|보건지소|보건진료소|보건의료원|의료센터|"
    r"검사센터|의료재단|재단|연구소|요양원|센터|랩|의학연구소|검사의학연구소|대학교|공사|공단|주식회사|"
    r"본부|(?<!복)지사|지점|지청|협회|조합|은행|경찰서|소방서|복지관|교회|성당|터미널|초등학교|중학교|고등학교|"
    # offices of local government, insurers, firms by their trade
    r"군청|시청|구청|도청|읍사무소|면사무소|행정복지센터|생명|화재|해상|손해보험|시멘트|광업|건설|산업|정밀|"
    r"전자|물산|상사|제약|식품|운수|택시|가공|농협|수협|축협|농산|수산|기증원|경로당|어린이집|유치원|"
    r"장례식장|평가원|진흥원|관리원|관리청|자동차|중공업|조선해양|물류|사단|여단|군단|학교|탄광|광업소|"
    # shops and trades that notes name: pharmacies, dental labs, opticians, sports clubs
    r"약국|기공소|안경원|산후조리원|FC|제철|제강|에너지|항공|해운|백화점|"
    # associations and clubs: 한국유방암환우회, 노인회
    r"환우회|연합회|동호회|봉사회|노인회|부녀회|"
    # courts, prosecutors, prisons, and the Red Cross
    r"법원|검찰청|경찰청|교도소|구치소|적십자사|"
    # child protection, welfare and public agencies: 강원도아동보호전문기관
    r"전문기관|보호기관|복지재단|상담소)"
)
# Words that end in an org suffix but name no particular organization.
_GENERIC_ORG = frozenset(
    [
        "주식회사",
        "유한회사",
        "본원",
        "병원",
        "의원",
        "대학병원",
        "상급병원",
        "종합병원",
        "요양병원",
        "타병원",
        "타원",
        "본병원",
        "해당병원",
        "지역병원",
        "협력병원",
        "외부병원",
        "이송병원",
        "전원병원",
        "의뢰병원",
        "회송병원",
        "기공사",
        "기공소",
        "문전약국",
        "원내약국",
        "원외약국",
        "외부약국",
        "동네약국",
        "인근약국",
        "단골약국",
        "치과기공소",
        "상담센터",
        "예약센터",
        "콜센터",
        "고객센터",
        "검진센터",
        "건강검진센터",
        "개인병원",
        "개인의원",
        "동네병원",
        "동네의원",
        "전문병원",
        "정신병원",
        "상급종합병원",
        "2차병원",
        "3차병원",
        "일차의료기관",
        "보건소",
        "센터",
        "재단",
        "연구소",
        "요양원",
        "치과",
        "한의원",
        "응급의료센터",
        "권역응급의료센터",
        "암센터",
        "건강검진센터",
        "검진센터",
        "내과의원",
        "외과의원",
        "소아과의원",
        "안과의원",
        "치과의원",
        "가정의학과의원",
        "이비인후과의원",
        "피부과의원",
        "정형외과의원",
        "신경과의원",
        "비뇨기과의원",
        "산부인과의원",
        "재활의학과의원",
        "영상의학과의원",
        "정신건강의학과의원",
        "국회의원",
        "의료센터",
        "대학교병원",
        "의료원",
        "검사센터",
        "초등학교",
        "중학교",
        "고등학교",
        "혈액은행",
        "교회",
        "성당",
        "경로당",
        "어린이집",
        "유치원",
        "기증원",
        "군청",
        "시청",
        "구청",
        "도청",
        "농협",
        "수협",
        "축협",
        # banks (an account number is the identifier: "농협 [110-123-456789]")
        "국민은행",
        "신한은행",
        "우리은행",
        "하나은행",
        "기업은행",
        "농협은행",
        "수협은행",
        "부산은행",
        "대구은행",
        "경남은행",
        "광주은행",
        "전북은행",
        "제주은행",
        "씨티은행",
        "우체국",
        "새마을금고",
        "신협",
        "카카오뱅크",
        "토스뱅크",
        "가족센터",
        "콜센터",
        "장례식장",
        "학교",
        "다문화센터",
        "재활병원",
        "요양병원",
        "종합병원",
        "상급병원",
        "전문병원",
        "정신병원",
        "한방병원",
        "치과병원",
        "개인병원",
        "동네병원",
        "사단",
        # a hospital's own centres: departments, not places of their own
        "소화기센터",
        "심장센터",
        "암센터",
        "뇌신경센터",
        "척추센터",
        "관절센터",
        "검진센터",
        "건강증진센터",
        "응급의료센터",
        "권역응급의료센터",
        "외상센터",
        "권역외상센터",
        "내시경센터",
        "투석센터",
        "재활센터",
        # nationwide services, one in every town: named so, none in particular
        "다문화가족지원센터",
        "건강가정지원센터",
        "정신건강복지센터",
        "치매안심센터",
        "행정복지센터",
    ]
)
_GANGWON_CITIES = (
    r"춘천|원주|강릉|동해|태백|속초|삼척|홍천|횡성|영월|평창|정선|철원|화천|양구|인제|고성|양양"
)
_KO_ORG_PREFIX = (
    rf"(?:(?:{_PROVINCES})\s)?(?:(?:{_GANGWON_CITIES})(?:시|군)?\s)?"
    rf"(?:[가-힣]{{2,8}}(?:대학교|대학|의료법인|학교법인|재단법인)\s)?"
)
# A company form before or after the name: (주)태백광업, ㈜세원, 세원정밀(주), 주식회사 한빛.
KO_COMPANY = rx.compile(
    # (not a post after the firm's kind: "주식회사 연구소장")
    r"(?:\(주\)|㈜|\(유\)|주식회사\s?|유한회사\s?|(?:법무|회계|세무|특허)법인\s?|법률사무소\s?)"
    r"(?![가-힣]{0,4}(?:소장|대표|이사|팀장|부장|과장|변호사|회계사|세무사|변리사)(?![가-힣]))"
    r"[가-힣A-Za-z0-9]{2,14}|"
    # (the kind after the name: "메디에이아이 주식회사", "삼정KPMG 회계법인")
    r"(?<![가-힣A-Za-z0-9])[가-힣A-Za-z0-9]{2,14}(?:\(주\)|㈜|[ \t](?:주식회사|유한회사|회계법인|법무법인)"
    r"(?![가-힣]))"
)
KO_ORG = rx.compile(
    # (a facility of it after a space: "삼척의료원 장례식장")
    rf"(?<![가-힣A-Za-z0-9])({_KO_ORG_PREFIX}[가-힣A-Za-z0-9]{{0,14}}{_KO_ORG_SUFFIX}"
    r"(?:[ \t](?:장례식장|분원|별관|본관|[가-힣]{2,4}(?:공장|지점|(?<!복)지사|지부|지회|사업장|물류센터)))?)"
    r"(?=(?:에서|에게|에|의|은|는|을|를|과|와|으로|로|이|가|도|측|까지|부터|입니다|이며|이고|에서는|"
    r"에서도|에는|으로부터|이라고)?(?![가-힣]))"
)


# A clinic named by its town or a brand word and its specialty, without 의원: "홍천연세내과",
# "태백중앙내과", "튼튼정형외과". A department (호흡기내과, 신경외과) has neither.
_CLINIC_BRAND = (
    r"연세|서울|중앙|제일|우리|하나|튼튼|열린|밝은|맑은|바른|좋은|편한|새봄|봄|미래|사랑|행복|건강|참|"
    r"365|드림|미소|희망|소망|늘|푸른|성모|세브란스|삼성|아산|한마음|온누리|365일|365열린"
)
_CLINIC_SPECIALTY = (
    r"내과|외과|정형외과|소아과|소아청소년과|이비인후과|안과|피부과|비뇨기과|비뇨의학과|산부인과|"
    r"신경과|신경외과|가정의학과|정신건강의학과|재활의학과|마취통증의학과|통증의학과|영상의학과|치과"
)
KO_CLINIC = rx.compile(
    rf"(?<![가-힣A-Za-z0-9])((?:{_GANGWON_CITIES})\s?(?:{_CLINIC_BRAND})?(?:{_CLINIC_SPECIALTY})"
    rf"|(?:{_CLINIC_BRAND})(?:{_CLINIC_SPECIALTY}))(?:의원)?"
    r"(?=(?:에서|에|의|은|는|을|를|과|와|으로|로|이|가|도|측|까지|부터)?(?![가-힣]))"
)


# What an organization's name always ends with (KO_ORG's prefilter).
_KO_ORG_END = rx.compile(_KO_ORG_SUFFIX)
_TRADE_SUFFIX = rx.compile(
    r"(?:생명|화재|해상|시멘트|광업|건설|산업|정밀|전자|물산|상사|제약|식품|운수|택시|가공|농산|수산|"
    r"자동차|중공업|물류|제철|제강|에너지|항공|해운|백화점)$"
)


def _ko_org_ok(m: rx.Match, text: str) -> bool:
    core = m.group(1).split()[-1]
    if core in _GENERIC_ORG and m.group(1) == core:
        return False
    trade = _TRADE_SUFFIX.search(core)
    if trade is not None and trade.start() < 2:
        return False  # a firm has a name before its trade: 삼성전자, not 유+전자 (유전자)
    # "XX과의원" where XX is only a department name stays generic.
    return len(core) >= 3


_EN_ORG_SUFFIX = (
    r"(?:University\s+Hospital|Hospital|Medical\s+Center|Medical\s+Centre|Health\s+Center|Health\s+System|"
    r"Cancer\s+Center|Health\s+Care|Healthcare|Clinic|Clinics|Genomics|Diagnomics|Biosciences|Laboratories|Laboratory|Labs|Lab|Institute|Foundation|Infirmary|"
    r"Medical\s+Foundation|Diagnostics|Pharmacy|University|College|Corporation|Corp\.?|Inc\.?|Co\.,?\s?Ltd\.?|Ltd\.?|"
    r"Center|Centre|Medical\s+Group|Group|Partners|Associates|Program|Programme|Insurance|Hospice|Agency|"
    r"Association|Services|Bank|School|Church|Hotel|Motel|Guesthouse|Terminal|Station|Company|"
    r"Supply|Supplies|Practice|Genetics|Pharmaceuticals?|Therapeutics|Office|Ministry|National\s+Park|Home\s+Care|"
    r"Nursing\s+Home|Care\s+Home|Rehabilitation|Logistics|Pediatrics|Assisted\s+Living|Senior\s+Living|"
    r"Funeral\s+Home|Manor|Industries|Electronics|Construction|Motors|Foods|Farms?|Factory|Mart|"
    r"Regional|Co\.|Internal\s+Medicine|Family\s+Medicine|Women['’]s\s+Health|"
    # a hospital by its short name ("Mercy General", "Gangneung Asan"), lodgings
    r"General|Asan|Severance|Sacred\s+Heart|Resort|Inn|Lodge|Hostel|"
    r"Convent|Monastery|Abbey|[Pp]arish|Temple|Mosque|Cement|Mining|Steel|Chemicals?|Fisheries|Shipping|"
    r"Marine|Textiles?|Dental(?:[ \t]Care)?|Coal|Energy|Airlines|Telecom|LLP|LLC|PLLC|GmbH|"
    r"Pharm|Analytics|Urgent[ \t]Care|Home[ \t]Health|Pub|Tavern|Restaurant|Bakery|Diner|Bistro|Salon|Fitness|Market|"
    # a firm by its trade alone ("Airlife Medical"), not a heading ("Past Medical History")
    r"Medical(?![ \t]+[A-Z])|"
    # public bodies that hold records of a person: police, courts, fire services
    r"Police|Police\s+Station|Fire\s+Station|Fire\s+Department|Court|Prosecutors?['’]?\s+Office|"
    r"Preschool|Kindergarten|Daycare|Day\s+Care|Nursery|Academy|Charities)"
)
_EN_ORG_STOP = lexicons.org_generic_words()
# A capitalized word; a trailing period only for short abbreviations (St., Mt.), never a sentence end.
# (High1 Grand Hotel; letters beyond ASCII: Acıbadem Hospital, Clínica Dávila)
_ORG_WORD = r"(?:[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿĀ-ž0-9'&-]*|[A-Z][a-z]{0,2}\.)"
# Words of one name are one space apart: a line break or a column gap ends it.
EN_ORG = rx.compile(
    r"\b((?:\d{1,4} )?"
    + _ORG_WORD
    + r"(?: (?:"
    + _ORG_WORD
    + r"|of|&)){0,6} "
    + _EN_ORG_SUFFIX
    + r"(?: of [A-Z][A-Za-z'-]*(?: [A-Z][A-Za-z'-]*){0,3})?"
    # a branch by its region: "Hana Center Gangwon"
    + r"(?: (?:Gangwon|Chuncheon|Wonju|Gangneung|Sokcho|Samcheok|Donghae|Taebaek|Seoul|Korea))?)"
    + r"(?![A-Za-z])"
)


_BANKS = frozenset(
    [
        "woori",
        "shinhan",
        "hana",
        "kookmin",
        "kb",
        "nh",
        "nonghyup",
        "ibk",
        "kakao",
        "citi",
        "sc",
        "busan",
    ]
)


def _en_org_span(m: rx.Match, text: str) -> bool:
    words = m.group(1).split()
    if words[-1] == "Bank" and all(w.lower() in _BANKS for w in words[:-1]):
        return False  # a bank, not an identifier: the account number is ("Woori Bank 1002-...")
    # Needs a distinctive word before the suffix.
    distinct = [
        w for w in words[:-1] if (w.lower() not in _EN_ORG_STOP and w[0].isupper()) or w.isdigit()
    ]
    return bool(distinct)


# An organization named after a label: 직장: 한국전력공사 강원본부, 검사기관: 마크로젠, Employer: Acme.
LABELED_ORG = rx.compile(
    r"(?:직장|근무처|근무지|소속|회사|사업장|사업체|소속\s?기관|검사\s?기관|의뢰\s?기관|수탁\s?기관|기관명|Employer|Employed at|Works at|"
    r"Performing lab|Testing lab|[Ii]nsurance|[Ii]nsurer|[Pp]ayer|보험사)\s?[:：]\s{0,3}"
    r"((?:[가-힣A-Za-z0-9&().-]+)(?:[ \t][가-힣A-Za-z0-9&().-]+){0,3}?)"
    r"(?=\s{2,}|\s?$|\s?[,;/|]|\s(?:퇴직|근무|재직|소속|의뢰|에서|\(|member|policy|ID)|[ \t]*\n)",
    rx.M,
)
# An employer named in prose, without a colon: "works at Kakao Mobility", "employed by Doosan".
EMPLOYER_ORG = rx.compile(
    r"(?:\b(?:[Ww]orks?|[Ww]orking|[Ww]orked)(?:\sas\san?\s[a-z]+(?:\s[a-z]+)?|\s(?:nights|days|weekends|"
    r"shifts|part-time|full-time))?\s(?:at|for)|\b(?:[Hh]er|[Hh]is|[Tt]heir)\s(?:workplace|employer),?|\bemployed\s(?:at|by)|\bemployee\sof|"
    r"\b(?:job|internship)\sat)\s"
    r"((?:[A-Z][A-Za-z0-9&'-]+)(?:[ \t](?:[A-Z][A-Za-z0-9&'-]+|&)){0,3})(?![A-Za-z])"
)


def _employer_ok(m: rx.Match, text: str) -> bool:
    words = m.group(1).split()
    return any(
        w.lower() not in _EN_ORG_STOP and w.lower() not in lexicons.en_stopwords() for w in words
    )


# A brand written in camel case before what it runs: "the CareFirst lab", "LabCorp clinic".
# (not a family name's prefix: McDonald, LeFort, DeBakey, MacLeod, VanDyke)
_CAMEL = r"(?!Mc|Mac|De|Di|Da|La|Le|Van|Von|Du)[A-Z][a-z]+[A-Z][A-Za-z]*(?![\dA-Za-z])"
BRAND_ORG = rx.compile(
    rf"\b({_CAMEL}(?: [A-Z][A-Za-z]+)? (?:lab|laboratory|clinic|pharmacy|center|centre|office|"
    r"hospital|practice))(?![A-Za-z])"
)


def _brand_ok(m: rx.Match, text: str) -> bool:
    first = m.group(1).split()[0].lower()
    return first not in lexicons.eponyms() and first not in lexicons.en_stopwords()


# A person's affiliation in brackets, a word of no dictionary: "O. Petrenko (Macrogen)".
AFFILIATION_ORG = rx.compile(
    r"(?:\b[A-Z]\.\s?|\b[A-Z][a-z]+\s)[A-Z][a-z]+(?:-[a-z]+)?\s\(([A-Z][a-z]{3,}(?: [A-Z][a-z]+){0,2})\)"
)
_RO_TOWN_WORDS = frozenset(w.lower() for w in _RO_TOWNS.split("|"))
_ROMAN_PLACES = frozenset(
    [
        "gangwon",
        "chuncheon",
        "wonju",
        "gangneung",
        "sokcho",
        "samcheok",
        "donghae",
        "taebaek",
        "seoul",
        "korea",
        "busan",
        "incheon",
        "daegu",
        "daejeon",
        "gwangju",
        "ulsan",
        "sejong",
        "jeju",
    ]
)


# Services named short in brackets after a clinician: "Dr Wahlberg (Ortho)".
_SERVICE_WORDS = (
    "ortho cardio neuro onc gyn obgyn uro derm rheum endo nephro pulm psych peds "
    "surg rad path gastro heme hemonc ent ophtho optho anes anesth nsgy gensurg ctsurg vascular"
)
_SERVICES = frozenset(_SERVICE_WORDS.split())


def _affiliation_ok(m: rx.Match, text: str) -> bool:
    words = [w.lower() for w in m.group(1).split()]
    return not any(
        w in lexicons.english_words()
        or w in lexicons.en_stopwords()
        or w in _ROMAN_PLACES
        or w in _SERVICES
        for w in words
    )


# A workplace named after 직장/근무처 without a colon: "직장 강원랜드 교대근무" (a proper noun
# Kiwi reads; 직장 동료, 직장 생활 are words).
KO_WORKPLACE = rx.compile(
    r"(?:직장|근무처|근무지|회사)\s{1,2}(?P<org>[가-힣A-Za-z0-9]{2,12})(?=\s|[,.)]|에서|에|의|$)"
    # ...or in brackets after the word: "회사(네이버)를 그만둔 뒤"
    r"|(?:직장|근무처|근무지|회사)\s?\((?P<org>[가-힣A-Za-z0-9]{2,12})(?P<bracket>\))"
)


def _ko_workplace_ok(m: rx.Match, text: str) -> bool:
    if m.group("bracket"):
        return True  # in brackets after 회사: what else would it be
    line_start = text.rfind("\n", 0, m.start("org")) + 1
    line_end = text.find("\n", m.end("org"))
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    proper, known = line_words(line)
    s, e = m.start("org") - line_start, m.end("org") - line_start
    if any(ks < e and s < ke for ks, ke in known):
        return False
    return any(ps == s and pe >= e for ps, pe in proper)


# A shop or a workplace by its brand before what it is: "at GS25 convenience store".
SHOP_ORG = rx.compile(
    r"\b(?:at|from|in|outside|near)\s(?:the\s|a\s)?([A-Z][A-Za-z0-9&'-]*(?:\s[A-Z][A-Za-z0-9&'-]+){0,2})"
    r"\s(?:convenience store|store|supermarket|cafe|café|restaurant|shop|bakery|factory|warehouse|"
    r"gym|plant|branch|outlet)\b"
)
# A Korean chain by its brand, with its branch or kind after it: "스타벅스 명동점",
# "이마트 춘천점", "CU 편의점" (the brands are a closed set; "장점", "문제점" have none).
_KO_BRANDS = (
    r"스타벅스|이마트24|이마트|홈플러스|롯데마트|롯데백화점|현대백화점|신세계백화점|신세계|다이소|올리브영|"
    r"세븐일레븐|미니스톱|맥도날드|버거킹|롯데리아|파리바게뜨|뚜레쥬르|투썸플레이스|이디야|"
    r"메가커피|빽다방|코스트코|하나로마트|쿠팡|배달의민족|교보문고"
)
KO_BRAND_BRANCH = rx.compile(
    rf"(?<![가-힣A-Za-z0-9])((?:{_KO_BRANDS})\s?(?:[가-힣]{{1,6}}점|편의점|매장|물류센터|풀필먼트센터)?"
    # (a brand in Latin letters only with its branch or kind: "CU 편의점", "GS25 춘천점")
    r"|(?:CU|GS25|KFC)\s?(?:[가-힣]{1,6}점|편의점|매장))"
    r"(?=(?:에서|에|의|은|는|을|를|과|와|으로|로|이|가|도)?(?![가-힣A-Za-z0-9]))"
)
# The NHS by its board or trust: "NHS Lothian", "NHS Greater Glasgow and Clyde".
NHS_ORG = rx.compile(
    r"\b(NHS[ \t](?!(?:number|no|No|Number)\b)[A-Z][a-z]+(?:[ \t](?:and[ \t])?[A-Z][a-z]+){0,3})"
    r"(?![A-Za-z])"
)
# A place of care by its name alone after what happened there: "one admission at Bellevue",
# "transferred from Sinchon Severance" (not a unit: "admitted to ICU", "to Medicine").
CARE_PLACE_ORG = rx.compile(
    r"\b(?:admitted (?:to|at)|admission (?:to|at)|hospitali[sz]ed (?:at|in)|transferred (?:from|to)|"
    r"seen at|treated at|followed (?:up )?at|discharged from|delivered at|born at)\s(?:the\s)?"
    r"([A-Z][A-Za-zÀ-ÿ'-]+(?:\s[A-Z][A-Za-zÀ-ÿ'-]+){0,3})(?![A-Za-z])"
)


def _care_place_ok(m: rx.Match, text: str) -> bool:
    words = m.group(1).split()
    if any(w.isupper() and len(w) <= 5 for w in words):
        return False  # a unit: ICU, CCU, MICU, ER
    low = [w.lower() for w in words]
    if any(w in _ROMAN_PLACES or w in _RO_TOWN_WORDS for w in low):
        return False  # a town, not a place of care
    return _distinct_name(m, text)


# Where a prescription goes, and where a caseworker or teacher works: "Rx sent to Walgreens",
# "caseworker at Catholic Charities" (two capitalized words, one not generic, or a word of
# no dictionary).
SERVICE_ORG = rx.compile(
    r"\b(?:(?:Rx|[Pp]rescriptions?|[Mm]eds?|[Rr]efills?)\s(?:sent|faxed|called in)\sto|filled at|"
    r"picked up at|(?:home health|home care|hospice|transport|nursing)\s(?:via|through|with|from)|"
    r"(?:[Cc]ase ?worker|[Cc]ase manager|[Ss]ocial worker|[Tt]eacher|[Cc]ounselor|[Vv]olunteer|"
    r"[Pp]astor|[Cc]oordinator|[Aa]dvocate|[Oo]fficer)\s(?:at|with|from))\s(?:the\s)?"
    r"([A-Z][A-Za-z'&-]+(?:\s[A-Z][A-Za-z'&-]+){0,3})(?![A-Za-z])"
)


def _service_org_ok(m: rx.Match, text: str) -> bool:
    words = [w.lower() for w in m.group(1).split()]
    if any(w in lexicons.en_stopwords() for w in words):
        return False
    if len(words) >= 2:
        return any(w not in _EN_ORG_STOP for w in words)
    return words[0] not in lexicons.english_words() and words[0] not in _EN_ORG_STOP


# A hospital or clinic whose kind comes first: "Clínica San Rafael", "Hôpital Saint-Louis";
# a hotel: "Hotel Seamarq".
PREFIX_ORG = rx.compile(
    r"\b((?:Clínica|Clinica|Hôpital|Hospital|Klinikum|Sanatorio|Policlínica|Clinique|Ospedale|"
    r"Centro Médico|Hotel|Hôtel)[ \t](?:(?:de|del|la|San|Santa|São|Saint|St\.?)[ \t-])*[A-Z][A-Za-zÀ-ÿ'-]+"
    r"(?:[ \t](?:de|del|la|[A-Z][A-Za-zÀ-ÿ'-]+)){0,3})"
)


def _distinct_name(m: rx.Match, text: str) -> bool:
    """Some word of the name is no English or generic word ("Hospital Course" is none)."""
    words = [w.lower() for w in rx.findall(r"[A-Za-zÀ-ÿ0-9'-]+", m.group(1))]
    return any(
        w not in lexicons.english_words()
        and w not in _EN_ORG_STOP
        and w not in lexicons.en_stopwords()
        and w not in ("de", "del", "la", "san", "santa", "são", "saint", "st")
        for w in words[1:] or words
    )


def _labeled_org_ok(m: rx.Match, text: str) -> bool:
    """A name after the label, not another field: "insurance: policy no. JTB-22417781"."""
    value = m.group(1)
    if _TITLE_OPENING.match(value):
        return False  # "Employer: Mr. Yang": a person
    return not (value[:1].islower() or sum(c.isdigit() for c in value) >= 4)


_TITLE_OPENING = rx.compile(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s")


# A report header naming its lab or hospital: "GENETIC TEST REPORT (Macrogen)", "PET-CT 판독 (강릉의료원)".
HEADER_ORG = rx.compile(
    r"(?:REPORT|Report|NOTE|SUMMARY|판독|결과\s?보고서|보고서)\s?\(([A-Z가-힣][A-Za-z가-힣&.' -]{1,60})\)"
)
_ACRONYM_RE = rx.compile(
    r"(?<![A-Za-z0-9])(?:"
    + "|".join(sorted(lexicons.org_acronyms(), key=len, reverse=True))
    + r")(?![A-Za-z0-9])"
)
# Institutions named without a word of their kind: "Johns Hopkins", "KONOS".
_KNOWN_ORG_RE = rx.compile(
    r"(?<![A-Za-z0-9가-힣])(?:"
    + "|".join(rx.escape(n) for n in sorted(lexicons.org_names(), key=len, reverse=True))
    + r")(?![A-Za-z0-9])"
)

# A saint's name as a hospital's: "St. Vincent's", "Saint Mary's Medical Center", "St Luke's".
SAINT_ORG = rx.compile(
    r"\b((?:St\.?|Saint) [A-Z][a-z]+(?:['’]s)?(?: (?:Hospital|Medical Center|Regional|Health|"
    r"Clinic|Infirmary|General))*)(?![A-Za-z])(?<=['’]s|Hospital|Center|Regional|Health|Clinic|"
    r"Infirmary|General)"
)

ORG_RULES = [
    Rule("ORGANIZATION", SAINT_ORG, 0.75, group=1),
    Rule("ORGANIZATION", LABELED_ORG, 0.8, group=1, validator=_labeled_org_ok),
    Rule("ORGANIZATION", HEADER_ORG, 0.7, group=1),
    Rule("ORGANIZATION", _ACRONYM_RE, 0.7),
    Rule("ORGANIZATION", _KNOWN_ORG_RE, 0.7, name="known_org"),
    Rule("ORGANIZATION", KO_ORG, 0.8, group=0, validator=_ko_org_ok, prefilter=_KO_ORG_END),
    Rule("ORGANIZATION", KO_COMPANY, 0.8, prefilter=HANGUL),
    Rule("ORGANIZATION", KO_CLINIC, 0.75, name="ko_clinic", prefilter=HANGUL),
    Rule("ORGANIZATION", EN_ORG, 0.75, group=1, validator=_en_org_span),
    Rule("ORGANIZATION", EMPLOYER_ORG, 0.7, group=1, validator=_employer_ok, name="employer"),
    Rule("ORGANIZATION", BRAND_ORG, 0.6, group=1, validator=_brand_ok, name="brand"),
    Rule("ORGANIZATION", AFFILIATION_ORG, 0.6, group=1, validator=_affiliation_ok),
    Rule("ORGANIZATION", SHOP_ORG, 0.6, group=1, validator=_distinct_name, name="shop"),
    Rule("ORGANIZATION", KO_BRAND_BRANCH, 0.7, group=1, name="ko_brand"),
    Rule("ORGANIZATION", NHS_ORG, 0.7, group=1, name="nhs_board"),
    Rule("ORGANIZATION", KO_WORKPLACE, 0.65, group="org", validator=_ko_workplace_ok),
    Rule("ORGANIZATION", PREFIX_ORG, 0.7, group=1, validator=_distinct_name, name="prefix_org"),
    Rule("ORGANIZATION", CARE_PLACE_ORG, 0.6, group=1, validator=_care_place_ok, name="care_place"),
    Rule("ORGANIZATION", SERVICE_ORG, 0.6, group=1, validator=_service_org_ok, name="service"),
]


_TITLED_OF = rx.compile(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s[^\n]*?\sof\s")


# A firm's site after its name, part of it: "Samsung Display Asan plant", "Yonsei
# University Mirae campus".
_SITE_AFTER = rx.compile(
    r"(?:[ \t][A-Z][a-z]+(?:-[a-z]+)?)?[ \t](?:[Pp]lant|[Cc]ampus|[Bb]ranch|[Ff]actory|[Mm]ill|"
    r"[Rr]efinery|[Ss]hipyard|[Ww]orks|[Ss]melter)(?![A-Za-z])"
)


# ...or its state: "Blue Cross Blue Shield of Illinois".
_STATE_AFTER = rx.compile(
    r"[ \t]of[ \t](?:Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|"
    r"Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|"
    r"Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|"
    r"New[ \t](?:Hampshire|Jersey|Mexico|York)|North[ \t](?:Carolina|Dakota)|Ohio|Oklahoma|Oregon|"
    r"Pennsylvania|Rhode[ \t]Island|South[ \t](?:Carolina|Dakota)|Tennessee|Texas|Utah|Vermont|"
    r"Virginia|Washington|West[ \t]Virginia|Wisconsin|Wyoming)(?![A-Za-z])"
)


# ...or the country of its branch: "IQVIA Korea" (not a sentence going on: "Korea.").
_COUNTRY_AFTER = rx.compile(
    r"[ \t](?:Korea|Japan|China|Singapore|Asia Pacific)(?=[ \t]*[)\],;]|[ \t]+[a-z(])"
)


def trim_en_org(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading stop words ("at", "The", "Outside") from an English org span, and a
    titled person before "of" ("Mr. Jang Dong-il of Dongbang Fisheries"); take in the
    site written after it ("Samsung Display Asan plant")."""
    titled = _TITLED_OF.match(text, start, end)
    if titled is not None:
        start = titled.end()
    site = (
        _SITE_AFTER.match(text, end)
        or _STATE_AFTER.match(text, end)
        or _COUNTRY_AFTER.match(text, end)
    )
    if site is not None and text[start:end][:1].isascii():
        end = site.end()
    while True:
        seg = text[start:end]
        first = seg.split(maxsplit=1)[0] if seg.strip() else ""
        if first and first.lower() in _EN_ORG_STOP and len(seg.split()) > 2:
            start += len(first)
            start += len(text[start:end]) - len(text[start:end].lstrip())
            continue
        return start, end
