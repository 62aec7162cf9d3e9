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

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """One log-in for staff: django-two-factor-auth's two-step flow (password, then code).

        A decider who is logged in without a verified code is sent to enter one, or, with
        no device yet, to enrol one (QR code and backup codes)."""
        from django.contrib.auth import REDIRECT_FIELD_NAME
        from django.http import HttpResponseRedirect
        from django.urls import reverse
        from django.utils.http import url_has_allowed_host_and_scheme

        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index")
        user: Any = request.user
        if user.is_authenticated and self.has_permission(request):
            return HttpResponseRedirect(target)
        if user.is_authenticated and user.is_staff:
            from django_otp import devices_for_user

            if not any(True for _ in devices_for_user(user)):
                return HttpResponseRedirect(reverse("two_factor:setup"))
        return HttpResponseRedirect(f"{reverse('two_factor:login')}?next={target}")

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from governance.selectors import review_queue_counts

        context = dict(extra_context or {})
        context["queue_counts"] = review_queue_counts(user=request.user)
        from governance.services.notifications import unread_for

        context["notifications"] = list(unread_for(request.user)[:20])
        response: HttpResponse = super().index(request, extra_context=context)
        return response
