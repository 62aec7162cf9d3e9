"""Governance workflow services: every state change of a request or release happens here.

Each service is one durable action: keyword-only, ``acting_user`` required, one
``transaction.atomic`` with the subject row locked (``select_for_update``) and its state
re-checked after the lock, the audit event recorded in the same transaction. A refused
action raises :class:`GovernanceError` with a stable machine code. The admin, the API, the
management commands and ``manage.py demo`` call these functions, never around them.

Request: draft → submitted → legal_review ⇄ (changes_requested → resubmitted) →
legally_approved → steward_review → approved; rejected from any review step.
Release: draft → building → built | failed; built → approved | refused; approved → published
→ expired | revoked; revoked / expired → destroyed. A refused or failed release can be rebuilt.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance import duo, notifications
from governance.errors import GovernanceError, redact_values
from governance.models import (
    DataAccessRequest,
    Dataset,
    DataUseAgreement,
    Decision,
    DeidPolicy,
    DestructionAttestation,
    Document,
    IrbApproval,
    Membership,
    Organization,
    Release,
    ReleaseState,
    Renewal,
    RenewalState,
    RequestState,
    Role,
    Variable,
    Verdict,
)
from governance.roles import (
    STAFF_ROLES,
    is_member,
    legal_approver_ids,
    roles_of,
    sync_user_groups,
)

__all__ = [
    "GovernanceError",
    "canonical_sha256",
    "destruction_attest",
    "document_create",
    "document_view",
    "documents_removed_on_error",
    "dua_add",
    "dua_verify",
    "irb_approval_add",
    "irb_verify",
    "membership_add",
    "policy_set",
    "release_approve",
    "release_build_cancel",
    "release_build_failed",
    "release_build_progress",
    "release_build_start",
    "release_build_succeeded",
    "release_create",
    "release_destroy",
    "release_expire",
    "release_plan_record",
    "release_publish",
    "release_refuse",
    "release_revoke",
    "renewal_approve",
    "renewal_reject",
    "renewal_request",
    "request_approve_legal",
    "request_approve_steward",
    "request_create",
    "request_reject",
    "request_request_changes",
    "request_resubmit",
    "request_start_legal_review",
    "request_submit",
    "user_create",
]

User = get_user_model()
M = TypeVar("M", bound=models.Model)

LEGAL_REVIEW_STATES = (
    RequestState.SUBMITTED,
    RequestState.LEGAL_REVIEW,
    RequestState.RESUBMITTED,
)
STEWARD_REVIEW_STATES = (RequestState.LEGALLY_APPROVED, RequestState.STEWARD_REVIEW)
EDITABLE_REQUEST_STATES = (RequestState.DRAFT, RequestState.CHANGES_REQUESTED)
REBUILDABLE_RELEASE_STATES = (ReleaseState.DRAFT, ReleaseState.FAILED, ReleaseState.REFUSED)
MAX_ACCESS_DAYS = 365  # access beyond a year needs a renewal with a progress report
REVIEW_DUE_DAYS = 14

DOCUMENT_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
}


# --- helpers --------------------------------------------------------------------------------


def canonical_sha256(value: Any) -> str:
    """SHA-256 of the canonical JSON form (sorted keys, no spaces, UTF-8)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _lock(model: type[M], pk: Any) -> M:
    return model._default_manager.select_for_update().get(pk=pk)


