"""Roles: Django groups (model permissions for the admin) + per-organization memberships
(who may act on what), and object-level rules (django-rules predicates) shared by the
services, the admin and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.db.models import Model
from rules.predicates import Predicate
from rules.rulesets import RuleSet

from governance.models import (
    DataAccessRequest,
    Decision,
    Membership,
    Organization,
    Release,
    Role,
    Verdict,
)

__all__ = [
    "AUDIT_GROUP_PERMISSIONS",
    "GROUP_PERMISSIONS",
    "OTP_REQUIRED_ROLES",
    "STAFF_ROLES",
    "ActingUser",
    "ensure_role_groups",
    "has_role",
    "is_member",
    "legal_approver_ids",
    "roles_of",
    "sync_user_groups",
    "totp_device_create",
    "user_can",
]

#: Who acts in a service: what a request carries (``request.user``). The services refuse an
#: anonymous or inactive one (``_require_user``) and check roles and memberships on it.
ActingUser: TypeAlias = User | AnonymousUser

STAFF_ROLES = frozenset({Role.LEGAL_REVIEWER, Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR})
# A second factor is required in the admin for those who decide.
OTP_REQUIRED_ROLES = frozenset({Role.LEGAL_REVIEWER, Role.DATA_STEWARD, Role.ADMINISTRATOR})

_ALL_MODELS = (
    "organization",
    "membership",
    "dataset",
    "variable",
    "datauselimitation",
    "dataaccessrequest",
    "document",
    "irbapproval",
    "datauseagreement",
    "decision",
    "deidpolicy",
    "release",
    "destructionattestation",
    "renewal",
)


def _view(*models: str) -> list[str]:
    return [f"view_{m}" for m in models]


# Model permissions per role (codenames in the governance app). Workflow objects are changed
# only through services (admin action buttons); these permissions decide what each role sees
# and which admin pages it may open. Object-level rules below decide what it may do.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    Role.REQUESTER: [
        *_view("organization", "dataset", "variable", "datauselimitation"),
        "view_dataaccessrequest",
        "add_dataaccessrequest",
        "view_release",
    ],
    Role.LEGAL_REVIEWER: _view(*_ALL_MODELS),
    Role.DATA_STEWARD: [
        *_view(*_ALL_MODELS),
        "add_deidpolicy",
        "change_dataset",
        "add_dataset",
        "change_variable",
        "add_variable",
        "change_datauselimitation",
        "add_datauselimitation",
    ],
    Role.AUDITOR: _view(*_ALL_MODELS),
    Role.ADMINISTRATOR: _view(*_ALL_MODELS)
    + [
        f"{op}_{m}"
        for m in ("organization", "membership", "dataset", "variable", "datauselimitation")
        for op in ("add", "change")
    ],
}


# Model permissions in the audit app: auditors read the audit log and its checkpoints in the
# admin (read-only there for everyone: the admin refuses add, change and delete).
AUDIT_GROUP_PERMISSIONS: dict[str, list[str]] = {
    Role.AUDITOR: ["view_auditevent", "view_auditcheckpoint"],
}


def ensure_role_groups() -> dict[str, Group]:
    """Create (or refresh) one Django group per role with its model permissions."""
    groups: dict[str, Group] = {}
    for role, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        perms = Permission.objects.filter(
            content_type__app_label="governance", codename__in=codenames
        ) | Permission.objects.filter(
            content_type__app_label="audit", codename__in=AUDIT_GROUP_PERMISSIONS.get(role, [])
        )
        group.permissions.set(perms)
        groups[str(role)] = group
    return groups


def sync_user_groups(user: Any) -> None:
    """Make the user's groups match the roles of their memberships."""
    groups = ensure_role_groups()
    wanted = roles_of(user)
    keep = [g for name, g in groups.items() if name in wanted]
    others = user.groups.exclude(name__in=list(groups))
    user.groups.set([*others, *keep])


def _authenticated(user: Any) -> bool:
    return user is not None and not isinstance(user, AnonymousUser) and user.is_authenticated


def roles_of(user: Any, organization: Organization | None = None) -> set[Role]:
    if not _authenticated(user):
        return set()
    qs = Membership.objects.filter(user=user)
    if organization is not None:
        qs = qs.filter(organization=organization)
    return {Role(r) for r in qs.values_list("role", flat=True)}


