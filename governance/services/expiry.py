"""The scheduled expiry pass: published releases past their term, or whose IRB approval or
DUA lapsed, become 'expired' (each audited by ``release_expire``); recipients whose access
ends within ``EXPIRY_NOTICE_DAYS`` are told once; the pass itself is audited as a job.

``manage.py governance_expire`` runs it and prints the outcome; it writes nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from governance.errors import GovernanceError
from governance.models import Membership, Release, ReleaseState, Role
from governance.services import notifications
from governance.services._common import record_system_job
from governance.services.releases import release_expire, release_expire_reason

__all__ = ["EXPIRY_NOTICE_DAYS", "ExpiryPass", "releases_expire_due"]

EXPIRY_NOTICE_DAYS = 30


@dataclass
class ExpiryPass:
    """What one pass did (or, in a dry run, would do): (release id, why) per release."""

    expired: list[tuple[int, str]] = field(default_factory=list)
    would_expire: list[tuple[int, str]] = field(default_factory=list)
    told_expiring: list[tuple[int, datetime]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # changed meanwhile


def releases_expire_due(*, now: datetime, dry_run: bool = False) -> ExpiryPass:
    """Expire what is due at ``now``; ``dry_run`` changes, tells and audits nothing."""
    done = ExpiryPass()
    published = Release.objects.filter(state=ReleaseState.PUBLISHED).select_related(
        "request", "recipient"
    )
    for release in published:
        why = release_expire_reason(release, now)
        if why is None:
            ends = release.expires_at
            if (
                ends is not None
                and ends <= now + timedelta(days=EXPIRY_NOTICE_DAYS)
                and not dry_run
            ):
                with transaction.atomic():
                    if notifications.on_release_expiring(release):
                        done.told_expiring.append((release.pk, ends))
            continue
        if dry_run:
            done.would_expire.append((release.pk, why))
            continue
        try:
            release_expire(release=release, now=now)
        except GovernanceError as exc:  # changed meanwhile (revoked, already expired)
            done.skipped.append((release.pk, str(exc)))
            continue
        done.expired.append((release.pk, why))
        _mail_expired(release, why)
    if not dry_run:
        record_system_job(
            "governance_expire",
            object_type="governance.release",
            details={"expired": [pk for pk, _ in done.expired]},
        )
    return done


def _mail_expired(release: Release, why: str) -> None:
    """Tell the recipient's requesters that access ended and copies must be destroyed."""
    emails = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(
                organization=release.recipient, role=Role.REQUESTER
            ).select_related("user")
            if m.user.email
        }
    )
    if not emails:
        return
    send_mail(
        subject=f"Release #{release.pk} has expired",
        message=(
            f"Access to release #{release.pk} ({release.request.title}) ended: {why}.\n"
            "Downloads have stopped. Under your data-use agreement, destroy your copies and "
            "attest their destruction."
        ),
        from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
        recipient_list=emails,
        fail_silently=True,
    )
