"""Close-out and renewal: destruction attestations, renewals with a progress report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import IO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    Decision,
    DestructionAttestation,
    Document,
    Release,
    ReleaseState,
    Renewal,
    RenewalState,
    Verdict,
)
from governance.roles import ActingUser
from governance.selectors import valid_dua, valid_irb
from governance.services._common import (
    MAX_ACCESS_DAYS,
    _audit,
    _decide,
    _end_of_day,
    _legal_reviewer,
    _lock,
    _require_reason,
    _require_requester,
    _require_state,
    _require_user,
)
from governance.services.documents import document_create, documents_removed_on_error


def destruction_attest(
    *,
    release: Release,
    acting_user: ActingUser,
    destroyed_on: date,
    copies_description: str,
    file: IO[bytes] | bytes | None = None,
    original_name: str = "",
    content_type: str = "",
) -> DestructionAttestation:
    """At the end of access the recipient attests it destroyed its copies (who, when, what)."""
    role = _require_requester(acting_user, release.request, action="attest destruction")
    if not copies_description.strip():
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION, message=_("Describe what was destroyed and where.")
        )
    if destroyed_on > timezone.localdate():
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_("destroyed_on %(destroyed_on)s is in the future.")
            % {"destroyed_on": destroyed_on},
        )
    with documents_removed_on_error(), transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(
            release,
            [ReleaseState.EXPIRED, ReleaseState.REVOKED, ReleaseState.DESTROYED],
            action="attest destruction",
        )
        doc = None
        if file is not None:
            doc = document_create(
                kind=Document.Kind.ATTESTATION,
                file=file,
                original_name=original_name,
                content_type=content_type,
                acting_user=acting_user,
                request=release.request,
            )
        attestation = DestructionAttestation.objects.create(
            release=release,
            attested_by=_require_user(acting_user),
            organization=release.recipient,
            destroyed_on=destroyed_on,
            copies_description=copies_description.strip(),
            document=doc,
        )
        _audit(
            AuditAction.DESTRUCTION_ATTESTED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"attestation_id": attestation.pk, "destroyed_on": destroyed_on.isoformat()},
        )
    return attestation


# --- renewals -------------------------------------------------------------------------------


def renewal_request(
    *,
    release: Release,
    acting_user: ActingUser,
    progress_summary: str,
    requested_until: datetime,
    file: IO[bytes] | bytes,
    original_name: str,
    content_type: str,
) -> Renewal:
    """The recipient asks to extend access, with a progress report."""
    role = _require_requester(acting_user, release.request, action="request a renewal")
    if not progress_summary.strip():
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION, message=_("A renewal needs a progress summary.")
        )
    with documents_removed_on_error(), transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.PUBLISHED], action="renew")
        if release.expires_at and requested_until <= release.expires_at:
            raise GovernanceError(
                code=GovernanceErrorCode.VALIDATION,
                message=_(
                    "requested_until must be after the current expiry %(release_expires_at)s."
                )
                % {"release_expires_at": release.expires_at},
            )
        if release.renewals.filter(state=RenewalState.SUBMITTED).exists():
            raise GovernanceError(
                code=GovernanceErrorCode.INVALID_STATE,
                message=_("%(release)s already has an open renewal.") % {"release": release},
            )
        doc = document_create(
            kind=Document.Kind.PROGRESS_REPORT,
            file=file,
            original_name=original_name,
            content_type=content_type,
            acting_user=acting_user,
            request=release.request,
        )
        renewal = Renewal.objects.create(
            release=release,
            requested_by=_require_user(acting_user),
            progress_summary=progress_summary.strip(),
            progress_report=doc,
            requested_until=requested_until,
        )
        _audit(
            AuditAction.REQUEST_RENEWAL_REQUESTED,
            acting_user=acting_user,
            role=role,
            subject=release.request,
            details={
                "release_id": release.pk,
                "renewal_id": renewal.pk,
                "requested_until": requested_until.isoformat(),
            },
        )
    return renewal


def renewal_approve(*, renewal: Renewal, acting_user: ActingUser, reason: str) -> Renewal:
    """A legal reviewer approves the renewal; access is extended, capped by the DUA and IRB
    approval expiry and one more year."""
    reason = _require_reason(reason, action="approve the renewal")
    role = _legal_reviewer(acting_user, renewal.release.request, action="approve this renewal")
    with transaction.atomic():
        renewal = _lock(Renewal, renewal.pk)
        release = _lock(Release, renewal.release_id)
        _require_state(renewal, [RenewalState.SUBMITTED], action="approve the renewal")
        _require_state(release, [ReleaseState.PUBLISHED], action="renew")
        today = timezone.localdate()
        irb = valid_irb(release.request, today)
        dua = valid_dua(release.request, today, recipient_id=release.recipient_id)
        if irb is None or dua is None:
            raise GovernanceError(
                code=GovernanceErrorCode.IRB_INVALID
                if irb is None
                else GovernanceErrorCode.DUA_INVALID,
                message=_("A renewal needs a valid IRB approval and DUA; renew those first."),
            )
        cap = min(
            _end_of_day(irb.expires_on),
            _end_of_day(dua.expires_on),
            _end_of_day(today + timedelta(days=MAX_ACCESS_DAYS)),
        )
        new_expiry = min(renewal.requested_until, cap)
        _decide(
            subject=renewal,
            stage=Decision.Stage.RENEWAL,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.APPROVE,
            reason=reason,
        )
        renewal.state = RenewalState.APPROVED
        renewal.decided_at = timezone.now()
        renewal.save(update_fields=["state", "decided_at"])
        release.expires_at = new_expiry
        release.save(update_fields=["expires_at"])
        _audit(
            AuditAction.REQUEST_RENEWED,
            acting_user=acting_user,
            role=role,
            subject=release.request,
            details={
                "release_id": release.pk,
                "renewal_id": renewal.pk,
                "reason": reason,
                "expires_at": new_expiry.isoformat(),
            },
        )
    return renewal


def renewal_reject(*, renewal: Renewal, acting_user: ActingUser, reason: str) -> Renewal:
    reason = _require_reason(reason, action="reject the renewal")
    role = _legal_reviewer(acting_user, renewal.release.request, action="reject this renewal")
    with transaction.atomic():
        renewal = _lock(Renewal, renewal.pk)
        _require_state(renewal, [RenewalState.SUBMITTED], action="reject the renewal")
        _decide(
            subject=renewal,
            stage=Decision.Stage.RENEWAL,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REJECT,
            reason=reason,
        )
        renewal.state = RenewalState.REJECTED
        renewal.decided_at = timezone.now()
        renewal.save(update_fields=["state", "decided_at"])
        _audit(
            AuditAction.REQUEST_RENEWAL_REJECTED,
            acting_user=acting_user,
            role=role,
            subject=renewal.release.request,
            details={"renewal_id": renewal.pk, "reason": reason, "stage": "renewal"},
        )
    return renewal
