"""The one application error of the governance workflow, with a stable machine code."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

__all__ = [
    "GovernanceError",
    "GovernanceErrorCode",
    "describe_failure",
    "failure_details",
    "redact_values",
]


class GovernanceErrorCode(StrEnum):
    """Why an action was refused: stable machine codes (API clients and tests match on them)."""

    PERMISSION_DENIED = "permission_denied"  # the acting user lacks the role
    OWN_ORGANIZATION = "own_organization"  # nobody decides on their own organization's case
    TWO_PERSON_RULE = "two_person_rule"  # the second decision needs another person
    ROLE_SEPARATION = "role_separation"  # one person may not hold both sides of a check
    VALIDATION = "validation"  # a field is malformed
    REASON_REQUIRED = "reason_required"  # a decision needs its reason written down
    DOCUMENT_INVALID = "document_invalid"  # an upload is not an accepted document
    POLICY_INVALID = "policy_invalid"  # a de-identification policy does not parse or check
    POLICY_MISSING = "policy_missing"  # a release has no policy yet
    INVALID_STATE = "invalid_state"  # the subject is not in a state that allows the action
    STALE_BUILD = "stale_build"  # a late worker of a superseded build
    DUO_INCOMPATIBLE = "duo_incompatible"  # the purpose breaks a dataset's use limitation
    IRB_INVALID = "irb_invalid"  # no verified IRB approval in force
    DUA_INVALID = "dua_invalid"  # no signed DUA in force naming the recipient
    NOT_DUE = "not_due"  # a scheduled action before its time
    UNSAFE_PATH = "unsafe_path"  # a path outside the folder it must be in
    KEY_DESTROY_FAILED = "key_destroy_failed"  # a release key could not be destroyed
    FILES_REMAIN = "files_remain"  # a destroyed release's files could not be removed
    BUILD_FAILED = "build_failed"  # the demo's build did not succeed
    UNAVAILABLE = "unavailable"  # a needed service (database, queue) is not reachable


# Suggested HTTP status per code (the API's exception handler may use it); others are 409.
_STATUS = {
    GovernanceErrorCode.PERMISSION_DENIED: 403,
    GovernanceErrorCode.OWN_ORGANIZATION: 403,
    GovernanceErrorCode.TWO_PERSON_RULE: 403,
    GovernanceErrorCode.ROLE_SEPARATION: 403,
    GovernanceErrorCode.VALIDATION: 400,
    GovernanceErrorCode.REASON_REQUIRED: 400,
    GovernanceErrorCode.DOCUMENT_INVALID: 400,
    GovernanceErrorCode.POLICY_INVALID: 400,
}


class GovernanceError(Exception):
    """A refused action: ``code`` (a :class:`GovernanceErrorCode`) is stable, ``message`` says
    what was refused and why, in the reader's language."""

    def __init__(
        self, *, code: GovernanceErrorCode, message: str, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = GovernanceErrorCode(code)  # an unknown code fails here, not in a client
        self.message = message
        self.status = status if status is not None else _STATUS.get(self.code, 409)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "message": self.message}


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
