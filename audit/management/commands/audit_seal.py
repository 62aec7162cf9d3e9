"""``manage.py audit_seal``: seal the pending audit events (batched sequencer) now.

Each process seals what it appends right after the commit; this is the safety net for
events a process left behind when it exited (scheduled every minute by
``governance_schedules``). Prints how many were sealed and what is still pending.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.sequencer import pending_events, seal_pending


class Command(BaseCommand):
    help = "Seal the pending audit events into the chain (batched sequencer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = seal_pending(using=options["database"])
        left, age = pending_events(options["database"])
        oldest = f" (oldest {age:.0f} s)" if age is not None else ""
        self.stdout.write(f"sealed {sealed} pending audit event(s); {left} still pending{oldest}")
