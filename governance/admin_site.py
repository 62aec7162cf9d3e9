"""The admin site: a second factor (TOTP) for those who decide, counters on the index page.

``governance.admin`` turns the default ``admin.site`` into this class (the way django-otp
documents it), so every app's ``ModelAdmin`` registrations keep working.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class GovernanceAdminSite(OTPAdminSite):  # type: ignore[misc]  # django-otp is untyped
    site_header = _("Gangwon clinical data governance")
    site_title = _("Data governance")
    index_title = _("Reviews and releases")
    index_template = "admin/governance/index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff; legal reviewers, data stewards, administrators and superusers must
        also have passed a TOTP check in this session (``request.user.is_verified()``)."""
        from governance.roles import OTP_REQUIRED_ROLES, roles_of

        user: Any = request.user
        if not (user.is_active and user.is_staff):
            return False
        needs_otp = user.is_superuser or bool(roles_of(user) & set(OTP_REQUIRED_ROLES))
        if needs_otp:
            return bool(getattr(user, "is_verified", lambda: False)())
        return True

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from governance.selectors import review_queue_counts

        context = dict(extra_context or {})
        context["queue_counts"] = review_queue_counts(user=request.user)
        from governance.notifications import unread_for

        context["notifications"] = list(unread_for(request.user)[:20])
        response: HttpResponse = super().index(request, extra_context=context)
        return response
