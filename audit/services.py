"""Appending to the audit log: :func:`record_event` is the one way.

Call it inside your own ``transaction.atomic`` block, next to the change it
records, so the event commits or rolls back with the decision::

    with transaction.atomic():
        req = DataAccessRequest.objects.select_for_update().get(pk=pk)
        ...
        record_event(
            action=AuditAction.REQUEST_LEGAL_APPROVED,
            actor=Actor.for_user(acting_user, role="legal_reviewer"),
            object_type="governance.dataaccessrequest",
            object_id=req.pk,
            details={"reason": reason},
        )

Concurrency: the append first increments the chain head row
(``UPDATE ... SET seq = seq + 1 ... RETURNING seq, hash``), which takes the
row lock on PostgreSQL (later appenders wait until this transaction ends,
then see its new head) and the database write lock on SQLite (taken before
any read, so SQLite never has to upgrade a read lock). It then inserts the
event, linked to the previous hash, and stores the new hash in the head.
Hence no fork, no gap. The lock is held
until the caller's transaction ends: keep audited transactions short.

That is the ``inline`` sequencer. On PostgreSQL in production the ``batched`` sequencer
(``AUDIT_SEQUENCER``, :mod:`audit.sequencer`) appends the event pending, without the lock,
and seals committed events in batches under it: appenders no longer wait for each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from audit import sequencer
from audit.actions import AuditAction
from audit.canonical import GENESIS_HASH, canonical_details, event_hash
from audit.models import AuditChainHead, AuditEvent

__all__ = ["Actor", "AuditChainError", "record_event"]

_SESSION_HASH_PREFIX = b"audit-session-v1:"


class AuditChainError(RuntimeError):
    """The chain head is missing or inconsistent; the append is refused."""


def _session_hash(session_key: str) -> str:
    """A stable, non-reversible id for a session (the raw key is a bearer secret)."""
    return hashlib.sha256(_SESSION_HASH_PREFIX + session_key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (id, name, role), the token or session used, the client address."""

    user_id: int | None = None
    username: str = ""
    role: str = ""
    token_id: str = ""
    session: str = ""
    client_ip: str = ""

    @classmethod
    def from_request(cls, request: Any, *, role: str = "") -> Actor:
        """The actor of an HTTP request (Django ``HttpRequest`` or DRF ``Request``).

        Records the authenticated user, a hash of the session key (never the
        key), ``REMOTE_ADDR`` and, for token authentication, the token's public
        prefix (or primary key). Anonymous requests give an actor without a user.
        """
        user = getattr(request, "user", None)
        user_id: int | None = None
        username = ""
        if user is not None and getattr(user, "is_authenticated", False):
            user_id = user.pk
            username = user.get_username()
        session = ""
        session_obj = getattr(request, "session", None)
        session_key = getattr(session_obj, "session_key", None) if session_obj else None
        if session_key:
            session = _session_hash(str(session_key))
        token_id = ""
        # DRF's Request.auth; a plain HttpRequest has none. Never record the token itself.
        try:
            auth = getattr(request, "auth", None)
        except Exception:
            auth = None
        if auth is not None and not isinstance(auth, str | bytes):
            ident = getattr(auth, "prefix", None) or getattr(auth, "token_id", None)
            if ident is None:
                ident = getattr(auth, "pk", None)
            if ident is not None:
                token_id = str(ident)
        meta = getattr(request, "META", {}) or {}
        client_ip = str(meta.get("REMOTE_ADDR", "") or "")[:64]
        return cls(
            user_id=user_id,
            username=username,
            role=role,
            token_id=token_id,
            session=session,
            client_ip=client_ip,
        )

    @classmethod
    def system(cls, name: str) -> Actor:
        """A scheduled command or background worker, e.g. ``Actor.system("governance_expire")``."""
        if not name:
            raise ValueError("a system actor needs a name")
        return cls(username=f"system:{name}", role="system")

    @classmethod
    def for_user(cls, user: Any, *, role: str = "") -> Actor:
        """A person acting outside a request (services called with ``acting_user``)."""
        if user is None:
            raise ValueError("Actor.for_user needs a user; use Actor.system(name) for jobs")
        return cls(user_id=user.pk, username=user.get_username(), role=role)


