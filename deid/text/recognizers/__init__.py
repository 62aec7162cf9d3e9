"""Presidio recognizers for Korean and English clinical notes."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer

from deid.text.recognizers.base import Rule, RuleRecognizer
from deid.text.recognizers.dates import DATE_RULES, shift_date_text
from deid.text.recognizers.ids import (
    ACCOUNT_RULES,
    AGE_RULES,
    DRIVER_LICENSE_RULES,
    INSURANCE_RULES,
    MRN_RULES,
    NETWORK_RULES,
    PASSPORT_RULES,
    PHONE_RULES,
    RRN_RULES,
    luhn_ok,
    rrn_checksum_ok,
    rrn_date_ok,
)
from deid.text.recognizers.names import PersonRecognizer
from deid.text.recognizers.places import ADDRESS_RULES, ORG_RULES
from deid.text.recognizers.practices import PRACTICE_RULES
from deid.text.recognizers.structured import StructuredRecognizer
from deid.text.recognizers.world_places import WORLD_ADDRESS_RULES

RULE_GROUPS: dict[str, list[Rule]] = {
    "KoreanRrnRecognizer": RRN_RULES,
    "PhoneRecognizer": PHONE_RULES,
    "MrnRecognizer": MRN_RULES,
    "HealthInsuranceRecognizer": INSURANCE_RULES,
    "PassportRecognizer": PASSPORT_RULES,
    "DriverLicenseRecognizer": DRIVER_LICENSE_RULES,
    "AccountRecognizer": ACCOUNT_RULES,
    "NetworkRecognizer": NETWORK_RULES,
    "AgeOver89Recognizer": AGE_RULES,
    "DateRecognizer": DATE_RULES,
    "AddressRecognizer": ADDRESS_RULES + WORLD_ADDRESS_RULES,
    "OrganizationRecognizer": ORG_RULES + PRACTICE_RULES,
}


def build_recognizers(language: str, *, use_ner: bool) -> list[EntityRecognizer]:
    """Every recognizer of the scrubber for one Presidio language code."""
    recs: list[EntityRecognizer] = [
        RuleRecognizer(name, rules, language) for name, rules in RULE_GROUPS.items()
    ]
    recs.append(PersonRecognizer(language, use_ner=use_ner))
    recs.append(StructuredRecognizer(language))
    return recs


__all__ = [
    "RULE_GROUPS",
    "PersonRecognizer",
    "Rule",
    "RuleRecognizer",
    "build_recognizers",
    "luhn_ok",
    "rrn_checksum_ok",
    "rrn_date_ok",
    "shift_date_text",
]
