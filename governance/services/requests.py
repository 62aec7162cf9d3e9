"""Data access requests as the requester files them: draft, evidence (IRB approval, DUA),
submission and resubmission."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from governance import duo
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    DataAccessRequest,
    Dataset,
    DataUseAgreement,
    Document,
    IrbApproval,
    Organization,
    RequestState,
    Role,
    Variable,
)
from governance.roles import (
    ActingUser,
    roles_of,
)
from governance.services import notifications
from governance.services._common import (
    EDITABLE_REQUEST_STATES,
    REVIEW_DUE_DAYS,
    _audit,
    _lock,
    _require_complete,
    _require_requester,
    _require_state,
    _require_user,
    _set_request_state,
)
from governance.services.documents import document_create, documents_removed_on_error


def request_create(
    *,
    acting_user: ActingUser,
    title: str,
    purpose: str,
    purpose_code: str,
    datasets: Sequence[Dataset],
    recipient: Organization | None = None,
    purpose_diseases: Sequence[str] = (),
    commercial: bool = False,
    methods_research: bool = False,
    will_publish: bool = True,
    use_regions: Sequence[str] = ("KR",),
    requested_variables: Sequence[Variable] = (),
    cohort_criteria: Mapping[str, Any] | None = None,
    requested_duration_months: int = 12,
) -> DataAccessRequest:
    """A requester files a draft request for their organization."""
    _require_user(acting_user)
    if recipient is None:
        orgs = list(
            Organization.objects.filter(
                memberships__user=_require_user(acting_user), memberships__role=Role.REQUESTER
            ).distinct()
        )
        if len(orgs) != 1:
            raise GovernanceError(
                code=GovernanceErrorCode.PERMISSION_DENIED
                if not orgs
                else GovernanceErrorCode.VALIDATION,
                message=_("Only a requester may file a request.")
                if not orgs
                else _("You are a requester in several organizations: name the recipient."),
            )
        recipient = orgs[0]
    if Role.REQUESTER not in roles_of(acting_user, recipient):
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED,
            message=_("Only a requester of %(recipient)s may file a request for it.")
            % {"recipient": recipient},
        )
    if not title.strip() or not purpose.strip():
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION, message=_("A request needs a title and a purpose.")
        )
    datasets = list(datasets)
    if not datasets:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION, message=_("A request names at least one dataset.")
        )
    if not 1 <= requested_duration_months <= 60:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_("requested_duration_months must be 1..60; got %(requested_duration_months)s.")
            % {"requested_duration_months": requested_duration_months},
        )
    if cohort_criteria is not None and not isinstance(cohort_criteria, Mapping):
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION, message=_("cohort_criteria must be a JSON object.")
        )
    try:
        duo.Purpose(code=purpose_code, diseases=tuple(purpose_diseases))
    except duo.DuoError as exc:
        raise GovernanceError(code=GovernanceErrorCode.VALIDATION, message=str(exc)) from exc
    dataset_ids = {d.pk for d in datasets}
    variables = list(requested_variables)
    stray = [str(v) for v in variables if v.dataset_id not in dataset_ids]
    if stray:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_("Requested variables %(join_stray)s are not in the requested datasets.")
            % {"join_stray": ", ".join(stray)},
        )
    with transaction.atomic():
        request = DataAccessRequest.objects.create(
            recipient=recipient,
            requester=_require_user(acting_user),
            title=title.strip(),
            purpose=purpose.strip(),
            purpose_code=purpose_code,
            purpose_diseases=[d.strip().upper() for d in purpose_diseases],
            commercial=commercial,
            methods_research=methods_research,
            will_publish=will_publish,
            use_regions=[r.strip().upper() for r in use_regions],
            cohort_criteria=dict(cohort_criteria or {}),
            requested_duration_months=requested_duration_months,
        )
        request.datasets.set(datasets)
        request.requested_variables.set(variables)
        _audit(
            AuditAction.REQUEST_CREATED,
            acting_user=acting_user,
            role=Role.REQUESTER,
            subject=request,
            details={
                "recipient_id": recipient.pk,
                "purpose_code": purpose_code,
                "dataset_ids": sorted(dataset_ids),
                "variables": len(variables),
            },
        )
    return request


def irb_approval_add(
    *,
    request: DataAccessRequest,
    acting_user: ActingUser,
    number: str,
    institution: str,
    approved_on: date,
    expires_on: date,
    file: IO[bytes] | bytes,
    original_name: str,
    content_type: str,
) -> IrbApproval:
    role = _require_requester(acting_user, request, action="attach an IRB approval")
    if expires_on <= approved_on:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_("IRB expiry %(expires_on)s must be after its approval date %(approved_on)s.")
            % {"expires_on": expires_on, "approved_on": approved_on},
        )
    with documents_removed_on_error(), transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, EDITABLE_REQUEST_STATES, action="attach an IRB approval")
        doc = document_create(
            kind=Document.Kind.IRB,
            file=file,
            original_name=original_name,
            content_type=content_type,
            acting_user=acting_user,
            request=request,
        )
        irb = IrbApproval.objects.create(
            request=request,
            number=number.strip(),
            institution=institution.strip(),
            approved_on=approved_on,
            expires_on=expires_on,
            document=doc,
        )
        _audit(
            AuditAction.REQUEST_UPDATED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={"change": "irb_added", "irb_id": irb.pk, "document_id": doc.pk},
        )
    return irb


def dua_add(
    *,
    request: DataAccessRequest,
    acting_user: ActingUser,
    effective_on: date,
    expires_on: date,
    permitted_purposes: Sequence[str],
    file: IO[bytes] | bytes,
    original_name: str,
    content_type: str,
    signed_at: datetime | None = None,
    parties: Sequence[Organization] = (),
    prohibits_onward_transfer: bool = True,
    prohibits_linkage: bool = True,
) -> DataUseAgreement:
    """Attach the signed DUA (its SHA-256 is the document's). Re-identification is always
    prohibited (a database constraint)."""
    role = _require_requester(acting_user, request, action="attach a data-use agreement")
    if expires_on <= effective_on:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_(
                "DUA expiry %(expires_on)s must be after its effective date %(effective_on)s."
            )
            % {"expires_on": expires_on, "effective_on": effective_on},
        )
    bad = [p for p in permitted_purposes if p not in duo.PURPOSE_CODES]
    if bad or not permitted_purposes:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_(
                "permitted_purposes must be DUO purpose codes %(duo_purpose_codes)s; got %(list_permitted_purposes)s."
            )
            % {
                "duo_purpose_codes": duo.PURPOSE_CODES,
                "list_permitted_purposes": list(permitted_purposes),
            },
        )
    with documents_removed_on_error(), transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, EDITABLE_REQUEST_STATES, action="attach a data-use agreement")
        doc = document_create(
            kind=Document.Kind.DUA,
            file=file,
            original_name=original_name,
            content_type=content_type,
            acting_user=acting_user,
            request=request,
        )
        dua = DataUseAgreement.objects.create(
            request=request,
            effective_on=effective_on,
            expires_on=expires_on,
            permitted_purposes=list(permitted_purposes),
            prohibits_reidentification=True,
            prohibits_onward_transfer=prohibits_onward_transfer,
            prohibits_linkage=prohibits_linkage,
            document=doc,
            signed_sha256=doc.sha256,
            signed_at=signed_at or timezone.now(),
        )
        provider_ids = set(
            request.datasets.exclude(provider=None).values_list("provider_id", flat=True)
        )
        dua.parties.set(
            {request.recipient_id, *provider_ids, *(p.pk for p in parties)},
        )
        _audit(
            AuditAction.REQUEST_UPDATED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={
                "change": "dua_added",
                "dua_id": dua.pk,
                "document_id": doc.pk,
                "sha256": doc.sha256,
            },
        )
    return dua


def request_submit(*, request: DataAccessRequest, acting_user: ActingUser) -> DataAccessRequest:
    role = _require_requester(acting_user, request, action="submit the request")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, [RequestState.DRAFT], action="submit")
        _require_complete(request)
        now = timezone.now()
        _set_request_state(
            request,
            RequestState.SUBMITTED,
            submitted_at=now,
            due_on=timezone.localdate() + timedelta(days=REVIEW_DUE_DAYS),
        )
        _audit(AuditAction.REQUEST_SUBMITTED, acting_user=acting_user, role=role, subject=request)
        notifications.on_request_submitted(request)
    return request


def request_resubmit(*, request: DataAccessRequest, acting_user: ActingUser) -> DataAccessRequest:
    role = _require_requester(acting_user, request, action="resubmit the request")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, [RequestState.CHANGES_REQUESTED], action="resubmit")
        _require_complete(request)
        _set_request_state(
            request,
            RequestState.RESUBMITTED,
            due_on=timezone.localdate() + timedelta(days=REVIEW_DUE_DAYS),
        )
        _audit(AuditAction.REQUEST_RESUBMITTED, acting_user=acting_user, role=role, subject=request)
        notifications.on_request_submitted(request, resubmitted=True)
    return request
