"""The one application error of the governance workflow, with a stable machine code."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["GovernanceError", "describe_failure", "failure_details", "redact_values"]

# Suggested HTTP status per code (the API's exception handler may use it).
_STATUS = {
    "permission_denied": 403,
    "own_organization": 403,
    "two_person_rule": 403,
    "role_separation": 403,
    "validation": 400,
    "reason_required": 400,
    "document_invalid": 400,
    "policy_invalid": 400,
}


class GovernanceError(Exception):
    """A refused action: ``code`` is stable (API clients and tests match on it), ``message`` says
    what was refused and why.

    Codes: ``permission_denied``, ``invalid_state``, ``reason_required``, ``two_person_rule``,
    ``own_organization``, ``role_separation``, ``duo_incompatible``, ``irb_invalid``,
    ``dua_invalid``, ``policy_invalid``, ``policy_missing``, ``document_invalid``,
    ``validation``, ``unsafe_path``, ``key_destroy_failed``, ``not_due``, ``stale_build``.
    """

    def __init__(self, *, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else _STATUS.get(code, 409)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


# --- build failures without source values ---------------------------------------------------

# A quoted substring ('…', "…", ‘…’, “…”): the engine quotes the offending value with repr().
_QUOTED = re.compile(r"""[bru]?'[^'\n]*'|[bru]?"[^"\n]*"|‘[^’\n]*’|“[^”\n]*”""")


def redact_values(text: str) -> str:
    """``text`` with every quoted substring replaced by '…' (what and where, never the value)."""
    return _QUOTED.sub("'…'", text)


def _record_number(exc: BaseException) -> int | None:
    # Only a row number: a record given as an id could be a patient's identifier.
    record = getattr(exc, "record", None)
    return record if isinstance(record, int) and not isinstance(record, bool) else None


def failure_details(exc: BaseException) -> dict[str, Any]:
    """A build failure for the audit log and logs: the exception type and, for engine errors,
    the field and record number; never the message (it may quote a source value)."""
    from deid.errors import DeidError

    details: dict[str, Any] = {"error_type": type(exc).__name__}
    if isinstance(exc, DeidError):
        field = getattr(exc, "field", None)
        if field is not None:
            details["field"] = str(field)
        record = _record_number(exc)
        if record is not None:
            details["record"] = record
    return details


def describe_failure(exc: BaseException) -> str:
    """A build failure as the steward reads it (``Release.build_error``): type, field, record
    number and the message with quoted values replaced by '…'; for ``PrivacyTargetNotMet`` the
    aggregate privacy report. Never key material (errors carry only key ids)."""
    from deid.errors import DataError, PolicyError, PrivacyTargetNotMet

    where: list[str] = []
    if isinstance(exc, DataError | PolicyError):
        record = _record_number(exc) if isinstance(exc, DataError) else None
        if record is not None:
            where.append(f"record {record}")
        if exc.field is not None:
            where.append(f"field {exc.field}")
        message = exc.message
    else:
        message = str(exc)
    prefix = f"{type(exc).__name__}: " + (", ".join(where) + ": " if where else "")
    text = prefix + redact_values(message)
    if isinstance(exc, PrivacyTargetNotMet):
        text += "\nprivacy report: " + json.dumps(exc.report, ensure_ascii=False, default=str)
    return text
