"""Nothing fetches at run time: tldextract uses its bundled snapshot, spaCy never downloads."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import tldextract

from deid.text import Scrubber
from deid.text.engine import ensure_offline, offline_tld_extractor


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object, *args: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type]
    return attempts


def test_tldextract_offline_extractor_uses_snapshot(no_network: list[object]) -> None:
    ext = offline_tld_extractor()
    assert ext("someone.example.co.kr").suffix == "co.kr"
    assert ext("https://blog.naver.com/x").registered_domain == "naver.com"
    assert no_network == []


def test_presidio_email_validation_offline(no_network: list[object]) -> None:
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    ensure_offline()
    assert tldextract.extract("kim@hallym.or.kr").suffix == "or.kr"
    rec = EmailRecognizer()
    assert rec.validate_result("kim@hallym.or.kr")
    assert no_network == []


def test_scrubber_runs_without_network(no_network: list[object]) -> None:
    s = Scrubber(key=b"k" * 32)
    res = s.scrub(
        "Contact kim@hallym.or.kr, https://pf.kakao.com/_abc, 10.1.2.3, Dr. Lee", lang="en"
    )
    assert "kim@hallym.or.kr" not in res.text
    assert "pf.kakao.com" not in res.text
    assert no_network == []


def test_missing_model_is_an_error_not_a_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy

    from deid.errors import DeidError
    from deid.text import engine

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("spacy.cli.download must never be called")

    monkeypatch.setattr(spacy.util, "is_package", lambda name: False)
    monkeypatch.setattr(spacy.cli, "download", no_download)
    with pytest.raises(DeidError, match="not installed"):
        engine.load_english.__wrapped__()


def test_korean_morphology_loads_its_bundled_model_offline(no_network: list[object]) -> None:
    """Kiwi's model comes from the kiwipiepy-model package: nothing is downloaded."""
    from deid.text.recognizers.ko_names import KoreanNameScorer, _kiwi

    _kiwi.cache_clear()
    found = KoreanNameScorer().find("담당 RN 석다인, 보호자 채윤서(딸) 면회")
    assert [
        t
        for t in ("석다인", "채윤서")
        if any(t == "담당 RN 석다인, 보호자 채윤서(딸) 면회"[s:e] for s, e, _ in found)
    ] == ["석다인", "채윤서"]
    assert no_network == []
