"""Scrubber behaviour: offsets, keyed tags, date shifting, Arrow columns, processes."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deid.errors import DataError, DeidError, KeyMaterialError
from deid.text import Scrubber, detect_lang, scrub_array
from deid.text.recognizers import rrn_checksum_ok, rrn_date_ok
from deid.text.surrogates import Surrogates

from .conftest import KEY_A

NOTE = (
    "환자명: 임수호   등록번호: 11739935\n입원일: 2023.09.24   주치의: 황현솔\n"
    "보호자 김서아 (며느리) 010-8628-3597, 주민등록번호: 540721-1063832\n"
    "Follow-up May 2, 2024 with Dr. Kim. 외래 2023-10-05 예정."
)
TAG = re.compile(r"\[([A-Z_]+)_([0-9a-f]{6})\]")


def test_offsets_index_the_original_text(scrubber: Scrubber) -> None:
    res = scrubber.scrub(NOTE)
    spans = {NOTE[e.start : e.end] for e in res.entities}
    for value in (
        "임수호",
        "11739935",
        "2023.09.24",
        "황현솔",
        "김서아",
        "010-8628-3597",
        "540721-1063832",
    ):
        assert value in spans
        assert value not in res.text
    assert "May 2, 2024" in spans
    starts = [e.start for e in res.entities]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(res.entities, res.entities[1:], strict=False))


def test_tags_are_typed_and_stable_within_a_key(scrubber: Scrubber) -> None:
    a = scrubber.scrub("보호자 김서아 (며느리) 내원").text
    b = scrubber.scrub("담당: 김서아\n연락 바람").text
    ta, tb = TAG.findall(a), TAG.findall(b)
    assert ("PERSON", ta[0][1]) in ta
    assert ta[0] in tb


def test_tags_unlinkable_across_keys(scrubber: Scrubber, scrubber_b: Scrubber) -> None:
    a = TAG.findall(scrubber.scrub("보호자 김서아 (며느리)").text)
    b = TAG.findall(scrubber_b.scrub("보호자 김서아 (며느리)").text)
    assert a[0][0] == b[0][0] == "PERSON"
    assert a[0][1] != b[0][1]


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=20), st.sampled_from(["PERSON", "PHONE", "MRN"]))
def test_tag_depends_on_key_and_value(value: str, etype: str) -> None:
    sa, sb = Surrogates(KEY_A), Surrogates(b"another-key-of-32-bytes-length!!")
    assert sa.tag(etype, value) == sa.tag(etype, value)
    assert TAG.fullmatch(sa.tag(etype, value))
    # Identifiers: formatting does not change identity.
    if etype == "PHONE":
        assert sa.tag(etype, "010-1234-5678") == sa.tag(etype, "01012345678")
    assert sa.tag(etype, value) != sb.tag(etype, value) or len(value) == 0


def test_key_never_in_repr() -> None:
    s = Surrogates(KEY_A)
    assert KEY_A.decode() not in repr(s)
    with pytest.raises(KeyMaterialError):
        Surrogates(b"short")


def test_scrubber_repr_hides_key(scrubber: Scrubber) -> None:
    assert "redacted" in repr(scrubber)
    assert KEY_A.decode() not in repr(scrubber)


def test_date_shift_keeps_format_and_intervals(scrubber: Scrubber) -> None:
    res = scrubber.scrub(NOTE, date_shift_days=-10)
    assert "2023.09.14" in res.text
    assert "2023-09-25" in res.text
    assert "April 22, 2024" in res.text
    # Other PHI still tagged.
    assert "임수호" not in res.text
    assert "[PERSON_" in res.text


def test_unparseable_date_gets_a_tag(scrubber: Scrubber) -> None:
    text = "수술일 2021년 2월 30일 기록 오류"  # not a real date: never detected as a date
    res = scrubber.scrub(text, date_shift_days=5)
    assert "2021년 2월 30일" in res.text  # impossible dates are not PHI dates
    from deid.text import Entity

    vague = "지난 봄 무렵"
    rendered = scrubber.render(vague, [Entity(0, len(vague), "DATE", 1.0)], date_shift_days=5)
    assert TAG.fullmatch(rendered)
    assert rendered.startswith("[DATE_")
    text2 = "내원 2021.03.05 확인"
    res2 = scrubber.scrub(text2)
    assert "[DATE_" in res2.text
    assert "2021.03.05" not in res2.text


def test_fake_surrogates() -> None:
    s = Scrubber(key=KEY_A, surrogate="fake")
    res = s.scrub("보호자 김서아 (며느리) 010-8628-3597, 주민등록번호: 540721-1063832")
    assert "김서아" not in res.text
    assert "010-8628-3597" not in res.text
    fake_rrn = re.search(r"\d{6}-\d{7}", res.text)
    assert fake_rrn is not None
    digits = fake_rrn.group(0).replace("-", "")
    assert rrn_date_ok(digits)
    assert not rrn_checksum_ok(digits)
    assert re.search(r"[가-힣]{3} \(며느리\)", res.text)
    with pytest.raises(DeidError):
        Scrubber(surrogate="nonsense")


def test_detect_lang() -> None:
    assert detect_lang("환자는 흉통으로 내원함") == "ko"
    assert detect_lang("Patient admitted for chest pain") == "en"
    assert (
        detect_lang("Pt: 조시솔 (M/40) C.C.: abdominal pain, atrial fibrillation 의심") == "mixed"
    )


def test_bad_lang_is_a_data_error(scrubber: Scrubber) -> None:
    with pytest.raises(DataError, match="lang"):
        scrubber.scrub("text", lang="fr")
    with pytest.raises(DataError, match="record 1"):
        scrubber.scrub_many(["a", "b"], langs=["ko", "de"])
    # Locale-style codes are accepted.
    assert scrubber.scrub("환자명: 임수호", lang="ko-KR").text != "환자명: 임수호"


def test_scrub_array_nulls_langs_and_shifts(scrubber: Scrubber) -> None:
    values = pa.array(["내원 2021.03.05, 환자명: 임수호", None, "Seen on 2021-03-05 by Dr. Kim."])
    out = scrub_array(
        values,
        scrubber=scrubber,
        langs=pa.array(["ko", None, "en"]),
        date_shift_days=pa.array([3, None, None], type=pa.int32()),
    )
    assert out.type == pa.string()
    rows = out.to_pylist()
    assert rows[1] is None
    assert "2021.03.08" in rows[0]
    assert "임수호" not in rows[0]
    assert "[DATE_" in rows[2]
    assert "Kim" not in rows[2]


def test_scrub_array_rejects_non_strings(scrubber: Scrubber) -> None:
    with pytest.raises(DataError, match="string"):
        scrub_array(pa.array([1, 2]), scrubber=scrubber)
    with pytest.raises(DataError, match="date_shift_days"):
        scrub_array(pa.array(["a"]), scrubber=scrubber, date_shift_days=pa.array([1, 2]))


def test_scrub_many_matches_scrub(scrubber: Scrubber) -> None:
    texts = [NOTE, "Patient: Kim Ye-rin (62 F), MRN 37551753", "특이사항 없음"]
    many = scrubber.scrub_many(texts, batch_size=2)
    assert [r.text for r in many] == [scrubber.scrub(t).text for t in texts]


@pytest.mark.slow
def test_scrub_many_processes_match_serial(scrubber: Scrubber) -> None:
    texts = [NOTE.replace("임수호", f"임수{c}") for c in "호진민준서연우현"] * 20
    serial = scrubber.scrub_many(texts, batch_size=16)
    parallel = scrubber.scrub_many(texts, batch_size=16, n_process=2)
    assert [r.text for r in parallel] == [r.text for r in serial]
    assert [r.entities for r in parallel] == [r.entities for r in serial]


def test_full_width_digits_and_punctuation(scrubber: Scrubber) -> None:
    text = "연락처 ０１０－１２３４－５６７８, 등록번호：１２３４５６７８"
    res = scrubber.scrub(text)
    assert [text[e.start : e.end] for e in res.entities] == [
        "０１０－１２３４－５６７８",
        "１２３４５６７８",
    ]
    assert "５６７８" not in res.text