def _object_type(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def _audit(
    action: AuditAction,
    *,
    acting_user: Any,
    role: str | None,
    subject: models.Model,
    details: Mapping[str, Any] | None = None,
    system: str | None = None,
) -> None:
    actor = Actor.system(system) if system else Actor.for_user(acting_user, role=str(role or ""))
    record_event(
        action=action,
        actor=actor,
        object_type=_object_type(subject),
        object_id=str(subject.pk),
        details=dict(details or {}),
    )


def _require_user(acting_user: Any) -> None:
    if acting_user is None or not getattr(acting_user, "is_authenticated", False):
        raise GovernanceError(code="permission_denied", message="An acting user is required.")
    if not acting_user.is_active:
        raise GovernanceError(code="permission_denied", message="The acting user is inactive.")


def _require_role(acting_user: Any, *allowed: str, action: str) -> str:
    """Return the role the user acts in (the first of ``allowed`` they hold) or refuse."""
    _require_user(acting_user)
    held = roles_of(acting_user)
    for role in allowed:
        if role in held:
            return role
    names = " or ".join(Role(r).label.lower() for r in allowed)
    raise GovernanceError(code="permission_denied", message=f"Only a {names} may {action}.")


def _require_not_recipient(acting_user: Any, request: DataAccessRequest, *, action: str) -> None:
    if is_member(acting_user, request.recipient_id):
        raise GovernanceError(
            code="own_organization",
            message=f"You may not {action}: request #{request.pk} comes from your own "
            f"organization ({request.recipient}).",
        )


def _require_requester(acting_user: Any, request: DataAccessRequest, *, action: str) -> str:
    _require_user(acting_user)
    if Role.REQUESTER not in roles_of(acting_user, request.recipient):
        raise GovernanceError(
            code="permission_denied",
            message=f"Only a requester of {request.recipient} may {action}.",
        )
    return Role.REQUESTER


def _require_state(obj: Any, allowed: Iterable[str], *, action: str) -> None:
    allowed = tuple(allowed)
    if obj.state not in allowed:
        expected = ", ".join(str(s) for s in allowed)
        raise GovernanceError(
            code="invalid_state",
            message=f"Cannot {action}: {obj} is {obj.state}; expected {expected}.",
        )


def _require_reason(reason: str | None, *, action: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise GovernanceError(code="reason_required", message=f"A reason is required to {action}.")
    return text


def _set_request_state(request: DataAccessRequest, state: str, **fields: Any) -> None:
    request.state = state
    request.state_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(request, name, value)
    request.save()


def _set_release_state(release: Release, state: str, **fields: Any) -> None:
    release.state = state
    release.state_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(release, name, value)
    release.save()


def _end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in the project time zone (valid through ``day``)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def valid_irb(request: DataAccessRequest, day: date) -> IrbApproval | None:
    """A verified IRB approval of the request valid on ``day`` (latest expiry first)."""
    return (
        IrbApproval.objects.filter(
            request=request,
            verified_at__isnull=False,
            approved_on__lte=day,
            expires_on__gte=day,
        )
        .order_by("-expires_on")
        .first()
    )


def valid_dua(
    request: DataAccessRequest, day: date, *, recipient_id: int | None = None
) -> DataUseAgreement | None:
    """A signed, verified DUA effective on ``day`` that covers the request's purpose and names
    the recipient organization as a party (``recipient_id``, default the request's recipient;
    pass the release's recipient when checking a release)."""
    party = recipient_id if recipient_id is not None else request.recipient_id
    candidates = DataUseAgreement.objects.filter(
        request=request,
        signed_at__isnull=False,
        verified_at__isnull=False,
        effective_on__lte=day,
        expires_on__gte=day,
        parties__pk=party,
    ).order_by("-expires_on")
    for dua in candidates:
        if dua.covers(request.purpose_code):
            return dua
    return None


def duo_purpose(request: DataAccessRequest) -> duo.Purpose:
    return duo.Purpose(
        code=request.purpose_code,
        diseases=tuple(request.purpose_diseases or ()),
        commercial=request.commercial,
        for_profit=request.recipient.for_profit,
        methods_research=request.methods_research,
        will_publish=request.will_publish,
        regions=tuple(request.use_regions or ()),
        duration_months=request.requested_duration_months,
        has_ethics_approval=request.irb_approvals.exists(),
    )


def duo_check(request: DataAccessRequest) -> duo.DuoResult:
    """The DUO compatibility of the request's purpose with every requested dataset."""
    limitations = []
    for dataset in request.datasets.prefetch_related("limitations").order_by("name"):
        limitations.append(
            (
                dataset.name,
                [
                    duo.Limitation(
                        code=lim.code,
                        disease_codes=tuple(lim.disease_codes or ()),
                        time_limit_months=lim.time_limit_months,
                        regions=tuple(lim.regions or ()),
                    )
                    for lim in dataset.limitations.all()
                ],
            )
        )
    return duo.check(duo_purpose(request), limitations)


# --- users ----------------------------------------------------------------------------------


def user_create(
    *,
    username: str,
    email: str,
    password: str,
    organization: Organization,
    roles: Sequence[str],
    acting_user: Any = None,
) -> Any:
    """Create a person with memberships in one organization (demo and administrators)."""
    for role in roles:
        if role not in Role.values:
            raise GovernanceError(
                code="validation", message=f"Unknown role {role!r}; expected one of {Role.values}."
            )
    with transaction.atomic():
        user = User(username=username, email=email)
        user.set_password(password)
        user.is_staff = any(r in STAFF_ROLES for r in roles)
        user.save()
        for role in roles:
            Membership.objects.create(user=user, organization=organization, role=role)
        sync_user_groups(user)
        _audit(
            AuditAction.ADMIN_CHANGE,
            acting_user=acting_user,
            role=Role.ADMINISTRATOR if acting_user else None,
            subject=user,
            details={
                "change": "user_created",
                "username": username,
                "organization_id": organization.pk,
                "roles": sorted(str(r) for r in roles),
            },
            system=None if acting_user else "user_create",
        )
    return user


def organization_register_crypt4gh_key(
    *, organization: Organization, acting_user: Any, public_key: str
) -> Organization:
    """Register (or replace) the organization's Crypt4GH public key for genome files.

    A requester of the organization or an administrator may; the key must parse. The
    audit event names the key by its SHA-256 fingerprint (a public key, but the log
    stays small and comparable).
    """
    from deid.errors import PolicyError
    from deid.genome.c4gh import parse_public_key, public_key_text

    _require_user(acting_user)
    role: str
    if Role.REQUESTER in roles_of(acting_user, organization):
        role = Role.REQUESTER
    else:
        role = _require_role(
            acting_user, Role.ADMINISTRATOR, action=f"register an encryption key for {organization}"
        )
    try:
        raw = parse_public_key(public_key, where="crypt4gh_public_key")
    except PolicyError as exc:
        raise GovernanceError(code="validation", message=exc.message) from None
    with transaction.atomic():
        org = _lock(Organization, organization.pk)
        previous = org.crypt4gh_public_key
        org.crypt4gh_public_key = public_key_text(raw)
        org.save(update_fields=["crypt4gh_public_key"])
        _audit(
            AuditAction.KEY_RECIPIENT_REGISTERED,
            acting_user=acting_user,
            role=role,
            subject=org,
            details={
                "kind": "crypt4gh",
                "fingerprint_sha256": hashlib.sha256(raw).hexdigest(),
                "replaced": bool(previous),
            },
        )
    return org


def membership_add(
    *, user: Any, organization: Organization, role: str, acting_user: Any
) -> Membership:
    acting_role = _require_role(acting_user, Role.ADMINISTRATOR, action="grant roles")
    if role not in Role.values:
        raise GovernanceError(code="validation", message=f"Unknown role {role!r}.")
    with transaction.atomic():
        membership, _ = Membership.objects.get_or_create(
            user=user, organization=organization, role=role
        )
        if role in STAFF_ROLES and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        sync_user_groups(user)
        _audit(
            AuditAction.ADMIN_CHANGE,
            acting_user=acting_user,
            role=acting_role,
            subject=membership,
            details={
                "change": "membership_added",
                "user_id": user.pk,
                "organization_id": organization.pk,
                "role": str(role),
            },
        )
    return membership


# --- documents ------------------------------------------------------------------------------

# Files stored by ``document_create`` inside the outermost ``documents_removed_on_error`` block:
# the row that names a file commits with the block's transaction, so a block that fails (the
# transaction rolls back) deletes the files it stored instead of leaving orphans in MEDIA_ROOT.
_stored_documents: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "governance_stored_documents", default=None
)


@contextlib.contextmanager
def documents_removed_on_error() -> Iterator[None]:
    """Wrap a ``transaction.atomic()`` block (outside it) that may call ``document_create``: when
    the block raises, the documents it stored are deleted from storage. Nested blocks defer to
    the outermost one. A caller with its own enclosing transaction (e.g. the API's
    ``file_request``) can wrap it too; ``manage.py governance_documents_sweep`` catches the rest."""
    if _stored_documents.get() is not None:
        yield
        return
    stored: list[str] = []
    token = _stored_documents.set(stored)
    try:
        yield
    except BaseException:
        storage = Document._meta.get_field("file").storage
        for name in stored:
            with contextlib.suppress(OSError):
                storage.delete(name)
        raise
    finally:
        _stored_documents.reset(token)


def document_create(
    *,
    kind: str,
    file: IO[bytes] | bytes,
    original_name: str,
    content_type: str,
    acting_user: Any,
    request: DataAccessRequest | None = None,
) -> Document:
    """Store an uploaded document under a generated name with its size and SHA-256."""
    _require_user(acting_user)
    if kind not in Document.Kind.values:
        raise GovernanceError(code="document_invalid", message=f"Unknown document kind {kind!r}.")
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in DOCUMENT_TYPES:
        raise GovernanceError(
            code="document_invalid",
            message=f"Document type {content_type or 'unknown'!r} is not accepted; expected one "
            f"of {sorted(DOCUMENT_TYPES)}.",
        )
    data = file if isinstance(file, bytes) else file.read()
    limit = int(getattr(settings, "DEID_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))
    if not data:
        raise GovernanceError(code="document_invalid", message="The document is empty.")
    if len(data) > limit:
        raise GovernanceError(
            code="document_invalid",
            message=f"The document has {len(data)} bytes; the limit is {limit}.",
            status=413,
        )
    if content_type == "application/pdf" and not data.startswith(b"%PDF-"):
        raise GovernanceError(
            code="document_invalid", message="The document claims to be a PDF but is not one."
        )
    display_name = os.path.basename((original_name or "").replace("\\", "/"))[:255] or "document"
    # The field's ``upload_to`` adds the "documents/" folder: pass the bare file name.
    storage_name = f"{uuid.uuid4().hex}{DOCUMENT_TYPES[content_type]}"
    with documents_removed_on_error(), transaction.atomic():
        doc = Document(
            kind=kind,
            request=request,
            original_name=display_name,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=acting_user,
        )
        doc.file.save(storage_name, ContentFile(data), save=False)
        stored = _stored_documents.get()
        if stored is not None and doc.file.name:
            stored.append(doc.file.name)
        # A name collision in storage would change the name; never trust it silently.
        doc.save()
        _audit(
            AuditAction.DOCUMENT_UPLOADED,
            acting_user=acting_user,
            role=None,
            subject=doc,
            details={
                "kind": kind,
                "request_id": request.pk if request else None,
                "size": doc.size,
                "sha256": doc.sha256,
                "content_type": content_type,
            },
        )
    return doc


def document_view(*, document: Document, acting_user: Any) -> Document:
    """Record that a person opened a document (the caller then streams ``document.file``)."""
    from governance.selectors import documents_visible_to

    _require_user(acting_user)
    if not documents_visible_to(user=acting_user).filter(pk=document.pk).exists():
        raise GovernanceError(
            code="permission_denied", message=f"You may not view document #{document.pk}."
        )
    with transaction.atomic():
        _audit(
            AuditAction.DOCUMENT_VIEWED,
            acting_user=acting_user,
            role=_primary_role(acting_user),
            subject=document,
            details={
                "kind": document.kind,
                "request_id": document.request_id,
                "sha256": document.sha256,
            },
        )
    return document


def _primary_role(user: Any) -> str | None:
    held = roles_of(user)
    for role in (
        Role.LEGAL_REVIEWER,
        Role.DATA_STEWARD,
        Role.AUDITOR,
        Role.ADMINISTRATOR,
        Role.REQUESTER,
    ):
        if role in held:
            return str(role)
    return None


# --- requests -------------------------------------------------------------------------------


def request_create(
    *,
    acting_user: Any,
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
                memberships__user=acting_user, memberships__role=Role.REQUESTER
            ).distinct()
        )
        if len(orgs) != 1:
            raise GovernanceError(
                code="permission_denied" if not orgs else "validation",
                message="Only a requester may file a request"
                if not orgs
                else "You are a requester in several organizations: name the recipient.",
            )
        recipient = orgs[0]
    if Role.REQUESTER not in roles_of(acting_user, recipient):
        raise GovernanceError(
            code="permission_denied",
            message=f"Only a requester of {recipient} may file a request for it.",
        )
    if not title.strip() or not purpose.strip():
        raise GovernanceError(code="validation", message="A request needs a title and a purpose.")
    datasets = list(datasets)
    if not datasets:
        raise GovernanceError(code="validation", message="A request names at least one dataset.")
    if not 1 <= requested_duration_months <= 60:
        raise GovernanceError(
            code="validation",
            message=f"requested_duration_months must be 1..60; got {requested_duration_months}.",
        )
    if cohort_criteria is not None and not isinstance(cohort_criteria, Mapping):
        raise GovernanceError(code="validation", message="cohort_criteria must be a JSON object.")
    try:
        duo.Purpose(code=purpose_code, diseases=tuple(purpose_diseases))
    except duo.DuoError as exc:
        raise GovernanceError(code="validation", message=str(exc)) from exc
    dataset_ids = {d.pk for d in datasets}
    variables = list(requested_variables)
    stray = [str(v) for v in variables if v.dataset_id not in dataset_ids]
    if stray:
        raise GovernanceError(
            code="validation",
            message=f"Requested variables {', '.join(stray)} are not in the requested datasets.",
        )
    with transaction.atomic():
        request = DataAccessRequest.objects.create(
            recipient=recipient,
            requester=acting_user,
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
    acting_user: Any,
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
            code="validation",
            message=f"IRB expiry {expires_on} must be after its approval date {approved_on}.",
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
    acting_user: Any,
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
            code="validation",
            message=f"DUA expiry {expires_on} must be after its effective date {effective_on}.",
        )
    bad = [p for p in permitted_purposes if p not in duo.PURPOSE_CODES]
    if bad or not permitted_purposes:
        raise GovernanceError(
            code="validation",
            message=f"permitted_purposes must be DUO purpose codes {duo.PURPOSE_CODES}; got "
            f"{list(permitted_purposes)}.",
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


def request_submit(*, request: DataAccessRequest, acting_user: Any) -> DataAccessRequest:
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


def _require_complete(request: DataAccessRequest) -> None:
    missing = []
    if not request.datasets.exists():
        missing.append("a dataset")
    if not request.irb_approvals.exists():
        missing.append("an IRB approval")
    if not request.duas.filter(signed_at__isnull=False).exists():
        missing.append("a signed data-use agreement")
    if missing:
        raise GovernanceError(
            code="validation",
            message=f"Request #{request.pk} cannot be submitted without {', '.join(missing)}.",
        )


def request_resubmit(*, request: DataAccessRequest, acting_user: Any) -> DataAccessRequest:
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


def _legal_reviewer(acting_user: Any, request: DataAccessRequest, *, action: str) -> str:
    role = _require_role(acting_user, Role.LEGAL_REVIEWER, action=action)
    _require_not_recipient(acting_user, request, action=action)
    return role


def request_start_legal_review(
    *, request: DataAccessRequest, acting_user: Any
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


def _decide(
    *,
    subject: DataAccessRequest | Release | Renewal,
    stage: str,
    acting_user: Any,
    role: str,
    verdict: str,
    reason: str,
    override_reason: str = "",
) -> Decision:
    kwargs: dict[str, Any] = {}
    if isinstance(subject, DataAccessRequest):
        kwargs["request"] = subject
    elif isinstance(subject, Release):
        kwargs["release"] = subject
        kwargs["request"] = subject.request
    else:
        kwargs["renewal"] = subject
        kwargs["release"] = subject.release
    return Decision.objects.create(
        stage=stage,
        decided_by=acting_user,
        role=role,
        verdict=verdict,
        reason=reason,
        override_reason=override_reason,
        **kwargs,
    )


def request_approve_legal(
    *,
    request: DataAccessRequest,
    acting_user: Any,
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
                code="irb_invalid",
                message=f"Request #{request.pk} has no verified IRB approval in force on {today}: "
                "verify the IRB approval before approving.",
            )
        if valid_dua(request, today) is None:
            raise GovernanceError(
                code="dua_invalid",
                message=f"Request #{request.pk} has no verified, signed DUA in force on {today} "
                f"that covers purpose {request.purpose_code} and names the recipient "
                f"organization: verify the DUA before approving.",
            )
        result = duo_check(request)
        override = (override_reason or "").strip()
        if not result.compatible and not override:
            raise GovernanceError(
                code="duo_incompatible",
                message=f"{result.summary()} Approving needs an explicit override reason.",
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
    *, request: DataAccessRequest, acting_user: Any, reason: str
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
    *, request: DataAccessRequest, acting_user: Any, reason: str
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
                code="invalid_state",
                message=f"Cannot reject: {request} is {request.state}, not under review.",
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


def _lock_unverified(model: type[M], pk: Any) -> M:
    """Lock an IRB approval or DUA that is not yet verified, of a request under review."""
    doc = _lock(model, pk)
    if doc.verified_at is not None:  # type: ignore[attr-defined]
        raise GovernanceError(code="invalid_state", message=f"{doc} is already verified.")
    state = doc.request.state  # type: ignore[attr-defined]
    if state in (RequestState.DRAFT, RequestState.REJECTED):
        raise GovernanceError(
            code="invalid_state", message=f"Cannot verify documents of a request that is {state}."
        )
    return doc


def irb_verify(*, irb: IrbApproval, acting_user: Any) -> IrbApproval:
    """Legal confirms the IRB approval document is genuine and current."""
    role = _legal_reviewer(acting_user, irb.request, action="verify this IRB approval")
    with transaction.atomic():
        irb = _lock_unverified(IrbApproval, irb.pk)
        if irb.expires_on < timezone.localdate():
            raise GovernanceError(code="irb_invalid", message=f"{irb} expired on {irb.expires_on}.")
        irb.verified_by = acting_user
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


def dua_verify(*, dua: DataUseAgreement, acting_user: Any) -> DataUseAgreement:
    """Legal confirms the DUA is signed by the parties and its document matches its hash."""
    role = _legal_reviewer(acting_user, dua.request, action="verify this data-use agreement")
    with transaction.atomic():
        dua = _lock_unverified(DataUseAgreement, dua.pk)
        if dua.signed_at is None:
            raise GovernanceError(code="dua_invalid", message=f"{dua} is not signed.")
        if dua.expires_on < timezone.localdate():
            raise GovernanceError(code="dua_invalid", message=f"{dua} expired on {dua.expires_on}.")
        if dua.document.sha256 != dua.signed_sha256:
            raise GovernanceError(
                code="dua_invalid",
                message=f"{dua}: the stored document's SHA-256 differs from the signed one.",
            )
        dua.verified_by = acting_user
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


def _steward(acting_user: Any, request: DataAccessRequest, *, action: str) -> str:
    """A data steward from outside the recipient who did not give the legal approval."""
    role = _require_role(acting_user, Role.DATA_STEWARD, action=action)
    _require_not_recipient(acting_user, request, action=action)
    if acting_user.pk in legal_approver_ids(request):
        raise GovernanceError(
            code="two_person_rule",
            message=f"You may not {action}: you gave the legal approval of request "
            f"#{request.pk}; a different person must take the steward's decision.",
        )
    return role


def _parse_policy(policy_yaml: str) -> dict[str, Any]:
    """Parse and validate the policy YAML; return a digest for display and audit."""
    import yaml

    try:
        data = yaml.safe_load(policy_yaml)
    except yaml.YAMLError as exc:
        raise GovernanceError(
            code="policy_invalid", message=f"The policy is not YAML: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise GovernanceError(
            code="policy_invalid",
            message=f"The policy must be a YAML mapping; got {type(data).__name__}.",
        )
    digest: dict[str, Any] = {"keys": sorted(str(k) for k in data)}
    try:
        from deid.policy import parse_policy

        have_engine = True
    except ImportError:  # the engine's policy module is not installed: structural check only
        have_engine = False
    if have_engine and "tables" in data:
        # A multi-table release spec: every table's policy is parsed, the anchor needs k.
        from deid.plan import compile_plan

        try:
            plan = compile_plan(
                data,
                release_id="validation",
                recipient_org_id="validation",
                key_id="validation",
                source="validation",
                base_dir=Path(settings.BASE_DIR),
            )
        except Exception as exc:  # the engine's PolicyError names the dotted field
            raise GovernanceError(
                code="policy_invalid", message=f"The policy is not valid: {exc}"
            ) from exc
        anchor = plan.anchor_table.policy()
        digest["engine_sha256"] = anchor.digest()
        digest["tables"] = [t.name for t in plan.tables]
        digest["columns"] = {str(n): str(c.role) for n, c in anchor.columns.items()}
        digest["privacy"] = anchor.privacy.to_dict()
    elif have_engine:
        try:
            policy = parse_policy(data, Path(settings.BASE_DIR))
            digest["engine_sha256"] = policy.digest()
        except Exception as exc:  # the engine's PolicyError names the dotted field
            raise GovernanceError(
                code="policy_invalid", message=f"The policy is not valid: {exc}"
            ) from exc
        digest["columns"] = {str(n): str(c.role) for n, c in policy.columns.items()}
        digest["privacy"] = policy.privacy.to_dict()
    else:
        cols = data.get("columns")
        if isinstance(cols, Mapping):
            digest["columns"] = {
                str(n): str(c.get("role", "")) if isinstance(c, Mapping) else ""
                for n, c in cols.items()
            }
        if isinstance(data.get("privacy"), Mapping):
            digest["privacy"] = dict(data["privacy"])
    return digest


def policy_set(
    *,
    acting_user: Any,
    policy_yaml: str,
    request: DataAccessRequest | None = None,
    release: Release | None = None,
) -> DeidPolicy:
    """The data steward sets the de-identification policy of a request's releases (or of one
    release before it is built). Role separation: the setter is neither from the recipient
    organization nor the legal reviewer who approved the request."""
    if (request is None) == (release is None):
        raise GovernanceError(code="validation", message="Give exactly one of request or release.")
    subject_request = request if request is not None else release.request  # type: ignore[union-attr]
    _require_role(acting_user, Role.DATA_STEWARD, action="set a de-identification policy")
    if is_member(acting_user, subject_request.recipient_id):
        raise GovernanceError(
            code="role_separation",
            message="The de-identification policy may not be set by a member of the recipient "
            "organization.",
        )
    if acting_user.pk in legal_approver_ids(subject_request):
        raise GovernanceError(
            code="role_separation",
            message="The legal reviewer who approved the request may not set its policy.",
        )
    if not (policy_yaml or "").strip():
        raise GovernanceError(code="policy_invalid", message="The policy is empty.")
    digest = _parse_policy(policy_yaml)
    with transaction.atomic():
        locked_request = _lock(DataAccessRequest, subject_request.pk)
        locked_release = _lock(Release, release.pk) if release is not None else None
        if locked_release is not None:
            _require_state(locked_release, REBUILDABLE_RELEASE_STATES, action="change the policy")
        else:
            _require_state(
                locked_request,
                [*STEWARD_REVIEW_STATES, RequestState.APPROVED],
                action="set the policy",
            )
        policy = DeidPolicy.objects.create(
            request=locked_request,
            policy_yaml=policy_yaml,
            digest=digest,
            sha256=hashlib.sha256(policy_yaml.encode("utf-8")).hexdigest(),
            set_by=acting_user,
        )
        if locked_release is not None:
            locked_release.policy = policy
            locked_release.save(update_fields=["policy"])
        if locked_request.state == RequestState.LEGALLY_APPROVED:
            _set_request_state(locked_request, RequestState.STEWARD_REVIEW)
        _audit(
            AuditAction.POLICY_CHANGED,
            acting_user=acting_user,
            role=Role.DATA_STEWARD,
            subject=policy,
            details={
                "request_id": locked_request.pk,
                "release_id": locked_release.pk if locked_release else None,
                "sha256": policy.sha256,
            },
        )
    if release is not None:
        release.refresh_from_db()
    if request is not None:
        request.refresh_from_db()
    return policy


def request_approve_steward(
    *, request: DataAccessRequest, acting_user: Any, reason: str
) -> DataAccessRequest:
    """The data steward approves the request (two-person rule: not the legal approver)."""
    reason = _require_reason(reason, action="approve")
    role = _steward(acting_user, request, action="approve this request as data steward")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, STEWARD_REVIEW_STATES, action="approve as data steward")
        if not request.policies.exists():
            raise GovernanceError(
                code="policy_missing",
                message=f"Set the de-identification policy of request #{request.pk} first.",
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


# --- releases -------------------------------------------------------------------------------


def release_create(*, request: DataAccessRequest, acting_user: Any) -> Release:
    """A draft release of an approved request, with the request's latest policy."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="create a release"
    )
    _require_not_recipient(acting_user, request, action="create a release")
    with transaction.atomic():
        request = _lock(DataAccessRequest, request.pk)
        _require_state(request, [RequestState.APPROVED], action="create a release")
        policy = request.policies.order_by("-set_at", "-pk").first()
        release = Release.objects.create(
            request=request,
            policy=policy,
            recipient=request.recipient,
            created_by=acting_user,
        )
        _audit(
            AuditAction.REQUEST_UPDATED,
            acting_user=acting_user,
            role=role,
            subject=request,
            details={
                "change": "release_created",
                "release_id": release.pk,
                "policy_id": policy.pk if policy else None,
            },
        )
    return release


def release_build_start(*, release: Release, acting_user: Any) -> Release:
    """Validate and enqueue the build (``governance.jobs.enqueue_release_build``)."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="build a release"
    )
    _require_not_recipient(acting_user, release.request, action="build this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, REBUILDABLE_RELEASE_STATES, action="start a build")
        if release.request.state != RequestState.APPROVED:
            raise GovernanceError(
                code="invalid_state",
                message=f"Request #{release.request_id} is {release.request.state}, not approved.",
            )
        if release.policy is None:
            raise GovernanceError(
                code="policy_missing", message=f"{release} has no de-identification policy."
            )
        now = timezone.now()
        _set_release_state(
            release,
            ReleaseState.BUILDING,
            build_started_at=now,
            build_error="",
            build_progress={"phase": "queued", "rows_done": 0, "rows_total": None, "eta": None},
            manifest=None,
            manifest_sha256="",
            privacy_report=None,
            built_at=None,
        )
        _audit(
            AuditAction.RELEASE_BUILD_STARTED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"policy_id": release.policy_id, "policy_sha256": release.policy.sha256},
        )
        from governance.jobs import enqueue_release_build

        job_id = enqueue_release_build(release.pk)
        # Update only the job id: a synchronous worker may already have moved the state on.
        Release.objects.filter(pk=release.pk).update(build_job_id=str(job_id or ""))
    release.refresh_from_db()
    return release


def release_build_cancel(*, release: Release, acting_user: Any) -> Release:
    """Ask the running (or queued) build of a release to stop (``jobs.cancel_release_build``).

    The build checks the flag between batches, discards its staging area and records the
    release as failed ("build cancelled"); nothing is published. Returns the release, still
    'building' until the worker stops (a queued build stops when a worker picks it up).
    """
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="cancel a release build"
    )
    _require_not_recipient(acting_user, release.request, action="cancel this build")
    from governance.jobs import cancel_release_build

    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.BUILDING], action="cancel the build")
        _audit(
            AuditAction.RELEASE_BUILD_CANCELLED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "job_id": release.build_job_id,
                "phase": (release.build_progress or {}).get("phase"),
                "rows_done": (release.build_progress or {}).get("rows_done"),
            },
        )
        # Last: a flag that cannot be written rolls the audit event back with it.
        if not cancel_release_build(release.pk):
            raise GovernanceError(
                code="invalid_state", message=f"Cannot cancel: {release} is not building."
            )
    return release


