"""Exact ages in a note, for releases whose tables carry only an age band.

A note that says ``62세``, ``M/51`` or ``51-year-old`` is finer than a person table
generalized to 20-year birth bands: a release with a longitudinal threat model
replaces every exact age by ``[AGE]`` (the number only; the words around it stay).
"""

from __future__ import annotations

import re

__all__ = ["AGE_TAG", "remove_exact_ages"]

AGE_TAG = "[AGE]"
_SEX = r"(?:M|F|남|여|남성|여성|Male|Female|male|female)"
_N = r"(?P<n>\d{1,3})"
_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"(?<![\w.])(?:만\s*)?" + _N + r"\s*(?:세|살)",  # 62세, 만 62세, 62살
        r"(?<![\w.])" + _N + r"(?=\s*-?\s*(?:years?|yrs?|y)[\s-]*old)",  # 51-year-old
        r"(?<![\w./])" + _N + r"(?=\s*(?:y/o|y\.o\.|yo\b|Y/O|YO\b|yrs?\b|y\b))",  # 51 y/o, 51yo
        r"(?<![\w/])" + _SEX + r"\s*/\s*" + _N + r"(?![\w/.])",  # M/51, 남/62
        r"(?<![\w/.])" + _N + r"\s*/\s*" + _SEX + r"(?![\w/])",  # 51/F
        r"(?<![\w.])" + _N + r"(?:M|F)(?![A-Za-z0-9])",  # 51F
        r"(?i)\b(?:age|aged)\s*[:=]?\s*" + _N + r"(?![\d.])",  # age 51, Aged: 51
        r"(?:나이|연령)\s*[:：]?\s*" + _N + r"(?![\d.])",  # 나이: 51
    )
)


def remove_exact_ages(text: str) -> str:
    """``text`` with the number of every exact age replaced by ``[AGE]``."""
    for rx in _PATTERNS:
        text = rx.sub(_replace, text)
    return text


def _replace(m: re.Match[str]) -> str:
    start, end = m.span("n")
    whole = m.group(0)
    base = m.start()
    return whole[: start - base] + AGE_TAG + whole[end - base :]