def has_role(user: Any, role: Role) -> bool:
    if not _authenticated(user) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, role=role).exists()


def is_member(user: Any, organization: Organization | int) -> bool:
    if not _authenticated(user):
        return False
    org_id = organization.pk if isinstance(organization, Organization) else organization
    return Membership.objects.filter(user=user, organization_id=org_id).exists()


def legal_approver_ids(request: DataAccessRequest) -> set[int]:
    return set(
        Decision.objects.filter(
            request=request, stage=Decision.Stage.LEGAL, verdict=Verdict.APPROVE
        ).values_list("decided_by_id", flat=True)
    )


def _request_of(obj: Model | None) -> DataAccessRequest | None:
    if isinstance(obj, DataAccessRequest):
        return obj
    if isinstance(obj, Release):
        return obj.request
    request = getattr(obj, "request", None)
    return request if isinstance(request, DataAccessRequest) else None


# --- django-rules predicates ------------------------------------------------------------------


def _predicate(fn: Callable[..., bool]) -> Any:
    """``rules.predicate`` with a type mypy can see (predicates compose with & | ~)."""
    return Predicate(fn)


@_predicate
def is_legal_reviewer(user: AbstractBaseUser) -> bool:
    return has_role(user, Role.LEGAL_REVIEWER)


@_predicate
def is_data_steward(user: AbstractBaseUser) -> bool:
    return has_role(user, Role.DATA_STEWARD)


@_predicate
def is_auditor(user: AbstractBaseUser) -> bool:
    return has_role(user, Role.AUDITOR)


@_predicate
def is_administrator(user: AbstractBaseUser) -> bool:
    return has_role(user, Role.ADMINISTRATOR)


@_predicate
def is_recipient_member(user: AbstractBaseUser, obj: Model | None) -> bool:
    request = _request_of(obj)
    return request is not None and is_member(user, request.recipient_id)


@_predicate
def is_recipient_requester(user: AbstractBaseUser, obj: Model | None) -> bool:
    request = _request_of(obj)
    return request is not None and Role.REQUESTER in roles_of(user, request.recipient)


@_predicate
def is_legal_approver(user: AbstractBaseUser, obj: Model | None) -> bool:
    request = _request_of(obj)
    return request is not None and user.pk in legal_approver_ids(request)


RULES: Any = RuleSet()
RULES.add_rule("review_legal", is_legal_reviewer & ~is_recipient_member)
RULES.add_rule("verify_documents", is_legal_reviewer & ~is_recipient_member)
RULES.add_rule("review_steward", is_data_steward & ~is_recipient_member & ~is_legal_approver)
RULES.add_rule("set_policy", is_data_steward & ~is_recipient_member & ~is_legal_approver)
RULES.add_rule("approve_release", is_data_steward & ~is_recipient_member & ~is_legal_approver)
RULES.add_rule("publish_release", (is_data_steward | is_administrator) & ~is_recipient_member)
RULES.add_rule(
    "revoke_release",
    (is_data_steward | is_legal_reviewer | is_administrator) & ~is_recipient_member,
)
RULES.add_rule("cancel_build", (is_data_steward | is_administrator) & ~is_recipient_member)
RULES.add_rule("destroy_release", (is_data_steward | is_administrator) & ~is_recipient_member)
RULES.add_rule("edit_request", is_recipient_requester)
RULES.add_rule("attest_destruction", is_recipient_requester)
RULES.add_rule(
    "view_request",
    is_recipient_member | is_legal_reviewer | is_data_steward | is_auditor | is_administrator,
)


def user_can(user: Any, action: str, obj: Model | None = None) -> bool:
    """Object-level check, e.g. ``user_can(user, "review_legal", request)``."""
    if not _authenticated(user) or not user.is_active:
        return False
    return bool(RULES.test_rule(action, user, obj))


def totp_device_create(*, user: Any, name: str = "default", confirmed: bool = True) -> Any:
    """Create a TOTP device for a user (demo and tests). Returns the ``TOTPDevice``;
    ``device.config_url`` is the otpauth:// URL for an authenticator app. Never log it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name=name, confirmed=confirmed)
