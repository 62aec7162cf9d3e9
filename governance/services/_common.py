"""Shared ground of the services: constants, locks, guards and the audit helper. Private to
the package. The evidence rules (IRB / DUA valid on a day, the DUO check) are reads and live
in :mod:`governance.selectors`; they are imported here for the services' use."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    DataAccessRequest,
    Decision,
    Release,
    ReleaseState,
    Renewal,
    RequestState,
    Role,
)
from governance.roles import (
    ActingUser,
    is_member,
    legal_approver_ids,
    roles_of,
)

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
    acting_user: ActingUser | None,
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


def _require_user(acting_user: ActingUser | None) -> AuthUser:
    """The acting person, signed in and active (typed: a service records them on rows)."""
    if acting_user is None or isinstance(acting_user, AnonymousUser):
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED, message=_("An acting user is required.")
        )
    if not acting_user.is_authenticated:
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED, message=_("An acting user is required.")
        )
    if not acting_user.is_active:
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED, message=_("The acting user is inactive.")
        )
    return acting_user


def _require_role(acting_user: ActingUser, *allowed: Role, action: str) -> Role:
    """Return the role the user acts in (the first of ``allowed`` they hold) or refuse."""
    _require_user(acting_user)
    held = roles_of(acting_user)
    for role in allowed:
        if role in held:
            return role
    names = " or ".join(str(r.label).lower() for r in allowed)
    raise GovernanceError(
        code=GovernanceErrorCode.PERMISSION_DENIED,
        message=_("Only a %(names)s may %(action)s.") % {"names": names, "action": action},
    )


def _require_not_recipient(
    acting_user: ActingUser, request: DataAccessRequest, *, action: str
) -> None:
    if is_member(acting_user, request.recipient_id):
        raise GovernanceError(
            code=GovernanceErrorCode.OWN_ORGANIZATION,
            message=_(
                "You may not %(action)s: request #%(request_pk)s comes from your own organization (%(request_recipient)s)."
            )
            % {"action": action, "request_pk": request.pk, "request_recipient": request.recipient},
        )


def _require_requester(acting_user: ActingUser, request: DataAccessRequest, *, action: str) -> str:
    _require_user(acting_user)
    if Role.REQUESTER not in roles_of(acting_user, request.recipient):
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED,
            message=_("Only a requester of %(request_recipient)s may %(action)s.")
            % {"request_recipient": request.recipient, "action": action},
        )
    return Role.REQUESTER


def _require_state(obj: Any, allowed: Iterable[str], *, action: str) -> None:
    allowed = tuple(allowed)
    if obj.state not in allowed:
        expected = ", ".join(str(s) for s in allowed)
        raise GovernanceError(
            code=GovernanceErrorCode.INVALID_STATE,
            message=_("Cannot %(action)s: %(obj)s is %(obj_state)s; expected %(expected)s.")
            % {"action": action, "obj": obj, "obj_state": obj.state, "expected": expected},
        )


def _require_reason(reason: str | None, *, action: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise GovernanceError(
            code=GovernanceErrorCode.REASON_REQUIRED,
            message=_("A reason is required to %(action)s.") % {"action": action},
        )
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


# --- users ----------------------------------------------------------------------------------


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
            code=GovernanceErrorCode.VALIDATION,
            message=_("Request #%(request_pk)s cannot be submitted without %(join_missing)s.")
            % {"request_pk": request.pk, "join_missing": ", ".join(missing)},
        )


def _legal_reviewer(acting_user: ActingUser, request: DataAccessRequest, *, action: str) -> str:
    role = _require_role(acting_user, Role.LEGAL_REVIEWER, action=action)
    _require_not_recipient(acting_user, request, action=action)
    return role


def _decide(
    *,
    subject: DataAccessRequest | Release | Renewal,
    stage: str,
    acting_user: ActingUser,
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
        decided_by=_require_user(acting_user),
        role=role,
        verdict=verdict,
        reason=reason,
        override_reason=override_reason,
        **kwargs,
    )


def _lock_unverified(model: type[M], pk: Any) -> M:
    """Lock an IRB approval or DUA that is not yet verified, of a request under review."""
    doc = _lock(model, pk)
    if doc.verified_at is not None:  # type: ignore[attr-defined]
        raise GovernanceError(
            code=GovernanceErrorCode.INVALID_STATE,
            message=_("%(doc)s is already verified.") % {"doc": doc},
        )
    state = doc.request.state  # type: ignore[attr-defined]
    if state in (RequestState.DRAFT, RequestState.REJECTED):
        raise GovernanceError(
            code=GovernanceErrorCode.INVALID_STATE,
            message=_("Cannot verify documents of a request that is %(state)s.") % {"state": state},
        )
    return doc


def _steward(acting_user: ActingUser, request: DataAccessRequest, *, action: str) -> str:
    """A data steward from outside the recipient who did not give the legal approval."""
    role = _require_role(acting_user, Role.DATA_STEWARD, action=action)
    _require_not_recipient(acting_user, request, action=action)
    if acting_user.pk in legal_approver_ids(request):
        raise GovernanceError(
            code=GovernanceErrorCode.TWO_PERSON_RULE,
            message=_(
                "You may not %(action)s: you gave the legal approval of request #%(request_pk)s; a different person must take the steward's decision."
            )
            % {"action": action, "request_pk": request.pk},
        )
    return role


def record_system_job(job: str, *, object_type: str, details: Mapping[str, Any]) -> None:
    """Audit a scheduled job's run (``system.job``) as the system, not as a person: the
    sweep, the expiry pass, the release verification."""
    with transaction.atomic():
        record_event(
            action=AuditAction.SYSTEM_JOB,
            actor=Actor.system(job),
            object_type=object_type,
            object_id="*",
            details={"job": job, **details},
        )
