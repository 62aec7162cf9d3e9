"""Recompute the chain and say exactly where and how it was damaged.

The events are streamed in ``seq`` order and each is checked against three
expectations: its ``seq`` follows the previous one, its ``prev_hash`` is the
previous event's hash, and its ``hash`` is the hash of its own contents. At
the first event that fails, a small window around it is examined to name the
kind of damage:

==============  ==========================================================  =============
kind            evidence                                                    reported seq
==============  ==========================================================  =============
``deleted``     a gap in ``seq``; or the event's contents verify only with  first missing
                a later ``seq`` (the rows after a deletion were renumbered)
``inserted``    an event links to the one *before* its predecessor (the     the forged one
                predecessor is foreign); or rows beyond the recorded head
``reordered``   an event links to an event that comes *later* in the chain  first moved
``edited``      an event's contents no longer match its hash, or an intact  the edited one
                event no longer links to a rehashed predecessor
``truncated``   the chain ends below the recorded head or a signed          first missing
                checkpoint
``rewritten``   the chain is internally consistent but a signed checkpoint  the checkpoint
                names another hash at its seq (events were rehashed)
``forged_checkpoint``  a checkpoint's signature or key is not valid         its seq
==============  ==========================================================  =============

An export (``verify_export``) has no head row: an undamaged export is only
``ok`` when a trusted checkpoint signs its last event; otherwise the report is
``unanchored`` (``audit_verify --export`` exits 3), because a forged export
links up as well as a real one and a truncated one leaves nothing missing.

The chain head row and the checkpoints are read in the same snapshot as the
events (REPEATABLE READ on PostgreSQL), so concurrent appends do not look
like damage.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet

from audit.canonical import EVENT_COLUMNS, GENESIS_HASH, parse_time, row_event_hash
from audit.checkpoints import Checkpoint, signature_problem, stored_checkpoints
from audit.models import AuditChainHead, AuditEvent
from audit.sequencer import pending_events

__all__ = [
    "Damage",
    "DamageKind",
    "VerificationReport",
    "row_hash",
    "verify_chain",
    "verify_export",
]

COLUMNS = EVENT_COLUMNS
SEQ, PREV, HASH = COLUMNS.index("seq"), COLUMNS.index("prev_hash"), COLUMNS.index("hash")
# How far ahead of a damaged event to look for its moved neighbours.
LOOKAHEAD = 1000

Row = tuple[Any, ...]


class DamageKind(enum.StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    REWRITTEN = "rewritten"
    FORGED_CHECKPOINT = "forged_checkpoint"


@dataclass(frozen=True)
class Damage:
    kind: DamageKind
    seq: int
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind.value}: {self.detail}"


@dataclass(frozen=True)
class VerificationReport:
    events: int
    last_seq: int
    last_hash: str
    head_seq: int | None
    checkpoints_checked: int
    problems: tuple[Damage, ...] = field(default=())
    # Events appended but not yet sealed (batched sequencer) and the oldest one's age (s):
    # not part of the chain yet, not damage; a growing age means no sealer is running.
    pending: int = 0
    pending_age_seconds: float | None = None
    # Exports only: why an undamaged export still proves nothing about the real log
    # (no trusted checkpoint at its end). None when anchored (and always for the database,
    # whose head row and checkpoints anchor the chain).
    unanchored: str | None = None

    @property
    def ok(self) -> bool:
        """No damage and, for an export, anchored by a trusted checkpoint at its end."""
        return not self.problems and self.unanchored is None

    @property
    def first(self) -> Damage | None:
        return self.problems[0] if self.problems else None


def row_hash(row: Row, *, seq: int | None = None) -> str:
    """The hash an event row should carry (optionally as if it had sequence ``seq``)."""
    if seq is None:
        return row_event_hash(*row[:HASH])
    return row_event_hash(seq, *row[1:HASH])


def _diagnose(
    row: Row,
    expected_seq: int,
    expected_prev: str,
    prev: Row | None,
    prev_prev: Row | None,
    fetch_after: Callable[[int, int], list[Row]],
) -> Damage:
    """Name the damage at ``row``, the first event that failed a check."""
    seq = int(row[SEQ])
    if seq > expected_seq:
        missing = seq - expected_seq
        return Damage(
            DamageKind.DELETED,
            expected_seq,
            f"{missing} event(s) missing: seq {expected_seq}..{seq - 1} are absent",
        )
    if seq < expected_seq:  # only in files: the database returns rows sorted by seq
        return Damage(
            DamageKind.REORDERED, seq, f"event {seq} appears after event {expected_seq - 1}"
        )
    content_ok = row_hash(row) == row[HASH]
    link_ok = row[PREV] == expected_prev
    if link_ok and not content_ok:
        return Damage(
            DamageKind.EDITED, seq, "the event's contents no longer match its stored hash"
        )
    # The link is broken.
    before_prev = prev_prev[HASH] if prev_prev is not None else GENESIS_HASH
    if prev is not None and row[PREV] == before_prev:
        return Damage(
            DamageKind.INSERTED,
            int(prev[SEQ]),
            f"event {prev[SEQ]} is foreign: event {seq} links past it to its predecessor",
        )
    later = fetch_after(seq, LOOKAHEAD)
    for other in later:
        if other[HASH] == row[PREV]:
            return Damage(
                DamageKind.REORDERED,
                seq,
                f"event at seq {seq} links to the event now at seq {other[SEQ]}, which comes "
                "after it: events were moved",
            )
    if content_ok:
        where = int(prev[SEQ]) if prev is not None else seq
        return Damage(
            DamageKind.EDITED,
            where,
            f"event {where} was rewritten: its hash is no longer the one event {seq} links to",
        )
    for shift in range(1, LOOKAHEAD + 1):
        if row_hash(row, seq=seq + shift) == row[HASH]:
            return Damage(
                DamageKind.DELETED,
                seq,
                f"{shift} event(s) deleted before this one and the later events renumbered "
                f"(this event was seq {seq + shift})",
            )
        if seq - shift >= 1 and row_hash(row, seq=seq - shift) == row[HASH]:
            return Damage(
                DamageKind.INSERTED,
                seq - shift,
                f"{shift} foreign event(s) inserted at seq {seq - shift}..{seq - 1} and the "
                f"later events renumbered (this event was seq {seq - shift})",
            )
    return Damage(
        DamageKind.EDITED,
        seq,
        "the event neither matches its stored hash nor links to its predecessor",
    )


def _sealed(using: str) -> QuerySet[AuditEvent]:
    """The chain (pending events, batched sequencer, are in a table of their own)."""
    return AuditEvent.objects.using(using).all()


def _stream(using: str, chunk_size: int) -> Iterator[Row]:
    return _sealed(using).order_by("seq").values_list(*COLUMNS).iterator(chunk_size=chunk_size)


def _fetch_after(using: str) -> Callable[[int, int], list[Row]]:
    def fetch(seq: int, limit: int) -> list[Row]:
        return list(
            _sealed(using).filter(seq__gt=seq).order_by("seq").values_list(*COLUMNS)[:limit]
        )

    return fetch


def _walk(
    rows: Iterable[Row],
    fetch_after: Callable[[int, int], list[Row]],
    *,
    wanted: set[int],
    progress: Callable[[int], None] | None = None,
    start: tuple[int, str] | None = None,
) -> tuple[list[Damage], int, Row | None, dict[int, str]]:
    """Check rows in order; stop at the first damage. ``start`` = (first seq, its prev_hash)
    for a partial export; default (1, genesis)."""
    problems: list[Damage] = []
    expected_seq, expected_prev = start if start is not None else (1, GENESIS_HASH)
    prev: Row | None = None
    prev_prev: Row | None = None
    seen_hashes: dict[int, str] = {}
    count = 0
    for row in rows:
        seq = row[SEQ]
        if (
            seq != expected_seq
            or row[PREV] != expected_prev
            or row_event_hash(*row[:HASH]) != row[HASH]
        ):
            problems.append(
                _diagnose(row, expected_seq, expected_prev, prev, prev_prev, fetch_after)
            )
            break
        if seq in wanted:
            seen_hashes[seq] = row[HASH]
        count += 1
        if progress is not None and count % 100_000 == 0:
            progress(count)
        prev_prev, prev = prev, row
        expected_seq = seq + 1
        expected_prev = row[HASH]
    return problems, count, prev, seen_hashes


def verify_chain(
    *,
    using: str = DEFAULT_DB_ALIAS,
    checkpoints: Sequence[Checkpoint] = (),
    trusted_keys: Sequence[Ed25519PublicKey] = (),
    include_stored_checkpoints: bool = True,
    chunk_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Recompute the whole chain, check the head row and every checkpoint.

    ``checkpoints`` are extra checkpoints (from files kept outside); those in
    the database are added unless ``include_stored_checkpoints`` is False.
    Their signatures are checked against ``trusted_keys``; with no trusted key
    every checkpoint is reported as forged.
    """
    connection = connections[using]
    outer_transaction = connection.in_atomic_block
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql" and not outer_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        head = AuditChainHead.objects.using(using).filter(pk=AuditChainHead.SINGLETON_ID).first()
        pending, pending_age = pending_events(using)
        all_checkpoints = list(checkpoints)
        if include_stored_checkpoints:
            all_checkpoints = stored_checkpoints(using) + all_checkpoints
        wanted = {cp.seq for cp in all_checkpoints}
        walk = _walk(
            _stream(using, chunk_size),
            _fetch_after(using),
            wanted=wanted,
            progress=progress,
        )
        problems, count, prev, seen_hashes = walk
        chain_broken = bool(problems)
        last_seq = int(prev[SEQ]) if prev is not None else 0
        last_hash = str(prev[HASH]) if prev is not None else GENESIS_HASH

        if not chain_broken:
            problems.extend(_check_head(head, last_seq, last_hash))
        problems.extend(
            _check_checkpoints(
                all_checkpoints, trusted_keys, seen_hashes, last_seq, chain_broken=chain_broken
            )
        )
    problems.sort(key=lambda d: (d.seq, d.kind != DamageKind.FORGED_CHECKPOINT))
    return VerificationReport(
        events=count,
        last_seq=last_seq,
        last_hash=last_hash,
        head_seq=head.seq if head is not None else None,
        checkpoints_checked=len(all_checkpoints),
        problems=tuple(problems),
        pending=pending,
        pending_age_seconds=pending_age,
    )


