"""Logins, failed logins and admin changes land in the audit log."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.verify import verify_chain

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase 42"


@pytest.fixture
def staff():
    return get_user_model().objects.create_superuser("legal1", "l@example.org", PASSWORD)


def _last(action: AuditAction) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-seq").first()
    assert event is not None, f"no {action} event"
    return event


def _request(ip: str) -> HttpRequest:
    """A request with a session, as the login view would have (independent of the admin site)."""
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip)
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    request.session.save()
    request.user = AnonymousUser()
    return request


def test_login_is_audited(staff) -> None:
    request = _request("10.9.8.7")
    user = authenticate(request, username="legal1", password=PASSWORD)
    assert user is not None
    login(request, user)
    event = _last(AuditAction.AUTH_LOGIN)
    assert event.actor_user_id == staff.pk
    assert event.actor_username == "legal1"
    assert event.actor_ip == "10.9.8.7"
    assert event.object_id == str(staff.pk)
    assert event.actor_session  # a hash of the session key ...
    assert request.session.session_key not in event.details_json
    assert event.actor_session != request.session.session_key  # ... never the key
    logout(request)
    assert _last(AuditAction.AUTH_LOGOUT).actor_user_id == staff.pk


def test_failed_login_is_audited_without_the_password(staff) -> None:
    before = AuditEvent.objects.filter(action=AuditAction.AUTH_LOGIN_FAILED).count()
    request = _request("10.9.8.6")
    assert authenticate(request, username="legal1", password="wrong password guess") is None
    assert AuditEvent.objects.filter(action=AuditAction.AUTH_LOGIN_FAILED).count() == before + 1
    event = _last(AuditAction.AUTH_LOGIN_FAILED)
    assert event.details == {"username": "legal1", "known_user": True}
    assert event.actor_ip == "10.9.8.6"
    assert "wrong password guess" not in event.details_json
    assert verify_chain().ok


def test_failed_login_of_an_unknown_account(staff) -> None:
    authenticate(_request("10.9.8.5"), username="nobody", password="whatever it is")
    event = _last(AuditAction.AUTH_LOGIN_FAILED)
    assert event.object_id == "unknown"
    assert event.details == {"username": "nobody", "known_user": False}


def test_admin_change_to_an_audited_app_is_logged(staff) -> None:
    group = Group.objects.create(name="legal reviewers")
    LogEntry.objects.log_actions(
        user_id=staff.pk,
        queryset=[group],
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["Name"]}}],
        single_object=True,
    )
    event = _last(AuditAction.ADMIN_CHANGE)
    assert event.object_type == "auth.group"
    assert event.object_id == str(group.pk)
    assert event.actor_username == "legal1"
    assert event.details["operation"] == "change"
    assert event.details["change_message"] == [{"changed": {"fields": ["Name"]}}]


def test_bulk_admin_deletions_are_logged_one_by_one(staff) -> None:
    groups = [Group.objects.create(name=f"g{i}") for i in range(3)]
    before = AuditEvent.objects.filter(action=AuditAction.ADMIN_CHANGE).count()
    LogEntry.objects.log_actions(user_id=staff.pk, queryset=groups, action_flag=DELETION)
    events = AuditEvent.objects.filter(action=AuditAction.ADMIN_CHANGE).order_by("seq")
    assert events.count() == before + 3
    assert {e.object_id for e in events.reverse()[:3]} == {str(g.pk) for g in groups}


def test_admin_changes_to_other_apps_are_not_logged(staff, settings) -> None:
    settings.AUDIT_ADMIN_APP_LABELS = ("governance",)
    group = Group.objects.create(name="x")
    before = AuditEvent.objects.count()
    LogEntry.objects.log_actions(user_id=staff.pk, queryset=[group], action_flag=CHANGE)
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(Group),
        object_id=str(group.pk),
        object_repr="x",
        action_flag=CHANGE,
    )
    assert AuditEvent.objects.count() == before
