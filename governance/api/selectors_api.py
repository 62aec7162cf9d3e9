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
from rest_framework.request import Request

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

# States in which the recipient may see that its release exists (the rest are internal).
RECIPIENT_VISIBLE_STATES = (
    ReleaseState.APPROVED,
    ReleaseState.PUBLISHED,
    ReleaseState.EXPIRED,
    ReleaseState.REVOKED,
    ReleaseState.DESTROYED,
)


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
    return releases_visible_to_orgs(org_ids).filter(state=ReleaseState.PUBLISHED)


# --- Downloadability ----------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    """Why a release cannot be read now: HTTP status, stable code, message."""

    status: int
    code: str
    message: str


def valid_dua(release: Release, today: date) -> Any | None:
    request = release.request
    for dua in request.duas.all().prefetch_related("parties"):
        if (
            dua.is_effective_on(today)
            and dua.covers(request.purpose_code)
            and any(p.pk == release.recipient_id for p in dua.parties.all())
        ):
            return dua
    return None


def valid_irb(release: Release, today: date) -> Any | None:
    for irb in release.request.irb_approvals.all():
        if irb.is_valid_on(today):
            return irb
    return None


def release_denial(
    release: Release, *, now: datetime | None = None, check_agreements: bool = True
) -> Denial | None:
    """None when the release may be read now; else why not (409 wrong state, 410 gone)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    state = release.state
    if state in (ReleaseState.REVOKED, ReleaseState.DESTROYED) or release.revoked_at is not None:
        return Denial(410, "release_revoked", "This release has been revoked.")
    if state == ReleaseState.EXPIRED or (
        release.expires_at is not None and release.expires_at <= now
    ):
        return Denial(410, "release_expired", "This release has expired.")
    if state != ReleaseState.PUBLISHED:
        return Denial(409, "release_not_published", "This release is not published yet.")
    if check_agreements:
        if valid_dua(release, today) is None:
            return Denial(
                410,
                "dua_not_valid",
                "No signed data-use agreement covering this release is in effect today.",
            )
        if valid_irb(release, today) is None:
            return Denial(410, "irb_not_valid", "No verified IRB approval is valid today.")
        # The governance workflow's own rule has the last word.
        try:
            from governance import selectors
        except ImportError:  # pragma: no cover - the workflow module is always there in the end
            selectors = None  # type: ignore[assignment]
        is_downloadable = getattr(selectors, "release_is_downloadable", None)
        if is_downloadable is not None and not is_downloadable(release, today):
            return Denial(410, "release_not_downloadable", "This release cannot be downloaded.")
    return None


def refreshed_denial(release_id: int) -> Denial | None:
    """Re-read the release from the database and check it again (between download chunks)."""
    release = Release.objects.select_related("request").filter(pk=release_id).first()
    if release is None:
        return Denial(410, "release_revoked", "This release no longer exists.")
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
