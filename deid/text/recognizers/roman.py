"""Romanized Korean names by their syllables: "Hae-won", "SANGCHUL", "Hyewon".

A romanized syllable is an optional initial consonant, a vowel and an optional final
consonant, the way the Revised Romanization and McCune-Reischauer spell them; a given
name is two of them, hyphenated or run together, and no English word.
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text import lexicons

__all__ = [
    "ROMAN_SYLLABLE",
    "hyphenated_given",
    "hyphenated_syllables",
    "roman_given",
    "two_syllables",
]

ROMAN_SYLLABLE = rx.compile(
    r"(?i:(?:kk|tt|pp|ss|jj|ch|sh|[bcdghjklmnprstwy])?"
    r"(?:yeo|yae|wae|ae|ea|eo|eu|oe|oo|ui|wa|we|wi|wo|ya|ye|yo|yu|a|e|i|o|u)(?:ng|n|m|l|k|p|t|h)?)"
)
_HYPHENATED_GIVEN = rx.compile(r"[A-Z][a-z]{1,4}-[a-z]{2,5}")


def two_syllables(word: str) -> bool:
    """SANGCHUL, MINSU: two romanized syllables written as one word."""
    return any(
        ROMAN_SYLLABLE.fullmatch(word[:i]) and ROMAN_SYLLABLE.fullmatch(word[i:])
        for i in range(1, len(word))
    )


def hyphenated_syllables(word: str) -> bool:
    """hae-won: two romanized syllables joined by a hyphen (any case)."""
    parts = word.split("-")
    return len(parts) == 2 and all(ROMAN_SYLLABLE.fullmatch(p) for p in parts)


def hyphenated_given(word: str) -> bool:
    """Hae-won, Ye-rim: the shape of a romanized Korean given name with its hyphen."""
    return _HYPHENATED_GIVEN.fullmatch(word) is not None


def roman_given(word: str) -> bool:
    """Ji-won, Hyewon: a romanized Korean given name (hyphenated syllables, or two
    syllables run together that are no English word)."""
    lw = word.lower()
    if "-" in lw:
        return hyphenated_syllables(lw)
    return two_syllables(lw) and lw not in lexicons.english_words()