def _locked_building(release: Release, *, action: str, job_id: str | None = None) -> Release:
    """The release, locked, still 'building' and (when ``job_id`` is given) still waiting for
    that job: a late worker of an earlier (cancelled, reaped) build gets ``stale_build``."""
    locked = _lock(Release, release.pk)
    _require_state(locked, [ReleaseState.BUILDING], action=action)
    if job_id is not None and job_id != locked.build_job_id:
        raise GovernanceError(
            code="stale_build",
            message=f"Cannot {action}: {locked} is waiting for build job "
            f"{locked.build_job_id or '(none)'}, not {job_id or '(none)'}.",
        )
    return locked


def release_plan_record(
    *, release: Release, plan: Mapping[str, Any], plan_sha256: str | None = None, key_id: str = ""
) -> Release:
    """The build worker records the compiled, immutable release plan (and its key id)."""
    digest = canonical_sha256(plan)
    if plan_sha256 and plan_sha256 != digest:
        # The engine may hash its own canonical form; keep its digest but say so if asked.
        digest = plan_sha256
    with transaction.atomic():
        locked = _locked_building(release, action="record the plan")
        locked.plan = dict(plan)
        locked.plan_sha256 = digest
        if key_id:
            locked.key_id = key_id
        locked.save(update_fields=["plan", "plan_sha256", "key_id"])
        _audit(
            AuditAction.KEY_DERIVED,
            acting_user=None,
            role=None,
            subject=locked,
            details={"key_id": locked.key_id, "plan_sha256": digest},
            system="release_build",
        )
    release.refresh_from_db()
    return release


