"""Notifications: whoever must act next is told (a row to read, and an e-mail)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Notification", "NotificationKind"]


class NotificationKind(models.TextChoices):
    REQUEST_SUBMITTED = "request_submitted", _("A request awaits legal review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested on your request")
    REQUEST_DECIDED = "request_decided", _("Your request was decided")
    POLICY_NEEDED = "policy_needed", _("A request awaits its de-identification policy")
    RELEASE_PUBLISHED = "release_published", _("A release was published for you")
    RELEASE_EXPIRING = "release_expiring", _("A release expires in 30 days")
    RELEASE_REVOKED = "release_revoked", _("A release was revoked")


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text="Where to act (a site path).")
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = (models.Index(fields=["user", "read_at"], name="notification_unread"),)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values),
                name="notification_kind_valid",
            ),
        )

    def __str__(self) -> str:
        return self.subject
