"""People, memberships and the organizations' encryption keys."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User as AuthUser
from django.db import transaction
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    Membership,
    Organization,
    Role,
)
from governance.roles import (
    STAFF_ROLES,
    ActingUser,
    roles_of,
    sync_user_groups,
    totp_device_create,
)
from governance.services._common import (
    User,
    _audit,
    _lock,
    _require_role,
    _require_user,
)


def user_create(
    *,
    username: str,
    email: str,
    password: str,
    organization: Organization,
    roles: Sequence[str],
    acting_user: ActingUser | None = None,
) -> Any:
    """Create a person with memberships in one organization.

    An administrator creates people; ``acting_user=None`` is the system itself (the demo's
    seed and the first administrator), recorded as such in the audit log.
    """
    if acting_user is not None:
        _require_role(acting_user, Role.ADMINISTRATOR, action="create people")
    for role in roles:
        if role not in Role.values:
            raise GovernanceError(
                code=GovernanceErrorCode.VALIDATION,
                message=_("Unknown role %(role)s; expected one of %(role_values)s.")
                % {"role": repr(role), "role_values": Role.values},
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
    *, organization: Organization, acting_user: ActingUser, public_key: str
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
        raise GovernanceError(code=GovernanceErrorCode.VALIDATION, message=exc.message) from None
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
    *, user: Any, organization: Organization, role: str, acting_user: ActingUser
) -> Membership:
    acting_role = _require_role(acting_user, Role.ADMINISTRATOR, action="grant roles")
    if role not in Role.values:
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_("Unknown role %(role)s.") % {"role": repr(role)},
        )
    with transaction.atomic():
        membership, _created = Membership.objects.get_or_create(
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


def totp_device_ensure(*, user: AuthUser, system: str) -> tuple[Any, bool]:
    """The person's confirmed TOTP device, created (and audited as the system ``system``) if
    they have none: (device, created). The device's secret never reaches the audit log."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is not None:
        return device, False
    with transaction.atomic():
        device = totp_device_create(user=user)
        record_event(
            action=AuditAction.ADMIN_CHANGE,
            actor=Actor.system(system),
            object_type="auth.user",
            object_id=str(user.pk),
            details={"change": "totp_device_created", "device_id": device.pk},
        )
    return device, True