def release_build_progress(
    *,
    release: Release,
    phase: str,
    rows_done: int,
    rows_total: int | None,
    job_id: str | None = None,
) -> None:
    """Record build progress (not audited: not a transition). Raises ``invalid_state`` when the
    release is no longer building (revoked meanwhile), ``stale_build`` when it waits for
    another job than ``job_id``, so the worker can stop."""
    with transaction.atomic():
        locked = _locked_building(release, action="record build progress", job_id=job_id)
        eta: float | None = None
        started = locked.build_started_at
        if started and rows_total and rows_done > 0:
            elapsed = (timezone.now() - started).total_seconds()
            eta = round(elapsed * (rows_total - rows_done) / rows_done, 1)
        locked.build_progress = {
            "phase": phase,
            "rows_done": int(rows_done),
            "rows_total": int(rows_total) if rows_total is not None else None,
            "eta": eta,
            "updated_at": timezone.now().isoformat(),
        }
        locked.save(update_fields=["build_progress"])


def release_build_succeeded(
    *,
    release: Release,
    manifest: dict[str, Any],
    report: dict[str, Any],
    files_dir: str,
    job_id: str | None = None,
) -> Release:
    """Record the finished build of job ``job_id`` (the release's ``build_job_id`` when the
    build started). Refused (``stale_build``) when the release now waits for another job, or
    when the manifest's ``plan_digest`` is not the release's recorded ``plan_sha256``."""
    with transaction.atomic():
        locked = _locked_building(release, action="record a finished build", job_id=job_id)
        digest = manifest.get("plan_digest")
        if digest and locked.plan_sha256 and digest != locked.plan_sha256:
            raise GovernanceError(
                code="stale_build",
                message=f"Cannot record a finished build: the manifest was built from plan "
                f"{str(digest)[:12]}..., {locked} records plan {locked.plan_sha256[:12]}...",
            )
        now = timezone.now()
        progress = dict(locked.build_progress or {})
        progress.update({"phase": "done", "eta": 0})
        manifest_sha = canonical_sha256(manifest)
        _set_release_state(
            locked,
            ReleaseState.BUILT,
            manifest=manifest,
            manifest_sha256=manifest_sha,
            privacy_report=report,
            files_dir=str(files_dir),
            built_at=now,
            build_progress=progress,
        )
        files = manifest.get("files") or []
        _audit(
            AuditAction.RELEASE_BUILT,
            acting_user=None,
            role=None,
            subject=locked,
            details={
                "manifest_sha256": manifest_sha,
                "files": len(files) if isinstance(files, list) else None,
                "k": report.get("k", (report.get("report") or {}).get("k")),
            },
            system="release_build",
        )
    release.refresh_from_db()
    return release


