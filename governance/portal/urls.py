"""The recipient portal, mounted at /portal/ (namespace ``portal``)."""

from __future__ import annotations

from django.urls import path

from governance.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("catalog/", views.catalog, name="catalog"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path(
        "requests/<int:pk>/<str:action>/",
        views.request_action,
        name="request-action",
    ),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/<str:action>/", views.release_action, name="release-action"),
    path(
        "releases/<int:pk>/download/<path:name>",
        views.release_download,
        name="release-download",
    ),
    path("notifications/", views.notifications_page, name="notifications"),
    path("tokens/", views.tokens, name="tokens"),
    path("encryption-key/", views.encryption_key, name="key"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
