"""Governance reads: what each person may see, what waits for them, and whether a release may
be downloaded right now. Visibility lives here because object permissions never run on lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from governance import duo
from governance.models import (
    DataAccessRequest,
    Decision,
    Document,
    Membership,
    Organization,
    Release,
    ReleaseState,
    Renewal,
    RenewalState,
    RequestState,
    Role,
)
from governance.roles import roles_of
from governance.services import duo_check, valid_dua, valid_irb

__all__ = [
    "QueueItem",
    "decisions_for",
    "documents_visible_to",
    "organizations_of",
    "release_download_refusal",
    "release_is_downloadable",
    "releases_visible_to",
    "request_duo_result",
    "requests_visible_to",
    "review_queue",
    "review_queue_counts",
]

_SEE_ALL = {Role.LEGAL_REVIEWER, Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR}


def organizations_of(*, user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user).distinct()


def _sees_all(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or bool(roles_of(user) & _SEE_ALL)


# The release states in which a recipient may see that its release exists: from
# publication on; earlier states are internal. The API's reads use the same tuple.
RECIPIENT_VISIBLE_STATES = (
    ReleaseState.PUBLISHED,
    ReleaseState.EXPIRED,
    ReleaseState.REVOKED,
    ReleaseState.DESTROYED,
)


def requests_visible_to(*, user: Any) -> QuerySet[DataAccessRequest]:
    """Reviewers, auditors and administrators see every request; others their organization's."""
    qs = DataAccessRequest.objects.select_related("recipient", "requester")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if _sees_all(user):
        return qs
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    return qs.filter(recipient_id__in=org_ids)


def releases_visible_to(*, user: Any) -> QuerySet[Release]:
    qs = Release.objects.select_related("request", "recipient", "policy")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if _sees_all(user):
        return qs
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    return qs.filter(recipient_id__in=org_ids, state__in=RECIPIENT_VISIBLE_STATES)


def documents_visible_to(*, user: Any) -> QuerySet[Document]:
    qs = Document.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if _sees_all(user):
        return qs
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    return qs.filter(Q(request__recipient_id__in=org_ids) | Q(uploaded_by=user))


def decisions_for(*, request: DataAccessRequest) -> QuerySet[Decision]:
    """Every decision on the request, its releases and renewals, oldest first."""
    return (
        Decision.objects.filter(
            Q(request=request) | Q(release__request=request) | Q(renewal__release__request=request)
        )
        .select_related("decided_by")
        .order_by("decided_at", "pk")
    )


def request_duo_result(*, request: DataAccessRequest) -> duo.DuoResult:
    return duo_check(request)


def release_download_refusal(
    release: Release, today: date | None = None, now: datetime | None = None
) -> str | None:
    """Why the release may not be downloaded right now (a stable code), or None if it may.

    Codes: ``not_published``, ``revoked``, ``expired``, ``irb_invalid``, ``dua_invalid``.
    Checked at download time so expiry and revocation take effect on the next byte.
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    if release.state == ReleaseState.REVOKED or release.revoked_at is not None:
        return "revoked"
    if release.state in (ReleaseState.EXPIRED, ReleaseState.DESTROYED):
        return "expired"
    if release.state != ReleaseState.PUBLISHED:
        return "not_published"
    if (
        release.expires_at is None
        or release.expires_at <= now
        or timezone.localdate(release.expires_at) <= today
    ):
        return "expired"
    if valid_irb(release.request, today) is None:
        return "irb_invalid"
    if valid_dua(release.request, today, recipient_id=release.recipient_id) is None:
        return "dua_invalid"
    return None


def release_is_downloadable(release: Release, today: date | None = None) -> bool:
    """True only for a published, unrevoked, unexpired release whose IRB approval and DUA are
    valid ``today`` (the API calls this on every file request)."""
    return release_download_refusal(release, today=today) is None


@dataclass(frozen=True)
class QueueItem:
    kind: str  # "request" | "release" | "renewal"
    obj: Any
    waiting_since: datetime
    action: str


def review_queue(*, user: Any) -> list[QueueItem]:
    """What waits for this person, oldest first."""
    held = roles_of(user)
    items: list[QueueItem] = []
    org_ids = list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    if Role.LEGAL_REVIEWER in held:
        for r in (
            DataAccessRequest.objects.filter(
                state__in=[
                    RequestState.SUBMITTED,
                    RequestState.LEGAL_REVIEW,
                    RequestState.RESUBMITTED,
                ]
            )
            .exclude(recipient_id__in=org_ids)
            .select_related("recipient")
        ):
            items.append(QueueItem("request", r, r.state_changed_at, "legal review"))
        for rn in (
            Renewal.objects.filter(state=RenewalState.SUBMITTED)
            .exclude(release__recipient_id__in=org_ids)
            .select_related("release")
        ):
            items.append(QueueItem("renewal", rn, rn.created_at, "renewal review"))
    if Role.DATA_STEWARD in held:
        legal_approved_by_me = Decision.objects.filter(
            decided_by=user, stage=Decision.Stage.LEGAL, verdict="approve"
        ).values("request_id")
        for r in (
            DataAccessRequest.objects.filter(
                state__in=[RequestState.LEGALLY_APPROVED, RequestState.STEWARD_REVIEW]
            )
            .exclude(recipient_id__in=org_ids)
            .exclude(pk__in=legal_approved_by_me)
            .select_related("recipient")
        ):
            items.append(QueueItem("request", r, r.state_changed_at, "policy and steward review"))
        for rel in (
            Release.objects.filter(state__in=[ReleaseState.BUILT, ReleaseState.APPROVED])
            .exclude(recipient_id__in=org_ids)
            .exclude(request_id__in=legal_approved_by_me)
            .select_related("request", "recipient")
        ):
            action = "read report, approve" if rel.state == ReleaseState.BUILT else "publish"
            items.append(QueueItem("release", rel, rel.state_changed_at, action))
    if Role.REQUESTER in held:
        for r in DataAccessRequest.objects.filter(
            recipient_id__in=org_ids,
            state__in=[RequestState.DRAFT, RequestState.CHANGES_REQUESTED],
        ):
            items.append(QueueItem("request", r, r.state_changed_at, "complete and submit"))
    items.sort(key=lambda i: i.waiting_since)
    return items


def review_queue_counts(*, user: Any) -> dict[str, int]:
    """Counters for the admin index: items waiting for this person by kind."""
    counts = {"request": 0, "release": 0, "renewal": 0}
    for item in review_queue(user=user):
        counts[item.kind] += 1
    counts["total"] = sum(counts.values())
    return counts
