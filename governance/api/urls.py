"""The recipient API, mounted at /api/v1/ (namespace ``api``)."""

from __future__ import annotations

from django.urls import path

from governance.api import views

app_name = "api"

urlpatterns = [
    path("tokens/", views.TokenListCreateView.as_view(), name="token-list"),
    path("tokens/<int:pk>/", views.TokenDetailView.as_view(), name="token-detail"),
    path(
        "organizations/<int:pk>/crypt4gh-key/",
        views.Crypt4ghKeyView.as_view(),
        name="organization-crypt4gh-key",
    ),
    path("requests/", views.RequestListCreateView.as_view(), name="request-list"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="request-detail"),
    path("requests/<int:pk>/submit/", views.RequestSubmitView.as_view(), name="request-submit"),
    path("releases/", views.ReleaseListView.as_view(), name="release-list"),
    path("releases/<int:pk>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path("releases/<int:pk>/links/", views.SignedLinkView.as_view(), name="release-link"),
    path(
        "releases/<int:pk>/files/<path:name>",
        views.ReleaseFileView.as_view(),
        name="release-file",
    ),
]
