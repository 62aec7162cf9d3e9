"""Tell whoever must act next: a notification row (read in the admin and the portal) and an
e-mail through Django's mail framework (the demo writes mail files under ``var/mail/``).

Called by the services inside their transaction: the rows commit (or roll back) with
the transition; the e-mails go after the commit (``transaction.on_commit``), so a
rolled-back decision sends nothing. A failing mail server never undoes a decision:
the row stays, marked not e-mailed, and the failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from governance.models import (
    DataAccessRequest,
    Membership,
    Notification,
    NotificationKind,
    Release,
    Role,
)

__all__ = [
    "mark_read",
    "notify",
    "on_policy_needed",
    "on_release_published",
    "on_release_revoked",
    "on_request_changes",
    "on_request_decided",
    "on_request_submitted",
    "unread_for",
]

log = logging.getLogger(__name__)


def _object_type(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def notify(
    *,
    users: Iterable[Any],
    kind: str,
    subject: str,
    body: str,
    url: str,
    about: models.Model,
) -> list[Notification]:
    """One notification per user (active users only); e-mails after the commit."""
    rows = [
        Notification.objects.create(
            user=user,
            kind=kind,
            subject=subject[:300],
            body=body,
            url=url,
            object_type=_object_type(about),
            object_id=str(about.pk),
        )
        for user in {u.pk: u for u in users if getattr(u, "is_active", False)}.values()
    ]
    ids = [n.pk for n in rows]
    if ids:
        transaction.on_commit(lambda: _send(ids))
    return rows


def _send(ids: list[int]) -> None:
    for n in Notification.objects.filter(pk__in=ids).select_related("user"):
        if not n.user.email:
            continue
        try:
            send_mail(n.subject, f"{n.body}\n\n{n.url}", None, [n.user.email])
        except Exception:  # the decision stands; the row is the record
            log.exception("notification %s: e-mail to user %s failed", n.pk, n.user_id)
            continue
        Notification.objects.filter(pk=n.pk).update(emailed=True)


def unread_for(user: Any) -> models.QuerySet[Notification]:
    return Notification.objects.filter(user=user, read_at__isnull=True)


def mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    qs = unread_for(user)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


# --- Who acts next ----------------------------------------------------------------------------


def _with_role(role: str) -> list[Any]:
    User = get_user_model()
    return list(User.objects.filter(memberships__role=role, is_active=True).distinct())


def _requesters(request: DataAccessRequest) -> list[Any]:
    User = get_user_model()
    ids = Membership.objects.filter(
        organization_id=request.recipient_id, role=Role.REQUESTER
    ).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True))


def _admin_url(obj: models.Model, suffix: str = "review/") -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/{suffix}"


def _in_english() -> Any:
    # Stored text is English; pages translate the kind's label for the reader.
    return translation.override("en")


def on_request_submitted(request: DataAccessRequest, *, resubmitted: bool = False) -> None:
    with _in_english():
        subject = _("Request #%(pk)s %(what)s: %(title)s") % {
            "pk": request.pk,
            "what": _("resubmitted") if resubmitted else _("submitted"),
            "title": request.title,
        }
        body = _("%(org)s asks for data. Review the IRB approval, the DUA and the purpose.") % {
            "org": request.recipient
        }
    notify(
        users=_with_role(Role.LEGAL_REVIEWER),
        kind=NotificationKind.REQUEST_SUBMITTED,
        subject=subject,
        body=body,
        url=_admin_url(request),
        about=request,
    )


def on_request_changes(request: DataAccessRequest, reason: str) -> None:
    with _in_english():
        subject = _("Changes requested on request #%(pk)s") % {"pk": request.pk}
    notify(
        users=_requesters(request),
        kind=NotificationKind.CHANGES_REQUESTED,
        subject=subject,
        body=reason,
        url=f"/portal/requests/{request.pk}/",
        about=request,
    )


def on_request_decided(request: DataAccessRequest, verdict: str, reason: str) -> None:
    with _in_english():
        subject = _("Request #%(pk)s: %(verdict)s") % {"pk": request.pk, "verdict": verdict}
    notify(
        users=_requesters(request),
        kind=NotificationKind.REQUEST_DECIDED,
        subject=subject,
        body=reason,
        url=f"/portal/requests/{request.pk}/",
        about=request,
    )


def on_policy_needed(request: DataAccessRequest) -> None:
    with _in_english():
        subject = _("Request #%(pk)s needs its de-identification policy") % {"pk": request.pk}
    notify(
        users=_with_role(Role.DATA_STEWARD),
        kind=NotificationKind.POLICY_NEEDED,
        subject=subject,
        body=request.title,
        url=_admin_url(request),
        about=request,
    )


def on_release_published(release: Release) -> None:
    with _in_english():
        subject = _("Release #%(pk)s is published for %(org)s") % {
            "pk": release.pk,
            "org": release.recipient,
        }
    notify(
        users=_requesters(release.request),
        kind=NotificationKind.RELEASE_PUBLISHED,
        subject=subject,
        body=release.request.title,
        url=f"/portal/releases/{release.pk}/",
        about=release,
    )


def on_release_revoked(release: Release, reason: str) -> None:
    with _in_english():
        subject = _("Release #%(pk)s was revoked") % {"pk": release.pk}
    notify(
        users=_requesters(release.request),
        kind=NotificationKind.RELEASE_REVOKED,
        subject=subject,
        body=reason,
        url=f"/portal/releases/{release.pk}/",
        about=release,
    )


def on_release_expiring(release: Release) -> bool:
    """Once per release: tell the recipient 30 days ahead. True if told now."""
    if Notification.objects.filter(
        kind=NotificationKind.RELEASE_EXPIRING,
        object_type=_object_type(release),
        object_id=str(release.pk),
    ).exists():
        return False
    with _in_english():
        subject = _("Release #%(pk)s expires on %(day)s") % {
            "pk": release.pk,
            "day": timezone.localtime(release.expires_at).date() if release.expires_at else "?",
        }
    notify(
        users=_requesters(release.request),
        kind=NotificationKind.RELEASE_EXPIRING,
        subject=subject,
        body=_("Renew the access with a progress report, or attest the destruction of copies."),
        url=f"/portal/releases/{release.pk}/",
        about=release,
    )
    return True
