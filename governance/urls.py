"""Governance URLs: the recipient portal, the REST API under /api/v1/, its schema and docs."""

from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from two_factor.urls import urlpatterns as two_factor_urls

from governance.portal import views as portal_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False), name="root"),
    path("portal/", include("governance.portal.urls", namespace="portal")),
    path("notifications/read/", portal_views.notifications_read, name="notifications-read"),
    # Staff log-in in two steps (password, then the code) and TOTP enrolment by QR code with
    # backup codes: django-two-factor-auth under /account/.
    path("", include(two_factor_urls)),
    # The language switch (POST language=ko|en, next=...), as Django's set_language.
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("governance.api.urls", namespace="api")),
    # Browser login for the browsable API (e.g. to create a first token), rate-limited by axes.
    path("api/auth/", include("rest_framework.urls", namespace="rest_framework")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # the split view loads its start-up script from a URL: no inline script, so CSP holds
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
