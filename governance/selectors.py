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
    DataUseAgreement,
    Decision,
    Document,
    IrbApproval,
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

__all__ = [
    "QueueItem",
    "decisions_for",
    "documents_visible_to",
    "duo_check",
    "duo_purpose",
    "organizations_of",
    "release_download_refusal",
    "release_is_downloadable",
    "releases_visible_to",
    "request_duo_result",
    "requests_visible_to",
    "review_queue",
    "review_queue_counts",
    "valid_dua",
    "valid_irb",
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


# --- evidence: IRB / DUA valid on a day, the DUO check (one rule for approval, publish and
# download) ---


def valid_irb(request: DataAccessRequest, day: date) -> IrbApproval | None:
    """A verified IRB approval of the request valid on ``day`` (latest expiry first)."""
    return (
        IrbApproval.objects.filter(
            request=request,
            verified_at__isnull=False,
            approved_on__lte=day,
            expires_on__gte=day,
        )
        .order_by("-expires_on")
        .first()
    )


def valid_dua(
    request: DataAccessRequest, day: date, *, recipient_id: int | None = None
) -> DataUseAgreement | None:
    """A signed, verified DUA effective on ``day`` that covers the request's purpose and names
    the recipient organization as a party (``recipient_id``, default the request's recipient;
    pass the release's recipient when checking a release)."""
    party = recipient_id if recipient_id is not None else request.recipient_id
    candidates = DataUseAgreement.objects.filter(
        request=request,
        signed_at__isnull=False,
        verified_at__isnull=False,
        effective_on__lte=day,
        expires_on__gte=day,
        parties__pk=party,
    ).order_by("-expires_on")
    for dua in candidates:
        if dua.covers(request.purpose_code):
            return dua
    return None


def duo_purpose(request: DataAccessRequest) -> duo.Purpose:
    return duo.Purpose(
        code=request.purpose_code,
        diseases=tuple(request.purpose_diseases or ()),
        commercial=request.commercial,
        for_profit=request.recipient.for_profit,
        methods_research=request.methods_research,
        will_publish=request.will_publish,
        regions=tuple(request.use_regions or ()),
        duration_months=request.requested_duration_months,
        has_ethics_approval=request.irb_approvals.exists(),
    )


def duo_check(request: DataAccessRequest) -> duo.DuoResult:
    """The DUO compatibility of the request's purpose with every requested dataset."""
    limitations = []
    for dataset in request.datasets.prefetch_related("limitations").order_by("name"):
        limitations.append(
            (
                dataset.name,
                [
                    duo.Limitation(
                        code=lim.code,
                        disease_codes=tuple(lim.disease_codes or ()),
                        time_limit_months=lim.time_limit_months,
                        regions=tuple(lim.regions or ()),
                    )
                    for lim in dataset.limitations.all()
                ],
            )
        )
    return duo.check(duo_purpose(request), limitations)
