"""Person names in English and romanized Korean, by shape and role.

What the other rules (``names.find_english_names``) leave, written to generalize:

- **initials with a surname**: ``G.D. Hong``, ``J. H. Seo``, ``Hong G.D.``; a single
  initial (``P. Lindqvist``) only next to a role or a credential;
- **surname-first capitals** of romanized Korean names: ``HONG Gil Dong``,
  ``CHOI Yoo Jin``, ``PARK Eun-chae``; and ``Park, Ji-hoon``;
- **a role before, a credential after**: ``RN Jane Doe``, ``Pathologist: Y. Kim``,
  ``attending Maria Lopez``, ``Jane Doe, RN``, ``Daniel Whitaker, MD``;
- **a known given name**: ``Emily Carter``, ``Luis Gonzalez`` (a list of common given
  names in English-speaking and Latin American use, with the capitalized word after it);
- **relations**: ``his wife, Maria``, ``son (Jun-ho Bak)``, ``daughter Emily``.

Clinical words that look like names stay out: eponyms before disease words
(``Parkinson disease``), words of the stop list (drugs, tests, scales, places), and
the romanized surname list decides what counts as a Korean surname.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.ko_names import CELL_AFTER, CELL_BEFORE, korean_role_before
from deid.text.recognizers.roman import (
    ROMAN_SYLLABLE,
    hyphenated_given,
    hyphenated_syllables,
    roman_given,
    two_syllables,
)

__all__ = [
    "CITIES",
    "LANGUAGES",
    "any_name",
    "find_more_english_names",
    "is_blocked",
    "is_role_word",
]

# Latin letters with accents (Araújo, Grün, Fernández) count as letters of a name.
_UP = "A-ZÀ-ÖØ-ÞĀ-ž"  # Latin Extended-A has both cases (Petrović, Yıldız, Łukasz)
_LO = "a-zß-öø-ÿĀ-ž"
# Smith, O'Donnell, McDonald, D'Angelo, Delgado-Ruiz.
_CAPWORD = rf"[{_UP}](?:['’][{_UP}])?[{_LO}]+(?:[{_UP}][{_LO}]+)?(?:-[{_UP}{_LO}][{_LO}]+)?"
_NAME_PARTICLE = r"(?:van|von|de|del|della|di|da|du|la|le|der|den|ter|bin|binti|al|el|Ó|Ní|Mac|Nic)"
_INITIALS = r"(?:[A-Z]\.\s?){1,3}"
_ROLES = (
    r"RN|LPN|LVN|NP|PA|PA-C|CNM|CRNA|Dr\.?|Prof\.?|Det\.?|[Oo]fficer|[Dd]eputy|[Tt]rooper|Fr\.?|"
    r"Capt\.?|Sgt\.?|Maj\.?|Col\.?|Cpl\.?|Pvt\.?|Cmdr\.?|[Cc]lerk|[Ss]ecretary|[Rr]eceptionist|"
    r"[Aa]ttending|[Rr]esident|[Ff]ellow|[Ii]ntern|[Ss]taff|[Ss]urgeon|[Pp]athologist|[Rr]adiologist|"
    r"[Hh]ematopathologist|[Cc]ytotechnologist|[Cc]ounse(?:l)?lor|[Cc]oordinator|[Cc]haplain|[Ss]itter|"
    r"[Pp]rovider|[Ii]ntensivist|[Pp]harmacist|[Ss]onographer|[Aa]dvocate|[Ii]nterpreter|[Nn]urse|"
    r"[Mm]idwife|[Dd]oula|[Pp]rosector|[Ee]xaminer|[Ww]orker|[Cc]onsultant|[Rr]egistrar|[Tt]herapist|"
    r"[Dd]ietitian|[Cc]linician|[Oo]perator|[Aa]ssistant|[Aa]nesthesiologist|[Cc]ardiologist|"
    r"[Nn]eurologist|[Oo]ncologist|[Pp]hysician|[Tt]echnologist|[Ss]ocial worker|[Cc]ase manager|"
    r"Charge RN|Triage RN|Taken by|Seen by|Paged|paged|Report(?:ed)? by|Called by|Caller|Client|Decedent|"
    r"Proband|Recipient|Donor|Member|Infant|Mother|Father|Vulnerable adult|R[1-4]|PGY-?\d|"
    r"Daughter|Son|Wife|Husband|Sister|Brother|Spouse|Partner|Guardian|Bystander|Witness|Roommate|"
    r"Granddaughter|Grandson|Grandmother|Grandfather|Niece|Nephew|Aunt|Uncle|Cousin|Stepdaughter|"
    r"Stepson|Stepmother|Stepfather|Neighbou?r|Friend|"
    r"(?:[Dd]aughter|[Ss]on|[Mm]other|[Ff]ather|[Bb]rother|[Ss]ister)-in-law|"
    r"[Cc]o-?worker|[Cc]olleague|[Ff]oreman|[Ss]upervisor|[Ll]andlord|[Cc]lassmate|[Tt]eammate|"
    r"Policyholder|Subscriber|Insured|Beneficiary|Claimant|Applicant|Guarantor|"
    r"(?:Logged|Entered|Recorded|Verified|Reviewed|Signed|Completed|Prepared|Approved|Checked|"
    r"Witnessed|Administered|Performed|Interpreted|Accepted|Referred|Requested|Ordered|Obtained|"
    r"Consented|Dictated|Transcribed|Typed|Read) by|"
    r"[Aa]ide|[Cc]aregiver|[Cc]haplain|Detective|Deputy|[Cc]aseworker|[Ss]ponsor|PI|CRC|Investigator|"
    r"[Hh]ygienist|[Pp]hlebotomist|[Pp]aramedic|EMT|[Dd]ispatcher|[Vv]olunteer|[Ss]cribe|RT|RRT|"
    r"PT|OT|SLP|SW|CM|MA|CMA|CNA|Br\.|Brother|Anesth\.?|Anes\.?|Circ\.?|Scrub|Circulator|Medic(?:[ \t]\d{1,3})?|"
    r"Imam|Rabbi|Pastor|Rev\.?|Reverend|Deacon|[Tt]echnician|[Dd]entist|[Oo]ptometrist|[Tt]rainer|"
    r"[Cc]oach|[Tt]eacher|[Pp]rincipal|[Tt]utor|[Dd]river"
)
_CREDENTIALS = (
    r"MD|M\.D\.|DO|RN|LPN|LVN|NP|PA|PA-C|PhD|PharmD|MSW|LCSW|LCGC|CGC|MS|RD|RDCS|CNM|CRNA|MHT|"
    r"FRCP|FACMG|FACP|DDS|DMD|MPH|SANE-A|BSN|MSN|DNP|OTR|PT|DPT"
)
_ROLE_NAME = rx.compile(
    # (a note in brackets may sit between: "Interpreter (Polish): Agnieszka")
    # (a dash of any kind after the role: "RN – Ye-seul; PT – Bo-ra")
    rf"(?:(?<![A-Za-z])(?:{_ROLES}))(?:\s?\([^()\n]{{1,20}}\))?\s*[:,\-–—]?\s+"
    # (not a title opening the name: "chaplain Br. Anselm" is read from the title)
    rf"(?!(?:Br|Sr|Fr|Dr|Mr|Mrs|Ms|Rev)\.)((?:{_INITIALS}\s?)?{_CAPWORD}(?:[ \t](?:{_INITIALS}|{_CAPWORD}|{_NAME_PARTICLE}(?=[ \t][{_UP}]))){{0,3}}"
    rf"|{_INITIALS}\s?{_CAPWORD})"
)
_ROLE_WORD = rx.compile(rf"(?:{_ROLES})")
# A role as a field's label and a name written family-first: "Client: Oyelaran, Babajide"
# (the name after a colon first, then the role before it: one scan of the roles is costly).
_COLON_COMMA_NAME = rx.compile(
    rf"[:：]\s{{0,3}}({_CAPWORD}(?:[ -]{_CAPWORD})?, ?(?:{_CAPWORD}(?:[ \t]{_CAPWORD})?"
    # (or initials: "Pathologist: Kwon, H.")
    rf"|(?!M\.D\.|D\.O\.|R\.N\.|N\.P\.|P\.A\.|D\.D\.S)[A-Z]\.(?:[ \t]?[A-Z]\.)?))(?![{_UP}{_LO}])"
)
_ROLE_BEFORE_COLON = rx.compile(rf"(?<![A-Za-z])(?:{_ROLES})\s?$")


def is_role_word(word: str) -> bool:
    """``Surgeon``, ``RN``, ``Dr.``: a word naming a role, never part of the name."""
    return _ROLE_WORD.fullmatch(word) is not None or word.lower().strip(".") in _NOT_NAMES


_NAME_CREDENTIAL = rx.compile(
    # (an initial may close it: "— Ewa K., RN")
    rf"((?:{_INITIALS}\s?)?{_CAPWORD}(?:[ \t-]{_CAPWORD}){{0,2}}(?:[ \t][A-Z]\.)?|{_INITIALS}\s?{_CAPWORD})"
    rf",\s?(?:{_CREDENTIALS})(?![A-Za-z])"
    # (without the comma after an initial and a family name: "— K. O'Neill RN")
    rf"|({_INITIALS}\s?{_CAPWORD})[ \t](?:{_CREDENTIALS})(?![A-Za-z])"
)
# (on one line: "M.D.\nDepartment of Surgery" is a credential and a heading)
_INITIAL_SURNAME = rx.compile(
    rf"(?<![A-Za-z.])((?:[A-Z]\.[ \t]?){{2,3}}[ \t]?{_CAPWORD})(?![A-Za-z])"
)
_SURNAME_INITIALS = rx.compile(rf"(?<![A-Za-z.])({_CAPWORD}\s(?:[A-Z]\.\s?){{1,3}})")
_SURNAME_FIRST = rx.compile(
    r"(?<![A-Za-z])([A-Z]{2,}(?:[ \t-][A-Z][a-z]+(?:-[a-z]+)?){1,2})(?![A-Za-z])"
)
# "Lee, Ji-won", "Kim, Hyewon" (the given name checked: hyphenated or two romanized syllables)
# (not a firm's name going on: "Mr. Jung, Daepo Marine Co.")
_SURNAME_COMMA = rx.compile(
    rf"(?<![A-Za-z])({_CAPWORD}, ?([A-Z][a-z]+(?:-[a-z]+)?))(?![A-Za-z])"
    rf"(?![ \t](?!(?:{_CREDENTIALS})(?![A-Za-z]))[A-Z])"
)
# (a dash before it only as a sign-off: "-Rosa Delgado, billing", not "Smith-Rosa Delgado")
_GIVEN_FAMILY = rx.compile(
    rf"(?<![{_UP}{_LO}'’])(?<![^\s(]-)([{_UP}][{_LO}]+)((?:[ \t]{_CAPWORD}){{1,2}})(?![{_UP}{_LO}])"
)
# "Thompson, Gerald", "O'Donnell, Siobhan": a family name, a comma, a known given name.
_FAMILY_COMMA_GIVEN = rx.compile(
    rf"(?<![{_UP}{_LO}'’-])({_CAPWORD}(?: {_CAPWORD})?), ?([{_UP}][{_LO}]+)(?: [A-Z]\.)?(?![{_UP}{_LO}-])"
)
_PARTICLE = r"(?:de|da|del|della|di|du|la|le|van|von|der|den|dos|das|bin|binti|al|el|ter)"
_RELATION = rx.compile(
    r"(?i:\b(?:wife|husband|son|daughter|mother|father|sister|brother|niece|nephew|grandson|"
    r"mom|mum|dad|grandma|grandpa|grandmother|grandfather|stepmother|stepfather|"
    r"granddaughter|partner|fianc[ée]e?|boyfriend|girlfriend|friend|roommate|neighbou?r|caregiver|"
    r"guardian|spouse|aunt|uncle|cousin|stepdaughter|stepson)\b)"
    rf"[,:]?\s*\(?\s*((?:{_CAPWORD}|[A-Z]{{2,}})(?:[ \t-](?:{_CAPWORD}|[A-Z]{{2,}}|{_PARTICLE}(?: {_PARTICLE})? {_CAPWORD})){{0,2}})"
)


# Languages before an interpreter's name, never a family name before a comma there:
# "Interpreter used: Spanish, Lucía Paredes".
_LANGUAGE_LIST = (
    "spanish, english, korean, chinese, mandarin, cantonese, japanese, vietnamese, russian, "
    "french, german, arabic, thai, tagalog, mongolian, uzbek, nepali, hindi, urdu, portuguese"
)
LANGUAGES = frozenset(_LANGUAGE_LIST.split(", "))
# Cities that NER and the lexicons read as people (two capitalized words): a place is no name.
_CITY_LIST = (
    "san francisco|san diego|san jose|san antonio|los angeles|las vegas|abu dhabi|sao paulo|"
    "são paulo|buenos aires|kuala lumpur|tel aviv|hong kong|ho chi minh|new delhi|santa monica|"
    "santa clara|santa cruz|rio de janeiro|mexico city|cape town|saint louis|st louis|st. louis|"
    "salt lake city|new york|new jersey|new orleans|costa rica|puerto rico|sri lanka|addis ababa|"
    "phnom penh|ulaanbaatar|dar es salaam|port moresby"
)
CITIES = frozenset(_CITY_LIST.split("|"))
# What a family history says of a relative, in capitals: no name.
_DISEASE_ACRONYM_LIST = (
    "MI CAD DM HTN CVA CHF COPD CA AF AFIB PE DVT TB HIV HCV HBV CKD ESRD SLE RA ALS AD PD BPH "
    "IHD ACS AAA GERD IBD UC OA OSA PCOS SCD ADHD ASD MR NIDDM IDDM"
)
_DISEASE_ACRONYMS = frozenset(_DISEASE_ACRONYM_LIST.split())
# "Dear Ji-woo,", "Dear Mrs. Kowalski,": whom a letter is written to.
_SALUTATION = rx.compile(
    rf"\bDear[ \t]+(?:(?:Mr|Mrs|Ms|Mx|Dr|Prof)\.?[ \t]+)?({_CAPWORD}(?:[ \t]{_CAPWORD}){{0,2}})[ \t]*[,:!\n]"
)
_NOT_SALUTED = frozenset(
    [
        "colleague",
        "colleagues",
        "sir",
        "sirs",
        "madam",
        "doctor",
        "professor",
        "team",
        "parents",
        "parent",
        "family",
        "friend",
        "friends",
        "patient",
        "patients",
        "all",
        "committee",
        "editor",
        "member",
        "members",
        "reviewer",
        "reviewers",
    ]
)
# A chat or message log: "Megan O.: ok", "Ravi (pharmacy): bed 12" at the start of a line.
_SPEAKER = rx.compile(
    rf"^[ \t]*({_CAPWORD}(?:[ \t](?:[A-Z]\.|{_CAPWORD}))?)(?:[ \t]\([^)\n]{{1,30}}\))?:[ \t]",
    rx.M,
)
# A person's initials in brackets after their id: "Subject KR-07-112 (C.Y.P.)".
# (three letters: two in brackets are as often an abbreviation, "주소(C.C.)")
# (three dotted initials, or two right after an id: "participant GW-2231 (T.K.)")
_INITIALS_IN_BRACKETS = rx.compile(r"\(((?:[A-Z]\.){3})\)|(?<=\d\s?)\(((?:[A-Z]\.){2})\)")
_NOT_PERSON_INITIALS = frozenset(
    [
        "B.I.D.",
        "T.I.D.",
        "Q.I.D.",
        "P.R.N.",
        "A.S.A.",
        "U.S.A.",
        "U.S.",
        "U.K.",
        "A.M.",
        "P.M.",
        "P.O.",
        "N.B.",
    ]
)
# A person's initials after their label: "Initials: K.S.L.", "Pt initials JHK".
_INITIALS_LABEL = rx.compile(
    r"(?i:\binitials?|이니셜)\s*[:：]?\s*((?:[A-Z]\.\s?){1,3}[A-Z]\.?|[A-Z]{1,2}(?:-[A-Z]{1,2}){1,3}|[A-Z]{2,3})(?![A-Za-z])"
    # a study participant or a patient named by dotted initials: "participant J.M."
    r"|(?i:\b(?:participant|subject|patient|pt))\.?\s(?-i:((?:[A-Z]\.){2,3}))(?![A-Za-z])"
)
# A name in quotes after what names a baby or a nickname: Baby boy "Minh", goes by "Ace".
_QUOTED_NAME = rx.compile(
    r"(?:\b[Bb]aby\s(?:[Bb]oy|[Gg]irl)|\bgoes by|\bknown as|\bnicknamed|\b(?:his|her|their|whose) name is)"
    r"\s[\"“']([A-Z][a-z]+(?:[ -][A-Z][a-z]+)?)[\"”']"
)
# Dotted initials as a field of their own between dashes or bars, as a log writes a
# participant: "0031 — N.K. — eligible", "| J.-H.L. |".
_INITIALS_FIELD = rx.compile(
    r"(?:^|(?<=[—–|;]\s)|(?<=[—–|;]))[ \t]?((?:[A-Z]\.-?){2,3})(?=[ \t]?[—–|;])",
    rx.M,
)
# A name after what names it: "Preferred name: Inga", "(first name Tunde)", "née Hartmann".
_NAMED_AS = rx.compile(
    r"(?i:\b(?:preferred name|goes by|nickname|first name|given name|last name|surname|family name|"
    r"maiden name|née|nee|aka|a\.k\.a\.))[ \t]*[:=]?[ \t]*"
    rf"[\x22“]?({_CAPWORD}(?:[ \t]{_CAPWORD})?)[\x22”]?(?![{_UP}{_LO}])"
)
# A bed and the name in it: "Bed 5 Lindqvist, Maja — DKA", "Bed 3: Amara Diallo".
_BED_NAME = rx.compile(
    rf"(?i:\bbed)[ \t]?\d{{1,3}}[A-Za-z]?[ \t]?[-–—:]?[ \t]?"
    rf"({_CAPWORD},[ \t]?{_CAPWORD}|{_CAPWORD}[ \t]{_CAPWORD})(?![{_UP}{_LO}])"
)
# A hand-over between two people named by their given names: "From Hee-won to Tomasz."
_FROM_TO = rx.compile(rf"\b[Ff]rom[ \t]({_CAPWORD})[ \t]to[ \t]({_CAPWORD})(?![{_UP}{_LO}])")
# A nickname in quotes inside a name: 'Guadalupe "Lupe" Ortiz'.
_QUOTED_MIDDLE = rx.compile(
    rf"(?<![{_UP}{_LO}])({_CAPWORD}[ \t][\x22“]{_CAPWORD}[\x22”][ \t]{_CAPWORD})(?![{_UP}{_LO}])"
)
# A letter's or message's sign-off: "Thanks, Tarek", "Best regards,\nIngrid Solberg".
_SIGN_OFF = rx.compile(
    r"(?i:\b(?:thanks|thank you|many thanks|best|best regards|kind regards|regards|cheers|"
    r"sincerely|yours sincerely|yours|yours truly|yours faithfully|warm regards|warmly|respectfully|"
    r"take care))[,!.]?[ \t]*\n?[ \t]*"
    rf"({_CAPWORD}(?:[ \t]{_CAPWORD})?)(?![{_UP}{_LO}])"
)
# Vietnamese names, romanized: the middle name Thi/Van marks them ("Tran Thi Mai").
_VIETNAMESE = rx.compile(
    rf"(?<![{_UP}{_LO}])({_CAPWORD}[ \t](?:Thi|Thị|Van|Văn)[ \t]{_CAPWORD}(?:[ \t]{_CAPWORD})?)(?![{_UP}{_LO}])"
)

# One initial and a family name the lexicons know: "T. Aldana", "K. Wójcik".
# (not after a digit: "PLT 58K. No bleeding")
_ONE_INITIAL_SURNAME = rx.compile(rf"(?<![A-Za-z0-9.])([A-Z]\.\s?{_CAPWORD})(?![A-Za-z])")
# Initials without dots before a romanized Korean family name: "HJ Lee", "SY Park".
_BARE_INITIALS_SURNAME = rx.compile(
    r"(?<![A-Za-z])([A-Z]{2}\s[A-Z][a-z]{1,4})(?![A-Za-z])(?![ \t-][A-Z][a-z])"
)
# ...and after it: "Kim MJ", "Lee SH".
_SURNAME_BARE_INITIALS = rx.compile(
    r"(?<![A-Za-z.-])([A-Z][a-z]{1,4}\s[A-Z]{2})(?![A-Za-z-]|\.[A-Za-z])"
)
_ROMAN_GIVEN = rx.compile(r"(?<![A-Za-z'’.-])([A-Z][a-z]{2,9}(?:-[a-z]{2,5})?)(?![A-Za-z'’-])")
# What a person does, right after a lone name: "Jiyeon reports nausea", "Tomasz denies".
_PERSON_VERB_AFTER = rx.compile(
    r"\s(?:reports?|reported|states?|stated|denies|denied|says|said|complains?|complained|"
    r"presents?|presented|called|calls|agreed|agrees|refused|refuses|declined|declines|returns?|"
    r"returned|feels|felt|notes|noted|describes|described|endorses|endorsed|admits|admitted to|"
    r"prefers|wants|wanted|asked|asks|understands|understood|lives|lived|works|worked|arrived|"
    r"visited|was seen|is seen|was admitted|is admitted|was discharged|is a \d|was a \d|is an? "
    r"\d|has been|had been|tolerated|tolerates|remains|remained|appears|appeared|verbalized|"
    r"verbalizes|expressed|expresses|requested|requests|consented|signed)\b"
)
# A full name as the subject of a history: "HPI: Lowell Petrakis is a 66M who ...".
_SUBJECT_NAME = rx.compile(
    rf"(?<![{_UP}{_LO}'’.-])({_CAPWORD}(?:[ \t]{_CAPWORD}){{1,2}})"
    r"(?=\s(?:is|was)\s(?:a|an)\s\d{1,3}|\s(?:presents|presented|reports|denies|states)\b)"
)
# A relative's given name in brackets: "Two daughters, one (Eleni) is a nurse".
_RELATIVE_IN_BRACKETS = rx.compile(
    r"(?i:\b(?:daughters?|sons?|sisters?|brothers?|children|kids|grandchildren|wife|husband|"
    rf"partner|mother|father|parents|siblings?)\b)[^.\n()]{{0,20}}\(({_CAPWORD})\)"
)
# "ABUBAKAR, Halima", "HUANG, Wei": a family name in capitals, a comma, a given name.
_CAPS_FAMILY_COMMA_GIVEN = rx.compile(
    rf"(?<![A-Za-z])([A-Z]{{2,}}(?:[ -][A-Z]{{2,}})?, ?[{_UP}][{_LO}]+(?:-[{_LO}]+)?(?:[ -][{_UP}][{_LO}]+)?)"
    rf"(?![{_UP}{_LO}])"
)
# "PARK SANG-CHUL", "KIM MIN SU": a romanized Korean name all in capitals.
_CAPS_ROMAN = rx.compile(
    r"(?<![A-Za-z])([A-Z]{2,5}(?:[ ,]{1,2}[A-Z]{2,6}(?:-[A-Z]{1,6})?){1,2})(?![A-Za-z])"
)
# Two capitals that are a clinical abbreviation, not initials: "CT Kim" is no name.
_NOT_INITIALS = rx.compile(
    r"CT|MR|US|ER|OR|ED|IV|IM|SC|PO|GI|GU|UA|UO|BP|HR|RR|OT|PT|ST|RN|NP|PA|MD|DO|EM|CC|PI|"
    r"RD|MS|SW|DC|NA|CM|HD|PD|SI|HI"
)


# A single name word a lexicon knows, with something around it that a name has:
def _not_lone_name(text: str, word: str, end: int) -> bool:
    """A listed word that is no name alone: a stop word, a role, or a family name that is
    an English function word before a lower-case word ("IMPRESSION: No acute process")."""
    if _blocked(word) or is_role_word(word):
        return True
    return word.lower() in _FUNCTION_SURNAMES and _LOWER_WORD_AFTER.match(text, end) is not None


# Romanized family names that are English function words, and a lower-case word after.
_FUNCTION_SURNAMES = frozenset(["no", "so", "an", "do", "ha", "ma", "oh", "on", "go", "ye"])
_LOWER_WORD_AFTER = rx.compile(r"[ \t][a-z]|,[ \t][a-z]")
_LONE_NAME = rx.compile(rf"(?<![{_UP}{_LO}'’.-])({_CAPWORD})(?![{_UP}{_LO}'’-])")
_LIST_LABEL_BEFORE = rx.compile(r"(?:[A-Za-z]{2,}\)?|[가-힣]{1,8})\s?:\s*(?:\S+\s?[,/&]\s?)?$")
# An age right after a name: "referring Erik, age 7,", "Chloe, 34,"
# Care handed over to a person: "Handed over to Priya at 0700", "report given to Jolene"
_HANDOVER_BEFORE = rx.compile(
    r"(?i:\b(?:handed(?: over)? to|hand-?off to|handover to|report(?: given)? to|signed out to|"
    r"care (?:transferred|handed) to|relieved by|covered by|covering for|discussed with|"
    r"spoke (?:with|to)|talked (?:with|to)|met with|d/w|reviewed with|seen with|paged|"
    r"texted|messaged|emailed|asked|"
    # a hand-over's giver and its taker: "handoff from Beatriz to Ye-jin"
    r"(?:hand-?off|handover|report|care) from|(?:hand-?off|handover|report) from \S+ to))\s$"
)
_AGE_AFTER = rx.compile(r",?\s(?:age|aged)\s\d|,\s\d{1,3}(?:\s?(?:y/?o|yo|years?(?: old)?))?[,.;)]")
# Korean text around a Latin name: a role or relation before it ("동행인 Sergei",
# "남자친구(Lucas)"), a particle or title after it ("Sergei 씨", "Lucas와").
_KO_NAME_SUFFIX = rx.compile(r"\s?(?:씨|님|선생님|와|과|에게|한테|께서|께)(?![가-힣])")
_ROLE_PAREN_AFTER = rx.compile(r"\s?\((?:[A-Za-z][A-Za-z .-]{0,24}|[가-힣 ]{1,10})\)")
_SIBLINGS_BEFORE = rx.compile(
    r"(?i:\b(?:siblings?|children|kids|twins|sons|daughters|parents|grandchildren|cousins|"
    r"family members?|relatives?|visitors?|contacts?|crew|team members?|medics|paramedics|"
    r"EMTs|officers|deputies|nurses|doctors|drs\.?|residents|interns|staff|witnesses|"
    r"attendees|present))\s?:?\s*$"
)
_GROUP_LIST = rx.compile(
    r"(?:\b(?:[Mm]edics|[Pp]aramedics|EMTs|[Oo]fficers|[Dd]eputies|[Ww]itnesses|[Cc]rew|"
    r"[Ss]iblings|[Cc]hildren|[Gg]randchildren|[Cc]aregivers|[Dd]rs\.?|[Nn]urses|[Ff]riends|"
    r"[Rr]oommates|[Cc]o-?workers|[Cc]olleagues|[Nn]eighbou?rs|[Cc]ousins|[Pp]arents|[Ss]ons|"
    r"[Dd]aughters|[Bb]rothers|[Ss]isters))\s?:?\s+"
    rf"({_CAPWORD}(?:\s?(?:,|&|and)\s?{_CAPWORD}){{1,3}})"
)
_AND_NAME = rx.compile(rf"\s?(?:,|/|&|and|or)\s?({_CAPWORD})")
_NAME_AND = rx.compile(rf"({_CAPWORD})\s?(?:,|/|&|and|or)\s?$")


_given_names = lexicons.given_names


@cache
def _census_given_names() -> frozenset[str]:
    return frozenset(w.lower() for w in lexicons.en_given_names())


_surnames = lexicons.family_names


@cache
def _any_names() -> frozenset[str]:
    """Every name the lexicons know, given or family, romanized Korean included."""
    return _given_names() | lexicons.world_surnames() | lexicons.roman_surnames()


def any_name(word: str) -> bool:
    """A given or family name some lexicon knows (any case)."""
    return word.lower() in _any_names()


_NOT_NAMES = frozenset(
    [
        "dr",
        "br",
        "sr",
        "drs",
        "re",
        "per",
        "imam",
        "rabbi",
        "pastor",
        "rev",
        "reverend",
        "deacon",
        "fw",
        "fwd",
        "messrs",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "prof",
        "fr",
        "det",
        "sr",
        "jr",
        "st",
        "baby",
        "girl",
        "boy",
        "infant",
        "newborn",
        "male",
        "female",
        "patient",
        "pt",
        "principal",
        "discharging",
        "admitting",
        "attending",
        "pediatric",
        "specialty",
        "anesthesia",
        "trauma",
        "incident",
        "report",
        "department",
        "dept",
        "clinic",
        "ward",
        "unit",
        "team",
        "service",
        "services",
        # letter openings and sign-offs ("Best, Rebecca", "Thanks, Jin")
        "best",
        "regards",
        "thanks",
        "thank",
        "sincerely",
        "cheers",
        "dear",
        "hi",
        "hello",
        "warmly",
        "respectfully",
    ]
)


_FUNCTION_WORDS = frozenset(["on", "no", "so", "an", "to", "do", "go", "in", "up", "or", "as"])
_EPONYM_NEXT = rx.compile(r"[ \t]([A-Z][a-z]+)")
_ORG_KIND_AFTER = rx.compile(
    r"[ \t](?:Dental|Care|Hospital|Clinic|Center|Centre|Pharmacy|Labs?|Laboratory|Practice|"
    r"Medical|Health|Group|Associates|Institute|University)\b"
)
_NUMBER_LABEL = rx.compile(r"\b(?:No|Nr|Num|Number)$")
_NUMBER_AFTER = rx.compile(r"\.?\s?[:#]?\s?[A-Z]{0,3}-?\d")


def _blocked(word: str) -> bool:
    if rx.fullmatch(r"(?:[A-Z]\.)+", word):
        return False  # initials: "A." in "A. Petrov"
    lw = word.lower().strip("'’.,")
    if lw.endswith(("ologist", "iatrist", "ician", "ographer")):
        return True  # "Consultant Gastroenterologist": a post
    if lw in _NOT_NAMES:
        return True
    return (lw in lexicons.en_stopwords() or lw in lexicons.eponyms()) and (
        lw not in lexicons.roman_surnames() and lw not in _given_names()
    )


def is_blocked(word: str) -> bool:
    """A word of the stop or eponym lists, or a post: never a name on its own."""
    return _blocked(word)


def _clean(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim words that are not name-like from both ends of ``text[start:end]``."""
    words = list(rx.finditer(r"[^\s,()]+", text[start:end]))
    while words and _blocked(words[-1].group(0)):
        words.pop()
    while words and (_blocked(words[0].group(0)) or is_role_word(words[0].group(0))):
        words.pop(0)
    if not words:
        return None
    return start + words[0].start(), start + words[-1].end()


