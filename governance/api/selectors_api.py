"""Reads for the API: which organization a caller acts for, what it may see, may download.

Visibility is decided here and nowhere else: a view looks objects up only in
these querysets, so an object of another organization is a 404 (its existence
is not leaked), whatever endpoint is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from governance import selectors
from governance.models import (
    DataAccessRequest,
    Decision,
    Membership,
    Organization,
    Release,
    ReleaseState,
    Role,
)
from governance.models.tokens import ApiToken

# States in which the recipient may see that its release exists: one rule, in selectors.
RECIPIENT_VISIBLE_STATES = selectors.RECIPIENT_VISIBLE_STATES


def person_in_organization(*, person: Any, organization: Organization) -> bool:
    return Membership.objects.filter(user=person, organization=organization).exists()


def can_file_requests(*, person: Any, organization: Organization | int) -> bool:
    org_id = organization if isinstance(organization, int) else organization.pk
    return Membership.objects.filter(
        user=person, organization_id=org_id, role=Role.REQUESTER
    ).exists()


def api_organizations(request: Request) -> list[int]:
    """The organization ids the caller acts for: the token's one, or a session user's own."""
    cached = getattr(request, "_api_org_ids", None)
    if cached is not None:
        return list(cached)
    if isinstance(request.auth, ApiToken):
        ids = [request.auth.organization_id]
    elif request.user and request.user.is_authenticated:
        ids = sorted(
            set(
                Membership.objects.filter(user=request.user).values_list(
                    "organization_id", flat=True
                )
            )
        )
    else:
        ids = []
    request._api_org_ids = ids  # type: ignore[attr-defined]
    return ids


def requests_visible_to_orgs(org_ids: list[int]) -> QuerySet[DataAccessRequest]:
    return (
        DataAccessRequest.objects.filter(recipient_id__in=org_ids)
        .select_related("recipient")
        .prefetch_related(
            "datasets",
            Prefetch("decisions", queryset=Decision.objects.order_by("decided_at", "pk")),
            "irb_approvals",
            "duas",
        )
        .order_by("-created_at", "-pk")
    )


def releases_visible_to_orgs(org_ids: list[int]) -> QuerySet[Release]:
    return (
        Release.objects.filter(recipient_id__in=org_ids, state__in=RECIPIENT_VISIBLE_STATES)
        .select_related("request", "recipient")
        .order_by("-published_at", "-pk")
    )


def published_releases_for_orgs(org_ids: list[int]) -> QuerySet[Release]:
    """Published and not past their expiry (even before ``governance_expire`` has run)."""
    return releases_visible_to_orgs(org_ids).filter(
        state=ReleaseState.PUBLISHED, expires_at__gt=timezone.now()
    )


# --- Downloadability ----------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    """Why a release cannot be read now: HTTP status, stable code, message."""

    status: int
    code: str
    message: Any  # str, or a lazy translation (rendered in the reader's language)


# The workflow's refusal codes (governance.selectors.release_download_refusal) as API errors.
_REFUSALS = {
    "revoked": Denial(410, "release_revoked", _("This release has been revoked.")),
    "expired": Denial(410, "release_expired", _("This release has expired.")),
    "not_published": Denial(409, "release_not_published", _("This release is not published.")),
    "irb_invalid": Denial(410, "irb_invalid", _("No verified IRB approval is valid today.")),
    "dua_invalid": Denial(
        410,
        "dua_invalid",
        _("No signed data-use agreement covering this release is in effect today."),
    ),
}


def valid_dua(release: Release, today: date) -> Any | None:
    """The DUA in effect today for this release (it names the recipient: ``selectors.valid_dua``)."""
    return selectors.valid_dua(release.request, today, recipient_id=release.recipient_id)


def valid_irb(release: Release, today: date) -> Any | None:
    return selectors.valid_irb(release.request, today)


def release_denial(release: Release, *, now: datetime | None = None) -> Denial | None:
    """None when the release may be read now; else why not (409 wrong state, 410 gone).

    The rule is the workflow's (``release_download_refusal``), which includes that the DUA
    in effect names the recipient organization as a party.
    """
    now = now or timezone.now()
    code = selectors.release_download_refusal(release, now=now)
    if code is not None:
        return _REFUSALS.get(code, Denial(410, code, _("This release cannot be downloaded.")))
    return None


def quick_denial(release_id: int) -> Denial | None:
    """Revocation and expiry from the release row alone (one small query).

    Between download chunks; the full rule (IRB and DUA valid today) is re-checked
    less often, see ``refreshed_denial``.
    """
    row = Release.objects.filter(pk=release_id).values("state", "revoked_at", "expires_at").first()
    if row is None or row["state"] in (ReleaseState.REVOKED, ReleaseState.DESTROYED):
        return _REFUSALS["revoked"]
    if row["revoked_at"] is not None:
        return _REFUSALS["revoked"]
    if row["state"] == ReleaseState.EXPIRED or (
        row["expires_at"] is not None and row["expires_at"] <= timezone.now()
    ):
        return _REFUSALS["expired"]
    if row["state"] != ReleaseState.PUBLISHED:
        return _REFUSALS["not_published"]
    return None


def refreshed_denial(release_id: int) -> Denial | None:
    """Re-read the release from the database and check it again (between download chunks)."""
    release = Release.objects.select_related("request").filter(pk=release_id).first()
    if release is None:
        return Denial(410, "release_revoked", _("This release no longer exists."))
    return release_denial(release)


def release_files_dir(release: Release) -> Path:
    base = Path(settings.DEID_RELEASES_DIR)
    if release.files_dir:
        path = Path(release.files_dir)
        return path if path.is_absolute() else base / path
    return base / str(release.pk)


def manifest_files(release: Release) -> list[dict[str, Any]]:
    manifest = release.manifest or {}
    files = manifest.get("files") or []
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("name"), str)]
