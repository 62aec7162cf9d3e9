"""Portal views: parse a form, call a service or a selector, render. No rule lives here."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.services import Actor
from governance import selectors, services
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import DataAccessRequest, Dataset, Organization, Release, RequestState, Role
from governance.portal.forms import (
    AttestationForm,
    DuaForm,
    FeasibilityForm,
    IrbForm,
    KeyForm,
    LoginForm,
    RenewalForm,
    RequestForm,
    TokenForm,
)

View = Callable[..., HttpResponse]


def recipient_organizations(user: Any) -> list[Organization]:
    """The organizations the user files requests for (requester memberships)."""
    return list(
        Organization.objects.filter(
            memberships__user=user, memberships__role=Role.REQUESTER
        ).distinct()
    )


def recipient_required(view: View) -> View:
    """Logged in as a person who files requests for an organization; else the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated or not recipient_organizations(request.user):
            return HttpResponseRedirect(f"{reverse('portal:login')}?next={request.path}")
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, role=Role.REQUESTER)


def _failed(request: HttpRequest, exc: GovernanceError) -> None:
    messages.error(request, f"{exc.message} ({exc.code})")


# --- Log in and out -----------------------------------------------------------------------


def _second_factor_device(user: Any) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def login_view(request: HttpRequest) -> HttpResponse:
    """Password, then (if the organization requires it or the person has one) the TOTP code."""
    form = LoginForm(request.POST or None)
    needs_code = False
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        orgs = recipient_organizations(user) if user is not None else []
        if user is None:
            form.add_error(None, _("The user name or password is wrong."))
        elif not orgs:
            form.add_error(
                None,
                _("This portal is for recipient organizations; staff work in the admin."),
            )
        else:
            device = _second_factor_device(user)
            required = any(o.require_second_factor for o in orgs)
            if required and device is None:
                form.add_error(
                    None,
                    _(
                        "Your organization requires a second factor: ask the platform's "
                        "administrator to enrol an authenticator for you."
                    ),
                )
            elif device is not None and not device.verify_token(form.cleaned_data["otp_token"]):
                needs_code = True
                if form.cleaned_data["otp_token"]:
                    form.add_error("otp_token", _("The code is wrong or expired."))
            else:
                login(request, user)
                if device is not None:
                    from django_otp import login as otp_login

                    otp_login(request, device)
                target = request.GET.get("next") or reverse("portal:home")
                if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                    target = reverse("portal:home")
                return HttpResponseRedirect(target)
    return render(request, "portal/login.html", {"form": form, "needs_code": needs_code})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse("portal:login"))


# --- Home, catalog ---------------------------------------------------------------------------


@recipient_required
def home(request: HttpRequest) -> HttpResponse:
    from governance.api.selectors_api import releases_visible_to_orgs, requests_visible_to_orgs

    organizations = recipient_organizations(request.user)
    org_ids = [o.pk for o in organizations]
    return render(
        request,
        "portal/home.html",
        {
            "organizations": organizations,
            "requests": requests_visible_to_orgs(org_ids)[:100],
            "releases": releases_visible_to_orgs(org_ids)[:100],
        },
    )


@recipient_required
def catalog(request: HttpRequest) -> HttpResponse:
    from governance.feasibility import Criteria, feasibility_count

    datasets = Dataset.objects.prefetch_related("variables", "limitations").order_by("name")
    form = FeasibilityForm(request.GET or None)
    result = None
    if request.GET and form.is_valid():
        try:
            criteria = Criteria(
                icd10_prefixes=tuple(form.codes()),
                age_min=form.cleaned_data.get("age_min"),
                age_max=form.cleaned_data.get("age_max"),
                sex=form.cleaned_data.get("sex") or None,
            )
            result = feasibility_count(
                criteria=criteria, acting_user=request.user, actor=_actor(request)
            )
        except GovernanceError as exc:
            _failed(request, exc)
    return render(
        request, "portal/catalog.html", {"datasets": datasets, "form": form, "result": result}
    )


# --- Requests --------------------------------------------------------------------------------


