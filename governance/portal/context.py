"""Template context for every page: the person's unread notifications count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from governance.services.notifications import unread_for

    return {"unread_notifications": unread_for(user).count()}
