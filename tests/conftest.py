"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Each test starts in the default language: a page in Korean must not leak into the next.

    (Django keeps the active language per thread; LocaleMiddleware sets it per request.)
    """
    try:
        from django.utils import translation
    except ImportError:  # pragma: no cover - the engine's tests run without Django too
        yield
        return
    translation.deactivate()
    yield
    translation.deactivate()