def _eponym_use(text: str, end: int) -> bool:
    """``Parkinson disease``, ``Hodgkin lymphoma``: a word before a disease word."""
    return (
        rx.match(
            r"(?i)(?:['’]s)?\s(?:disease|syndrome|sign|score|scale|test|lymphoma|criteria|classification|"
            r"procedure|operation|catheter|tube|maneuver|stain|grade|type|fracture|palsy|reflex|ulcer|"
            r"classification|criteria|technique|approach|repair|anastomosis|flap|incision|view|"
            r"position|node|cells?|bod(?:y|ies)|phenomenon|effect|law|method|formula|equation|"
            r"index|staging|stage|\w+ectomy|\w+otomy|\w+ostomy|\w+plasty|\w+pexy)",
            text[end : end + 24],
        )
        is not None
    )


def find_more_english_names(text: str) -> list[tuple[int, int, float]]:  # noqa: C901
    out: list[tuple[int, int, float]] = []
    roman = lexicons.roman_surnames()

    def add(span: tuple[int, int] | None, score: float) -> None:
        if span is None or span[1] <= span[0] or _eponym_use(text, span[1]):
            return
        nxt = _EPONYM_NEXT.match(text, span[1])
        if nxt is not None and nxt.group(1).lower() in lexicons.eponyms():
            return  # "Ann" of "Ann Arbor stage": the name of a named thing
        if text[span[0] : span[1]].lower() in CITIES:
            return  # "Invitae (San Francisco)": a place
        if _ORG_KIND_AFTER.match(text, span[1]):
            return  # "Referred by Lotus Dental Care": a firm's name, not a person's
        word = text[span[0] : span[1]]
        if word.lower() in _FUNCTION_SURNAMES and _LOWER_WORD_AFTER.match(text, span[1]):
            return  # "PT: No, she's at work": a word, not 노
        if any(_blocked(w) for w in rx.findall(r"[^\s,()]+", text[span[0] : span[1]])):
            return  # "Baby Kang", "Specialty Registrar": a word of the span is no name
        if _NUMBER_LABEL.search(text[span[0] : span[1]]) and _NUMBER_AFTER.match(text, span[1]):
            return  # "Reg No. 7700-2841", "Unit Number: 123": the label of a number
        out.append((span[0], span[1], score))

    for m in _ROLE_NAME.finditer(text):
        add(_clean(text, *m.span(1)), 0.8)
    for m in _COLON_COMMA_NAME.finditer(text):
        if _ROLE_BEFORE_COLON.search(text, max(0, m.start() - 30), m.start()):
            add(_clean(text, *m.span(1)), 0.8)
    for m in _NAME_CREDENTIAL.finditer(text):
        add(_clean(text, *m.span(1 if m.group(1) else 2)), 0.85)
    for m in _INITIAL_SURNAME.finditer(text):
        add(_clean(text, *m.span(1)), 0.75)
    for m in _SURNAME_INITIALS.finditer(text):
        if m.group(1).split()[0].lower() in roman:
            s, e = m.span(1)
            add((s, len(text[:e].rstrip())), 0.75)
    for m in _SURNAME_FIRST.finditer(text):
        words = rx.split(r"[\s-]", m.group(1))
        if words[0].lower() in roman and all(
            w.lower() not in lexicons.en_stopwords() or ROMAN_SYLLABLE.fullmatch(w)
            for w in words[1:]
        ):
            add(m.span(1), 0.8)
    for m in _SURNAME_COMMA.finditer(text):
        if m.group(1).split(",")[0].lower() in roman and roman_given(m.group(2)):
            add(m.span(1), 0.8)
    given = _given_names()
    for m in _GIVEN_FAMILY.finditer(text):
        if m.group(1).lower() in given:
            add(_clean(text, *m.span()), 0.7)
    for m in _FAMILY_COMMA_GIVEN.finditer(text):
        family = m.group(1).split()[-1]
        if m.group(2).lower() in given and not _blocked(family) and family.lower() not in LANGUAGES:
            add(_clean(text, *m.span()), 0.7)
    for m in _SALUTATION.finditer(text):
        if m.group(1).split()[0].lower() not in _NOT_SALUTED:
            add(_clean(text, *m.span(1)), 0.75)
    # A lone word before a colon is most often a field label ("Vaso: NE 0.12"): the
    # census's given names only, unless two lines or more open with a known given name (a
    # chat log: "Tomasz: me, she's stable" ... "Tomasz: will do").
    speakers = [
        m
        for m in _SPEAKER.finditer(text)
        if (first := m.group(1).split()[0].lower()) in given
        and first not in lexicons.eponyms()  # not "Lauren: intestinal"
    ]
    census = _census_given_names()
    for m in speakers:
        words = m.group(1).split()
        if len(words) > 1 or len(speakers) >= 2 or words[0].lower() in census:
            add(_clean(text, *m.span(1)), 0.7)
    for m in _SIGN_OFF.finditer(text):
        first = m.group(1).split()[0].lower()
        if first in given or (
            first not in lexicons.english_words()
            and (two_syllables(first) or hyphenated_syllables(first))
        ):
            add(_clean(text, *m.span(1)), 0.75)
    for m in _INITIALS_LABEL.finditer(text):
        group = 1 if m.group(1) else 2
        out.append((m.start(group), m.end(group), 0.8))
    for m in _QUOTED_NAME.finditer(text):
        out.append((m.start(1), m.end(1), 0.75))
    for m in _QUOTED_MIDDLE.finditer(text):
        add(m.span(1), 0.75)
    for m in _BED_NAME.finditer(text):
        add(_clean(text, *m.span(1)), 0.75)
    for m in _FROM_TO.finditer(text):
        if all(_given_like(m.group(g)) for g in (1, 2)):
            out.extend([(m.start(1), m.end(1), 0.7), (m.start(2), m.end(2), 0.7)])
    for m in _NAMED_AS.finditer(text):
        if not is_role_word(m.group(1).split()[0]):
            out.append((m.start(1), m.end(1), 0.8))
    for m in _SUBJECT_NAME.finditer(text):
        last = m.group(1).split()[-1]
        if last.lower() not in lexicons.english_words() or any_name(last):
            add(_clean(text, *m.span(1)), 0.75)  # (not "Bell Palsy is a ...")
    for m in _RELATIVE_IN_BRACKETS.finditer(text):
        if not _blocked(m.group(1)) and m.group(1).lower() not in lexicons.english_words():
            add(m.span(1), 0.7)
    for m in _INITIALS_FIELD.finditer(text):
        if m.group(1) not in _NOT_PERSON_INITIALS:
            out.append((m.start(1), m.end(1), 0.7))
    for m in _INITIALS_IN_BRACKETS.finditer(text):
        group = 1 if m.group(1) else 2
        if m.group(group) not in _NOT_PERSON_INITIALS:
            out.append((m.start(group), m.end(group), 0.7))
    for m in _VIETNAMESE.finditer(text):
        add(m.span(1), 0.75)
    for m in _RELATION.finditer(text):
        if m.group(1).split()[0] not in _DISEASE_ACRONYMS:  # "father MI at 58"
            add(_clean(text, *m.span(1)), 0.75)
    _lexicon_names(text, add)
    return out


