"""Expire published releases whose access period ended or whose IRB approval / DUA lapsed.

Run it on a schedule (cron, or a django-q schedule). Downloads stop at once anyway (checked at
download time); this command makes the state explicit, audits it, and notifies the recipient.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from governance.services.expiry import releases_expire_due


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
        result = releases_expire_due(now=now, dry_run=options["dry_run"])
        for pk, ends in result.told_expiring:
            self.stdout.write(f"release #{pk} expires on {ends:%Y-%m-%d}: recipient told")
        for pk, why in result.would_expire:
            self.stdout.write(f"would expire release #{pk}: {why}")
        for pk, problem in result.skipped:
            self.stderr.write(f"release #{pk}: {problem}")
        for pk, why in result.expired:
            self.stdout.write(f"expired release #{pk}: {why}")
        self.stdout.write(f"{len(result.expired)} release(s) expired.")