def _check_head(head: AuditChainHead | None, last_seq: int, last_hash: str) -> list[Damage]:
    if head is None:
        return [Damage(DamageKind.DELETED, 0, "the chain head row is missing")]
    if head.seq > last_seq:
        return [
            Damage(
                DamageKind.TRUNCATED,
                last_seq + 1,
                f"the chain ends at seq {last_seq} but the head records seq {head.seq}",
            )
        ]
    if head.seq < last_seq:
        return [
            Damage(
                DamageKind.INSERTED,
                head.seq + 1,
                f"events {head.seq + 1}..{last_seq} lie beyond the recorded head (seq {head.seq})",
            )
        ]
    if head.hash != last_hash:
        return [
            Damage(
                DamageKind.REWRITTEN,
                last_seq,
                "the last event's hash differs from the one the head recorded",
            )
        ]
    return []


def _check_checkpoints(
    checkpoints: Sequence[Checkpoint],
    trusted_keys: Sequence[Ed25519PublicKey],
    seen_hashes: dict[int, str],
    last_seq: int,
    *,
    chain_broken: bool,
) -> list[Damage]:
    problems: list[Damage] = []
    good_seqs: list[int] = []
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        where = cp.source or "checkpoint"
        problem = signature_problem(cp, trusted_keys)
        if problem is not None:
            problems.append(
                Damage(DamageKind.FORGED_CHECKPOINT, cp.seq, f"{where} (seq {cp.seq}): {problem}")
            )
            continue
        if cp.seq > last_seq:
            if not chain_broken:
                problems.append(
                    Damage(
                        DamageKind.TRUNCATED,
                        last_seq + 1,
                        f"the chain ends at seq {last_seq}, below the signed {where} "
                        f"at seq {cp.seq} ({cp.time})",
                    )
                )
            continue
        actual = seen_hashes.get(cp.seq)
        if actual is None:
            continue  # beyond the first damage: already reported
        if actual != cp.hash:
            after = max((s for s in good_seqs if s < cp.seq), default=0)
            problems.append(
                Damage(
                    DamageKind.REWRITTEN,
                    cp.seq,
                    f"the signed {where} names hash {cp.hash[:16]}... at seq {cp.seq} but "
                    f"the chain has {actual[:16]}...: events after seq {after} and at or "
                    f"before seq {cp.seq} were rewritten",
                )
            )
        else:
            good_seqs.append(cp.seq)
    return problems


