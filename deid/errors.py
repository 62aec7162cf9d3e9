"""One error family for the engine. Every error says what, where, expected, got."""

from __future__ import annotations

from typing import Any


class DeidError(Exception):
    """Base class of every error the engine raises on purpose."""


class PolicyError(DeidError):
    """A policy (YAML or dict) is invalid. ``field`` is a dotted path into it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"policy field {field!r}: {message}")


class DataError(DeidError):
    """Input data is bad. Names the record (row number or id) and the field."""

    def __init__(
        self, message: str, *, record: object | None = None, field: str | None = None
    ) -> None:
        self.record = record
        self.field = field
        self.message = message
        where = []
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class PrivacyTargetNotMet(DeidError):
    """No transformation meets the privacy target: nothing may be released.

    ``report`` is a JSON-ready dict describing the best candidates found.
    """

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        self.report = report
        super().__init__(message)


class KeyMaterialError(DeidError):
    """Key material is missing, destroyed or malformed (never includes the key)."""


class SourceChangedError(DeidError):
    """The source changed during a build (its passes read different data): nothing is published.

    The count pass and the transform pass must see the same anchor records, or the
    released classes are not the ones the search checked. Rebuild from a stable
    snapshot of the source.
    """
