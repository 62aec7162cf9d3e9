"""Fixtures of the PHI scrubber tests: one Scrubber per session (model loads once)."""

from __future__ import annotations

import pytest

from deid.text import Scrubber

KEY_A = b"release-key-A-0123456789abcdef!!"
KEY_B = b"release-key-B-0123456789abcdef!!"


@pytest.fixture(scope="session")
def scrubber() -> Scrubber:
    return Scrubber(key=KEY_A)


@pytest.fixture(scope="session")
def scrubber_b() -> Scrubber:
    return Scrubber(key=KEY_B)
