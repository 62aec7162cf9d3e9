"""Services for API tokens: create (the plaintext is returned once), revoke.

Each is one transaction with its audit event; the token itself never reaches
a log, an error or the audit details (only its public id ``gdt_<prefix>``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from governance.models import Organization
from governance.models.tokens import ApiToken, generate_token, hash_token
from governance.roles import ActingUser, is_member
from governance.services._common import _require_user

DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=366)


def _audit(*, action: AuditAction, actor: Any, token: ApiToken, details: dict[str, Any]) -> None:
    from audit.services import record_event

    record_event(
        action=action,
        actor=actor,
        object_type="governance.apitoken",
        object_id=str(token.pk),
        details=details,
    )


@transaction.atomic
def token_create(
    *,
    person: Any,
    organization: Organization,
    name: str,
    actor: Any,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``person`` in ``organization``: (token row, plaintext shown once)."""

    now = timezone.now()
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name (e.g. the script that uses it)."})
    if not person.is_active:
        raise ValidationError({"person": f"{person} is not an active account."})
    if not is_member(person, organization):
        raise ValidationError(
            {"organization": f"{person} is not a member of {organization}; no token for it."}
        )
    expires_at = expires_at or now + DEFAULT_LIFETIME
    if expires_at <= now:
        raise ValidationError(
            {"expires_at": f"must be in the future; got {expires_at.isoformat()}"}
        )
    if expires_at - now > MAX_LIFETIME:
        raise ValidationError(
            {"expires_at": f"at most {MAX_LIFETIME.days} days ahead; got {expires_at.isoformat()}"}
        )
    prefix, raw = generate_token()
    token = ApiToken.objects.create(
        person=person,
        organization=organization,
        name=name[:100],
        prefix=prefix,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=expires_at,
    )
    _audit(
        action=AuditAction.TOKEN_CREATED,
        actor=actor,
        token=token,
        details={
            "token_id": token.display_id,
            "person_id": person.pk,
            "organization_id": organization.pk,
            # Not the name: it is free text, and people paste secrets into free text.
            "expires_at": expires_at.isoformat(),
        },
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, acting_user: ActingUser, actor: Any) -> ApiToken:
    """Revoke a token now (idempotent: revoking a revoked token changes nothing)."""

    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = _require_user(acting_user)
    token.save(update_fields=["revoked_at", "revoked_by"])
    _audit(
        action=AuditAction.TOKEN_REVOKED,
        actor=actor,
        token=token,
        details={"token_id": token.display_id, "person_id": token.person_id},
    )
    return token
