"""The one application error of the governance workflow, with a stable machine code."""

from __future__ import annotations

__all__ = ["GovernanceError"]

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
    ``validation``, ``unsafe_path``, ``key_destroy_failed``, ``not_due``.
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
