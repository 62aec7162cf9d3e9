"""The legal and steward reviews of a request: start, approve, ask for changes, reject;
verify the IRB approval and the DUA."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    DataAccessRequest,
    DataUseAgreement,
    Decision,
    IrbApproval,
    RequestState,
    Verdict,
)
from governance.roles import ActingUser
from governance.selectors import duo_check, valid_dua, valid_irb
from governance.services import notifications
from governance.services._common import (
    LEGAL_REVIEW_STATES,
    STEWARD_REVIEW_STATES,
    _audit,
    _decide,
    _legal_reviewer,
    _lock,
    _lock_unverified,
    _require_reason,
    _require_state,
    _require_user,
    _set_request_state,
    _steward,
)


def request_start_legal_review(
    *, request: DataAccessRequest, acting_user: ActingUser
) -> DataAccessRequest:
    role = _legal_reviewer(acting_user, request, action="start a legal review")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(
            request,
            [RequestState.SUBMITTED, RequestState.RESUBMITTED],
            action="start the legal review",
        )
        _set_request_state(request, RequestState.LEGAL_REVIEW)
        _audit(
            AuditAction.REQUEST_REVIEW_STARTED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={"stage": "legal"},
        )
    return request


def request_approve_legal(
    *,
    request: DataAccessRequest,
    acting_user: ActingUser,
    reason: str,
    override_reason: str | None = None,
) -> DataAccessRequest:
    """Legal approval: documents verified, the DUO check passed (or overridden with a reason)."""
    reason = _require_reason(reason, action="approve")
    role = _legal_reviewer(acting_user, request, action="approve this request")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, LEGAL_REVIEW_STATES, action="approve legally")
        # The same rule as publish and download (valid_irb / valid_dua): approved and in
        # force today, and the DUA names the recipient organization as a party.
        today = timezone.localdate()
        if valid_irb(request, today) is None:
            raise GovernanceError(
                code=GovernanceErrorCode.IRB_INVALID,
                message=_(
                    "Request #%(request_pk)s has no verified IRB approval in force on %(today)s: verify the IRB approval before approving."
                )
                % {"request_pk": request.pk, "today": today},
            )
        if valid_dua(request, today) is None:
            raise GovernanceError(
                code=GovernanceErrorCode.DUA_INVALID,
                message=_(
                    "Request #%(request_pk)s has no verified, signed DUA in force on %(today)s that covers purpose %(request_purpose_code)s and names the recipient organization: verify the DUA before approving."
                )
                % {
                    "request_pk": request.pk,
                    "today": today,
                    "request_purpose_code": request.purpose_code,
                },
            )
        result = duo_check(request)
        override = (override_reason or "").strip()
        if not result.compatible and not override:
            raise GovernanceError(
                code=GovernanceErrorCode.DUO_INCOMPATIBLE,
                message=_("%(result_summary)s Approving needs an explicit override reason.")
                % {"result_summary": result.summary()},
            )
        _decide(
            subject=request,
            stage=Decision.Stage.LEGAL,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.APPROVE,
            reason=reason,
            override_reason=override if not result.compatible else "",
        )
        _set_request_state(request, RequestState.LEGALLY_APPROVED)
        details = {"reason": reason, "duo_compatible": result.compatible}
        if not result.compatible:
            _audit(
                AuditAction.REQUEST_DUO_OVERRIDDEN,
                acting_user=acting_user,
                role=role,
                subject=request,
                details={
                    "override_reason": override,
                    "problems": [f"{f.dataset}:{f.code}" for f in result.problems],
                },
            )
        _audit(
            AuditAction.REQUEST_LEGAL_APPROVED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details=details,
        )
        notifications.on_policy_needed(request)
    return request


def request_request_changes(
    *, request: DataAccessRequest, acting_user: ActingUser, reason: str
) -> DataAccessRequest:
    reason = _require_reason(reason, action="request changes")
    role = _legal_reviewer(acting_user, request, action="request changes")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, LEGAL_REVIEW_STATES, action="request changes")
        _decide(
            subject=request,
            stage=Decision.Stage.LEGAL,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REQUEST_CHANGES,
            reason=reason,
        )
        _set_request_state(request, RequestState.CHANGES_REQUESTED)
        _audit(
            AuditAction.REQUEST_CHANGES_REQUESTED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={"reason": reason},
        )
        notifications.on_request_changes(request, reason)
    return request


def request_reject(
    *, request: DataAccessRequest, acting_user: ActingUser, reason: str
) -> DataAccessRequest:
    """Reject at any review step: by a legal reviewer in legal review, by a data steward in
    steward review."""
    reason = _require_reason(reason, action="reject")
    _require_user(acting_user)
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        if request.state in (*LEGAL_REVIEW_STATES, RequestState.CHANGES_REQUESTED):
            role = _legal_reviewer(acting_user, request, action="reject this request")
            stage = Decision.Stage.LEGAL
        elif request.state in STEWARD_REVIEW_STATES:
            role = _steward(acting_user, request, action="reject this request")
            stage = Decision.Stage.STEWARD
        else:
            raise GovernanceError(
                code=GovernanceErrorCode.INVALID_STATE,
                message=_("Cannot reject: %(request)s is %(request_state)s, not under review.")
                % {"request": request, "request_state": request.state},
            )
        _decide(
            subject=request,
            stage=stage,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REJECT,
            reason=reason,
        )
        _set_request_state(request, RequestState.REJECTED)
        _audit(
            AuditAction.REQUEST_REJECTED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={"reason": reason, "stage": str(stage)},
        )
        notifications.on_request_decided(request, "rejected", reason)
    return request


def irb_verify(*, irb: IrbApproval, acting_user: ActingUser) -> IrbApproval:
    """Legal confirms the IRB approval document is genuine and current."""
    role = _legal_reviewer(acting_user, irb.request, action="verify this IRB approval")
    with transaction.atomic():
        irb = _lock_unverified(IrbApproval, irb.pk)
        if irb.expires_on < timezone.localdate():
            raise GovernanceError(
                code=GovernanceErrorCode.IRB_INVALID,
                message=_("%(irb)s expired on %(irb_expires_on)s.")
                % {"irb": irb, "irb_expires_on": irb.expires_on},
            )
        irb.verified_by = _require_user(acting_user)
        irb.verified_at = timezone.now()
        irb.save(update_fields=["verified_by", "verified_at"])
        _audit(
            AuditAction.IRB_VERIFIED,
            acting_user=acting_user,
            role=role,
            subject=irb,
            details={"request_id": irb.request_id, "number": irb.number},
        )
    return irb


def dua_verify(*, dua: DataUseAgreement, acting_user: ActingUser) -> DataUseAgreement:
    """Legal confirms the DUA is signed by the parties and its document matches its hash."""
    role = _legal_reviewer(acting_user, dua.request, action="verify this data-use agreement")
    with transaction.atomic():
        dua = _lock_unverified(DataUseAgreement, dua.pk)
        if dua.signed_at is None:
            raise GovernanceError(
                code=GovernanceErrorCode.DUA_INVALID,
                message=_("%(dua)s is not signed.") % {"dua": dua},
            )
        if dua.expires_on < timezone.localdate():
            raise GovernanceError(
                code=GovernanceErrorCode.DUA_INVALID,
                message=_("%(dua)s expired on %(dua_expires_on)s.")
                % {"dua": dua, "dua_expires_on": dua.expires_on},
            )
        if dua.document.sha256 != dua.signed_sha256:
            raise GovernanceError(
                code=GovernanceErrorCode.DUA_INVALID,
                message=_("%(dua)s: the stored document's SHA-256 differs from the signed one.")
                % {"dua": dua},
            )
        dua.verified_by = _require_user(acting_user)
        dua.verified_at = timezone.now()
        dua.save(update_fields=["verified_by", "verified_at"])
        _audit(
            AuditAction.DUA_VERIFIED,
            acting_user=acting_user,
            role=role,
            subject=dua,
            details={"request_id": dua.request_id, "sha256": dua.signed_sha256},
        )
    return dua


def request_approve_steward(
    *, request: DataAccessRequest, acting_user: ActingUser, reason: str
) -> DataAccessRequest:
    """The data steward approves the request (two-person rule: not the legal approver)."""
    reason = _require_reason(reason, action="approve")
    role = _steward(acting_user, request, action="approve this request as data steward")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, STEWARD_REVIEW_STATES, action="approve as data steward")
        if not request.policies.exists():
            raise GovernanceError(
                code=GovernanceErrorCode.POLICY_MISSING,
                message=_("Set the de-identification policy of request #%(request_pk)s first.")
                % {"request_pk": request.pk},
            )
        _decide(
            subject=request,
            stage=Decision.Stage.STEWARD,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.APPROVE,
            reason=reason,
        )
        _set_request_state(request, RequestState.APPROVED)
        _audit(
            AuditAction.REQUEST_STEWARD_APPROVED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={"reason": reason},
        )
        notifications.on_request_decided(request, "approved", reason)
    return request
