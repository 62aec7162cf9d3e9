"""Audit events from Django's own signals: logins, failed logins, admin changes.

* ``user_logged_in`` / ``user_logged_out`` / ``user_login_failed``
  (django.contrib.auth) and django-axes' ``user_locked_out``.
* Admin changes: every ``LogEntry`` (the admin's history) whose content type
  belongs to an app in ``settings.AUDIT_ADMIN_APP_LABELS`` (default:
  governance, auth, the OTP device apps and axes) becomes an ``admin.change``
  event in the same transaction as the change. The admin writes several
  entries at once with ``bulk_create`` (bulk deletions), which sends no
  ``post_save``; ``LogEntryManager.log_actions`` is wrapped to cover that.

The audit app imports no governance code: objects are named generically as
``"<app_label>.<model>"`` and their primary key.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.actions import AuditAction
from audit.services import Actor, record_event

DEFAULT_ADMIN_APP_LABELS = ("governance", "auth", "otp_totp", "otp_static", "axes")
_ACTION_FLAGS = {1: "addition", 2: "change", 3: "deletion"}


def _user_object(user: Any) -> tuple[str, str]:
    meta = get_user_model()._meta
    return f"{meta.app_label}.{meta.model_name}", str(user.pk)


def _request_actor(request: Any, user: Any = None) -> Actor:
    if request is not None:
        actor = Actor.from_request(request)
        if actor.user_id is None and user is not None and getattr(user, "pk", None):
            actor = Actor(
                user_id=user.pk,
                username=user.get_username(),
                session=actor.session,
                client_ip=actor.client_ip,
                token_id=actor.token_id,
            )
        return actor
    if user is not None and getattr(user, "pk", None):
        return Actor.for_user(user)
    return Actor()


@receiver(user_logged_in, dispatch_uid="audit_user_logged_in")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    object_type, object_id = _user_object(user)
    record_event(
        action=AuditAction.AUTH_LOGIN,
        actor=_request_actor(request, user),
        object_type=object_type,
        object_id=object_id,
        details={"backend": getattr(user, "backend", "") or ""},
    )


@receiver(user_logged_out, dispatch_uid="audit_user_logged_out")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or not getattr(user, "pk", None):
        return
    object_type, object_id = _user_object(user)
    record_event(
        action=AuditAction.AUTH_LOGOUT,
        actor=_request_actor(request, user),
        object_type=object_type,
        object_id=object_id,
    )


def _attempted_username(credentials: dict[str, Any]) -> str:
    field = get_user_model().USERNAME_FIELD
    value = credentials.get(field, credentials.get("username", ""))
    return str(value or "")[:150]


@receiver(user_login_failed, dispatch_uid="audit_user_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # Django has already masked the password in ``credentials``; we keep only the username.
    username = _attempted_username(credentials)
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    meta = user_model._meta
    record_event(
        action=AuditAction.AUTH_LOGIN_FAILED,
        actor=_request_actor(request) if request is not None else Actor(),
        object_type=f"{meta.app_label}.{meta.model_name}",
        object_id=str(user.pk) if user is not None else "unknown",
        details={"username": username, "known_user": user is not None},
    )


def _connect_axes() -> None:
    try:
        from axes.signals import user_locked_out
    except ImportError:  # django-axes not installed
        return

    def audit_locked_out(
        sender: Any, request: Any = None, username: str = "", ip_address: str = "", **kw: Any
    ) -> None:
        actor = _request_actor(request) if request is not None else Actor(client_ip=ip_address)
        meta = get_user_model()._meta
        record_event(
            action=AuditAction.AUTH_LOCKED_OUT,
            actor=actor,
            object_type=f"{meta.app_label}.{meta.model_name}",
            object_id="locked_out",
            details={"username": str(username or "")[:150]},
        )

    user_locked_out.connect(audit_locked_out, dispatch_uid="audit_user_locked_out", weak=False)


# --- admin LogEntry -----------------------------------------------------------------------------


def _admin_app_labels() -> tuple[str, ...]:
    return tuple(getattr(settings, "AUDIT_ADMIN_APP_LABELS", DEFAULT_ADMIN_APP_LABELS))


def _change_message(entry: Any) -> Any:
    text = entry.change_message or ""
    try:
        return json.loads(text) if text.startswith("[") else text
    except ValueError:
        return text


def record_log_entry(entry: Any) -> None:
    """Append an ``admin.change`` event for one admin ``LogEntry`` (if its app is audited)."""
    if getattr(entry, "_audit_recorded", False) or entry.content_type_id is None:
        return
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_id(entry.content_type_id)
    if content_type.app_label not in _admin_app_labels():
        return
    user = entry.user
    record_event(
        action=AuditAction.ADMIN_CHANGE,
        actor=Actor.for_user(user) if user is not None else Actor(),
        object_type=f"{content_type.app_label}.{content_type.model}",
        object_id=str(entry.object_id or "")[:100],
        details={
            "operation": _ACTION_FLAGS.get(entry.action_flag, str(entry.action_flag)),
            "object_repr": (entry.object_repr or "")[:200],
            "change_message": _change_message(entry),
            "log_entry_id": entry.pk,
        },
    )
    entry._audit_recorded = True


def _on_log_entry_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        record_log_entry(instance)


def _wrap_bulk_log_actions() -> None:
    from django.contrib.admin.models import LogEntryManager

    original = LogEntryManager.log_actions
    if getattr(original, "_audit_wrapped", False):
        return

    def log_actions(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        entries = result if isinstance(result, list) else [result]
        for entry in entries:  # bulk_create sent no post_save for these
            if entry is not None:
                record_log_entry(entry)
        return result

    log_actions._audit_wrapped = True  # type: ignore[attr-defined]
    LogEntryManager.log_actions = log_actions  # type: ignore[method-assign]


def connect() -> None:
    """Called from ``AuditConfig.ready()``."""
    from django.contrib.admin.models import LogEntry

    post_save.connect(_on_log_entry_saved, sender=LogEntry, dispatch_uid="audit_log_entry")
    _wrap_bulk_log_actions()
    _connect_axes()
