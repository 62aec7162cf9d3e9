"""Bearer-token authentication for the API (``Authorization: Bearer <token>``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from governance.api.exceptions import TokenInvalid
from governance.models.tokens import ApiToken, split_token

# Refresh last_used_at at most this often (one UPDATE per token per minute, not per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticate a person by an API token; ``request.auth`` is the ApiToken.

    No header: not this scheme (another authenticator may try). A Bearer header
    with an unknown, malformed, expired or revoked token, or a person who has
    left the token's organization: 401 ``token_invalid``. The message never
    says which, and never repeats the token.
    """

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise TokenInvalid("Send the token as 'Authorization: Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenInvalid() from None
        return authenticate_token(raw)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def authenticate_token(raw: str) -> tuple[Any, ApiToken]:
    """The (person, token) for a plaintext token, or TokenInvalid."""
    prefix = split_token(raw)
    if prefix is None:
        raise TokenInvalid()
    token = ApiToken.objects.select_related("person", "organization").filter(prefix=prefix).first()
    if token is None or not token.matches(raw):
        raise TokenInvalid()
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenInvalid("The API token has been revoked.", code="token_revoked")
    if token.expires_at <= now:
        raise TokenInvalid("The API token has expired.", code="token_expired")
    person = token.person
    if not person.is_active:
        raise TokenInvalid()
    from governance.api.selectors_api import person_in_organization

    if not person_in_organization(person=person, organization=token.organization):
        raise TokenInvalid()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return person, token
