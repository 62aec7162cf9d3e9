"""Permissions by role: groups (model permissions), object rules, and selector visibility."""

from __future__ import annotations

from typing import Any

import pytest

from governance import selectors
from governance.models import Role
from governance.roles import ensure_role_groups, has_role, roles_of, user_can
from tests.governance.factories import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "perm", "allowed"),
    [
        ("legal", "governance.add_deidpolicy", False),  # a legal reviewer cannot edit policies
        ("steward", "governance.add_deidpolicy", True),
        ("steward", "governance.change_datauseagreement", False),  # nor a steward a DUA
        ("auditor", "governance.view_dataaccessrequest", True),
        ("auditor", "governance.change_dataaccessrequest", False),  # auditors read only
        ("auditor", "governance.add_deidpolicy", False),
        ("auditor", "governance.change_dataset", False),
        ("admin", "governance.change_organization", True),
        ("admin", "governance.add_decision", False),
        ("researcher", "governance.view_decision", False),
    ],
)
def test_group_permissions(world: World, who: str, perm: str, allowed: bool) -> None:
    user = getattr(world, who)
    user = type(user).objects.get(pk=user.pk)  # fresh permission cache
    assert user.has_perm(perm) is allowed


def test_auditor_group_has_only_view_permissions(db: None) -> None:
    groups = ensure_role_groups()
    codenames = set(groups[Role.AUDITOR].permissions.values_list("codename", flat=True))
    assert codenames
    assert all(c.startswith("view_") for c in codenames)


@pytest.mark.parametrize(
    ("who", "rule", "allowed"),
    [
        ("legal", "review_legal", True),
        ("steward", "review_legal", False),
        ("auditor", "review_legal", False),
        ("legal", "verify_documents", True),
        ("steward", "verify_documents", False),  # a steward cannot approve DUAs
        ("legal", "set_policy", False),  # a legal reviewer cannot edit policies
        ("steward", "set_policy", True),
        ("auditor", "set_policy", False),
        ("researcher", "edit_request", True),
        ("other", "edit_request", False),
        ("researcher", "view_request", True),
        ("other", "view_request", False),
        ("auditor", "view_request", True),
        ("researcher", "review_legal", False),
    ],
)
def test_object_rules(world: World, who: str, rule: str, allowed: bool) -> None:
    request = world.submitted()
    assert user_can(getattr(world, who), rule, request) is allowed


def test_legal_approver_loses_steward_rules(world: World) -> None:
    request = world.verified(world.submitted(), by=world.both)
    from governance import services

    services.request_approve_legal(request=request, acting_user=world.both, reason="ok")
    assert not user_can(world.both, "review_steward", request)
    assert not user_can(world.both, "set_policy", request)
    assert user_can(world.steward, "review_steward", request)


def test_inactive_and_anonymous_users_can_do_nothing(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    request = world.submitted()
    world.legal.is_active = False
    world.legal.save()
    assert not user_can(world.legal, "review_legal", request)
    assert not has_role(world.legal, Role.LEGAL_REVIEWER)
    assert not user_can(AnonymousUser(), "view_request", request)
    assert roles_of(AnonymousUser()) == set()


def test_visibility_by_organization(world: World) -> None:
    mine = world.submitted()
    theirs = world.draft(acting_user=world.other)
    assert set(selectors.requests_visible_to(user=world.researcher)) == {mine}
    assert set(selectors.requests_visible_to(user=world.other)) == {theirs}
    assert set(selectors.requests_visible_to(user=world.auditor)) == {mine, theirs}
    doc = mine.irb_approvals.get().document
    assert selectors.documents_visible_to(user=world.other).filter(pk=doc.pk).count() == 0


def test_recipients_see_only_their_published_releases(world: World) -> None:
    release = world.built()
    assert not selectors.releases_visible_to(user=world.researcher).exists()
    from governance import services

    services.release_approve(release=release, acting_user=world.steward, reason="ok")
    services.release_publish(release=release, acting_user=world.steward)
    assert list(selectors.releases_visible_to(user=world.researcher)) == [release]
    assert not selectors.releases_visible_to(user=world.other).exists()


def test_review_queue_per_role(world: World) -> None:
    request = world.submitted()
    assert [i.obj for i in selectors.review_queue(user=world.legal)] == [request]
    assert selectors.review_queue(user=world.steward) == []
    assert selectors.review_queue_counts(user=world.legal)["total"] == 1
    draft = world.draft()
    assert draft in [i.obj for i in selectors.review_queue(user=world.researcher)]


def test_two_factor_roles(world: World, rf: Any) -> None:
    from governance.admin_site import GovernanceAdminSite

    site = GovernanceAdminSite()
    req = rf.get("/admin/")
    for user, needs in ((world.legal, True), (world.steward, True), (world.auditor, False)):
        req.user = user
        user.is_verified = lambda: False
        assert site.has_permission(req) is (not needs)
        user.is_verified = lambda: True
        assert site.has_permission(req) is True


@pytest.mark.parametrize(
    ("who", "perm", "allowed"),
    [
        ("auditor", "audit.view_auditevent", True),
        ("auditor", "audit.view_auditcheckpoint", True),
        ("auditor", "audit.change_auditevent", False),
        ("auditor", "audit.delete_auditevent", False),
        ("legal", "audit.view_auditevent", False),
        ("steward", "audit.view_auditevent", False),
        ("researcher", "audit.view_auditevent", False),
    ],
)
def test_audit_log_permissions(world: World, who: str, perm: str, allowed: bool) -> None:
    user = getattr(world, who)
    user = type(user).objects.get(pk=user.pk)  # fresh permission cache
    assert user.has_perm(perm) is allowed


def test_ensure_role_groups_grants_the_audit_log_to_auditors_only(db: None) -> None:
    groups = ensure_role_groups()
    auditor = set(
        groups[Role.AUDITOR].permissions.values_list("content_type__app_label", "codename")
    )
    assert {("audit", "view_auditevent"), ("audit", "view_auditcheckpoint")} <= auditor
    for role, group in groups.items():
        if role != Role.AUDITOR:
            assert not group.permissions.filter(content_type__app_label="audit").exists(), role


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("steward", True),
        ("admin", True),
        ("legal", False),
        ("auditor", False),
        ("researcher", False),
    ],
)
def test_cancel_build_rule(world: World, who: str, allowed: bool) -> None:
    request = world.submitted()
    assert user_can(getattr(world, who), "cancel_build", request) is allowed
