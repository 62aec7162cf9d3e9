"""Governance URLs: the REST API lives under /api/v1/ (see governance/api/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
