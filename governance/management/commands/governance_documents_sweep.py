"""``manage.py governance_documents_sweep``: remove stored document files that no row names.

``services.document_create`` writes the file before its row commits. When the services' own
transaction fails they delete the file at once; this sweep is the safety net for the rest: a
caller's enclosing transaction that rolled back after the service returned (e.g. the API's
``file_request``), or a process killed between the write and the commit. Only files older
than ``--older-than`` minutes are removed, so an upload whose transaction is still open is
never touched. Scheduled daily by ``manage.py governance_schedules``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.services.documents import documents_sweep


class Command(BaseCommand):
    help = "Remove document files in storage that no Document row names (rolled-back uploads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=60,
            metavar="MINUTES",
            help="Only files last written more than this many minutes ago (default 60).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List, delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = timedelta(minutes=max(0, options["older_than"]))
        orphans = documents_sweep(older_than=older_than, dry_run=options["dry_run"])
        verb = "would remove" if options["dry_run"] else "removed"
        for name in orphans:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{len(orphans)} orphan document file(s).")
