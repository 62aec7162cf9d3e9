"""The statistics of Korean names: how common a family name is, how name-like given
syllables are.

- **family names**: census shares from the ``korean-name-generator`` package's model,
  and a small share for the rarer names of the project's full list
  (``lexicons.ko_surnames``);
- **given names**: a syllable model by position (the generator's jamo statistics), with
  the syllables of older generations' names (춘자, 말순) and of the project's list raised.

Used by the scorer of :mod:`deid.text.recognizers.ko_names` and the note-level passes.
"""

from __future__ import annotations

import math
from functools import cache

from deid.text import lexicons

__all__ = ["COMPOUND_SURNAMES", "given_name_llr", "surname_share", "surname_shares"]

# Family names of two syllables.
COMPOUND_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방")

# Family-name shares (2015 census, rounded); names not listed get _RARE_SHARE.
_RARE_SHARE = 0.0003
_FLOOR = -5.0


@cache
def surname_shares() -> dict[str, float]:
    """Family name -> share of the population (the census shares of the name model)."""
    from korean_name_generator import trained_data

    counts = dict(
        zip(
            (chr(c + 0xAC00) for c in trained_data.lastNames),
            trained_data.lastNameFrequency,
            strict=False,
        )
    )
    total = float(sum(counts.values()))
    shares = {s: n / total for s, n in counts.items()}
    for s in lexicons.ko_surnames():
        shares.setdefault(s, _RARE_SHARE)
    return shares


def surname_share(surname: str) -> float:
    return surname_shares().get(surname, 0.0)


@cache
def _given_tables() -> tuple[dict[str, float], dict[str, float]]:
    """Per position of a two-syllable given name: syllable -> log(P / uniform), max over sexes."""
    from korean_name_generator import namer, trained_data

    del namer  # importing it unpacks trained_data.firstNames
    uniform = 11172.0
    tables: list[dict[str, float]] = [{}, {}]
    for sex in (0, 1):
        for pos in (0, 1):
            for syl, p in _syllable_probs(trained_data.firstNames[sex][pos]).items():
                llr = math.log(p * uniform)
                if llr > tables[pos].get(syl, -math.inf):
                    tables[pos][syl] = llr
    return tables[0], tables[1]


def _syllable_probs(model: list[list[int]]) -> dict[str, float]:
    """P(syllable) of the generator's jamo model (initial, medial | initial, final)."""

    def dense(values: list[int], n: int) -> list[float]:
        out = [float(v or 0) for v in values[:n]]
        return out + [0.0] * (n - len(out))

    cho = dense(model[0], 19)
    jung = dense(model[1], 19 * 21)
    jung_jong = dense(model[2], 21 * 28)
    cho_jong = dense(model[3], 19 * 28)
    total_cho = sum(cho) or 1.0
    out: dict[str, float] = {}
    for c in range(19):
        if not cho[c]:
            continue
        total_jung = sum(jung[c * 21 : (c + 1) * 21]) or 1.0
        for v in range(21):
            if not jung[c * 21 + v]:
                continue
            weights = [jung_jong[v * 28 + f] * cho_jong[c * 28 + f] for f in range(28)]
            total_w = sum(weights)
            if not total_w:
                continue
            for f in range(28):
                if weights[f]:
                    p = cho[c] / total_cho * jung[c * 21 + v] / total_jung * weights[f] / total_w
                    out[chr(0xAC00 + 28 * 21 * c + 28 * v + f)] = p
    return out


# Given-name syllables of older generations (born before about 1970: 춘자, 말순, 옥례,
# 복녀), which the generator's model of recent names rates low; patients of a regional
# hospital are mostly of those generations.
_OLDER_FIRST = frozenset("말순옥춘복금점막귀분끝필갑을")
_OLDER_SECOND = frozenset("자례녀분옥임단덕심엽순숙희")
_OLDER_LLR = 3.0
_LISTED_LLR = 1.0  # a syllable of the project's given-name list (lexicons.ko_given_syllables)


def _syllable_llr(table: dict[str, float], older: frozenset[str], syllable: str) -> float:
    llr = table.get(syllable, _FLOOR)
    if syllable in older:
        llr = max(llr, _OLDER_LLR)
    elif syllable in lexicons.ko_given_syllables():
        llr = max(llr, _LISTED_LLR)
    return llr


def given_name_llr(given: str) -> float:
    """How name-like a given name is: mean log-likelihood ratio of its syllables."""
    first, second = _given_tables()
    if len(given) == 1:
        return max(
            _syllable_llr(first, _OLDER_FIRST, given), _syllable_llr(second, _OLDER_SECOND, given)
        )
    if len(given) == 2:
        return (
            _syllable_llr(first, _OLDER_FIRST, given[0])
            + _syllable_llr(second, _OLDER_SECOND, given[1])
        ) / 2
    return _FLOOR