def _check_text(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise ValueError(f"audit {name} is {len(value)} characters; the limit is {limit}")
    if "\x00" in value:
        raise ValueError(f"audit {name} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"audit {name} is not valid Unicode (lone surrogate)") from None
    return value


def record_event(
    *,
    action: AuditAction,
    actor: Actor,
    object_type: str,
    object_id: str | int,
    details: Mapping[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction, and return it.

    ``action`` is an :class:`AuditAction` (a plain string is refused: every action the
    log can hold is a member, so a typo cannot write a new kind of event); ``object_type`` is
    ``"<app_label>.<model>"``; ``details`` must be a JSON object and must not
    carry secrets or PHI (ValueError otherwise: keys such as ``password``,
    ``token`` or ``key_material`` are refused; ``key_id``/``token_id`` are fine).
    """
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be an audit.services.Actor, got {type(actor).__name__}")
    if not isinstance(action, AuditAction):
        raise TypeError(f"action must be an audit.actions.AuditAction, got {action!r}")
    action_value = str(action.value)
    _check_text("action", action_value, 64)
    _check_text("object_type", object_type, 100)
    if not object_type:
        raise ValueError("audit object_type must not be empty")
    object_id_text = _check_text("object_id", str(object_id), 100)
    details_json = canonical_details(details)
    fields = {
        "actor_user_id": int(actor.user_id) if actor.user_id is not None else None,
        "actor_username": _check_text("actor username", actor.username, 150),
        "actor_role": _check_text("actor role", actor.role, 64),
        "actor_token_id": _check_text("actor token id", actor.token_id, 64),
        "actor_session": _check_text("actor session", actor.session, 64),
        "actor_ip": _check_text("actor client address", actor.client_ip, 64),
        "action": action_value,
        "object_type": object_type,
        "object_id": object_id_text,
        "details_json": details_json,
    }

    if sequencer.batched(using):
        # Pending: one INSERT, no lock; sealed in a batch after the commit (audit.sequencer).
        return sequencer.append_pending(fields, using=using)

    with transaction.atomic(using=using):
        # Write first: takes the head's row lock (PostgreSQL) / the write lock (SQLite).
        advanced = _advance_head(using)
        if advanced is None:
            _create_head(using)
            advanced = _advance_head(using)
            if advanced is None:  # pragma: no cover - the row was just created
                raise AuditChainError("the audit chain head row could not be created")
        seq, prev_hash = advanced
        now = timezone.now()  # taken under the lock, so time follows seq
        new_hash = event_hash(seq=seq, time=now, prev_hash=prev_hash, **fields)
        event = AuditEvent(seq=seq, time=now, prev_hash=prev_hash, hash=new_hash, **fields)
        event.save(using=using)
        AuditChainHead.objects.using(using).filter(pk=AuditChainHead.SINGLETON_ID).update(
            hash=new_hash
        )
    return event


def _advance_head(using: str) -> tuple[int, str] | None:
    """Increment the head's seq under its lock; return (new seq, previous hash), or None."""
    table = connections[using].ops.quote_name(AuditChainHead._meta.db_table)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET seq = seq + 1 WHERE id = %s RETURNING seq, hash",  # noqa: S608
            [AuditChainHead.SINGLETON_ID],
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row is not None else None


def _create_head(using: str) -> None:
    """Create the head row of an empty log; refuse if events exist without a head."""
    if AuditEvent.objects.using(using).exists():
        raise AuditChainError(
            "the audit chain head row is missing while events exist; "
            "run `manage.py audit_verify` and restore the head from the last valid event"
        )
    AuditChainHead.objects.using(using).bulk_create(
        [AuditChainHead(pk=AuditChainHead.SINGLETON_ID, seq=0, hash=GENESIS_HASH)],
        ignore_conflicts=True,
    )
