"""The Django admin for the legal firm and the data stewards: a thin face on the services.

Workflow objects are read-only here; every decision is a button with a reason that calls a
service in ``governance.services`` (which enforces every rule and writes the audit event).
Extra pages (review queue, request and release review pages, audited document view) are
added with ``get_urls`` and wrapped in ``admin_site.admin_view``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from deid.errors import PolicyError
from governance import selectors, services
from governance.admin_report import kinds_context, longitudinal_context, report_context
from governance.admin_site import GovernanceAdminSite
from governance.errors import GovernanceError
from governance.models import (
    DataAccessRequest,
    Dataset,
    DataUseAgreement,
    DataUseLimitation,
    Decision,
    DeidPolicy,
    DestructionAttestation,
    Document,
    IrbApproval,
    Membership,
    Organization,
    Release,
    ReleaseState,
    Renewal,
    RenewalState,
    RequestState,
    Variable,
)
from governance.roles import user_can

# Two-factor for deciders, counters on the index (django-otp's documented class swap keeps
# every app's registrations on the default site).
admin.site.__class__ = GovernanceAdminSite
admin.site.index_template = GovernanceAdminSite.index_template
# Records are kept: no bulk delete anywhere.
if any(name == "delete_selected" for name, _fn in admin.site.actions):
    admin.site.disable_action("delete_selected")


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Workflow records: visible by role, changed only through services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- reference data ---------------------------------------------------------------------------


@admin.register(Organization)
class OrganizationAdmin(NoDeleteAdmin):
    list_display = ("name", "kind", "for_profit", "country", "crypt4gh_key")
    list_filter = ("kind", "for_profit")
    search_fields = ("name",)
    # registered through services.organization_register_crypt4gh_key (checked and audited)
    readonly_fields = ("crypt4gh_public_key",)

    @admin.display(description="Crypt4GH key (SHA-256)")
    def crypt4gh_key(self, obj: Organization) -> str:
        from deid.errors import PolicyError
        from deid.genome.c4gh import parse_public_key

        if not obj.crypt4gh_public_key:
            return "—"
        try:
            return hashlib.sha256(parse_public_key(obj.crypt4gh_public_key)).hexdigest()[:16]
        except PolicyError:
            return "invalid"


@admin.register(Membership)
class MembershipAdmin(NoDeleteAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization")
    search_fields = ("user__username", "organization__name")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a role is granted (add) or kept; never silently edited

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        try:
            saved = services.membership_add(
                user=obj.user,
                organization=obj.organization,
                role=obj.role,
                acting_user=request.user,
            )
        except GovernanceError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = saved.pk


class VariableInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Variable
    extra = 0
    can_delete = False


class LimitationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DataUseLimitation
    extra = 0
    can_delete = False


@admin.register(Dataset)
class DatasetAdmin(NoDeleteAdmin):
    list_display = ("name", "kind", "provider", "source", "limitation_codes")
    list_filter = ("kind", "provider")
    search_fields = ("name", "description")
    inlines = (LimitationInline, VariableInline)

    @admin.display(description="DUO limitations")
    def limitation_codes(self, obj: Dataset) -> str:
        return ", ".join(lim.code for lim in obj.limitations.all())


# --- read-only records --------------------------------------------------------------------------


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("original_name", "kind", "request", "size", "sha256", "uploaded_at")
    list_filter = ("kind",)
    exclude = ("file",)  # opened only through the audited view
    readonly_fields = ("view_link",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return selectors.documents_visible_to(user=request.user)

    @admin.display(description="Open (audited)")
    def view_link(self, obj: Document) -> str:
        from django.utils.html import format_html

        url = reverse("admin:governance_document_view", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/view/",
                self.admin_site.admin_view(self.view_document),
                name="governance_document_view",
            ),
            *super().get_urls(),
        ]

    def view_document(self, request: HttpRequest, pk: int) -> FileResponse:
        document = get_object_or_404(Document, pk=pk)
        try:
            services.document_view(document=document, acting_user=request.user)
        except GovernanceError as exc:
            raise Http404(exc.message) from exc
        response = FileResponse(
            document.file.open("rb"),
            content_type=document.content_type,
            as_attachment=document.content_type != "application/pdf",
            filename=document.original_name,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox"
        return response


@admin.register(IrbApproval)
class IrbApprovalAdmin(ReadOnlyAdmin):
    list_display = ("number", "institution", "request", "approved_on", "expires_on", "verified_by")
    list_filter = ("institution",)


@admin.register(DataUseAgreement)
class DataUseAgreementAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "request", "effective_on", "expires_on", "signed_at", "verified_by")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("decided_at", "stage", "verdict", "decided_by", "role", "request", "release")
    list_filter = ("stage", "verdict", "role")


@admin.register(DeidPolicy)
class DeidPolicyAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "request", "set_by", "set_at")


@admin.register(DestructionAttestation)
class DestructionAttestationAdmin(ReadOnlyAdmin):
    list_display = ("release", "organization", "attested_by", "destroyed_on", "attested_at")


@admin.register(Renewal)
class RenewalAdmin(ReadOnlyAdmin):
    list_display = ("release", "requested_by", "requested_until", "state", "created_at")
    list_filter = ("state",)


# --- review pages -------------------------------------------------------------------------------


def _run(request: HttpRequest, fn: Callable[[], Any], success: str) -> bool:
    """Call a service; show its refusal on the page instead of a stack trace."""
    try:
        fn()
    except GovernanceError as exc:
        messages.error(
            request,
            _("Refused (%(code)s): %(message)s") % {"code": exc.code, "message": exc.message},
        )
        return False
    messages.success(request, success)
    return True


class DueFilter(admin.SimpleListFilter):
    title = "due date"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("overdue", "Overdue"), ("week", "Due within 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(due_on__lt=today)
        if self.value() == "week":
            return queryset.filter(due_on__gte=today, due_on__lte=today + timedelta(days=7))
        return queryset


@admin.register(DataAccessRequest)
class DataAccessRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "recipient", "purpose_code", "state", "submitted_at", "due_on")
    list_filter = ("state", "recipient", "datasets", DueFilter)
    search_fields = ("title", "purpose")
    ordering = ("submitted_at", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[DataAccessRequest]:
        return selectors.requests_visible_to(user=request.user)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("queue/", view(self.queue_view), name="governance_queue"),
            path("<int:pk>/review/", view(self.review_view), name="governance_request_review"),
            path("<int:pk>/policy/", view(self.policy_view), name="governance_request_policy"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return HttpResponseRedirect(
            reverse("admin:governance_request_review", args=[int(object_id)])
        )

    # The queue: what waits for me, oldest first, with filters.
    def queue_view(self, request: HttpRequest) -> HttpResponse:
        items = selectors.review_queue(user=request.user)
        state = request.GET.get("state", "")
        org = request.GET.get("org", "")
        dataset = request.GET.get("dataset", "")
        overdue = request.GET.get("overdue", "")
        today = timezone.localdate()

        def keep(item: selectors.QueueItem) -> bool:
            req = (
                item.obj
                if item.kind == "request"
                else (item.obj.request if item.kind == "release" else item.obj.release.request)
            )
            if state and item.obj.state != state:
                return False
            if org and str(req.recipient_id) != org:
                return False
            if dataset and not req.datasets.filter(pk=dataset).exists():
                return False
            return not (overdue and not (req.due_on and req.due_on < today))

        rows = []
        for item in filter(keep, items):
            if item.kind == "release":
                url = reverse("admin:governance_release_review", args=[item.obj.pk])
            elif item.kind == "renewal":
                url = reverse("admin:governance_request_review", args=[item.obj.release.request_id])
            else:
                url = reverse("admin:governance_request_review", args=[item.obj.pk])
            rows.append({"item": item, "url": url})
        context = {
            **self.admin_site.each_context(request),
            "title": "Waiting for you",
            "rows": rows,
            "states": RequestState.choices + ReleaseState.choices,
            "orgs": Organization.objects.filter(access_requests__isnull=False).distinct(),
            "datasets": Dataset.objects.all(),
            "filters": {"state": state, "org": org, "dataset": dataset, "overdue": overdue},
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/governance/queue.html", context)

    def policy_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The steward edits the policy as a form, dry-runs it, and saves the same YAML."""
        from governance import policy_form
        from governance.dry_run import policy_dry_run

        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        user = request.user
        steward_states = (
            RequestState.LEGALLY_APPROVED,
            RequestState.STEWARD_REVIEW,
            RequestState.APPROVED,
        )
        if not user_can(user, "set_policy", obj) or obj.state not in steward_states:
            raise PermissionDenied
        spec = policy_form.baseline_spec(obj)
        target = policy_form.privacy_target(spec)
        dry = None
        if request.method == "POST":
            try:
                target = policy_form.target_from_post(request.POST, target)
                spec = policy_form.apply_choices(spec, request.POST, target)
                text = policy_form.spec_yaml(spec)
                if request.POST.get("action") == "save":
                    services.policy_set(request=obj, acting_user=user, policy_yaml=text)
                    messages.success(request, _("Policy saved (the same YAML the build reads)."))
                    return HttpResponseRedirect(
                        reverse("admin:governance_request_review", args=[obj.pk])
                    )
                dry = policy_dry_run(request=obj, acting_user=user, policy_yaml=text)
            except (GovernanceError, PolicyError) as exc:
                messages.error(request, getattr(exc, "message", str(exc)))
        examples = policy_form.examples_from(dry)
        rows = policy_form.form_rows(spec, base_dir=Path(settings.BASE_DIR), examples=examples)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Policy for request #%(pk)s") % {"pk": obj.pk},
            "obj": obj,
            "opts": self.model._meta,
            "rows": rows,
            "target": target,
            "yaml": policy_form.spec_yaml(spec),
            "dry": dry,
            "dry_report": report_context(dry.report) if dry and dry.report else None,
        }
        return TemplateResponse(request, "admin/governance/policy_form.html", context)

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST":
            self._act(request, obj)
            return HttpResponseRedirect(request.path)
        user = request.user
        duo_result = selectors.request_duo_result(request=obj)
        legal_states = (RequestState.SUBMITTED, RequestState.LEGAL_REVIEW, RequestState.RESUBMITTED)
        steward_states = (RequestState.LEGALLY_APPROVED, RequestState.STEWARD_REVIEW)
        can_legal = user_can(user, "review_legal", obj)
        can_steward = user_can(user, "review_steward", obj)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Data access request #{obj.pk}",
            "obj": obj,
            "opts": self.model._meta,
            "duo": duo_result,
            "irbs": obj.irb_approvals.select_related("document", "verified_by"),
            "duas": obj.duas.select_related("document", "verified_by").prefetch_related("parties"),
            "decisions": selectors.decisions_for(request=obj),
            "policies": obj.policies.select_related("set_by"),
            "releases": obj.releases.all(),
            "renewals": Renewal.objects.filter(release__request=obj).select_related("release"),
            "variables": obj.requested_variables.select_related("dataset").order_by(
                "dataset__name", "table", "deid_class", "name"
            ),
            "can_legal": can_legal and obj.state in legal_states,
            "can_start_review": can_legal
            and obj.state in (RequestState.SUBMITTED, RequestState.RESUBMITTED),
            "can_verify": user_can(user, "verify_documents", obj),
            "can_steward": can_steward and obj.state in steward_states,
            "can_set_policy": user_can(user, "set_policy", obj)
            and obj.state in (*steward_states, RequestState.APPROVED),
            "can_create_release": user_can(user, "set_policy", obj)
            and obj.state == RequestState.APPROVED,
            "can_review_renewal": can_legal,
            "today": timezone.localdate(),
        }
        return TemplateResponse(request, "admin/governance/request_review.html", context)

    def _act(self, request: HttpRequest, obj: DataAccessRequest) -> None:
        user = request.user
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        override = request.POST.get("override_reason", "") or None
        actions: dict[str, tuple[Callable[[], Any], str]] = {
            "start_review": (
                lambda: services.request_start_legal_review(request=obj, acting_user=user),
                _("Legal review started."),
            ),
            "approve_legal": (
                lambda: services.request_approve_legal(
                    request=obj, acting_user=user, reason=reason, override_reason=override
                ),
                _("Request approved (legal)."),
            ),
            "request_changes": (
                lambda: services.request_request_changes(
                    request=obj, acting_user=user, reason=reason
                ),
                _("Changes requested."),
            ),
            "reject": (
                lambda: services.request_reject(request=obj, acting_user=user, reason=reason),
                _("Request rejected."),
            ),
            "approve_steward": (
                lambda: services.request_approve_steward(
                    request=obj, acting_user=user, reason=reason
                ),
                _("Request approved (data steward)."),
            ),
            "set_policy": (
                lambda: services.policy_set(
                    request=obj,
                    acting_user=user,
                    policy_yaml=request.POST.get("policy_yaml", ""),
                ),
                _("Policy saved."),
            ),
            "create_release": (
                lambda: services.release_create(request=obj, acting_user=user),
                _("Release created."),
            ),
            "verify_irb": (
                lambda: services.irb_verify(
                    irb=get_object_or_404(IrbApproval, pk=request.POST.get("irb_id"), request=obj),
                    acting_user=user,
                ),
                _("IRB approval verified."),
            ),
            "verify_dua": (
                lambda: services.dua_verify(
                    dua=get_object_or_404(
                        DataUseAgreement, pk=request.POST.get("dua_id"), request=obj
                    ),
                    acting_user=user,
                ),
                _("Data-use agreement verified."),
            ),
            "renewal_approve": (
                lambda: services.renewal_approve(
                    renewal=get_object_or_404(
                        Renewal, pk=request.POST.get("renewal_id"), release__request=obj
                    ),
                    acting_user=user,
                    reason=reason,
                ),
                _("Renewal approved."),
            ),
            "renewal_reject": (
                lambda: services.renewal_reject(
                    renewal=get_object_or_404(
                        Renewal, pk=request.POST.get("renewal_id"), release__request=obj
                    ),
                    acting_user=user,
                    reason=reason,
                ),
                _("Renewal rejected."),
            ),
        }
        if action not in actions:
            messages.error(request, _("Unknown action %(action)s.") % {"action": repr(action)})
            return
        fn, success = actions[action]
        _run(request, fn, success)


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "recipient", "state", "built_at", "published_at", "expires_at")
    list_filter = ("state", "recipient")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Release]:
        return selectors.releases_visible_to(user=request.user)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(self.review_view),
                name="governance_release_review",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return HttpResponseRedirect(
            reverse("admin:governance_release_review", args=[int(object_id)])
        )

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        user = request.user
        if request.method == "POST":
            action = request.POST.get("action", "")
            reason = request.POST.get("reason", "")
            table: dict[str, tuple[Callable[[], Any], str]] = {
                "build": (
                    lambda: services.release_build_start(release=obj, acting_user=user),
                    _("Build started."),
                ),
                "rebuild": (
                    lambda: services.release_build_start(release=obj, acting_user=user),
                    _("Rebuild started: it writes the same files from the same policy and key."),
                ),
                "cancel_build": (
                    lambda: services.release_build_cancel(release=obj, acting_user=user),
                    _("Cancel requested: the build stops at its next batch; nothing is published."),
                ),
                "approve": (
                    lambda: services.release_approve(release=obj, acting_user=user, reason=reason),
                    _("Release approved."),
                ),
                "refuse": (
                    lambda: services.release_refuse(release=obj, acting_user=user, reason=reason),
                    _("Release refused."),
                ),
                "publish": (
                    lambda: services.release_publish(release=obj, acting_user=user),
                    _("Release published."),
                ),
                "revoke": (
                    lambda: services.release_revoke(release=obj, acting_user=user, reason=reason),
                    _("Release revoked: downloads stop now."),
                ),
                "destroy": (
                    lambda: services.release_destroy(release=obj, acting_user=user),
                    _("Release destroyed (files and key); records kept."),
                ),
            }
            if action in table:
                fn, success = table[action]
                _run(request, fn, success)
            else:
                messages.error(request, _("Unknown action %(action)s.") % {"action": repr(action)})
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Release #{obj.pk}",
            "obj": obj,
            "opts": self.model._meta,
            "report": report_context(obj.privacy_report),
            "longitudinal": longitudinal_context(
                (obj.privacy_report or {}).get("longitudinal"),
                list((obj.privacy_report or {}).get("warnings") or []),
            ),
            **kinds_context(obj.privacy_report),
            "decisions": obj.decisions.select_related("decided_by"),
            "files": (obj.manifest or {}).get("files", [])
            if isinstance(obj.manifest, dict)
            else [],
            "downloadable": selectors.release_is_downloadable(obj),
            "refusal": selectors.release_download_refusal(obj),
            "can_approve": user_can(user, "approve_release", obj)
            and obj.state == ReleaseState.BUILT,
            "can_build": user_can(user, "set_policy", obj)
            and obj.state in (ReleaseState.DRAFT, ReleaseState.REFUSED),
            "can_rebuild": user_can(user, "set_policy", obj) and obj.state == ReleaseState.FAILED,
            "can_cancel": user_can(user, "cancel_build", obj)
            and obj.state == ReleaseState.BUILDING,
            "can_publish": user_can(user, "publish_release", obj)
            and obj.state == ReleaseState.APPROVED,
            "can_revoke": user_can(user, "revoke_release", obj)
            and obj.state in (ReleaseState.BUILT, ReleaseState.APPROVED, ReleaseState.PUBLISHED),
            "can_destroy": user_can(user, "destroy_release", obj)
            and obj.state in (ReleaseState.REVOKED, ReleaseState.EXPIRED),
            "renewals_open": obj.renewals.filter(state=RenewalState.SUBMITTED).count(),
        }
        return TemplateResponse(request, "admin/governance/release_review.html", context)
