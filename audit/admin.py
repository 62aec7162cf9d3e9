"""A read-only admin for auditors: browse and filter, never add, change or delete."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from audit.canonical import EVENT_COLUMNS
from audit.models import AuditCheckpoint, AuditEvent

# Every stored field of an event, the details pretty-printed.
_EVENT_FIELDS = tuple("pretty_details" if c == "details_json" else c for c in EVENT_COLUMNS)


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    actions = None  # no bulk delete
    show_full_result_count = False  # no second COUNT(*) over a large log

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActorFilter(admin.SimpleListFilter):
    """Who acted: people by name, or system jobs."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = (
            AuditEvent.objects.exclude(actor_username="")
            .order_by("actor_username")
            .values_list("actor_username", flat=True)
            .distinct()[:200]
        )
        return [("-", "(anonymous)"), *((n, n) for n in names)]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value == "-":
            return queryset.filter(actor_username="")
        if value:
            return queryset.filter(actor_username=value)
        return queryset


class ObjectTypeFilter(admin.SimpleListFilter):
    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = (
            AuditEvent.objects.order_by("object_type")
            .values_list("object_type", flat=True)
            .distinct()[:200]
        )
        return [(t, t) for t in types]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(object_type=self.value()) if self.value() else queryset


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from audit.actions import AuditAction

        return [(str(a.value), f"{a.label} ({a.value})") for a in AuditAction]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnlyAdmin):
    list_display = ("seq", "time", "actor", "action", "object", "client_address")
    list_display_links = ("seq",)
    list_filter = (ActorFilter, ActionFilter, ObjectTypeFilter, "actor_role", "time")
    date_hierarchy = "time"
    search_fields = ("actor_username", "object_id", "actor_token_id", "actor_ip")
    ordering = ("-seq",)
    list_per_page = 100
    fields = _EVENT_FIELDS
    readonly_fields = fields

    @admin.display(description="actor", ordering="actor_username")
    def actor(self, obj: AuditEvent) -> str:
        return obj.actor_display

    @admin.display(description="object", ordering="object_type")
    def object(self, obj: AuditEvent) -> str:
        return f"{obj.object_type} #{obj.object_id}"

    @admin.display(description="client", ordering="actor_ip")
    def client_address(self, obj: AuditEvent) -> str:
        return obj.actor_ip

    @admin.display(description="details")
    def pretty_details(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.details, indent=2, ensure_ascii=False))


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(_ReadOnlyAdmin):
    list_display = ("seq", "time", "hash", "key_id")
    ordering = ("-seq",)
    readonly_fields = ("seq", "hash", "time", "key_id", "public_key", "signature")
    fields = readonly_fields