def _given_like(word: str) -> bool:
    """A given name from the lists, or a romanized Korean one, and no English word."""
    low = word.lower()
    if low in lexicons.english_words() or _blocked(word):
        return False
    return low in _given_names() or roman_given(word) or hyphenated_given(word)


def _bare_initials_names(text: str, roman: frozenset[str]) -> list[tuple[int, int]]:
    """Initials without dots and a romanized Korean family name: "HJ Lee", "Kim MJ"."""
    out: list[tuple[int, int]] = []
    for m in _BARE_INITIALS_SURNAME.finditer(text):
        initials, last = m.group(1).split()
        if not _NOT_INITIALS.fullmatch(initials) and last.lower() in roman:
            out.append(m.span(1))
    for m in _SURNAME_BARE_INITIALS.finditer(text):
        last, initials = m.group(1).split()
        if (
            not _NOT_INITIALS.fullmatch(initials)
            and last.lower() in roman
            and last.lower() not in _FUNCTION_WORDS  # "On HD", "No SI"
            and last.lower() not in lexicons.en_stopwords()
        ):
            out.append(m.span(1))
    return out


def _names_after_korean_roles(text: str) -> list[tuple[int, int]]:
    """A capitalized Latin word no list holds after a Korean person role ("동료 Enkhjargal
    통역", "간병인 Tuyet") or taking over care ("report to D'Angelo"); not an English word
    ("동료 Team")."""
    out: list[tuple[int, int]] = []
    for m in _LONE_NAME.finditer(text):
        word = m.group(1)
        s = m.start(1)
        line_start = text.rfind("\n", 0, s) + 1
        before = text[max(line_start, s - 16) : s]
        if (
            len(word) >= 3
            and (
                (rx.search(r"[가-힣]\s$", before) and korean_role_before(before))
                or _HANDOVER_BEFORE.search(text[max(line_start, s - 30) : s])
            )
            and word.lower() not in lexicons.english_words()
            and not _blocked(word)
            and not is_role_word(word)
        ):
            out.append(m.span(1))
    return out


