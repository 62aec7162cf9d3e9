"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/ is not beside the project root")
    return SHARED


@pytest.fixture(scope="session")
def adult_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "adult"
