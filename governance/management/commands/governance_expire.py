"""Expire published releases whose access period ended or whose IRB approval / DUA lapsed.

Run it on a schedule (cron, or a django-q schedule). Downloads stop at once anyway (checked at
download time); this command makes the state explicit, audits it, and notifies the recipient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance import services
from governance.errors import GovernanceError
from governance.models import Membership, Release, ReleaseState, Role
from governance.services import notifications

EXPIRY_NOTICE_DAYS = 30


class Command(BaseCommand):
    help = "Move releases past their term (or with a lapsed IRB approval / DUA) to expired."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List, change nothing.")
        parser.add_argument("--now", help="Judge at this ISO time instead of now (testing).")

    def handle(self, *args: Any, **options: Any) -> None:
        now: datetime = timezone.now()
        if options.get("now"):
            parsed = parse_datetime(options["now"])
            if parsed is None:
                raise CommandError(f"--now {options['now']!r} is not an ISO date-time")
            now = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        expired: list[int] = []
        for release in Release.objects.filter(state=ReleaseState.PUBLISHED).select_related(
            "request", "recipient"
        ):
            why = services.release_expire_reason(release, now)
            if why is None:
                soon = release.expires_at is not None and release.expires_at <= now + timedelta(
                    days=EXPIRY_NOTICE_DAYS
                )
                if soon and not options["dry_run"]:
                    with transaction.atomic():
                        if notifications.on_release_expiring(release):
                            self.stdout.write(
                                f"release #{release.pk} expires on {release.expires_at:%Y-%m-%d}: "
                                "recipient told"
                            )
                continue
            if options["dry_run"]:
                self.stdout.write(f"would expire release #{release.pk}: {why}")
                continue
            try:
                services.release_expire(release=release, now=now)
            except GovernanceError as exc:  # changed meanwhile (revoked, already expired)
                self.stderr.write(f"release #{release.pk}: {exc}")
                continue
            expired.append(release.pk)
            self.stdout.write(f"expired release #{release.pk} ({release.recipient}): {why}")
            self._notify(release, why)
        if not options["dry_run"]:
            with transaction.atomic():
                record_event(
                    action=AuditAction.SYSTEM_JOB,
                    actor=Actor.system("governance_expire"),
                    object_type="governance.release",
                    object_id="*",
                    details={"job": "governance_expire", "expired": expired},
                )
        self.stdout.write(f"{len(expired)} release(s) expired.")

    def _notify(self, release: Release, why: str) -> None:
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
