"""Every transition of the request and release state machines, and every refusal."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from governance import selectors, services
from governance.errors import GovernanceError
from governance.models import (
    DataUseAgreement,
    DataUseLimitation,
    Decision,
    Document,
    IrbApproval,
    ReleaseState,
    RequestState,
    Verdict,
)
from tests.governance.factories import (
    MANIFEST,
    PDF,
    POLICY_YAML,
    REPORT,
    World,
    actions_for,
    refused,
)

pytestmark = pytest.mark.django_db


# --- request path ---------------------------------------------------------------------------


def test_happy_path_is_audited_step_by_step(world: World, enqueued: list[int]) -> None:
    request = world.draft()
    assert request.state == RequestState.DRAFT
    world.with_documents(request)
    request = services.request_submit(request=request, acting_user=world.researcher)
    assert request.state == RequestState.SUBMITTED
    assert request.due_on is not None
    request = services.request_start_legal_review(request=request, acting_user=world.legal)
    assert request.state == RequestState.LEGAL_REVIEW
    world.verified(request)
    request = services.request_approve_legal(
        request=request, acting_user=world.legal, reason="All in order."
    )
    assert request.state == RequestState.LEGALLY_APPROVED
    policy = services.policy_set(
        request=request, acting_user=world.steward, policy_yaml=POLICY_YAML
    )
    request.refresh_from_db()
    assert request.state == RequestState.STEWARD_REVIEW
    assert policy.sha256
    assert policy.digest["columns"]["person_id"] == "identifier"
    request = services.request_approve_steward(
        request=request, acting_user=world.steward, reason="Policy is adequate."
    )
    assert request.state == RequestState.APPROVED
    release = services.release_create(request=request, acting_user=world.steward)
    assert release.state == ReleaseState.DRAFT
    assert release.policy_id == policy.pk
    release = services.release_build_start(release=release, acting_user=world.steward)
    assert release.state == ReleaseState.BUILDING
    assert release.build_job_id
    # The job is queued after the commit (the test's transaction has not committed).
    assert enqueued == []
    services.release_build_progress(release=release, phase="count", rows_done=50, rows_total=100)
    release.refresh_from_db()
    assert release.build_progress["phase"] == "count"
    assert release.build_progress["rows_done"] == 50
    release = services.release_build_succeeded(
        release=release, manifest=MANIFEST, report=REPORT, files_dir=""
    )
    assert release.state == ReleaseState.BUILT
    assert len(release.manifest_sha256) == 64
    release = services.release_approve(
        release=release, acting_user=world.steward, reason="k=5 reached, low risk."
    )
    assert release.state == ReleaseState.APPROVED
    release = services.release_publish(release=release, acting_user=world.steward)
    assert release.state == ReleaseState.PUBLISHED
    assert selectors.release_is_downloadable(release)

    assert actions_for(request) == [
        "request.created",
        "request.updated",
        "request.updated",
        "request.submitted",
        "request.review_started",
        "request.legal_approved",
        "request.steward_approved",
        "request.updated",
    ]
    assert actions_for(release) == [
        "release.build_started",
        "release.built",
        "release.approved",
        "release.published",
    ]
    verdicts = list(
        selectors.decisions_for(request=request).values_list("stage", "verdict", "decided_by")
    )
    assert verdicts == [
        ("legal", "approve", world.legal.pk),
        ("steward", "approve", world.steward.pk),
        ("release", "approve", world.steward.pk),
    ]


def test_changes_requested_and_resubmitted(world: World) -> None:
    request = world.submitted()
    request = services.request_request_changes(
        request=request, acting_user=world.legal, reason="Narrow the cohort."
    )
    assert request.state == RequestState.CHANGES_REQUESTED
    with refused("invalid_state"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    request = services.request_resubmit(request=request, acting_user=world.researcher)
    assert request.state == RequestState.RESUBMITTED
    request = services.request_start_legal_review(request=request, acting_user=world.legal)
    assert request.state == RequestState.LEGAL_REVIEW
    assert "request.changes_requested" in actions_for(request)
    assert "request.resubmitted" in actions_for(request)


@pytest.mark.parametrize("stage", ["submitted", "legal_review", "changes_requested"])
def test_legal_reject_at_each_step(world: World, stage: str) -> None:
    request = world.submitted()
    if stage == "legal_review":
        services.request_start_legal_review(request=request, acting_user=world.legal)
    if stage == "changes_requested":
        services.request_request_changes(request=request, acting_user=world.legal, reason="x")
    request = services.request_reject(request=request, acting_user=world.legal, reason="No IRB.")
    assert request.state == RequestState.REJECTED
    d = Decision.objects.get(request=request, verdict=Verdict.REJECT)
    assert d.reason == "No IRB."
    assert d.stage == "legal"


def test_steward_reject(world: World) -> None:
    request = world.legally_approved()
    with refused("permission_denied"):  # a legal reviewer cannot reject in steward review
        services.request_reject(request=request, acting_user=world.legal2, reason="x")
    request = services.request_reject(
        request=request, acting_user=world.steward, reason="Cohort too small for k=5."
    )
    assert request.state == RequestState.REJECTED


def test_rejected_request_is_final(world: World) -> None:
    request = world.submitted()
    services.request_reject(request=request, acting_user=world.legal, reason="No.")
    with refused("invalid_state"):
        services.request_reject(request=request, acting_user=world.legal, reason="again")
    with refused("invalid_state"):
        services.request_resubmit(request=request, acting_user=world.researcher)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reason_is_required(world: World, reason: Any) -> None:
    request = world.verified(world.submitted())
    for fn in (
        services.request_approve_legal,
        services.request_reject,
        services.request_request_changes,
    ):
        with refused("reason_required"):
            fn(request=request, acting_user=world.legal, reason=reason)
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_submit_needs_documents(world: World) -> None:
    request = world.draft()
    with refused("validation"):
        services.request_submit(request=request, acting_user=world.researcher)


def test_only_the_recipients_requester_submits(world: World) -> None:
    request = world.with_documents(world.draft())
    with refused("permission_denied"):
        services.request_submit(request=request, acting_user=world.other)
    with refused("permission_denied"):
        services.request_submit(request=request, acting_user=world.legal)


def test_request_create_validation(world: World) -> None:
    with refused("permission_denied"):
        world.draft(acting_user=world.legal)
    with refused("validation"):
        world.draft(datasets=[])
    with refused("validation"):
        world.draft(purpose_code="DS", purpose_diseases=[])
    with refused("validation"):
        world.draft(requested_duration_months=0)
    other = World().dataset
    with refused("validation"):
        world.draft(requested_variables=list(other.variables.all()))


# --- two-person rule, own organization, role separation -----------------------------------


def test_two_person_rule_same_person_cannot_approve_twice(world: World) -> None:
    request = world.verified(world.submitted(), by=world.both)
    services.request_approve_legal(request=request, acting_user=world.both, reason="ok")
    with refused("role_separation"):
        services.policy_set(request=request, acting_user=world.both, policy_yaml=POLICY_YAML)
    services.policy_set(request=request, acting_user=world.steward, policy_yaml=POLICY_YAML)
    with refused("two_person_rule"):
        services.request_approve_steward(request=request, acting_user=world.both, reason="ok")
    request = services.request_approve_steward(
        request=request, acting_user=world.steward, reason="ok"
    )
    release = services.release_create(request=request, acting_user=world.steward)
    services.release_build_start(release=release, acting_user=world.steward)
    release = services.release_build_succeeded(
        release=release, manifest=MANIFEST, report=REPORT, files_dir=""
    )
    with refused("two_person_rule"):
        services.release_approve(release=release, acting_user=world.both, reason="ok")
    release.refresh_from_db()
    assert release.state == ReleaseState.BUILT


def test_nobody_decides_on_their_own_organizations_request(world: World) -> None:
    # A legal reviewer who is also a member of the recipient company.
    services.membership_add(
        user=world.legal2, organization=world.company, role="requester", acting_user=world.admin
    )
    request = world.submitted()
    with refused("own_organization"):
        services.request_start_legal_review(request=request, acting_user=world.legal2)
    with refused("own_organization"):
        services.request_approve_legal(request=request, acting_user=world.legal2, reason="ok")
    with refused("own_organization"):
        services.irb_verify(irb=request.irb_approvals.get(), acting_user=world.legal2)


def test_policy_setter_is_not_the_recipient(world: World) -> None:
    services.membership_add(
        user=world.steward2, organization=world.company, role="requester", acting_user=world.admin
    )
    request = world.legally_approved()
    with refused("role_separation"):
        services.policy_set(request=request, acting_user=world.steward2, policy_yaml=POLICY_YAML)


def test_wrong_roles_are_refused(world: World) -> None:
    request = world.verified(world.submitted())
    with refused("permission_denied"):  # a steward cannot approve legally (nor verify DUAs)
        services.request_approve_legal(request=request, acting_user=world.steward, reason="x")
    with refused("permission_denied"):
        services.dua_verify(dua=request.duas.get(), acting_user=world.steward)
    with refused("permission_denied"):
        services.request_approve_legal(request=request, acting_user=world.auditor, reason="x")
    services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    with refused("permission_denied"):  # a legal reviewer cannot set policies
        services.policy_set(request=request, acting_user=world.legal2, policy_yaml=POLICY_YAML)
    with refused("permission_denied"):
        services.policy_set(request=request, acting_user=world.auditor, policy_yaml=POLICY_YAML)


# --- documents, IRB, DUA --------------------------------------------------------------------


def test_documents_are_stored_under_generated_names_with_sha256(world: World) -> None:
    request = world.with_documents(world.draft())
    doc = request.irb_approvals.get().document
    assert doc.original_name == "irb approval.pdf"
    assert "etc" not in doc.file.name
    assert "irb" not in doc.file.name
    assert doc.file.name.startswith("documents/")
    assert doc.file.name.endswith(".pdf")
    import hashlib

    assert doc.sha256 == hashlib.sha256(PDF).hexdigest()
    assert doc.size == len(PDF)
    assert Path(doc.file.path).read_bytes() == PDF
    assert request.duas.get().signed_sha256 == request.duas.get().document.sha256


@pytest.mark.parametrize(
    ("data", "ctype"),
    [(PDF, "application/x-msdownload"), (b"", "application/pdf"), (b"MZ\x90", "application/pdf")],
)
def test_bad_documents_are_refused(world: World, data: bytes, ctype: str) -> None:
    with refused("document_invalid"):
        services.document_create(
            kind=Document.Kind.IRB,
            file=data,
            original_name="x.pdf",
            content_type=ctype,
            acting_user=world.researcher,
        )


def test_document_too_large(world: World, settings: Any) -> None:
    settings.DEID_MAX_DOCUMENT_BYTES = 10
    with pytest.raises(GovernanceError) as e:
        services.document_create(
            kind="irb",
            file=PDF,
            original_name="x.pdf",
            content_type="application/pdf",
            acting_user=world.researcher,
        )
    assert e.value.status == 413


def test_document_view_is_audited_and_scoped(world: World) -> None:
    request = world.with_documents(world.draft())
    doc = request.irb_approvals.get().document
    services.document_view(document=doc, acting_user=world.legal)
    assert actions_for(doc)[-1] == "document.viewed"
    with refused("permission_denied"):
        services.document_view(document=doc, acting_user=world.other)


def test_legal_approval_needs_verified_documents(world: World) -> None:
    request = world.submitted()
    with refused("irb_invalid"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    services.irb_verify(irb=request.irb_approvals.get(), acting_user=world.legal)
    with refused("dua_invalid"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    services.dua_verify(dua=request.duas.get(), acting_user=world.legal)
    with refused("invalid_state"):
        services.dua_verify(dua=request.duas.get(), acting_user=world.legal)


def test_dua_must_cover_the_purpose(world: World) -> None:
    request = world.with_documents(world.draft(), purposes=("POA",))
    services.request_submit(request=request, acting_user=world.researcher)
    world.verified(request)
    with refused("dua_invalid"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")


def test_verify_expired_irb_refused(world: World) -> None:
    request = world.submitted()
    irb = request.irb_approvals.get()
    irb.expires_on = timezone.localdate() - timedelta(days=1)
    irb.approved_on = irb.expires_on - timedelta(days=100)
    irb.save()
    with refused("irb_invalid"):
        services.irb_verify(irb=irb, acting_user=world.legal)


# --- DUO --------------------------------------------------------------------------------------


def test_duo_incompatible_needs_override_reason(world: World) -> None:
    DataUseLimitation.objects.create(dataset=world.dataset, code="NCU")
    request = world.verified(world.submitted(commercial=True))
    result = selectors.request_duo_result(request=request)
    assert not result.compatible
    assert "commercial" in result.summary()
    with refused("duo_incompatible"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    services.request_approve_legal(
        request=request,
        acting_user=world.legal,
        reason="ok",
        override_reason="Provider waived NCU in writing (letter 2026-11).",
    )
    d = Decision.objects.get(request=request, stage="legal")
    assert d.override_reason.startswith("Provider waived")
    assert "request.duo_overridden" in actions_for(request)


def test_policy_validation(world: World) -> None:
    request = world.legally_approved()
    for bad in ("", "- just\n- a list\n", "a: [unclosed"):
        with refused("policy_invalid"):
            services.policy_set(request=request, acting_user=world.steward, policy_yaml=bad)


def test_user_create_sets_staff_and_groups(db: None, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    w = World()
    assert w.legal.is_staff
    assert not w.researcher.is_staff
    assert set(w.legal.groups.values_list("name", flat=True)) == {"legal_reviewer"}
    assert w.legal.password.startswith("argon2")
    with refused("validation"):
        services.user_create(
            username="x", email="x@x", password="p", organization=w.company, roles=["king"]
        )
    # only an administrator creates people (None: the system itself, e.g. the demo's seed)
    for caller in (w.researcher, w.legal, w.steward):
        with refused("permission_denied"):
            services.user_create(
                username="mallory",
                email="m@x",
                password="p" * 12,
                organization=w.platform,
                roles=["administrator"],
                acting_user=caller,
            )
    made = services.user_create(
        username="newcomer",
        email="n@x",
        password="p" * 12,
        organization=w.company,
        roles=["requester"],
        acting_user=w.admin,
    )
    assert made.username == "newcomer"


def test_no_secret_reaches_the_audit_log_or_the_logs(
    world: World, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Every password, token, key and second-factor secret this test creates is looked for in
    every column of every audit row and in everything logged while they were used."""
    import logging

    from audit.services import Actor
    from deid.keys import KeyStore, generate_master_key_file
    from governance.roles import totp_device_create
    from governance.services.tokens import token_create
    from tests.governance.factories import PASSWORD

    caplog.set_level(logging.DEBUG)
    release = world.published()
    keys = Path(settings.DEID_KEYS_DIR)
    master = generate_master_key_file(keys / "master.key")
    settings.DEID_MASTER_KEY_FILE = keys / "master.key"
    store = KeyStore(keys, master)
    key_id = store.create_release_key(release_id=str(release.pk), recipient_org_id="x")
    release_key = store.release_key(key_id)
    release.key_id = key_id
    release.save()
    _, token = token_create(
        person=world.researcher,
        organization=world.company,
        name="script",
        actor=Actor.for_user(world.researcher, role="requester"),
    )
    device = totp_device_create(user=world.steward)
    services.release_revoke(release=release, acting_user=world.legal, reason="Breach reported.")
    services.release_destroy(release=release, acting_user=world.steward)

    secrets = {
        "password": PASSWORD,
        "api token": token,
        "api token secret part": token.split("_", 2)[-1],  # after scheme and public prefix
        "master key file": (keys / "master.key").read_text().strip(),
        "master key bytes": master._material.hex(),
        "release key": release_key._material.hex(),
        "person domain key": release_key.domain_key("person").decode(),
        "totp secret": device.key,
    }
    short = {k: len(v) for k, v in secrets.items() if len(v) < 16}
    assert not short, f"each secret is long enough to find: {short}"
    rows = [str(row) for row in AuditEvent.objects.values()]
    assert len(rows) > 10
    assert any(key_id in row for row in rows), "the key id (not the key) is audited"
    for what, secret in secrets.items():
        assert not any(secret in row for row in rows), f"{what} in the audit log"
        assert secret not in caplog.text, f"{what} in the logs"