def verify_export(
    records: Sequence[Mapping[str, Any]],
    *,
    checkpoints: Sequence[Checkpoint] = (),
    trusted_keys: Sequence[Ed25519PublicKey] = (),
) -> VerificationReport:
    """Verify a JSON Lines export (parsed records) without the database.

    An export that starts at seq 1 is checked from the genesis hash; a partial
    one from its first event's ``prev_hash``. Only checkpoints inside the
    exported range are checked. Recomputing the hashes shows the export is
    self-consistent, not that it is the real log: a forged export is
    self-consistent too, and a truncated one loses nothing that could be
    missed. So an undamaged export is ``ok`` only when a trusted checkpoint
    signs its last event; otherwise ``unanchored`` says what is and is not
    vouched for (a checkpoint at seq s vouches for every event up to s, a
    genesis start only for the first event's link).
    """
    rows: list[Row] = []
    for index, record in enumerate(records):
        try:
            rows.append(tuple(parse_time(record[c]) if c == "time" else record[c] for c in COLUMNS))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"export record {index + 1}: {exc!r} (expected {COLUMNS})") from None
    by_position = {row[SEQ]: i for i, row in enumerate(rows)}

    def fetch_after(seq: int, limit: int) -> list[Row]:
        position = by_position.get(seq)
        return rows[position + 1 : position + 1 + limit] if position is not None else []

    start = (int(rows[0][SEQ]), str(rows[0][PREV])) if rows and rows[0][SEQ] != 1 else None
    wanted = {cp.seq for cp in checkpoints}
    problems, count, prev, seen_hashes = _walk(rows, fetch_after, wanted=wanted, start=start)
    chain_broken = bool(problems)
    last_seq = int(prev[SEQ]) if prev is not None else 0
    first_seq = int(rows[0][SEQ]) if rows else 0
    final_seq = int(rows[-1][SEQ]) if rows else 0
    in_range = [cp for cp in checkpoints if first_seq <= cp.seq <= final_seq]
    problems.extend(
        _check_checkpoints(in_range, trusted_keys, seen_hashes, last_seq, chain_broken=chain_broken)
    )
    problems.sort(key=lambda d: (d.seq, d.kind != DamageKind.FORGED_CHECKPOINT))
    unanchored = None
    if not problems:
        anchors = [
            cp.seq
            for cp in in_range
            if signature_problem(cp, trusted_keys) is None and seen_hashes.get(cp.seq) == cp.hash
        ]
        unanchored = _export_anchor_gap(first_seq, final_seq, max(anchors, default=None))
    return VerificationReport(
        events=count,
        last_seq=last_seq,
        last_hash=str(prev[HASH]) if prev is not None else GENESIS_HASH,
        head_seq=None,
        checkpoints_checked=len(in_range),
        problems=tuple(problems),
        unanchored=unanchored,
    )


def _export_anchor_gap(first_seq: int, final_seq: int, anchored_to: int | None) -> str | None:
    """Why an undamaged export seq first_seq..final_seq is not vouched for, or None."""
    if final_seq == 0:
        return "the export holds no events: nothing is vouched for"
    if anchored_to == final_seq:
        return None
    if anchored_to is not None:
        return (
            f"seq {first_seq}..{anchored_to} are anchored by a trusted checkpoint, but no "
            f"checkpoint covers seq {anchored_to + 1}..{final_seq}: events there could be "
            "forged, and a truncated tail would not be detected; verify against a checkpoint "
            f"at seq {final_seq}"
        )
    if first_seq == 1:
        return (
            f"seq 1..{final_seq} start at the genesis hash, but no trusted checkpoint lies in "
            "the range: a truncated export (or one rewritten after its first event) would "
            f"not be detected; verify against a checkpoint at seq {final_seq}"
        )
    return (
        f"no trusted checkpoint lies in seq {first_seq}..{final_seq}: the first event's "
        "prev_hash is taken on trust, so a forged self-consistent export or a truncated one "
        f"would pass; verify against a checkpoint at seq {final_seq}"
    )
