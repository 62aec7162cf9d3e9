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

from django.core.files.storage import Storage
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.models import Document

FOLDER = "documents"


def _walk(storage: Storage, folder: str) -> list[str]:
    try:
        dirs, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for sub in dirs:
        names.extend(_walk(storage, f"{folder}/{sub}"))
    return names


def orphan_documents(*, older_than: timedelta) -> list[str]:
    """Storage names under ``documents/`` that no ``Document`` names, older than ``older_than``."""
    storage = Document._meta.get_field("file").storage
    cutoff = timezone.now() - older_than
    stored = _walk(storage, FOLDER)
    if not stored:
        return []
    known = set(Document.objects.filter(file__in=stored).values_list("file", flat=True))
    return sorted(
        name for name in stored if name not in known and storage.get_modified_time(name) < cutoff
    )


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
        storage = Document._meta.get_field("file").storage
        orphans = orphan_documents(older_than=timedelta(minutes=max(0, options["older_than"])))
        for name in orphans:
            if options["dry_run"]:
                self.stdout.write(f"would remove {name}")
                continue
            storage.delete(name)
            self.stdout.write(f"removed {name}")
        if not options["dry_run"]:
            with transaction.atomic():
                record_event(
                    action=AuditAction.SYSTEM_JOB,
                    actor=Actor.system("governance_documents_sweep"),
                    object_type="governance.document",
                    object_id="*",
                    details={"job": "governance_documents_sweep", "removed": len(orphans)},
                )
        self.stdout.write(f"{len(orphans)} orphan document file(s).")
