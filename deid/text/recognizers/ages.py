"""Exact ages and sex words in a note, for releases whose tables carry less.

A note that says ``62세``, ``M/51`` or ``51-year-old`` is finer than a person table
generalized to 20-year birth bands: a release with a longitudinal threat model
replaces every exact age by ``[AGE]`` (the number only; the words around it stay).
When the release generalizes sex, sex words go too (``[SEX]``): ``M/F`` next to an
age, ``남/여`` and ``남성/여성/남자/여자``, ``male/female/man/woman``, ``Mr./Ms.``,
and the value after ``성별``/``Sex``. Pronouns and relation words (``his``,
``wife``) are left: they are not rewritten by a pattern without changing meaning.
"""

from __future__ import annotations

from collections.abc import Callable

import deid.text.recognizers.rx as rx

__all__ = ["AGE_TAG", "SEX_TAG", "remove_exact_ages", "remove_sex_words"]

AGE_TAG = "[AGE]"
SEX_TAG = "[SEX]"
_SEX = r"(?:M|F|남|여|남성|여성|Male|Female|male|female)"
_N = r"(?P<n>\d{1,3})"
_PATTERNS = tuple(
    rx.compile(p)
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
    for pattern in _PATTERNS:
        text = pattern.sub(_tagger("n", AGE_TAG), text)
    return text


def _tagger(group: str, tag: str) -> Callable[[rx.Match], str]:
    """A ``rx.sub`` replacement that puts ``tag`` in place of the named ``group`` only."""

    def replace(m: rx.Match) -> str:
        start, end = m.span(group)
        whole: str = m.group(0)
        base = m.start()
        return whole[: start - base] + tag + whole[end - base :]

    return replace


_AGE_NEAR = r"(?:\d{1,3}|\[AGE\])"
_SEX_PATTERNS = tuple(
    rx.compile(p)
    for p in (
        # next to an age, in either order: M/62, F / [AGE], 62/M, [AGE]F, 62M
        r"(?<![\w/])(?P<s>M|F)(?=\s*/\s*" + _AGE_NEAR + r")",
        r"(?<=/)\s*(?P<s>M|F)(?![\w/])",
        r"(?:(?<=\d)|(?<=\[AGE\]))(?P<s>M|F)(?![A-Za-z0-9])",
        # Korean: the explicit words, and 남/여 next to a slash, an age or in brackets
        r"(?P<s>남성|여성|남자|여자)",
        r"(?<![가-힣])(?P<s>남|여)(?=\s*/)",
        r"(?<=/)\s*(?P<s>남|여)(?![가-힣])",
        r"(?:(?<=세)|(?<=\[AGE\]))\s*(?P<s>남|여)(?![가-힣])",
        r"(?<=\()(?P<s>남|여)(?=\))",
        r"(?i)\b(?P<s>male|female|man|woman|boy|girl)\b",
        r"\b(?P<s>Mr|Mrs|Ms|Miss)\.?(?=\s)",
        r"(?i)(?:sex|gender)\s*[:=]\s*(?P<s>[MF]|male|female)\b",
        r"성별\s*[:：]\s*(?P<s>남|여|M|F)",
    )
)


def remove_sex_words(text: str) -> str:
    """``text`` with every sex word the patterns know replaced by ``[SEX]``."""
    for pattern in _SEX_PATTERNS:
        text = pattern.sub(_tagger("s", SEX_TAG), text)
    return text
