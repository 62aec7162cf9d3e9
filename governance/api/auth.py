"""Bearer-token authentication for the API (``Authorization: Bearer <token>``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
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


class SignedLinkAuthentication(BearerTokenAuthentication):
    """``?sig=<signed link>``: the person (and token) a link was issued to, while both are valid.

    Used only by the file download view; the view checks that the link names
    the release and file requested.
    """

    def authenticate(self, request: Request) -> tuple[Any, ApiToken | None] | None:  # type: ignore[override]
        value = request.query_params.get("sig")
        if not value:
            return None
        from django.contrib.auth import get_user_model

        from governance.api.downloads import unsign_link

        link = unsign_link(value)
        person = get_user_model().objects.filter(pk=link.person_id, is_active=True).first()
        if person is None:
            raise TokenInvalid("The link is no longer valid.", code="link_invalid")
        token = None
        if link.token_id is not None:
            token = ApiToken.objects.select_related("organization").filter(pk=link.token_id).first()
            if token is None or not token.is_active():
                raise TokenInvalid("The link's token was revoked or expired.", code="link_invalid")
            from governance.api.selectors_api import person_in_organization

            # As for the Bearer token: a person who left the token's organization loses access.
            if token.person_id != person.pk or not person_in_organization(
                person=person, organization=token.organization
            ):
                raise TokenInvalid("The link is no longer valid.", code="link_invalid")
        request._signed_link = link  # type: ignore[attr-defined]
        return person, token


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "governance.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token: `Authorization: Bearer gdt_...`",
        }


class SignedLinkScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "governance.api.auth.SignedLinkAuthentication"
    name = "signedLink"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "query", "name": "sig"}
