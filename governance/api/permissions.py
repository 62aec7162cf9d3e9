"""Small permissions that compose with ``&`` and ``|``.

Object visibility is not decided here but in the selectors
(``selectors_api``): a view only ever looks objects up in what the caller may
see, so another organization's object is a plain 404, never a 403.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from governance.api.selectors_api import api_organizations, can_file_requests
from governance.models.tokens import ApiToken


class IsAuthenticatedPerson(BasePermission):
    """An active person, by API token or browser session."""

    message = "Authentication credentials were not provided."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class IsTokenRequest(BasePermission):
    """Authenticated by an API token (not a browser session)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiToken)


class HasOrganization(BasePermission):
    """The caller acts for at least one organization."""

    message = "You are not a member of any organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(api_organizations(request))


class ReadOnly(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS


class CanFileRequests(BasePermission):
    """The caller may file data access requests for their organization."""

    message = "Your role does not allow filing data access requests."

    def has_permission(self, request: Request, view: Any) -> bool:
        return any(
            can_file_requests(person=request.user, organization=o)
            for o in api_organizations(request)
        )