def _roman_given_names(text: str) -> list[tuple[int, int]]:
    """A romanized Korean given name no list holds, doing what a person does: "Jiyeon
    reports nausea", "Seo-yeon denies", or taking over a shift ("Handover to Sun-mi"); no
    English word ("Bowel remained")."""
    out: list[tuple[int, int]] = []
    for m in _ROMAN_GIVEN.finditer(text):
        word = m.group(1)
        lw = word.lower()
        line_start = text.rfind("\n", 0, m.start(1)) + 1
        before = text[max(line_start, m.start(1) - 30) : m.start(1)]
        if (
            (_PERSON_VERB_AFTER.match(text, m.end(1)) or _HANDOVER_BEFORE.search(before))
            and (two_syllables(lw.replace("-", "")) or hyphenated_syllables(lw))
            and not _blocked(word)
            and not is_role_word(word)
            and lw not in lexicons.eponyms()
            and lw not in lexicons.english_words()
        ):
            out.append(m.span(1))
    return out


def _caps_roman_names(text: str, roman: frozenset[str]) -> list[tuple[int, int]]:
    """Romanized Korean names in capitals: a family name, then the longest run of
    romanized syllables ("PARK, JI-HOON  MRN" is "PARK, JI-HOON": the capitals after it
    are the next field's label)."""
    out: list[tuple[int, int]] = []
    for m in _CAPS_ROMAN.finditer(text):
        parts = list(rx.finditer(r"[A-Z]+", m.group(1)))
        if parts[0].group(0).lower() not in roman:
            continue
        last = 0
        for i, part in enumerate(parts[1:], 1):
            if not (ROMAN_SYLLABLE.fullmatch(part.group(0)) or two_syllables(part.group(0))):
                break
            last = i
        if last:
            out.append((m.start(1), m.start(1) + parts[last].end()))
    return out


