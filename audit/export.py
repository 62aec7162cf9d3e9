"""Exports of the audit log for outside auditors (JSON Lines or CSV).

JSON Lines keep every field exactly as hashed (``details_json`` is the
canonical text that entered the hash; ``details`` is the same, parsed, for
reading), so an auditor can recompute each hash with the recipe in
``audit/canonical.py`` and check the export against a signed checkpoint.

CSV is for reading in a spreadsheet. Cells that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return,
or their full-width forms) are prefixed with a single quote, so CSV cells
are not byte-exact: recompute hashes from JSON Lines.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from django.db import DEFAULT_DB_ALIAS

from audit.canonical import format_time
from audit.models import AuditEvent
from audit.verify import COLUMNS

__all__ = [
    "EXPORT_FORMATS",
    "csv_safe",
    "export_events",
    "export_events_audited",
    "iter_event_rows",
]

EXPORT_FORMATS = ("jsonl", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def csv_safe(value: Any) -> Any:
    """Neutralize a cell a spreadsheet would evaluate (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def iter_event_rows(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
    chunk_size: int = 5_000,
) -> Iterator[dict[str, Any]]:
    """Events with ``since <= time < until`` in seq order, as plain dicts."""
    events = AuditEvent.objects.using(using).order_by("seq")
    if since is not None:
        events = events.filter(time__gte=since)
    if until is not None:
        events = events.filter(time__lt=until)
    for row in events.values_list(*COLUMNS).iterator(chunk_size=chunk_size):
        record = dict(zip(COLUMNS, row, strict=True))
        record["time"] = format_time(record["time"])
        yield record


def export_events(
    out: IO[str],
    *,
    fmt: str,
    since: datetime | None = None,
    until: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[int, int | None, int | None]:
    """Write the events to ``out``; return (count, first seq, last seq)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    count = 0
    first: int | None = None
    last: int | None = None
    writer = None
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
    for record in iter_event_rows(since=since, until=until, using=using):
        if writer is not None:
            writer.writerow([csv_safe(record[name]) for name in COLUMNS])
        else:
            line = {"v": 1, **record, "details": json.loads(record["details_json"])}
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
        first = record["seq"] if first is None else first
        last = record["seq"]
    return count, first, last


def export_events_audited(
    out: IO[str],
    *,
    fmt: str,
    since: datetime | None = None,
    until: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
    destination: str,
    system: str = "audit_export",
) -> tuple[int, int | None, int | None]:
    """:func:`export_events`, then the export itself appended to the log (``audit.exported``:
    the range, the format, where it went); what ``manage.py audit_export`` runs."""
    from audit.actions import AuditAction
    from audit.services import Actor, record_event

    count, first, last = export_events(out, fmt=fmt, since=since, until=until, using=using)
    record_event(
        action=AuditAction.AUDIT_EXPORTED,
        actor=Actor.system(system),
        object_type="audit.auditevent",
        object_id=f"{first}-{last}" if count else "none",
        details={
            "format": fmt,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "events": count,
            "first_seq": first,
            "last_seq": last,
            "destination": destination,
        },
        using=using,
    )
    return count, first, last
