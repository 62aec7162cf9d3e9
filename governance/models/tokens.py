"""API tokens (owned by the recipient API).

A token is shown once, at creation, as ``gdt_<prefix>_<secret>``. The
database keeps the public ``prefix`` (to find the row) and the SHA-256 of the
whole token (to check it); the secret itself is never stored. A token belongs
to one person and is scoped to one organization; it expires and can be
revoked. Signed download links are stateless (``django.core.signing``) and
need no table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = ["ApiToken"]

TOKEN_SCHEME = "gdt"  # noqa: S105 - a public scheme tag, not a secret; "governance data token": recognizable in secret scanners
PREFIX_BYTES = 6  # 12 hex chars: a public id, not a secret
SECRET_BYTES = 32  # 256 bits of entropy
_URLSAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def hash_token(raw: str) -> str:
    """SHA-256 (hex) of a plaintext token: tokens are high-entropy, so no slow hash is needed."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def split_token(raw: str) -> str | None:
    """The public prefix of a well-formed token, or None."""
    parts = raw.split("_", 2)  # the urlsafe secret may itself contain "_"
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME:
        return None
    prefix, secret = parts[1], parts[2]
    if len(prefix) != PREFIX_BYTES * 2 or not all(c in "0123456789abcdef" for c in prefix):
        return None
    if not 20 <= len(secret) <= 100 or not all(c in _URLSAFE for c in secret):
        return None
    return prefix


def generate_token() -> tuple[str, str]:
    """A new (prefix, plaintext token)."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    return prefix, f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self, now: datetime | None = None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ApiToken(models.Model):
    """A person's API token for one organization; only its hash is stored."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    organization = models.ForeignKey(
        "governance.Organization", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_BYTES * 2, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "API token"
        constraints = (
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_created",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("created_at")),
                name="apitoken_revoked_after_created",
            ),
        )

    def __str__(self) -> str:
        # The prefix is public; the secret never appears in a repr or a log.
        return f"{self.name} ({TOKEN_SCHEME}_{self.prefix}_…)"

    @property
    def display_id(self) -> str:
        return f"{TOKEN_SCHEME}_{self.prefix}"

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.token_hash, hash_token(raw))

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now
