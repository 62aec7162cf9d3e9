"""OMOP-CDM-style source schema of a Gangwon hospital CDW, as SQLModel tables.

Column names follow OMOP CDM v5.4 where one exists (``person_id``,
``visit_start_date``, ``condition_source_value`` ...). The direct identifiers a
real hospital CDW holds for its patients (registration number 등록번호,
resident registration number 주민등록번호, name, phone, address) sit on
``person``, as they do in the identity table a hospital joins in before a
release; they are what a release must drop or pseudonymize.

Roles of the columns (for writing policies):

- direct identifiers: ``person.registration_no``, ``person.rrn``,
  ``person.patient_name``, ``person.phone``, ``person.address``,
  ``location.address_1``, ``location.address_2``, ``provider.provider_name``;
- record ids to pseudonymize: ``person_id`` (domain ``person``) and the
  ``*_occurrence_id`` / ``measurement_id`` / ``note_id`` keys;
- quasi-identifiers: ``person.gender_source_value``, ``person.year_of_birth``,
  ``person.birth_date``, ``location.sigungu`` / ``eupmyeondong`` / ``zip``,
  all ``*_date`` columns;
- free text: ``note.note_text``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, Table
from sqlmodel import Field, SQLModel

__all__ = [
    "CDW_TABLES",
    "FEMALE_CONCEPT_ID",
    "MALE_CONCEPT_ID",
    "PERSON_FLAT_QUERY",
    "VISIT_CONCEPTS",
    "CareSite",
    "ConditionOccurrence",
    "Location",
    "Measurement",
    "Note",
    "Person",
    "Provider",
    "VisitOccurrence",
    "create_all",
    "drop_all",
]

# OMOP standard concepts used by the generator.
MALE_CONCEPT_ID = 8507
FEMALE_CONCEPT_ID = 8532
VISIT_CONCEPTS = {"outpatient": 9202, "inpatient": 9201, "emergency": 9203}


class CareSite(SQLModel, table=True):
    """A hospital (OMOP ``care_site``)."""

    __tablename__ = "care_site"

    care_site_id: int = Field(primary_key=True)
    care_site_name: str = Field(max_length=100)  # 강원대학교병원
    care_site_name_en: str = Field(max_length=100)  # Kangwon National University Hospital
    care_site_source_value: str = Field(max_length=20, unique=True)  # short code, e.g. KNUH
    place_of_service_source_value: str = Field(
        max_length=40
    )  # 상급종합병원 / 종합병원 / 지방의료원
    sigungu: str = Field(max_length=40)
    address: str = Field(max_length=200)
    phone: str = Field(max_length=20)


class Location(SQLModel, table=True):
    """A patient address (OMOP ``location``, with the Korean admin levels)."""

    __tablename__ = "location"

    location_id: int = Field(primary_key=True)
    address_1: str = Field(max_length=200)  # 강원특별자치도 춘천시 중앙로 12
    address_2: str | None = Field(default=None, max_length=100)  # 101동 1203호
    city: str = Field(max_length=40)  # OMOP city: the 시/군 (same as sigungu)
    state: str = Field(max_length=40)  # OMOP state: the 시도 (same as sido)
    zip: str = Field(max_length=5)  # 5-digit postal code
    sido: str = Field(max_length=40)
    sigungu: str = Field(max_length=40, index=True)
    eupmyeondong: str = Field(max_length=40)


class Provider(SQLModel, table=True):
    """A clinician (OMOP ``provider``); the name is PHI that notes mention."""

    __tablename__ = "provider"

    provider_id: int = Field(primary_key=True)
    provider_name: str = Field(max_length=40)
    specialty_source_value: str = Field(max_length=40)  # 내분비내과
    care_site_id: int = Field(foreign_key="care_site.care_site_id", index=True)


class Person(SQLModel, table=True):
    """A patient (OMOP ``person``) with the hospital's direct identifiers."""

    __tablename__ = "person"

    person_id: int = Field(primary_key=True)
    gender_concept_id: int  # 8507 male, 8532 female
    gender_source_value: str = Field(max_length=1)  # 'M' / 'F'
    year_of_birth: int
    month_of_birth: int
    day_of_birth: int
    birth_date: dt.date
    location_id: int = Field(foreign_key="location.location_id", index=True)
    care_site_id: int = Field(foreign_key="care_site.care_site_id", index=True)
    # Direct identifiers held by the hospital.
    registration_no: str = Field(max_length=8, unique=True)  # 등록번호, 8 digits
    rrn: str = Field(max_length=14, unique=True)  # 주민등록번호 YYMMDD-SNNNNNC
    patient_name: str = Field(max_length=40)  # 성명 (Korean)
    patient_name_en: str = Field(max_length=60)  # romanized, e.g. KIM MINJUN
    phone: str = Field(max_length=20)
    address: str = Field(max_length=300)  # full address as printed on forms


