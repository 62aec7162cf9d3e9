"""The audit admin is read-only and filterable."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import Actor, record_event
from tests.audit.conftest import append_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client: Client) -> Client:
    """Staff with only the view permission (as an auditor has); not a superuser, whom the
    governance admin site would also ask for a second factor."""
    user = get_user_model().objects.create_user("auditor1", "a@example.org", "x" * 16)
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="audit", codename="view_auditevent")
    )
    client.force_login(user)
    return client


def test_changelist_shows_and_filters_events(admin_client_logged_in: Client) -> None:
    append_events(3)
    record_event(
        action=AuditAction.TOKEN_CREATED,
        actor=Actor(username="someone", role="requester"),
        object_type="governance.apitoken",
        object_id="tok-1",
    )
    url = "/admin/audit/auditevent/"
    response = admin_client_logged_in.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "token.created" in body or "API token created" in body
    for query in (
        "?action=token.created",
        "?actor=someone",
        "?object_type=governance.apitoken",
        "?actor_role=requester",
        "?q=tok-1",
    ):
        response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query
        assert "tok-1" in response.content.decode(), query
    response = admin_client_logged_in.get(url + "?action=auth.login")
    assert "tok-1" not in response.content.decode()


def test_nothing_can_be_added_changed_or_deleted(admin_client_logged_in: Client) -> None:
    (event,) = append_events(1)
    base = "/admin/audit/auditevent/"
    assert admin_client_logged_in.get(base + "add/").status_code == 403
    assert admin_client_logged_in.get(f"{base}{event.pk}/delete/").status_code == 403
    detail = admin_client_logged_in.get(f"{base}{event.pk}/change/")
    assert detail.status_code == 200  # read-only view
    assert 'name="_save"' not in detail.content.decode()
    response = admin_client_logged_in.post(f"{base}{event.pk}/change/", {"object_id": "x"})
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).object_id == event.object_id