def release_build_failed(
    *,
    release: Release,
    error: str,
    failure: Mapping[str, Any] | None = None,
    job_id: str | None = None,
) -> Release:
    """Record a failed build. ``error`` is what the steward reads (``build_error``): callers
    describe engine errors with ``governance.errors.describe_failure`` (quoted values replaced
    by '…'). The audit event, which can never be deleted, carries ``failure`` (the exception
    type, field, record number: ``governance.errors.failure_details``) or else ``error`` with
    every quoted substring redacted. ``job_id`` as in ``release_build_succeeded``."""
    with transaction.atomic():
        locked = _locked_building(release, action="record a failed build", job_id=job_id)
        progress = dict(locked.build_progress or {})
        progress["phase"] = "failed"
        _set_release_state(
            locked, ReleaseState.FAILED, build_error=str(error)[:10000], build_progress=progress
        )
        details = dict(failure) if failure is not None else {"error": redact_values(error)[:500]}
        _audit(
            AuditAction.RELEASE_BUILD_FAILED,
            acting_user=None,
            role=None,
            subject=locked,
            details=details,
            system="release_build",
        )
    release.refresh_from_db()
    return release


def release_approve(*, release: Release, acting_user: Any, reason: str) -> Release:
    """The data steward approves publication after reading the privacy report. Two-person
    rule: not the person who gave the legal approval."""
    reason = _require_reason(reason, action="approve the release")
    role = _steward(acting_user, release.request, action="approve this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.BUILT], action="approve")
        _decide(
            subject=release,
            stage=Decision.Stage.RELEASE,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.APPROVE,
            reason=reason,
        )
        _set_release_state(release, ReleaseState.APPROVED, approved_at=timezone.now())
        _audit(
            AuditAction.RELEASE_APPROVED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"reason": reason, "manifest_sha256": release.manifest_sha256},
        )
    return release


