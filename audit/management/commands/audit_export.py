"""``manage.py audit_export``: events in a time range as JSON Lines or CSV."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.export import EXPORT_FORMATS, export_events_audited


def parse_when(text: str | None, option: str) -> datetime | None:
    """An ISO date or date-time; naive values are in the project's TIME_ZONE."""
    if not text:
        return None
    value = parse_datetime(text)
    if value is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(
                f"{option}: expected an ISO date or date-time such as 2026-11-29 or "
                f"2026-11-29T10:00:00+09:00, got {text!r}"
            )
        value = datetime.combine(day, time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


class _Passthrough:
    """A text sink writing to the command's stdout without adding line endings."""

    def __init__(self, wrapper: Any) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> int:
        self._wrapper.write(text, ending="")
        return len(text)


class Command(BaseCommand):
    help = (
        "Export audit events with SINCE <= time < UNTIL as JSON Lines (exact, for "
        "recomputing hashes) or CSV (formula-injection guarded, for spreadsheets). "
        "The export itself is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="ISO date or date-time (inclusive)")
        parser.add_argument("--until", help="ISO date or date-time (exclusive)")
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="jsonl")
        parser.add_argument("--out", metavar="FILE", help="default: standard output")
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        since = parse_when(options["since"], "--since")
        until = parse_when(options["until"], "--until")
        if since and until and since >= until:
            raise CommandError(f"--since ({since}) must be before --until ({until})")
        fmt = options["format"]
        out_path = Path(options["out"]) if options["out"] else None
        handle: Any
        if out_path is not None:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            handle = out_path.open("w", encoding="utf-8", newline="")
        else:
            handle = _Passthrough(self.stdout)
        try:
            count, _first, _last = export_events_audited(
                handle,
                fmt=fmt,
                since=since,
                until=until,
                using=options["database"],
                destination="file" if out_path else "stdout",
            )
        finally:
            if out_path is not None:
                handle.close()
        if out_path is not None:
            self.stderr.write(f"{count} events written to {out_path}")