# --- concurrency (PostgreSQL only: SQLite ignores select_for_update) --------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_exactly_one_wins(enqueued: list[int]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite ignores select_for_update")
    w = World()
    request = w.verified(w.submitted())
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(fn: Any, user: Any) -> None:
        from django.db import connection as conn

        try:
            barrier.wait()
            fn(request=request, acting_user=user, reason="decided")
            outcomes.append("ok")
        except GovernanceError as exc:
            outcomes.append(exc.code)
        finally:
            conn.close()

    threads = [
        threading.Thread(target=decide, args=(services.request_approve_legal, w.legal)),
        # Both decisions need the legal-review state, so whichever thread loses the row
        # lock must see the other's state change: the loser's code does not depend on order.
        threading.Thread(target=decide, args=(services.request_request_changes, w.legal2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["invalid_state", "ok"], outcomes
    assert Decision.objects.filter(request=request).count() == 1


def test_settings_use_argon2_first() -> None:
    from config import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


# --- document storage: names and rollback (follow-up) ------------------------------------------


def _stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_document_is_stored_once_under_documents(world: World, settings: Any) -> None:
    import re

    request = world.with_documents(world.draft())
    doc = request.irb_approvals.get().document
    assert re.fullmatch(r"documents/[0-9a-f]{32}\.pdf", doc.file.name), doc.file.name
    path = Path(settings.MEDIA_ROOT) / doc.file.name
    assert path.read_bytes() == PDF
    assert not (Path(settings.MEDIA_ROOT) / "documents" / "documents").exists()
    assert len(_stored_files(settings)) == 2  # the IRB approval and the DUA, nothing else


def test_a_rolled_back_document_leaves_no_file(
    world: World, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from governance.models import IrbApproval

    request = world.draft()

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("database went away after the file was stored")

    # The enclosing service fails after document_create stored the file.
    monkeypatch.setattr(IrbApproval.objects, "create", boom)
    with pytest.raises(RuntimeError):
        services.irb_approval_add(
            request=request,
            acting_user=world.researcher,
            number="IRB-1",
            institution="KNUH",
            approved_on=timezone.localdate() - timedelta(days=3),
            expires_on=timezone.localdate() + timedelta(days=300),
            file=PDF,
            original_name="irb.pdf",
            content_type="application/pdf",
        )
    assert not Document.objects.exists()
    assert _stored_files(settings) == []
    monkeypatch.undo()

    # document_create's own transaction fails (its audit event): the file goes too.
    def audit_fails(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit chain unavailable")

    # the package's modules each hold the helper: patch the one document_create calls
    from governance.services import documents

    monkeypatch.setattr(documents, "_audit", audit_fails)
    with pytest.raises(RuntimeError):
        services.document_create(
            kind=Document.Kind.IRB,
            file=PDF,
            original_name="x.pdf",
            content_type="application/pdf",
            acting_user=world.researcher,
        )
    assert not Document.objects.exists()
    assert _stored_files(settings) == []
    monkeypatch.undo()

    # A successful upload keeps its file.
    doc = services.document_create(
        kind=Document.Kind.IRB,
        file=PDF,
        original_name="x.pdf",
        content_type="application/pdf",
        acting_user=world.researcher,
    )
    assert _stored_files(settings) == [Path(settings.MEDIA_ROOT) / doc.file.name]


def test_sweep_removes_files_of_a_callers_rolled_back_transaction(
    world: World, settings: Any
) -> None:
    """A caller's enclosing transaction rolls back after the service returned (the API's
    ``file_request`` does this when submission is refused): the sweep removes the file, and
    only once it is older than the in-flight window; committed documents stay."""
    import os
    import time
    from io import StringIO

    from django.core.management import call_command
    from django.db import transaction

    kept = world.with_documents(world.draft())
    kept_files = _stored_files(settings)
    assert len(kept_files) == 2
    request = world.draft()

    def caller() -> None:
        with transaction.atomic():
            services.irb_approval_add(
                request=request,
                acting_user=world.researcher,
                number="IRB-2",
                institution="KNUH",
                approved_on=timezone.localdate() - timedelta(days=3),
                expires_on=timezone.localdate() + timedelta(days=300),
                file=PDF,
                original_name="irb.pdf",
                content_type="application/pdf",
            )
            raise RuntimeError("the caller's next step failed")

    with pytest.raises(RuntimeError):
        caller()
    assert Document.objects.count() == 2
    orphans = [p for p in _stored_files(settings) if p not in kept_files]
    assert len(orphans) == 1  # a wrapping caller (documents_removed_on_error) would avoid this

    out = StringIO()
    call_command("governance_documents_sweep", stdout=out)
    assert "0 orphan" in out.getvalue()  # too fresh: its transaction might still be open
    old = time.time() - 2 * 3600
    for path in _stored_files(settings):
        os.utime(path, (old, old))
    call_command("governance_documents_sweep", "--dry-run", stdout=out)
    assert orphans[0].exists()
    call_command("governance_documents_sweep", stdout=out)
    assert _stored_files(settings) == kept_files
    assert kept.irb_approvals.get().document.file.read() == PDF
    event = AuditEvent.objects.filter(action="system.job").order_by("-pk").first()
    assert event is not None
    assert event.details == {"job": "governance_documents_sweep", "removed": 1}


def test_a_wrapping_caller_removes_files_at_once(world: World, settings: Any) -> None:
    from django.db import transaction

    request = world.draft()
    seen: list[int] = []

    def caller() -> None:
        with services.documents_removed_on_error(), transaction.atomic():
            world.with_documents(request)
            seen.append(len(_stored_files(settings)))
            raise RuntimeError("refused later in the caller")

    with pytest.raises(RuntimeError):
        caller()
    assert seen == [2]
    assert _stored_files(settings) == []


# --- approval uses the same IRB/DUA rule as publish and download ------------------------------


def test_legal_approval_needs_a_dua_naming_the_recipient(world: World) -> None:
    """Approval, publish and download share one rule (``valid_dua``): a DUA that does not
    name the recipient organization as a party does not count at approval either."""
    request = world.verified(world.submitted())
    dua = request.duas.get()
    dua.parties.remove(request.recipient)
    with refused("dua_invalid"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    dua.parties.add(request.recipient)
    request = services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    assert request.state == RequestState.LEGALLY_APPROVED


def test_legal_approval_needs_documents_in_force_today(world: World) -> None:
    """A verified DUA that takes effect next week is not in force today."""
    request = world.verified(world.submitted())
    DataUseAgreement.objects.filter(pk=request.duas.get().pk).update(
        effective_on=timezone.localdate() + timedelta(days=7)
    )
    with refused("dua_invalid"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
    IrbApproval.objects.filter(pk=request.irb_approvals.get().pk).update(
        approved_on=timezone.localdate() + timedelta(days=7)
    )
    with refused("irb_invalid"):
        services.request_approve_legal(request=request, acting_user=world.legal, reason="ok")