def release_refuse(*, release: Release, acting_user: Any, reason: str) -> Release:
    reason = _require_reason(reason, action="refuse the release")
    role = _steward(acting_user, release.request, action="refuse this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.BUILT], action="refuse")
        _decide(
            subject=release,
            stage=Decision.Stage.RELEASE,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REFUSE,
            reason=reason,
        )
        _set_release_state(release, ReleaseState.REFUSED)
        _audit(
            AuditAction.RELEASE_REFUSED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"reason": reason},
        )
    return release


def release_publish(*, release: Release, acting_user: Any) -> Release:
    """Publish an approved release: requires a valid, verified IRB approval and a signed,
    effective DUA covering the purpose today. Access ends at the earliest of the DUA's and the
    IRB approval's expiry, the requested duration, and one year (then a renewal is needed)."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="publish a release"
    )
    _require_not_recipient(acting_user, release.request, action="publish this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.APPROVED], action="publish")
        request = release.request
        today = timezone.localdate()
        irb = valid_irb(request, today)
        if irb is None:
            raise GovernanceError(
                code="irb_invalid",
                message=f"Cannot publish {release}: request #{request.pk} has no verified IRB "
                f"approval valid on {today}.",
            )
        dua = valid_dua(request, today, recipient_id=release.recipient_id)
        if dua is None:
            raise GovernanceError(
                code="dua_invalid",
                message=f"Cannot publish {release}: request #{request.pk} has no signed, "
                f"verified DUA effective on {today} covering purpose {request.purpose_code}.",
            )
        last_day = min(
            dua.expires_on,
            irb.expires_on,
            today + timedelta(days=min(30 * request.requested_duration_months, MAX_ACCESS_DAYS)),
        )
        now = timezone.now()
        _set_release_state(
            release, ReleaseState.PUBLISHED, published_at=now, expires_at=_end_of_day(last_day)
        )
        _audit(
            AuditAction.RELEASE_PUBLISHED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "expires_at": release.expires_at.isoformat() if release.expires_at else None,
                "irb_id": irb.pk,
                "dua_id": dua.pk,
                "manifest_sha256": release.manifest_sha256,
            },
        )
        notifications.on_release_published(release)
    return release


def release_revoke(*, release: Release, acting_user: Any, reason: str) -> Release:
    """Stop a release at once: downloads are refused from the next request on."""
    reason = _require_reason(reason, action="revoke the release")
    role = _require_role(
        acting_user,
        Role.DATA_STEWARD,
        Role.LEGAL_REVIEWER,
        Role.ADMINISTRATOR,
        action="revoke a release",
    )
    _require_not_recipient(acting_user, release.request, action="revoke this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(
            release,
            [ReleaseState.BUILT, ReleaseState.APPROVED, ReleaseState.PUBLISHED],
            action="revoke",
        )
        _decide(
            subject=release,
            stage=Decision.Stage.RELEASE,
            acting_user=acting_user,
            role=role,
            verdict=Verdict.REVOKE,
            reason=reason,
        )
        _set_release_state(
            release, ReleaseState.REVOKED, revoked_at=timezone.now(), revoke_reason=reason
        )
        _audit(
            AuditAction.RELEASE_REVOKED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"reason": reason},
        )
        notifications.on_release_revoked(release, reason)
    return release


def release_expire_reason(release: Release, now: datetime) -> str | None:
    """Why a published release is due to expire at ``now``, or None."""
    today = timezone.localdate(now)
    if release.expires_at is not None and release.expires_at <= now:
        return "access period ended"
    if valid_irb(release.request, today) is None:
        return "IRB approval expired or invalid"
    if valid_dua(release.request, today, recipient_id=release.recipient_id) is None:
        return "data-use agreement expired or invalid"
    return None


def release_expire(
    *, release: Release, acting_user: Any = None, now: datetime | None = None
) -> Release:
    """Move a published release whose term ended (or whose IRB/DUA lapsed) to expired.
    ``acting_user`` None means the scheduled job (``manage.py governance_expire``)."""
    if acting_user is not None:
        role: str | None = _require_role(
            acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="expire a release"
        )
    else:
        role = None
    now = now or timezone.now()
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.PUBLISHED], action="expire")
        why = release_expire_reason(release, now)
        if why is None:
            raise GovernanceError(
                code="not_due",
                message=f"{release} is valid until {release.expires_at}; nothing to expire.",
            )
        _set_release_state(release, ReleaseState.EXPIRED, expired_at=now)
        lapsed = {
            "IRB approval expired or invalid": AuditAction.IRB_EXPIRED,
            "data-use agreement expired or invalid": AuditAction.DUA_EXPIRED,
        }.get(why)
        if lapsed is not None:
            _audit(
                lapsed,
                acting_user=acting_user,
                role=role,
                subject=release.request,
                details={"release_id": release.pk},
                system=None if acting_user else "governance_expire",
            )
        _audit(
            AuditAction.RELEASE_EXPIRED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={"why": why},
            system=None if acting_user else "governance_expire",
        )
    return release


def _destroy_key(key_id: str) -> bool:
    """Crypto-shred the release key through the engine's KeyStore; False if unavailable."""
    try:
        from deid.keys import KeyStore, load_master_key
    except ImportError:
        return False
    try:
        try:
            master = load_master_key(key_file=settings.DEID_MASTER_KEY_FILE)
        except Exception:
            # Erasing a key record needs no key material: destroy even without the master.
            master = None
        store = KeyStore(Path(settings.DEID_KEYS_DIR), master)  # type: ignore[arg-type]
        store.destroy(key_id)
    except Exception as exc:
        raise GovernanceError(
            code="key_destroy_failed",
            message=f"Could not destroy key {key_id}: {type(exc).__name__}: {exc}",
        ) from exc
    return True


