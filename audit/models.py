"""The append-only, hash-chained audit log.

Four tables, created by ``audit/migrations/0001_initial.py`` and ``0002_batched_sequencer.py``:

* ``AuditEvent``: one row per event, ``seq`` 1, 2, 3, ... without gaps;
  ``hash`` = SHA-256 over the canonical encoding of every field and
  ``prev_hash`` (see ``audit/canonical.py``).
* ``AuditChainHead``: one row (id 1) holding the last ``seq`` and ``hash``;
  appenders lock it, so there is exactly one successor of each event.
* ``AuditCheckpoint``: signed heads (Ed25519), also exported as files.
* ``PendingEvent``: events appended by the batched sequencer, not yet sealed into the
  chain (``audit/sequencer.py``); a row may leave only into the chain.

Database triggers reject UPDATE, DELETE and TRUNCATE of events and
checkpoints (and DELETE/TRUNCATE of the head) on PostgreSQL, and UPDATE and
DELETE on SQLite.

The models are ``managed = False``: the migration creates the tables
(``SeparateDatabaseAndState``), but Django's ``flush`` (used between
transactional tests) leaves them alone, because flushing would be rejected by
the triggers; and there are no foreign keys into other tables, so no
``TRUNCATE ... CASCADE`` reaches them either. Audit records outlive the users
and objects they mention.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, NoReturn

from django.db import models

from audit.actions import AuditAction

__all__ = [
    "AppendOnlyError",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "PendingEvent",
]


class AppendOnlyError(RuntimeError):
    """Raised on an attempt to change or delete an audit record through the ORM."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: update() refused")

    def delete(self) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: delete() refused")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: bulk_update() refused")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        # Events must be chained one by one under the head lock: audit.services.record_event.
        raise AppendOnlyError(
            f"{self.model.__name__}: bulk_create() refused; append with record_event()"
        )


class _AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only: save() refused")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only: delete() refused")


class AuditEvent(_AppendOnlyModel):
    """One event of the chain. Create only with ``audit.services.record_event``."""

    seq = models.BigIntegerField(unique=True, help_text="1, 2, 3, ... without gaps")
    time = models.DateTimeField(db_index=True)
    # Actor (who acted). No foreign key: the record outlives the account.
    actor_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    actor_role = models.CharField(max_length=64, blank=True)
    actor_token_id = models.CharField(max_length=64, blank=True)
    actor_session = models.CharField(max_length=64, blank=True, help_text="hash, never the key")
    actor_ip = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    # Subject (what it was done to).
    # Indexed together (audit_event_object_idx), which serves a filter by type too.
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    details_json = models.TextField(default="{}", help_text="canonical JSON, part of the hash")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Bookkeeping, not hashed: the pending row this event was sealed from (audit.sequencer).
    pending_id = models.BigIntegerField(
        blank=True,
        editable=False,
        null=True,
        unique=True,
        help_text="the pending row this event was sealed from (batched sequencer)",
    )

    objects: ClassVar[models.Manager[AuditEvent]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "audit_auditevent"
        ordering = ("seq",)
        verbose_name = "audit event"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    @property
    def details(self) -> dict[str, Any]:
        value = json.loads(self.details_json or "{}")
        return value if isinstance(value, dict) else {}

    @property
    def action_label(self) -> str:
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action

    @property
    def actor_display(self) -> str:
        name = self.actor_username or (
            f"user {self.actor_user_id}" if self.actor_user_id else "anonymous"
        )
        parts = [name]
        if self.actor_role:
            parts.append(f"as {self.actor_role}")
        if self.actor_token_id:
            parts.append(f"token {self.actor_token_id}")
        return " ".join(parts)


class PendingEvent(_AppendOnlyModel):
    """An event appended by the batched sequencer, not yet sealed into the chain: its
    content only (no seq, no hash). ``audit.sequencer`` moves it into :class:`AuditEvent`;
    on PostgreSQL the database lets a row leave only that way."""

    time = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    actor_token_id = models.CharField(max_length=64, blank=True)
    actor_session = models.CharField(max_length=64, blank=True)
    actor_ip = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    details_json = models.TextField(default="{}")

    objects: ClassVar[models.Manager[PendingEvent]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "audit_pendingevent"
        ordering = ("id",)
        verbose_name = "pending audit event"

    def __str__(self) -> str:
        return f"pending #{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The single row (pk 1) naming the last event; appenders lock it."""

    SINGLETON_ID = 1

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        managed = False
        db_table = "audit_auditchainhead"
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"head #{self.seq} {self.hash[:12]}"


class AuditCheckpoint(_AppendOnlyModel):
    """A signed head: (seq, hash, time) signed with the Ed25519 audit key."""

    seq = models.BigIntegerField(db_index=True)
    hash = models.CharField(max_length=64)
    time = models.DateTimeField()
    key_id = models.CharField(max_length=64, help_text="SHA-256 of the raw public key")
    public_key = models.CharField(max_length=64, help_text="raw Ed25519 public key, base64")
    signature = models.CharField(max_length=128, help_text="Ed25519 signature, base64")

    objects: ClassVar[models.Manager[AuditCheckpoint]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "audit_auditcheckpoint"
        ordering = ("seq", "id")
        verbose_name = "audit checkpoint"

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} {self.hash[:12]}"
