"""Recall on notes the scrubber was not written for: fifty-three hand-written corpora.

Each corpus was written by hand, in styles unlike the dev set's templates, before the
round of work that then looked at its misses; each was scored once on arrival, and that
first score is the honest figure for unseen notes:

- ``handwritten.md`` (156 notes) before round 1: first score 0.865 overall;
- ``fresh.md`` (50 notes) after round 1: 0.886 overall, PERSON 0.877;
- ``fresh2.md`` (60 notes) after round 2's first commit: 0.880 overall, PERSON 0.862;
- ``fresh3.md`` (50 notes) after round 2: 0.848 overall, PERSON 0.854;
- ``fresh4.md`` (40 notes) before round 3: 0.915 overall, PERSON 0.914;
- ``fresh5.md`` (40 notes, mostly Korean) after round 3's first commit: 0.896 overall,
  PERSON 0.890;
- ``fresh6.md`` (30 notes) after round 3's second commit: 0.939 overall, PERSON 0.952,
  MRN and PHONE 1.000, character precision 0.964;
- ``fresh7.md`` (30 notes) after round 3's third commit: 0.906 overall, PERSON 0.922,
  MRN and PHONE 1.000, character precision 0.993.
- ``fresh8.md`` (36 notes, mostly mixed Korean-English) before round 4: 0.923 overall,
  PERSON 0.963, MRN 0.917, DATE 0.842, PHONE 1.000, character precision 0.985.
- ``fresh9.md`` (40 notes: billing and insurance memos, e-mail, SMS, logs, certificates)
  after round 4's first two commits: 0.923 overall, PERSON 0.930, MRN 0.700, DATE 0.941,
  PHONE, RRN and e-mail 1.000, character precision 0.992.
- ``fresh10.md`` (40 notes: admission, progress, discharge, nursing, radiology, genetic,
  referral, social-work and billing notes, a third each Korean, English and mixed) after
  round 4's fourth commit: 0.971 overall, PERSON 0.984, MRN, PHONE, RRN 1.000, character
  precision 0.984 -- the first arrival at or above the issue's 0.95 on both.
- ``fresh11.md`` (30 notes, the same kinds) after round 4's fifth commit: 0.947 overall,
  PERSON 0.990, DATE 0.857 (month/days and days-before-months without a year),
  ORGANIZATION 0.500, MRN, PHONE, RRN 1.000, character precision 0.962.
- ``fresh12.md`` (30 notes, the same kinds, romanized and Hangul names side by side)
  after round 4's sixth commit: 0.920 overall, PERSON 0.962, MRN 0.800, DATE 0.879,
  PHONE 1.000, character precision 0.987.
- ``fresh13.md`` (30 notes, dates in many short forms on purpose) after round 4's seventh
  commit: 0.933 overall, PERSON 0.970, DATE 0.833, MRN and PHONE 1.000, character
  precision 0.975.
- ``fresh14.md`` (20 notes) after round 4's eighth commit: 0.934 overall, PERSON 0.971,
  MRN 0.800, DATE 0.900, ORGANIZATION 0.750, PHONE 1.000, character precision 0.978.
- ``fresh15.md`` (20 notes) after round 4's review mends: 0.920 overall, PERSON 0.944,
  MRN 0.750, DATE 1.000, ORGANIZATION 0.000 (3), PHONE 1.000, character precision 0.975.
- ``fresh16.md`` (30 notes in layouts no earlier corpus had: HL7 messages, a CSV export, a
  JSON record, a sample manifest table, tumour-board minutes, an SAE report, an incident
  report, death certificates, delivery, dental, transfusion and wearable-monitoring notes)
  before round 5: 0.874 overall, PERSON 0.893, MRN 0.815, DATE 0.942, ORGANIZATION 0.500,
  ADDRESS 0.600, PHONE, RRN and e-mail 1.000, character precision 0.993.
- ``fresh17.md`` (30 notes: Korean narrative naming children, kin and staff without a
  label, SOAP, ICU and hospice lists, a British letter, SMS, complaints, a health check)
  after round 5's first commits: 0.889 overall, PERSON 0.925, DATE 0.846, MRN 0.889,
  ORGANIZATION 0.786, PHONE, RRN and e-mail 1.000, character precision 0.984.
- ``fresh18.md`` (30 notes: quoted speech, particles on names, a British discharge letter,
  peds, school and occupational reports, pharmacy, home visits, SMS, care homes,
  multicultural counselling) after round 5's second commit: 0.890 overall, PERSON 0.908,
  DATE 0.861, ORGANIZATION 0.714, ADDRESS 0.800, MRN, PHONE, AGE and e-mail 1.000,
  character precision 0.993.
- ``fresh19.md`` (30 notes: template-like headers with many field names, rare and compound
  Korean family names, Vietnamese, Nigerian, Turkish, Romanian and Arabic names) after
  round 5's third commit: 0.988 overall, PERSON 1.000 (99), MRN 1.000 (13), DATE 0.972,
  ORGANIZATION 0.875, character precision 0.991 -- at the issue's goals on arrival.
- ``fresh20.md`` (30 notes, mostly mixed Korean-English: English names with Korean
  particles, romanized and Hangul names side by side, lower-case names, Western first
  names alone, SMS replies) after round 5's fourth commit: 0.952 overall, PERSON 0.952,
  DATE and MRN 1.000, PHONE 0.800, ORGANIZATION 0.875, character precision 0.998.
- ``fresh21.md`` (30 notes: certificates, a flowsheet with dates as columns, medication
  reconciliation, a long narrative summary, apartment addresses, insurance, passport and
  licence numbers, a REDCap export, portal messages) after round 5's fifth commit: 0.908
  overall, PERSON 0.977, DATE 0.870, MRN 0.857, ORGANIZATION 0.615, ADDRESS 0.333 (3),
  PHONE, RRN, e-mail and the other ids 1.000, character precision 0.927 (institutional
  contacts are unmarked on purpose and counted against it).
- ``fresh22.md`` (20 Korean notes: SOAPIE, given names alone with 씨/엄마/이, staff lists
  with slashes, names in quotes, one-syllable given names, family meetings) after round
  5's sixth commit: 0.929 overall, PERSON 0.914, DATE 0.962, ORGANIZATION 0.800, MRN,
  PHONE, RRN and AGE 1.000, character precision 0.966.
- ``fresh23.md`` (15 English notes: Western names with particles and diacritics, apostrophes,
  lower-case given names, nicknames in quotes, religious titles, pharmacy chains, streets
  without numbers) after round 5's seventh commit: 0.750 overall, PERSON 0.778, DATE 0.857,
  ORGANIZATION 0.500, ADDRESS 0.000 (3), character precision 0.968.
- ``fresh24.md`` (20 notes in the everyday kinds of the dev set's notes, no deliberate new
  layout) after round 5's eighth commit: 0.981 overall, PERSON 1.000 (60), MRN, DATE and
  PHONE 1.000, ORGANIZATION 0.600 (5), character precision 0.996.
- ``fresh25.md`` (15 notes in the shapes the issue names -- role abbreviations and titles
  before Korean names, relatives in brackets, romanized names in capitals and with initials,
  "Hospital #" and "hospital no." -- with rare family names and given names of no list)
  after round 5's review mends: 1.000 overall, PERSON 1.000 (58), MRN 1.000 (8), DATE and
  PHONE 1.000, character precision 1.000. Nothing was changed for it.
- ``fresh26.md`` (10 notes: shift notes, a Scottish letter, dialysis, ICU with interpreters)
  after fresh25: 0.926 overall, PERSON 0.944 (36), DATE 0.846, MRN, PHONE and
  ORGANIZATION 1.000, character precision 1.000.

Round 6 (this round: each corpus committed alone with its arrival score, then its misses
mended in the next commit):

- ``fresh27.md`` (30 notes: operative records, radiology dictation, 119 run sheets,
  pedigrees, outside pathology consults, trial screening logs, critical-value calls) before
  round 6: 0.920 overall, PERSON 0.915 (117), MRN 0.875, ORGANIZATION 0.842, precision 0.992;
- ``fresh28.md`` (30 specialty notes full of eponyms and scales that look like names) before
  round 6: 0.945 overall, PERSON 0.981 (107), ORGANIZATION 0.684, precision 0.963;
- ``fresh29.md`` (30 notes: given names that are English words -- Grace, Hope, Major --
  and native Korean given names that are words -- 하늘, 한결, 구슬; a hanja name, a court
  case number) after round 6's first commit: 0.880 overall, PERSON 0.864 (110), MRN 0.667;
- ``fresh30.md`` (30 notes: ALL-CAPS and all-lower-case notes, raw speech-to-text
  dictation, e-signatures, Western names in Hangul, NPI/DEA numbers) after round 6's second
  commit: 0.876 overall, PERSON 0.868 (106), MRN 0.727, DATE 0.895;
- ``fresh31.md`` (30 notes stressing identifier shapes: phones with dots, spaces, spaced
  hyphens, extensions, a number half in words; RRNs without a hyphen, masked or front half
  only; spelled-out e-mail) after round 6's third commit: 0.932 overall, PHONE 0.917 (36),
  MRN 0.933, KR_RRN 0.800 (5), EMAIL 0.857 (7), PERSON 0.935;
- ``fresh32.md`` (30 notes: patient banners, certificates with spaced names, "Smith J",
  screening logs of initials, masked names, nicknames, ages over 90) after round 6's fourth
  commit: 0.869 overall, PERSON 0.840 (106), MRN 0.692 (13);
- ``fresh33.md`` (30 notes in document kinds: gross descriptions quoting a label, nursing
  admission assessments, H&P social histories, records-copy requests, consents,
  certificates, incident reports) after round 6's fifth commit: 0.954 overall, PERSON 0.952
  (105), ORGANIZATION 0.750 -- the issue's overall and PERSON goals met on arrival;
- ``fresh34.md`` (30 notes heavy in places and organizations: Korean apartment addresses in
  shorthand, UK and Irish postcodes, a PO box, send-out labs, chains and their branches)
  after round 6's sixth commit: 0.893 overall, ADDRESS 0.500 (12), ORGANIZATION 0.750 (40),
  PERSON 0.975 (81);
- ``fresh35.md`` (30 notes: problem lists, checkbox forms, ward messenger and pager texts in
  lower case, family names alone before 교수/선생님/간호사 and glued to 과장/쌤, care-team
  lines with dashes, pedigree keys, bullet hand-over lists) after round 6's seventh commit:
  0.859 overall, PERSON 0.833 (114), ORGANIZATION 0.818, DATE 0.933;
- ``fresh36.md`` (15 notes in machine layouts: CDA XML, FHIR JSON, key=value exports, an
  access log, YAML, HL7 v2, CSV, a markdown table) after round 6's eighth commit: 0.911
  overall, PERSON 0.848 (46), MRN 0.917;
- ``fresh37.md`` (15 notes, a control: everyday kinds in a new voice, no layout chosen to
  be new) after round 6's ninth commit: 0.930 overall, PERSON 0.915 (59), ORGANIZATION
  0.889, precision 0.971.

Round 7 (three corpora written before any of its work, each scored once and committed
alone, then mended together):

- ``fresh38.md`` (20 notes: messenger exports -- KakaoTalk, Slack, Teams, Band, WhatsApp --,
  e-mail threads with headers, phone-call records, SMS logs): 0.913 overall, PERSON 0.908
  (98), DATE 0.929, ORGANIZATION 0.833, precision 0.963;
- ``fresh39.md`` (18 English notes naming people of many origins: Indian, Hispanic double
  family names, Arabic, Filipino, Maori, West African, Mongolian; Australian and New
  Zealand letters, addresses, Medicare and NHI numbers): 0.815 overall, PERSON 0.861 (79),
  MRN 0.500 (4), ORGANIZATION 0.500 (10), PHONE 0.500 (2), ADDRESS 0.000 (2);
- ``fresh40.md`` (18 Korean notes: referral replies, certificates, genome and lifelog
  reports, a 119 run sheet, consents, family talk): 0.944 overall, PERSON 0.931 (58), MRN
  0.857, DATE 0.962, precision 0.976.

Then three more, written after those mends and scored once before the next:

- ``fresh41.md`` (20 notes of the platform's own data kinds: VCF headers, sample sheets,
  LIMS audit trails, wearable and CGM syncs, lifelog coaching chats, DUA, IRB and
  data-request letters, an app's JSON export): 0.937 overall, PERSON 0.970 (66), MRN 0.870
  (23), ORGANIZATION 0.667 (12), precision 0.970;
- ``fresh42.md`` (18 Korean narrative notes: social work, night nursing, psychiatry, a
  nursing-home report, school nurse, hospice, given names with 이/이가 in speech): 0.971
  overall, PERSON 0.962 (78), precision 1.000 -- at the issue's goals on arrival;
- ``fresh43.md`` (15 notes, a control: everyday kinds in Korean, English and mixed): 0.977
  overall, PERSON 0.962 (53), MRN, DATE and PHONE 1.000, precision 0.988 -- at the issue's
  goals on arrival.

And three more after those mends:

- ``fresh44.md`` (14 English notes in an American EHR's layouts: banners with preferred
  names and emergency contacts, portal messages, flowsheet comments, OR case logs,
  telephone encounters, SNF forms): 0.899 overall, PERSON 0.882 (51), ORGANIZATION 0.667
  (6), precision 0.950 -- common English given names that are also English nouns
  (Clyde, Lorraine, Dale) were in no list;
- ``fresh45.md`` (15 Korean notes typed in haste: names glued to roles and titles, spaced
  syllables, given names with 쌤 and after a dash): 0.873 overall, PERSON 0.848 (46), DATE
  0.909;
- ``fresh46.md`` (15 notes, a control in the kinds the issue lists): 0.988 overall, PERSON
  0.980 (49), identifiers 1.000, precision 1.000 -- at the issue's goals on arrival.

And the round's last three, after those mends:

- ``fresh47.md`` (14 notes about children: newborns as B/O and Baby Boy, twins, school
  nurses, child protection, vaccination, a birth certificate): 0.943 overall, PERSON 0.937
  (63), ORGANIZATION 0.900, precision 1.000;
- ``fresh48.md`` (12 insurance, legal and administrative notes: claims, prior
  authorization, police and court requests, workers' compensation, a subpoena, a
  foreigner's registration): 0.947 overall, PERSON 0.966 (29), MRN 0.833 (6: a masked SSN's
  last four), ORGANIZATION 0.800, RRN, phone, e-mail, account, insurance, passport and
  licence 1.000;
- ``fresh49.md`` (14 notes, a control): 0.959 overall, PERSON 0.981 (52), MRN 1.000, DATE
  0.938, ORGANIZATION 0.667 (3), precision 0.994 -- overall and PERSON at the goals;
- ``fresh50.md`` (12 notes of speech written down: transcripts, Q/A, a deposition,
  voicemail, call recordings): 0.839 overall, PERSON 0.837 (43), ORGANIZATION 0.333 (3);
- ``fresh51.md`` (10 Korean certificates and forms): 0.921 overall, PERSON 1.000 (23), DATE
  0.800 (a row of month.days after a full date), MRN 0.800 (a specialist's number);
- ``fresh52.md`` (11 research notes: CRFs, SAE, pedigrees, monitoring, biobank, data-access
  reviews, eCRF queries): 0.861 overall, PERSON 0.943 (35), MRN 0.667 (12), ORGANIZATION
  0.571 (7).

Round 3 added the world name lists (names-dataset: given and family names of 105
countries), rules for a lone name with little context, and note-level passes (a found
name again, rows of the same shape, lists: ``recognizers/note_names.py``). fresh3, whose
misses round 3 did not look at, went from 0.896 to 0.926 (PERSON 0.876 to 0.921).

Round 4 (on fresh8's, fresh9's and fresh3's misses) added month/days on their own when
something marks them as dates (a leading zero, a word of time, brackets of their own, a
line's opening or end) and
not as scores or counts, year-month dates, English roles and "by" before Korean names,
arrows in hand-over lists, clinics named by town or brand and specialty (홍천연세내과),
romanized districts, ages in brackets after a name; then names of message layouts (before
an e-mail address, after a greeting, a sign-off, typists' initials, user names), bare
initials after a family name, a lone name before what a person does, street addresses
without a city, ranges of subject ids, licence numbers; Korean titles of letters
(고객님, 귀하), spaced names before a title, the list item before a found name.

Round 5 (on fresh16's, fresh17's and fresh18's misses) added identifiers by their place in structured layouts
(``recognizers/structured.py``: HL7 v2 fields by number, the columns of CSV, TSV and pipe
tables by their header), Chinese family names the world list lacks, professions after a
name (임상병리사), Vietnamese names in Hangul before a title, initials after a label, a
baby's name in quotes, device serials and badges, employers in prose, brands in camel
case before "lab", affiliations in brackets, insurers (현대해상), police and courts; then a
proper noun of a name's shape that a note repeats, a family name after "Dr.", a family
name and a given name apart before sex and age, signatures of initials, month-days with a
hyphen before a time and dotted ones opening a Korean line, dates run together (01DEC2025),
numbers in spaced groups after a label (NHS no.), romanized addresses with a unit and town;
then given names with the familiar 이 (딸 수정이가), foreign names in Hangul before 씨 or
after a person's label, shops by brand, roads alone, hospitals named kind-first (Clínica
San Rafael), staff initials, dates' closing periods (3rd Dec., 12.3.). fresh7, whose misses
round 5 did not look at, went from 0.953 to 0.969 (PERSON 0.942 to 0.961).

All are now tuned on (fresh10-fresh52 only for the misses of their first score). The floors are what the scrubber reaches
on each (it is deterministic): a change that loses recall on any fails here. The goal
of the issue (overall and PERSON recall >= 0.95 on unseen notes) is not met on every
arrival: the corpora have scored 0.85-0.97 overall on arrival (the last four:
fresh13 0.933 with PERSON 0.970, fresh14 0.934 with PERSON 0.971, fresh15 0.920 with
PERSON 0.944, fresh16 0.874 with PERSON 0.893 -- new layouts on purpose, fresh17 0.889
with PERSON 0.925, fresh18 0.890 with PERSON 0.908, fresh19 0.988 with PERSON 1.000, fresh20 0.952 with
PERSON 0.952, fresh21 0.908 with PERSON 0.977, fresh22 0.929 with PERSON 0.914,
fresh23 0.750 with PERSON 0.778,
fresh24 0.981 with PERSON 1.000,
fresh25 1.000 with PERSON 1.000,
fresh26 0.926 with PERSON 0.944; round 6: fresh27 0.920 with PERSON 0.915, fresh28 0.945
with PERSON 0.981, fresh29 0.880 with PERSON 0.864, fresh30 0.876 with PERSON 0.868, fresh31
0.932 with PERSON 0.935, fresh32 0.869 with PERSON 0.840, fresh33 0.954 with PERSON 0.952, fresh34 0.893 with PERSON 0.975, fresh35 0.859 with PERSON 0.833, fresh36 0.911 with PERSON 0.848, fresh37 0.930 with PERSON 0.915; round 7: fresh38
0.913 with PERSON 0.908, fresh39 0.815 with PERSON 0.861, fresh40 0.944 with PERSON 0.931, fresh41 0.937 with
PERSON 0.970, fresh42 0.971 with PERSON 0.962, fresh43 0.977 with PERSON 0.962, fresh44
0.899 with PERSON 0.882, fresh45 0.873 with PERSON 0.848, fresh46 0.988 with PERSON 0.980, fresh47
0.943 with PERSON 0.937, fresh48 0.947 with PERSON 0.966, fresh49 0.959 with PERSON 0.981, fresh50
0.839 with PERSON 0.837, fresh51 0.921 with PERSON 1.000, fresh52 0.861 with PERSON 0.943).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deid.text import Scrubber, score
from deid.text.evaluate import PhiScore

from .handwritten import CORPUS, load

_IDS = {"PHONE": 1.0, "KR_RRN": 1.0, "EMAIL": 1.0}

# corpus -> (overall recall, character precision, {type: recall})
FLOORS: dict[str, tuple[float, float, dict[str, float]]] = {
    "handwritten": (0.985, 0.99, {**_IDS, "PERSON": 0.99, "MRN": 1.0, "DATE": 1.0}),
    "fresh": (0.98, 0.98, {**_IDS, "PERSON": 0.98, "MRN": 1.0, "ADDRESS": 1.0, "DATE": 1.0}),
    "fresh2": (0.985, 0.985, {**_IDS, "PERSON": 0.98, "MRN": 0.94, "ORGANIZATION": 1.0}),
    "fresh3": (0.955, 0.99, {"PHONE": 1.0, "PERSON": 0.96, "MRN": 0.87, "DATE": 1.0}),
    "fresh4": (0.98, 0.985, {**_IDS, "PERSON": 0.99, "MRN": 1.0, "KR_RRN": 1.0, "DATE": 0.96}),
    "fresh5": (0.975, 0.985, {**_IDS, "PERSON": 0.97, "MRN": 1.0, "KR_RRN": 1.0, "DATE": 0.95}),
    "fresh6": (0.98, 0.96, {**_IDS, "PERSON": 0.99, "MRN": 1.0, "DATE": 0.9}),
    "fresh7": (0.965, 0.99, {**_IDS, "PERSON": 0.96, "MRN": 1.0, "DATE": 1.0}),
    "fresh8": (0.99, 0.99, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "KR_RRN": 1.0, "DATE": 1.0}),
    "fresh9": (0.99, 0.99, {**_IDS, "PERSON": 0.99, "MRN": 1.0, "DATE": 1.0, "PASSPORT": 1.0}),
    "fresh10": (0.985, 0.99, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "ADDRESS": 1.0, "DATE": 0.97}),
    "fresh11": (0.99, 0.985, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 0.96}),
    "fresh12": (0.99, 0.99, {**_IDS, "PERSON": 0.99, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0}),
    "fresh13": (0.995, 0.975, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0}),
    "fresh14": (0.995, 0.99, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0}),
    "fresh15": (0.98, 0.99, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0}),
    "fresh16": (
        0.995,
        0.99,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh17": (
        0.995,
        0.99,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh18": (0.99, 0.99, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0}),
    "fresh19": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh20": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh21": (
        0.995,
        0.96,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh22": (
        0.995,
        0.99,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0, "AGE": 1.0},
    ),
    "fresh23": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh24": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh25": (0.995, 0.995, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0}),
    "fresh26": (0.995, 0.995, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0}),
    "fresh27": (
        0.995,
        0.99,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh28": (0.985, 0.995, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0}),
    "fresh29": (
        0.985,
        0.995,
        {**_IDS, "PERSON": 0.98, "MRN": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh30": (0.995, 0.995, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0}),
    "fresh31": (
        0.995,
        0.98,
        {**_IDS, "PERSON": 1.0, "KR_RRN": 1.0, "MRN": 1.0, "DATE": 1.0, "PASSPORT": 1.0},
    ),
    "fresh32": (
        0.99,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "AGE": 1.0, "ADDRESS": 1.0},
    ),
    "fresh33": (0.99, 0.995, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "KR_RRN": 1.0}),
    "fresh34": (
        0.995,
        0.99,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh37": (0.995, 0.995, {**_IDS, "PERSON": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0}),
    "fresh36": (0.995, 0.99, {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0}),
    "fresh35": (
        0.985,
        0.995,
        {**_IDS, "PERSON": 0.99, "MRN": 1.0, "DATE": 0.96, "ORGANIZATION": 1.0},
    ),
    "fresh38": (
        0.99,
        0.98,
        {**_IDS, "PERSON": 0.985, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh39": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh40": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh41": (0.98, 0.97, {**_IDS, "PERSON": 0.98, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0}),
    "fresh42": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh43": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh44": (
        0.995,
        0.97,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ADDRESS": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh45": (0.98, 0.99, {**_IDS, "PERSON": 0.97, "DATE": 1.0, "KR_RRN": 1.0, "ADDRESS": 1.0}),
    "fresh46": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh47": (0.985, 0.995, {**_IDS, "PERSON": 0.98, "DATE": 1.0, "ORGANIZATION": 1.0}),
    "fresh48": (
        0.995,
        0.98,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "KR_RRN": 1.0, "ACCOUNT": 1.0, "PASSPORT": 1.0},
    ),
    "fresh49": (
        0.995,
        0.995,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "ORGANIZATION": 1.0},
    ),
    "fresh50": (0.98, 0.995, {**_IDS, "PERSON": 0.97, "DATE": 1.0, "ORGANIZATION": 1.0}),
    "fresh51": (
        0.995,
        0.95,
        {**_IDS, "PERSON": 1.0, "MRN": 1.0, "DATE": 1.0, "KR_RRN": 1.0, "DRIVER_LICENSE": 1.0},
    ),
    "fresh52": (0.97, 0.98, {**_IDS, "PERSON": 1.0, "MRN": 0.91, "ORGANIZATION": 1.0}),
}


def _score(scrubber: Scrubber, path: Path) -> PhiScore:
    gold = load(path)
    res = scrubber.scrub_many([g["text"] for g in gold], langs=[g["lang"] for g in gold])
    pred: list[dict[str, Any]] = [
        {"id": g["id"], "text": r.text, "entities": [e.to_dict() for e in r.entities]}
        for g, r in zip(gold, res, strict=True)
    ]
    return score(gold, pred)


def _path(name: str) -> Path:
    return CORPUS.parent / f"{name}.md"


@pytest.mark.parametrize("name", sorted(FLOORS, key=lambda n: (len(n), n)))
def test_recall_on_hand_written_notes_holds(scrubber: Scrubber, name: str) -> None:
    sc = _score(scrubber, _path(name))
    overall, precision, per_type = FLOORS[name]
    assert sc.recall >= overall, (sc.recall, sc.missed[:20])
    assert sc.precision >= precision, sc.precision
    for etype, floor in per_type.items():
        if etype not in sc.per_type:
            continue  # the corpus has no span of that type
        got = sc.per_type[etype].recall
        assert got >= floor, (etype, got, [m for m in sc.missed if m["type"] == etype][:10])


def test_corpora_are_well_formed() -> None:
    paths = sorted(CORPUS.parent.glob("*.md"))
    names = {p.stem for p in paths if p.name != "README.md"}
    assert names == set(FLOORS), sorted(names ^ set(FLOORS))  # each corpus has its floor
    for path in (p for p in paths if p.name != "README.md"):
        notes = load(path)
        assert notes
        for note in notes:
            for span in note["spans"]:
                value = note["text"][span["start"] : span["end"]]
                assert value == value.strip(), (note["id"], value)
                assert not value.startswith(("Dr.", "Mr.", "Mrs.", "Ms.")), (note["id"], value)
    assert len(load(CORPUS)) + len(load(_path("fresh"))) >= 150
