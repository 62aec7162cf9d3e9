"""Throttling per API token (per person for a browser session, per address otherwise)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from governance.models.tokens import ApiToken


class _PerTokenThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read the rates at request time (not at import) so settings overrides apply.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES or {}
        rate = rates.get(str(self.scope))
        return None if rate is None else str(rate)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenRateThrottle(_PerTokenThrottle):
    """Every API call (``DEFAULT_THROTTLE_RATES["token"]``)."""

    scope = "token"


class DownloadRateThrottle(_PerTokenThrottle):
    """File downloads and signed links (``DEFAULT_THROTTLE_RATES["download"]``)."""

    scope = "download"
