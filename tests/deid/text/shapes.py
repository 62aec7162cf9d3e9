"""What the scrubber finds in a short text, for the shape tests: ``{value: type}``."""

from __future__ import annotations

from deid.text import Scrubber


def found(scrubber: Scrubber, text: str, lang: str | None = None) -> dict[str, str]:
    """Each entity's text and type (the last wins where two share a text)."""
    return {text[e.start : e.end]: e.type for e in scrubber.analyze(text, lang)}
