"""Database invariants: constraints hold even when code goes around the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.models import (
    DataUseLimitation,
    Decision,
    Membership,
    Release,
    ReleaseState,
    Renewal,
    Variable,
)
from tests.governance.factories import PDF, World

pytestmark = pytest.mark.django_db


def violates(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_dua_must_prohibit_reidentification(world: World) -> None:
    request = world.with_documents(world.draft())
    dua = request.duas.get()
    dua.prohibits_reidentification = False
    violates(dua.save)


def test_irb_dates_and_verification_pairs(world: World) -> None:
    request = world.with_documents(world.draft())
    irb = request.irb_approvals.get()
    irb.expires_on = irb.approved_on
    violates(irb.save)
    irb.refresh_from_db()
    irb.verified_by = world.legal  # verified_by without verified_at
    violates(irb.save)


def test_decision_needs_reason_and_subject(world: World) -> None:
    request = world.draft()
    violates(
        lambda: Decision.objects.create(
            request=request,
            stage="legal",
            decided_by=world.legal,
            role="legal_reviewer",
            verdict="approve",
            reason="",
        )
    )
    violates(
        lambda: Decision.objects.create(
            stage="legal",
            decided_by=world.legal,
            role="legal_reviewer",
            verdict="approve",
            reason="x",
        )
    )


def test_request_state_and_duration(world: World) -> None:
    request = world.draft()
    request.state = "teleported"
    violates(request.save)
    request.refresh_from_db()
    request.requested_duration_months = 61
    violates(request.save)
    request.refresh_from_db()
    request.state = "submitted"  # submitted without a timestamp
    violates(request.save)


def test_published_release_needs_manifest_and_expiry(world: World) -> None:
    request = world.approved()
    release = Release.objects.create(
        request=request, recipient=world.company, created_by=world.steward
    )
    release.state = ReleaseState.PUBLISHED
    violates(release.save)
    release.state = ReleaseState.REVOKED
    violates(release.save)


def test_uniques(world: World) -> None:
    violates(
        lambda: Membership.objects.create(
            user=world.legal, organization=world.law, role="legal_reviewer"
        )
    )
    v = world.dataset.variables.first()
    violates(
        lambda: Variable.objects.create(
            dataset=world.dataset, table=v.table, name=v.name, deid_class="quasi"
        )
    )
    violates(lambda: DataUseLimitation.objects.create(dataset=world.dataset, code="HMB"))
    violates(lambda: DataUseLimitation.objects.create(dataset=world.dataset, code="TS"))


def test_one_open_renewal_per_release(world: World) -> None:
    from governance import services

    release = world.published()
    until = release.expires_at + timedelta(days=30)
    services.renewal_request(
        release=release,
        acting_user=world.researcher,
        progress_summary="p",
        requested_until=until,
        file=PDF,
        original_name="p.pdf",
        content_type="application/pdf",
    )
    doc = Renewal.objects.get().progress_report
    violates(
        lambda: Renewal.objects.create(
            release=release,
            requested_by=world.researcher,
            progress_summary="x",
            progress_report=doc,
            requested_until=timezone.now(),
        )
    )


def test_str_and_validity_helpers(world: World) -> None:
    request = world.approved()
    irb = request.irb_approvals.get()
    dua = request.duas.get()
    today = timezone.localdate()
    assert irb.is_valid_on(today)
    assert not irb.is_valid_on(irb.expires_on + timedelta(days=1))
    assert dua.is_effective_on(today)
    assert dua.covers("DS")
    assert not dua.covers("POA")
    assert str(request).startswith(f"#{request.pk}")
