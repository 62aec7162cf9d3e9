"""Whoever must act next is told: a notification row in the same transaction, an e-mail after
the commit, unread lists in the portal and the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from governance import services
from governance.errors import GovernanceError
from governance.models import Notification, NotificationKind, Release
from tests.governance.factories import PASSWORD, World

pytestmark = pytest.mark.django_db


def kinds_for(user: Any) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


def test_each_step_tells_whoever_acts_next(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = world.submitted()
    assert NotificationKind.REQUEST_SUBMITTED in kinds_for(world.legal)
    assert NotificationKind.REQUEST_SUBMITTED in kinds_for(world.legal2)
    assert not kinds_for(world.researcher)
    assert any(f"Request #{request.pk} submitted" in m.subject for m in mail.outbox)
    assert Notification.objects.filter(user=world.legal, emailed=True).exists()

    services.request_start_legal_review(request=request, acting_user=world.legal)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_request_changes(
            request=request, acting_user=world.legal, reason="Attach the IRB's amendment."
        )
    note = Notification.objects.get(user=world.researcher, kind=NotificationKind.CHANGES_REQUESTED)
    assert note.body == "Attach the IRB's amendment."
    assert note.url == f"/portal/requests/{request.pk}/"
    services.request_resubmit(request=request, acting_user=world.researcher)
    services.request_start_legal_review(request=request, acting_user=world.legal)
    world.verified(request)
    services.request_approve_legal(request=request, acting_user=world.legal, reason="In order.")
    assert NotificationKind.POLICY_NEEDED in kinds_for(world.steward)


def test_publication_and_revocation_tell_the_recipient(world: World) -> None:
    release = world.published()
    assert NotificationKind.RELEASE_PUBLISHED in kinds_for(world.researcher)
    assert NotificationKind.RELEASE_PUBLISHED not in kinds_for(world.other)
    services.release_revoke(release=release, acting_user=world.steward, reason="DUA breach.")
    revoked = Notification.objects.get(user=world.researcher, kind=NotificationKind.RELEASE_REVOKED)
    assert revoked.body == "DUA breach."


def test_a_refused_transition_tells_nobody(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    request = world.draft()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(GovernanceError):
        services.request_submit(request=request, acting_user=world.researcher)  # no documents
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_expiring_releases_are_announced_once(world: World) -> None:
    release = world.published()
    Release.objects.filter(pk=release.pk).update(expires_at=timezone.now() + timedelta(days=20))
    call_command("governance_expire")
    call_command("governance_expire")
    rows = Notification.objects.filter(kind=NotificationKind.RELEASE_EXPIRING)
    assert rows.count() == 1
    assert rows.get().user == world.researcher


def test_unread_lists_in_the_portal_and_the_admin(world: World, login: Any) -> None:
    world.published()
    client = Client()
    client.post("/portal/login/", {"username": world.researcher.username, "password": PASSWORD})
    page = client.get("/portal/notifications/").content.decode()
    assert "is published for" in page
    assert 'class="badge"' in client.get("/portal/").content.decode()
    client.post("/notifications/read/", {"next": "/portal/notifications/"})
    assert not Notification.objects.filter(user=world.researcher, read_at__isnull=True).exists()
    assert 'class="badge"' not in client.get("/portal/").content.decode()
    # staff read theirs on the admin's index page
    world.submitted()
    admin = login(world.legal)
    page = admin.get("/admin/").content.decode()
    assert 'id="gov-notifications"' in page
    assert "submitted" in page