def release_destroy(*, release: Release, acting_user: Any) -> Release:
    """Remove a revoked or expired release's files and destroy its key; records are kept."""
    role = _require_role(
        acting_user, Role.DATA_STEWARD, Role.ADMINISTRATOR, action="destroy a release"
    )
    _require_not_recipient(acting_user, release.request, action="destroy this release")
    with transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.REVOKED, ReleaseState.EXPIRED], action="destroy")
        removed = False
        if release.files_dir:
            root = Path(settings.DEID_RELEASES_DIR).resolve()
            target = Path(release.files_dir).resolve()
            if target == root or root not in target.parents:
                raise GovernanceError(
                    code="unsafe_path",
                    message=f"Refusing to remove {target}: not inside the releases directory.",
                )
            if target.exists():
                shutil.rmtree(target)
                removed = True
        key_destroyed = _destroy_key(release.key_id) if release.key_id else False
        _set_release_state(release, ReleaseState.DESTROYED, destroyed_at=timezone.now())
        if key_destroyed:
            _audit(
                AuditAction.KEY_DESTROYED,
                acting_user=acting_user,
                role=role,
                subject=release,
                details={"key_id": release.key_id},
            )
        _audit(
            AuditAction.RELEASE_DESTROYED,
            acting_user=acting_user,
            role=role,
            subject=release,
            details={
                "files_removed": removed,
                "key_destroyed": key_destroyed,
                "manifest_sha256": release.manifest_sha256,
            },
        )
    return release


