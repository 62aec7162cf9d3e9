"""Practices and services named by a place and what they do, and firms by a European legal
form (ORGANIZATION).

The English organization rules of :mod:`places` read a name by its kind's word (Hospital,
Clinic, Pharmacy); a group practice or an ambulance service is often named by its town or
valley and its specialty alone: "Penobscot Valley Cardiology", "Somerset County EMS",
"Cascade Orthopedics". A specialty after generic words is a department, not a firm
("Pediatric Cardiology", "Interventional Radiology"): the first word must be no English
word, or a county's or valley's name must stand before the specialty.
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons
from deid.text.recognizers.base import Rule

__all__ = ["PRACTICE_RULES"]

_SPECIALTY = (
    r"Cardiology|Oncology|Hematology|Orthopedics|Orthopaedics|Dermatology|Urology|Neurology|"
    r"Gastroenterology|Pulmonology|Nephrology|Rheumatology|Endocrinology|Radiology|Pediatrics|"
    r"Ophthalmology|Otolaryngology|Obstetrics|Gynecology|Psychiatry|Podiatry|Audiology|"
    r"Physical Therapy|Sports Medicine|Women's Health|Eye Care|Foot Care|Imaging|"
    r"EMS|Ambulance|Fire Rescue|Rescue Squad"
)
PRACTICE_ORG = rx.compile(
    r"(?<![A-Za-z])((?:[A-Z][a-z]+[ \t]){1,3}(?:County[ \t]|Valley[ \t]|Regional[ \t]|Area[ \t])?"
    rf"(?:{_SPECIALTY}))(?![A-Za-z])"
)
_PLACE_WORD = rx.compile(r"\b(?:County|Valley|Regional|Area)\b")
# A firm by its European legal form after words of a name: "NordGen Analytics AB",
# "Novo Nordisk A/S" (not "Pt ID AB": the words before it are no acronyms).
EU_FIRM = rx.compile(
    r"(?<![A-Za-z])((?:[A-Z][a-z]+(?:[A-Z][a-z]+)?[ \t]){1,3}(?:AB|ASA|A/S|Oy|AG|S\.A\.|B\.V\.|N\.V\.|S\.p\.A\.))"
    r"(?![A-Za-z])"
)


def _practice_ok(m: rx.Match, text: str) -> bool:
    words = m.group(1).split()
    first = words[0].lower()
    if first in lexicons.org_generic_words() or first in lexicons.en_stopwords():
        return False
    return first not in lexicons.english_words() or _PLACE_WORD.search(m.group(1)) is not None


PRACTICE_RULES = [
    Rule("ORGANIZATION", PRACTICE_ORG, 0.7, group=1, validator=_practice_ok, name="practice"),
    Rule("ORGANIZATION", EU_FIRM, 0.7, group=1, name="eu_firm"),
]
