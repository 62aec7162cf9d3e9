"""Replacement text for detected PHI: keyed tags or realistic fakes.

A tag is ``[TYPE_xxxxxx]`` where ``xxxxxx`` is the start of
HMAC-SHA256(key, TYPE | normalized value). Under one release key the same
value always gets the same tag (in every note of the release); under another
key tags are unrelated, so releases to different recipients cannot be linked.
The key itself never appears in a repr, a log or an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Final

TAG_HEX: Final = 6
MODES: Final = ("tag", "fake")

# Types whose value is an identifier: punctuation and spaces do not change identity.
_ID_TYPES = frozenset(
    [
        "KR_RRN",
        "PHONE",
        "MRN",
        "HEALTH_INSURANCE",
        "PASSPORT",
        "DRIVER_LICENSE",
        "ACCOUNT",
        "IP_ADDRESS",
    ]
)
_FAKE_SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍"
_FAKE_GIVEN = "민서준지현우하윤도예수연은호시유진아영성재승태"
_ROMAN = ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim")
_ROMAN_GIVEN = ("Min", "Seo", "Jun", "Ji", "Hyun", "Woo", "Ha", "Yun", "Do", "Ye", "Su", "Yeon")


def normalize(entity_type: str, value: str) -> str:
    """The identity of a value: NFKC, case-folded, whitespace collapsed (ids: alphanumerics only)."""
    v = unicodedata.normalize("NFKC", value).casefold()
    if entity_type in _ID_TYPES:
        return re.sub(r"[^0-9a-z]", "", v)
    return " ".join(v.split())


class Surrogates:
    """Keyed replacements. ``mode`` is ``tag`` (default) or ``fake``."""

    __slots__ = ("_key", "mode")

    def __init__(self, key: bytes, mode: str = "tag") -> None:
        if mode not in MODES:
            from deid.errors import DeidError

            raise DeidError(f"surrogate mode: expected one of {MODES}, got {mode!r}")
        if len(key) < 16:
            from deid.errors import KeyMaterialError

            raise KeyMaterialError(f"surrogate key: expected at least 16 bytes, got {len(key)}")
        self._key = key
        self.mode = mode

    def __repr__(self) -> str:
        return f"Surrogates(mode={self.mode!r}, key=<redacted>)"

    def digest(self, entity_type: str, value: str) -> bytes:
        msg = f"{entity_type}\x1f{normalize(entity_type, value)}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def tag(self, entity_type: str, value: str) -> str:
        return f"[{entity_type}_{self.digest(entity_type, value).hex()[:TAG_HEX]}]"

    def replace(self, entity_type: str, value: str) -> str:
        if self.mode == "fake":
            fake = self.fake(entity_type, value)
            if fake is not None:
                return fake
        return self.tag(entity_type, value)

    def fake(self, entity_type: str, value: str) -> str | None:
        """A realistic but impossible stand-in, or None when the type has none."""
        h = self.digest(entity_type, value)
        n = int.from_bytes(h[:8], "big")
        if entity_type == "PERSON":
            if re.search(r"[가-힣]", value):
                return (
                    _FAKE_SURNAMES[n % len(_FAKE_SURNAMES)]
                    + _FAKE_GIVEN[(n >> 8) % len(_FAKE_GIVEN)]
                    + _FAKE_GIVEN[(n >> 16) % len(_FAKE_GIVEN)]
                )
            given = (
                _ROMAN_GIVEN[(n >> 8) % len(_ROMAN_GIVEN)]
                + "-"
                + _ROMAN_GIVEN[(n >> 16) % len(_ROMAN_GIVEN)].lower()
            )
            return f"{_ROMAN[n % len(_ROMAN)]} {given}"
        if entity_type == "KR_RRN":
            return fake_rrn(n)
        if entity_type == "PHONE":
            # 010-0xxx-xxxx: mobile middle blocks never start with 0.
            return f"010-0{n % 1000:03d}-{(n >> 10) % 10000:04d}"
        if entity_type == "EMAIL":
            return f"user{h.hex()[:8]}@example.org"
        if entity_type == "URL":
            return f"https://example.org/{h.hex()[:10]}"
        if entity_type == "IP_ADDRESS":
            return f"192.0.2.{n % 254 + 1}"  # TEST-NET-1, never routed
        return None


def fake_rrn(n: int) -> str:
    """A well-formed RRN with a valid birth date whose checksum is deliberately wrong."""
    from deid.text.recognizers.ids import rrn_checksum_ok

    yy = n % 100
    mm = (n >> 7) % 12 + 1
    dd = (n >> 11) % 28 + 1
    g = "12"[(n >> 16) % 2]
    body = f"{yy:02d}{mm:02d}{dd:02d}{g}{(n >> 17) % 100000:05d}"
    for last in range(10):
        if not rrn_checksum_ok(body + str(last)):
            return f"{body[:6]}-{body[6:]}{last}"
    raise AssertionError("unreachable: some check digit is always wrong")