def _lexicon_names(text: str, add: Callable[[tuple[int, int] | None, float], None]) -> None:
    """Names the world lexicons know, with the little context a lone name has: "T. Aldana",
    "HJ Lee", "Crew: Alvarez, Nakamura", "siblings Zeynep and Emre", "동행인 Sergei",
    "Chioma (OT student)"."""
    surnames = _surnames()
    roman = lexicons.roman_surnames()
    for m in _ONE_INITIAL_SURNAME.finditer(text):
        last = m.group(1).split(".")[-1].strip()
        # a cell of its own in a table row is name enough: "| S. Ortega | screen fail"
        cell = CELL_BEFORE.search(text, max(0, m.start(1) - 4), m.start(1)) and CELL_AFTER.match(
            text, m.end(1)
        )
        if (last.lower() in surnames or cell) and not _blocked(last):
            add(m.span(1), 0.7)
    given = _given_names()
    for m in _CAPS_FAMILY_COMMA_GIVEN.finditer(text):
        family, first = (p.strip() for p in m.group(1).split(",", 1))
        known = first.split()[0].lower() in given or (
            family.lower() in roman and roman_given(first.split()[0])
        )
        last = family.split()[-1]
        if known and not _blocked(last.title()) and not is_role_word(last):
            add(m.span(1), 0.75)  # (not a post: "My MA, Tonya Blevins")
    for span in _caps_roman_names(text, roman):
        add(span, 0.75)
    for span in _bare_initials_names(text, roman):
        add(span, 0.7)
    # After a plural role or a group ("Medics Hargrove and Patel", "Witnesses: Ruiz, Okoro"),
    # every capitalized word of the list is a name, known to a lexicon or not.
    for m in _GROUP_LIST.finditer(text):
        for w in _LONE_NAME.finditer(text, m.start(1), m.end(1)):
            if not _blocked(w.group(1)) and not is_role_word(w.group(1)):
                add(w.span(1), 0.7)
    for span in _roman_given_names(text):
        add(span, 0.65)
    for span in _names_after_korean_roles(text):
        add(span, 0.65)
    names = _any_names()
    for m in _LONE_NAME.finditer(text):
        word = m.group(1)
        s, e = m.span(1)
        if word.lower() not in names or _not_lone_name(text, word, e):
            continue
        line_start = text.rfind("\n", 0, s) + 1
        before, after = text[max(line_start, s - 40) : s], text[e : e + 30]
        coordinated = _AND_NAME.match(after)
        previous = _NAME_AND.search(before)
        if (
            _LIST_LABEL_BEFORE.search(before)
            or _SIBLINGS_BEFORE.search(before)
            or korean_role_before(before.rstrip("( "))
            or _KO_NAME_SUFFIX.match(after)
            or _ROLE_PAREN_AFTER.match(after)
            or _PERSON_VERB_AFTER.match(after)
            or _AGE_AFTER.match(after)
            or _HANDOVER_BEFORE.search(before)
            or (coordinated is not None and coordinated.group(1).lower() in names)
            or (previous is not None and previous.group(1).lower() in names)
        ):
            add((s, e), 0.65)