class VisitOccurrence(SQLModel, table=True):
    """A visit (OMOP ``visit_occurrence``)."""

    __tablename__ = "visit_occurrence"

    visit_occurrence_id: int = Field(primary_key=True)
    person_id: int = Field(foreign_key="person.person_id", index=True)
    visit_concept_id: int  # 9202 outpatient, 9201 inpatient, 9203 emergency
    visit_source_value: str = Field(max_length=20)  # outpatient / inpatient / emergency
    visit_start_date: dt.date
    visit_end_date: dt.date
    care_site_id: int = Field(foreign_key="care_site.care_site_id")
    provider_id: int = Field(foreign_key="provider.provider_id")


class ConditionOccurrence(SQLModel, table=True):
    """A diagnosis (OMOP ``condition_occurrence``) coded in ICD-10."""

    __tablename__ = "condition_occurrence"

    condition_occurrence_id: int = Field(primary_key=True)
    person_id: int = Field(foreign_key="person.person_id", index=True)
    visit_occurrence_id: int = Field(foreign_key="visit_occurrence.visit_occurrence_id")
    condition_start_date: dt.date
    condition_source_value: str = Field(max_length=10)  # ICD-10, e.g. E11.9
    condition_source_name: str = Field(max_length=200)


class Measurement(SQLModel, table=True):
    """A lab result (OMOP ``measurement``); the source value is the LOINC code."""

    __tablename__ = "measurement"

    measurement_id: int = Field(primary_key=True)
    person_id: int = Field(foreign_key="person.person_id", index=True)
    visit_occurrence_id: int = Field(foreign_key="visit_occurrence.visit_occurrence_id")
    measurement_date: dt.date
    measurement_source_value: str = Field(max_length=20)  # LOINC, e.g. 4548-4
    measurement_name: str = Field(max_length=40)  # HbA1c
    value_as_number: float | None = None
    unit_source_value: str = Field(max_length=20)  # %


class Note(SQLModel, table=True):
    """A clinical note (OMOP ``note``); the text mentions the patient's PHI."""

    __tablename__ = "note"

    note_id: int = Field(primary_key=True)
    person_id: int = Field(foreign_key="person.person_id", index=True)
    visit_occurrence_id: int = Field(foreign_key="visit_occurrence.visit_occurrence_id")
    note_date: dt.date
    note_type: str = Field(max_length=20)  # admission / progress / discharge / ...
    note_title: str = Field(max_length=100)
    note_text: str
    lang: str = Field(max_length=5)  # ko / en / mixed
    care_site_id: int = Field(foreign_key="care_site.care_site_id")
    provider_id: int = Field(foreign_key="provider.provider_id")


# Tables in dependency order (parents first).
CDW_TABLES: list[str] = [
    "care_site",
    "location",
    "provider",
    "person",
    "visit_occurrence",
    "condition_occurrence",
    "measurement",
    "note",
]

# One row per patient with the columns a typical release uses; pass it as
# ``query=`` to a SQL source (with ``table="person"``).
PERSON_FLAT_QUERY = """
SELECT p.person_id, p.registration_no, p.rrn, p.patient_name, p.phone, p.address,
       p.gender_source_value, p.year_of_birth, p.birth_date,
       l.sido, l.sigungu, l.eupmyeondong, l.zip,
       c.care_site_name
FROM person p
JOIN location l ON l.location_id = p.location_id
JOIN care_site c ON c.care_site_id = p.care_site_id
ORDER BY p.person_id
""".strip()


def _cdw_tables() -> list[Table]:
    metadata = SQLModel.metadata
    return [metadata.tables[name] for name in CDW_TABLES]


def create_all(engine: Engine) -> None:
    """Create the CDW tables (only those, not other SQLModel tables) if missing."""
    SQLModel.metadata.create_all(engine, tables=_cdw_tables())


def drop_all(engine: Engine) -> None:
    """Drop the CDW tables if present."""
    SQLModel.metadata.drop_all(engine, tables=_cdw_tables())
