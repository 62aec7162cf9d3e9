"""The DUO compatibility check: each code, with its explanation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance import duo
from governance.duo import Limitation, Purpose, check


def one(purpose: Purpose, *lims: Limitation) -> duo.DuoResult:
    return check(purpose, [("cdw", list(lims))])


@pytest.mark.parametrize(
    ("dataset_code", "purpose_code", "ok"),
    [
        ("GRU", "GRU", True),
        ("GRU", "POA", True),
        ("NRES", "HMB", True),
        ("HMB", "HMB", True),
        ("HMB", "DS", True),
        ("HMB", "GRU", False),
        ("HMB", "POA", False),
        ("POA", "HMB", False),
        ("POA", "POA", True),
        ("CC", "HMB", False),
    ],
)
def test_permission_codes(dataset_code: str, purpose_code: str, ok: bool) -> None:
    diseases = ("E11",) if purpose_code == "DS" else ()
    result = one(Purpose(code=purpose_code, diseases=diseases), Limitation(dataset_code))
    assert result.compatible is ok
    assert all(f.explanation for f in result.findings)


def test_disease_specific_by_icd10_prefix() -> None:
    lim = Limitation("DS", disease_codes=("E11", "C50"))
    assert one(Purpose(code="DS", diseases=("E11.9", "C509")), lim).compatible
    bad = one(Purpose(code="DS", diseases=("E11", "I10")), lim)
    assert not bad.compatible
    assert "I10" in bad.problems[0].explanation
    assert not one(Purpose(code="HMB"), lim).compatible


@pytest.mark.parametrize(
    ("lim", "purpose_kw", "ok", "word"),
    [
        (Limitation("NCU"), {"commercial": True}, False, "commercial"),
        (Limitation("NCU"), {"commercial": False}, True, "non-commercial"),
        (Limitation("NPUO"), {"for_profit": True}, False, "for-profit"),
        (Limitation("NPUO"), {"for_profit": False}, True, "not-for-profit"),
        (Limitation("IRB"), {"has_ethics_approval": False}, False, "IRB"),
        (Limitation("IRB"), {"has_ethics_approval": True}, True, "IRB"),
        (Limitation("TS", time_limit_months=12), {"duration_months": 24}, False, "12 months"),
        (Limitation("TS", time_limit_months=12), {"duration_months": 12}, True, "12-month"),
        (Limitation("PUB"), {"will_publish": False}, False, "published"),
        (Limitation("GS", regions=("KR",)), {"regions": ("KR", "US")}, False, "US"),
        (Limitation("GS", regions=("KR",)), {"regions": ("kr",)}, True, "regions"),
        (Limitation("GS", regions=("KR",)), {"regions": ()}, False, "no region"),
        (Limitation("NMDS"), {"methods_research": True}, False, "methods"),
    ],
)
def test_modifiers_explain(lim: Limitation, purpose_kw: dict, ok: bool, word: str) -> None:
    result = one(Purpose(code="HMB", **purpose_kw), Limitation("HMB"), lim)
    finding = next(f for f in result.findings if f.code == lim.code)
    assert (finding.outcome == "ok") is ok
    assert word in finding.explanation
    assert result.compatible is ok


def test_manual_codes_need_a_person() -> None:
    result = one(Purpose(code="HMB"), Limitation("HMB"), Limitation("COL"))
    assert not result.compatible
    assert result.problems[0].outcome == "manual"


def test_dataset_without_permission_code_is_manual() -> None:
    result = one(Purpose(code="HMB"), Limitation("NCU"))
    assert not result.compatible
    assert any(f.outcome == "manual" for f in result.findings)


def test_no_dataset_is_a_conflict() -> None:
    assert not check(Purpose(code="HMB"), []).compatible


def test_every_dataset_is_checked() -> None:
    purpose = Purpose(code="HMB")
    result = check(purpose, [("a", [Limitation("GRU")]), ("b", [Limitation("POA")])])
    assert not result.compatible
    assert [f.dataset for f in result.problems] == ["b"]
    assert "b POA" in result.summary()
    assert result.as_dict()["compatible"] is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: Limitation("XYZ"),
        lambda: Limitation("DS"),
        lambda: Limitation("TS"),
        lambda: Limitation("GS"),
        lambda: Purpose(code="FOO"),
        lambda: Purpose(code="DS"),
    ],
)
def test_malformed_codes_fail_loudly(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(duo.DuoError):
        make()


@given(st.sampled_from(duo.PURPOSE_CODES), st.booleans(), st.integers(1, 60))
def test_gru_and_nres_allow_everything_without_modifiers(
    code: str, commercial: bool, months: int
) -> None:
    diseases = ("C50",) if code == "DS" else ()
    p = Purpose(code=code, diseases=diseases, commercial=commercial, duration_months=months)
    assert one(p, Limitation("GRU")).compatible
    assert one(p, Limitation("NRES")).compatible


@given(st.integers(1, 60), st.integers(1, 60))
def test_time_limit_is_monotone(limit: int, months: int) -> None:
    p = Purpose(code="HMB", duration_months=months)
    assert one(p, Limitation("HMB"), Limitation("TS", time_limit_months=limit)).compatible is (
        months <= limit
    )