def _visible_request(request: HttpRequest, pk: int) -> DataAccessRequest:
    found = selectors.requests_visible_to(user=request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@recipient_required
def request_new(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.request_create(
                acting_user=request.user,
                title=data["title"],
                purpose=data["purpose"],
                purpose_code=data["purpose_code"],
                purpose_diseases=form.diseases(),
                datasets=list(data["datasets"]),
                requested_variables=list(data["variables"]),
                cohort_criteria=form.cohort(),
                requested_duration_months=data["duration_months"],
                commercial=data["commercial"],
            )
        except GovernanceError as exc:
            _failed(request, exc)
        else:
            messages.success(
                request,
                _("Draft saved. Add the IRB approval and the signed DUA, then submit."),
            )
            return HttpResponseRedirect(reverse("portal:request", args=[created.pk]))
    return render(request, "portal/request_form.html", {"form": form})


@recipient_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _visible_request(request, pk)
    return render(
        request,
        "portal/request_detail.html",
        {
            "obj": obj,
            "decisions": selectors.decisions_for(request=obj),
            "irb_form": IrbForm(),
            "dua_form": DuaForm(),
            "can_edit": obj.state in (RequestState.DRAFT, RequestState.CHANGES_REQUESTED),
            "can_submit": obj.state == RequestState.DRAFT,
            "can_resubmit": obj.state == RequestState.CHANGES_REQUESTED,
        },
    )


def _upload(form_file: Any) -> dict[str, Any]:
    return {
        "file": form_file.read(),
        "original_name": form_file.name,
        "content_type": form_file.content_type or "application/octet-stream",
    }


@require_POST
@recipient_required
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    obj = _visible_request(request, pk)
    user = request.user
    try:
        if action == "irb":
            irb = IrbForm(request.POST, request.FILES)
            if not irb.is_valid():
                raise GovernanceError(
                    code=GovernanceErrorCode.VALIDATION, message=_flatten(irb.errors)
                )
            d = irb.cleaned_data
            services.irb_approval_add(
                request=obj,
                acting_user=user,
                number=d["number"],
                institution=d["institution"],
                approved_on=d["approved_on"],
                expires_on=d["expires_on"],
                **_upload(d["file"]),
            )
            messages.success(request, _("IRB approval stored."))
        elif action == "dua":
            dua = DuaForm(request.POST, request.FILES)
            if not dua.is_valid():
                raise GovernanceError(
                    code=GovernanceErrorCode.VALIDATION, message=_flatten(dua.errors)
                )
            d = dua.cleaned_data
            services.dua_add(
                request=obj,
                acting_user=user,
                effective_on=d["effective_on"],
                expires_on=d["expires_on"],
                permitted_purposes=[obj.purpose_code],
                **_upload(d["file"]),
            )
            messages.success(request, _("Data-use agreement stored."))
        elif action == "submit":
            services.request_submit(request=obj, acting_user=user)
            messages.success(request, _("Request submitted for legal review."))
        elif action == "resubmit":
            services.request_resubmit(request=obj, acting_user=user)
            messages.success(request, _("Request resubmitted."))
        else:
            raise Http404
    except GovernanceError as exc:
        _failed(request, exc)
    return HttpResponseRedirect(reverse("portal:request", args=[obj.pk]))


def _flatten(errors: Any) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())


# --- Releases ---------------------------------------------------------------------------------


def _visible_release(request: HttpRequest, pk: int) -> Release:
    found = selectors.releases_visible_to(user=request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@recipient_required
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from governance.api.selectors_api import manifest_files, release_denial

    release = _visible_release(request, pk)
    denial = release_denial(release)
    return render(
        request,
        "portal/release_detail.html",
        {
            "obj": release,
            "files": manifest_files(release) if denial is None else [],
            "denial": denial,
            "renewals": release.renewals.order_by("-created_at"),
            "attestations": release.destruction_attestations.all(),
            "renewal_form": RenewalForm(),
            "attestation_form": AttestationForm(),
        },
    )


@require_POST
@recipient_required
def release_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Renew access with a progress report, or attest the destruction of copies."""
    from datetime import datetime, time

    from django.utils import timezone

    release = _visible_release(request, pk)
    try:
        if action == "renew":
            form = RenewalForm(request.POST, request.FILES)
            if not form.is_valid():
                raise GovernanceError(
                    code=GovernanceErrorCode.VALIDATION, message=_flatten(form.errors)
                )
            d = form.cleaned_data
            until = timezone.make_aware(datetime.combine(d["requested_until"], time(23, 59)))
            services.renewal_request(
                release=release,
                acting_user=request.user,
                progress_summary=d["progress_summary"],
                requested_until=until,
                **_upload(d["file"]),
            )
            messages.success(request, _("Renewal requested; the platform will review it."))
        elif action == "attest":
            attest = AttestationForm(request.POST, request.FILES)
            if not attest.is_valid():
                raise GovernanceError(
                    code=GovernanceErrorCode.VALIDATION, message=_flatten(attest.errors)
                )
            d = attest.cleaned_data
            extra = _upload(d["file"]) if d.get("file") else {}
            services.destruction_attest(
                release=release,
                acting_user=request.user,
                destroyed_on=d["destroyed_on"],
                copies_description=d["copies_description"],
                **extra,
            )
            messages.success(request, _("Destruction attested and recorded."))
        else:
            raise Http404
    except GovernanceError as exc:
        _failed(request, exc)
    return HttpResponseRedirect(reverse("portal:release", args=[release.pk]))


@require_POST
@recipient_required
def release_download(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """A signed, audited link to one file (the API's download path), then the browser follows it."""
    from governance.services.downloads import LinkRefused, issue_file_link

    release = _visible_release(request, pk)
    try:
        path, _expires = issue_file_link(
            release=release,
            name=name,
            person_id=int(request.user.pk or 0),
            token_id=None,
            actor=_actor(request),
        )
    except LinkRefused as exc:
        if exc.denial is None:
            raise Http404 from None
        messages.error(request, exc.denial.message)
        return HttpResponseRedirect(reverse("portal:release", args=[pk]))
    return HttpResponseRedirect(path)


# --- Encryption key ------------------------------------------------------------------------------


@recipient_required
def encryption_key(request: HttpRequest) -> HttpResponse:
    """The organization's Crypt4GH public key: genome files are published encrypted to it."""
    import hashlib

    from deid.errors import PolicyError
    from deid.genome.c4gh import parse_public_key

    org = recipient_organizations(request.user)[0]
    form = KeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organization_register_crypt4gh_key(
                organization=org,
                acting_user=request.user,
                public_key=form.cleaned_data["public_key"],
            )
            messages.success(request, _("Encryption key registered."))
            return HttpResponseRedirect(reverse("portal:key"))
        except GovernanceError as exc:
            _failed(request, exc)
    fingerprint = None
    if org.crypt4gh_public_key:
        try:
            fingerprint = hashlib.sha256(parse_public_key(org.crypt4gh_public_key)).hexdigest()
        except PolicyError:
            fingerprint = None
    return render(
        request, "portal/key.html", {"form": form, "organization": org, "fingerprint": fingerprint}
    )


# --- API tokens ---------------------------------------------------------------------------------


@recipient_required
def tokens(request: HttpRequest) -> HttpResponse:
    from governance.models.tokens import ApiToken
    from governance.services.tokens import token_create

    form = TokenForm(request.POST or None)
    created = None
    orgs = recipient_organizations(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            _, created = token_create(
                person=request.user,
                organization=orgs[0],
                name=form.cleaned_data["name"],
                actor=_actor(request),
            )
        except GovernanceError as exc:
            _failed(request, exc)
    rows = ApiToken.objects.filter(person_id=request.user.pk).order_by("-created_at")
    return render(request, "portal/tokens.html", {"form": form, "created": created, "tokens": rows})


@require_POST
@recipient_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    from governance.models.tokens import ApiToken
    from governance.services.tokens import token_revoke as revoke

    token = ApiToken.objects.filter(pk=pk, person_id=request.user.pk).first()
    if token is None:
        raise Http404
    revoke(token=token, acting_user=request.user, actor=_actor(request))
    messages.success(request, _("Token revoked; it stops working at once."))
    return HttpResponseRedirect(reverse("portal:tokens"))


# --- Notifications -------------------------------------------------------------------------------


@recipient_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    from governance.models import Notification

    rows = Notification.objects.filter(user_id=int(request.user.pk or 0))[:200]
    return render(request, "portal/notifications.html", {"rows": rows})


@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the person's notifications read (portal and admin), then go back."""
    from governance.services.notifications import mark_read

    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("portal:login"))
    mark_read(user=request.user)
    target = request.POST.get("next") or reverse("portal:notifications")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("portal:notifications")
    return HttpResponseRedirect(target)
