"""``manage.py governance_schedules``: create (or refresh) the scheduled jobs, idempotently.

The django-q2 cluster (``manage.py qcluster``, the same worker that runs release builds) runs
them; the schedules live in the database (``django_q.models.Schedule``), one row per name:

===========================  ==========  ================================================
name                         every       runs
===========================  ==========  ================================================
``deid:governance_expire``   day         ``manage.py governance_expire`` (expire releases)
``deid:audit_checkpoint``    hour        ``manage.py audit_checkpoint`` (sign the head)
``deid:documents_sweep``     day         ``manage.py governance_documents_sweep``
                                         (files of rolled-back uploads)
``deid:audit_seal``          minute      ``manage.py audit_seal`` (audit events a process
                                         left pending at exit: batched sequencer)
===========================  ==========  ================================================

Running the command again changes nothing but a drifted definition (function, arguments,
interval); it never adds a second row and keeps the next run time of an existing schedule.

    manage.py governance_schedules            # create or refresh
    manage.py governance_schedules --list     # show what is scheduled
    manage.py governance_schedules --remove   # delete these schedules (others untouched)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    command: str
    schedule_type: str  # a django_q Schedule type code
    minutes: int | None = None  # for Schedule.MINUTES

    @property
    def func(self) -> str:
        return "django.core.management.call_command"

    @property
    def args(self) -> str:
        # django-q evaluates ``args`` with ast.literal_eval; a single value becomes (value,).
        return repr(self.command)


def schedule_specs() -> list[ScheduleSpec]:
    from django_q.models import Schedule

    return [
        ScheduleSpec("deid:governance_expire", "governance_expire", Schedule.DAILY),
        ScheduleSpec("deid:audit_checkpoint", "audit_checkpoint", Schedule.HOURLY),
        ScheduleSpec("deid:documents_sweep", "governance_documents_sweep", Schedule.DAILY),
        ScheduleSpec("deid:audit_seal", "audit_seal", Schedule.MINUTES, minutes=1),
    ]


def ensure_schedules() -> dict[str, str]:
    """Create or refresh every schedule; return ``{name: "created" | "updated" | "unchanged"}``."""
    from django_q.models import Schedule

    outcome: dict[str, str] = {}
    with transaction.atomic():
        for spec in schedule_specs():
            rows = list(Schedule.objects.select_for_update().filter(name=spec.name).order_by("pk"))
            # Duplicates (made by hand in the admin) would run the job twice: keep the first.
            for extra in rows[1:]:
                extra.delete()
            wanted = {
                "func": spec.func,
                "args": spec.args,
                "kwargs": None,
                "schedule_type": spec.schedule_type,
                "minutes": spec.minutes,
                "repeats": -1,
            }
            if not rows:
                Schedule.objects.create(name=spec.name, next_run=timezone.now(), **wanted)
                outcome[spec.name] = "created"
                continue
            row = rows[0]
            changed = [field for field, value in wanted.items() if getattr(row, field) != value]
            if changed or len(rows) > 1:
                for field in changed:
                    setattr(row, field, wanted[field])
                row.save()
                outcome[spec.name] = "updated"
            else:
                outcome[spec.name] = "unchanged"
    return outcome


def remove_schedules() -> int:
    from django_q.models import Schedule

    deleted, _ = Schedule.objects.filter(name__in=[s.name for s in schedule_specs()]).delete()
    return int(deleted)


class Command(BaseCommand):
    help = (
        "Create or refresh the scheduled jobs (governance_expire daily, audit_checkpoint hourly,"
        " governance_documents_sweep daily, audit_seal every minute)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--list", action="store_true", help="Show the schedules, change none.")
        group.add_argument("--remove", action="store_true", help="Delete these schedules.")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_q.models import Schedule

        if options["remove"]:
            self.stdout.write(f"removed {remove_schedules()} schedule(s)")
            return
        if not options["list"]:
            for name, what in ensure_schedules().items():
                self.stdout.write(f"{name}: {what}")
        names = [s.name for s in schedule_specs()]
        for row in Schedule.objects.filter(name__in=names).order_by("name"):
            when = row.next_run.isoformat(timespec="minutes") if row.next_run else "not planned"
            self.stdout.write(
                f"  {row.name}: {row.func}({row.args}) every {row.get_schedule_type_display()},"
                f" next run {when}"
            )
