"""Identifiers by their place: HL7 v2 fields and the columns of delimited tables."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.text import Scrubber
from deid.text.recognizers.structured import _kind, find_structured

from .shapes import found


def _found(scrubber: Scrubber, text: str, lang: str | None = "en") -> dict[str, str]:
    return found(scrubber, text, lang)


def test_hl7_fields_by_number(scrubber: Scrubber) -> None:
    msg = (
        "MSH|^~\\&|EMR|GWH|LIS|GWH|20250411093015||ORU^R01|MSG00412|P|2.5\n"
        "PID|1||40127733^^^GWH^MR||CHOI^YOUNG-SOOK||19480722|F|||"
        "55 Jungang-ro^^Chuncheon^Gangwon^24341||033-251-8804\n"
        "OBR|1||LAB-25-0411-88|CBC^Complete blood count|||202504110812\n"
        "OBX|1|NM|WBC||14.2|10*3/uL|4.0-10.0|H"
    )
    found = _found(scrubber, msg)
    assert found.get("20250411093015") == "DATE", found  # MSH-7
    assert found.get("40127733") == "MRN", found  # PID-3, the id without its scheme
    assert found.get("CHOI^YOUNG-SOOK") == "PERSON", found
    assert found.get("19480722") == "DATE", found
    assert found.get("55 Jungang-ro^^Chuncheon^Gangwon^24341") == "ADDRESS", found
    assert found.get("033-251-8804") == "PHONE", found
    assert found.get("LAB-25-0411-88") == "MRN", found  # OBR-3, the accession
    assert found.get("202504110812") == "DATE", found
    # message control id, codes, values and units stay
    for kept in ("MSG00412", "ORU^R01", "CBC^Complete blood count", "14.2", "WBC"):
        assert kept not in found, (kept, found)


def test_csv_columns_by_header(scrubber: Scrubber) -> None:
    text = (
        "export_id,patient,dob,visit,dx\n"
        '880211,"Kowalski, Anna",1955-06-17,2025-03-30,I48.91\n'
        '880212,"Yeo, Dongwook",1971-01-09,2025-03-30,E11.9\n'
        '880219,"Bat-Erdene, Ganbold",1988-12-24,2025-03-31,J18.9'
    )
    found = _found(scrubber, text)
    for value in ("880211", "880212", "880219"):
        assert found.get(value) == "MRN", found
    for value in ("Yeo, Dongwook", "Bat-Erdene, Ganbold"):
        assert found.get(value) == "PERSON", found
    assert found.get("1988-12-24") == "DATE", found
    for code in ("I48.91", "E11.9", "J18.9"):
        assert code not in found, found


def test_pipe_table_cells_decide_an_ambiguous_header(scrubber: Scrubber) -> None:
    text = (
        "| sample | subject | collected | consent |\n"
        "|---|---|---|---|\n"
        "| GS25-00871 | Hahn, Jiwoo | 2025-03-28 | full |\n"
        "| GS25-00872 | Wen, Li | 2025-03-28 | no recontact |"
    )
    found = _found(scrubber, text)
    assert found.get("GS25-00871") == "MRN", found  # "sample": digits, an id
    assert found.get("Hahn, Jiwoo") == "PERSON", found  # "subject": letters, a name
    assert found.get("Wen, Li") == "PERSON", found
    assert "full" not in found
    assert "no recontact" not in found


@pytest.mark.parametrize(
    "text",
    [
        # a medication table: "Name" heads drugs, a dose column has numbers
        "| Name | Dose | Start date |\n| Metformin | 500 mg | 2025-03-01 |\n"
        "| Aspirin | 100 mg | 2025-03-02 |",
        # code columns are no identifiers, a "drug name" no person
        "icd_10_id,drug name,result\nI48.91,Apixaban,negative\nE11.9,Metformin,positive",
        # prose with commas is no table
        "Patient, wife, and son present.\nBP 120/80, HR 72, RR 18.",
        # a variant table of a genetic report
        "gene,variant,zygosity\nBRCA2,c.5946delT,het\nTP53,c.743G>A,het",
    ],
)
def test_tables_of_things_hold_no_people(scrubber: Scrubber, text: str) -> None:
    found = {v: t for v, t in _found(scrubber, text).items() if t in ("PERSON", "MRN")}
    assert not found, found


_NAME = st.sampled_from(
    ["Kowalski, Anna", "Yeo, Dongwook", "Okafor, Chidi", "Wen, Li", "García, Ana", "Sørensen, Bo"]
)
_ID = st.integers(min_value=100000, max_value=99999999).map(str)
_DAY = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)).map(date.isoformat)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_ID, _NAME, _DAY), min_size=1, max_size=6), st.sampled_from(",;\t|"))
def test_every_cell_of_an_id_name_and_date_column_is_found(
    rows: list[tuple[str, str, str]], delim: str
) -> None:
    def line(cells: tuple[str, ...]) -> str:
        quoted = [f'"{c}"' if delim in c or (delim != "|" and "," in c) else c for c in cells]
        return delim.join(quoted)

    text = "\n".join([line(("patient_id", "patient_name", "dob")), *(line(r) for r in rows)])
    spans = {(text[s:e], t) for t, s, e, _ in find_structured(text)}
    for pid, name, day in rows:
        assert (pid, "MRN") in spans
        assert (name, "PERSON") in spans
        assert (day, "DATE") in spans


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("export_id", "ID"),
        ("patientid", "ID"),
        ("Unit No", "ID"),
        ("등록번호", "ID"),
        ("patient_name", "PERSON"),
        ("DOB", "DATE"),
        ("subject", "EITHER"),
        # words that end like an id word, and columns of things
        ("fluid", None),
        ("paid", None),
        ("drug name", None),
        ("icd_10_id", None),
        ("unit", None),
    ],
)
def test_a_column_kind_comes_from_its_header(label: str, kind: str | None) -> None:
    assert _kind(label) == kind