def destruction_attest(
    *,
    release: Release,
    acting_user: Any,
    destroyed_on: date,
    copies_description: str,
    file: IO[bytes] | bytes | None = None,
    original_name: str = "",
    content_type: str = "",
) -> DestructionAttestation:
    """At the end of access the recipient attests it destroyed its copies (who, when, what)."""
    role = _require_requester(acting_user, release.request, action="attest destruction")
    if not copies_description.strip():
        raise GovernanceError(code="validation", message="Describe what was destroyed and where.")
    if destroyed_on > timezone.localdate():
        raise GovernanceError(
            code="validation", message=f"destroyed_on {destroyed_on} is in the future."
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
            attested_by=acting_user,
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
    acting_user: Any,
    progress_summary: str,
    requested_until: datetime,
    file: IO[bytes] | bytes,
    original_name: str,
    content_type: str,
) -> Renewal:
    """The recipient asks to extend access, with a progress report."""
    role = _require_requester(acting_user, release.request, action="request a renewal")
    if not progress_summary.strip():
        raise GovernanceError(code="validation", message="A renewal needs a progress summary.")
    with documents_removed_on_error(), transaction.atomic():
        release = _lock(Release, release.pk)
        _require_state(release, [ReleaseState.PUBLISHED], action="renew")
        if release.expires_at and requested_until <= release.expires_at:
            raise GovernanceError(
                code="validation",
                message=f"requested_until must be after the current expiry {release.expires_at}.",
            )
        if release.renewals.filter(state=RenewalState.SUBMITTED).exists():
            raise GovernanceError(
                code="invalid_state", message=f"{release} already has an open renewal."
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
            requested_by=acting_user,
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


def renewal_approve(*, renewal: Renewal, acting_user: Any, reason: str) -> Renewal:
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
                code="irb_invalid" if irb is None else "dua_invalid",
                message="A renewal needs a valid IRB approval and DUA; renew those first.",
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


def renewal_reject(*, renewal: Renewal, acting_user: Any, reason: str) -> Renewal:
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
            AuditAction.REQUEST_REJECTED,
            acting_user=acting_user,
            role=role,
            subject=renewal.release.request,
            details={"renewal_id": renewal.pk, "reason": reason, "stage": "renewal"},
        )
    return renewal


__all__ += ["duo_check", "duo_purpose", "release_expire_reason", "valid_dua", "valid_irb"]
