"""record_event: the chain it builds, what it refuses, the actor it records."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import RequestFactory

from audit.actions import AuditAction
from audit.canonical import GENESIS_HASH, event_hash
from audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from audit.services import Actor, record_event

pytestmark = pytest.mark.django_db


def _recompute(event: AuditEvent) -> str:
    return event_hash(
        seq=event.seq,
        time=event.time,
        actor_user_id=event.actor_user_id,
        actor_username=event.actor_username,
        actor_role=event.actor_role,
        actor_token_id=event.actor_token_id,
        actor_session=event.actor_session,
        actor_ip=event.actor_ip,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details_json=event.details_json,
        prev_hash=event.prev_hash,
    )


def _append(n: int, **extra: object) -> list[AuditEvent]:
    return [
        record_event(
            action=AuditAction.REQUEST_SUBMITTED,
            actor=Actor.system("test"),
            object_type="governance.dataaccessrequest",
            object_id=i,
            details={"i": i, "note": "한국어 text", **extra},
        )
        for i in range(n)
    ]


def test_events_form_a_gap_free_hash_chain() -> None:
    start = AuditChainHead.objects.get(pk=1)
    events = _append(5)
    seqs = [e.seq for e in events]
    assert seqs == list(range(start.seq + 1, start.seq + 6))
    prev = start.hash
    for stored in AuditEvent.objects.filter(seq__in=seqs).order_by("seq"):
        assert stored.prev_hash == prev
        assert _recompute(stored) == stored.hash
        prev = stored.hash
    head = AuditChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)


def test_first_event_links_to_genesis() -> None:
    if AuditEvent.objects.exists():
        pytest.skip("the log already holds events from transactional tests")
    (event,) = _append(1)
    assert event.seq == 1
    assert event.prev_hash == GENESIS_HASH


def test_event_rolls_back_with_the_callers_transaction() -> None:
    head = AuditChainHead.objects.get(pk=1)

    def decide_then_fail() -> None:
        with transaction.atomic():
            _append(1)
            raise RuntimeError("decision failed")

    with pytest.raises(RuntimeError, match="decision failed"):
        decide_then_fail()
    assert AuditChainHead.objects.get(pk=1).seq == head.seq
    assert not AuditEvent.objects.filter(seq=head.seq + 1).exists()
    (event,) = _append(1)
    assert event.seq == head.seq + 1


@pytest.mark.parametrize(
    "details",
    [
        {"password": "hunter2"},
        {"token": "abc"},
        {"api_key": "x"},
        {"nested": {"secret": "x"}},
        {"key_material": "00"},
        {"key": "00ff"},
        {"list": [{"private_key": "x"}]},
        {"header": "Bearer gdt_0123456789ab_secretsecretsecretsecret"},
        {"raw": "gdt_0123456789ab_secretsecretsecretsecret"},
        {"pem": "-----BEGIN PRIVATE KEY-----\nMC4C..."},
    ],
)
def test_secrets_in_details_are_refused(details: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="secret"):
        record_event(
            action=AuditAction.KEY_DERIVED,
            actor=Actor.system("test"),
            object_type="governance.release",
            object_id=1,
            details=details,
        )


@pytest.mark.parametrize(
    "details",
    [{"key_id": "rk_1"}, {"token_id": "ab12"}, {"token_prefix": "ab12"}, {"bytes_sent": 10}],
)
def test_ids_are_not_secrets(details: dict[str, object]) -> None:
    event = record_event(
        action=AuditAction.KEY_DERIVED,
        actor=Actor.system("test"),
        object_type="governance.release",
        object_id=1,
        details=details,
    )
    assert event.details == details


@pytest.mark.parametrize(
    "details",
    [{"when": object()}, {"x": float("nan")}, ["not", "a", "map"], {"s": "\ud800"}, {"n": "a\x00"}],
)
def test_details_must_be_a_json_object(details: object) -> None:
    with pytest.raises(ValueError, match="audit details"):
        record_event(
            action=AuditAction.POLICY_CHANGED,
            actor=Actor.system("test"),
            object_type="governance.policy",
            object_id=1,
            details=details,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("object_id", ["\ud800", "a\x00b", "x" * 101])
def test_bad_object_ids_are_refused(object_id: str) -> None:
    with pytest.raises(ValueError, match="object_id"):
        record_event(
            action=AuditAction.POLICY_CHANGED,
            actor=Actor.system("test"),
            object_type="governance.policy",
            object_id=object_id,
        )


def test_orm_refuses_to_change_or_delete_events() -> None:
    (event,) = _append(1)
    event.action = "edited"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError, match="record_event"):
        AuditEvent.objects.bulk_create([AuditEvent(seq=10**9)])


def test_actor_from_request_hashes_the_session_and_takes_the_token_prefix() -> None:
    user = get_user_model().objects.create_user("alice", password="correct horse battery")
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    request.user = user

    class _Session:
        session_key = "rawsessionkey123"

    class _Token:
        pk = 7
        prefix = "0123456789ab"

    request.session = _Session()  # type: ignore[assignment]
    request.auth = _Token()  # type: ignore[attr-defined]
    actor = Actor.from_request(request, role="requester")
    assert actor.user_id == user.pk
    assert actor.username == "alice"
    assert actor.role == "requester"
    assert actor.client_ip == "10.1.2.3"
    assert actor.token_id == "0123456789ab"
    assert actor.session
    assert "rawsessionkey123" not in actor.session
    assert actor.session != hashlib.sha256(b"rawsessionkey123").hexdigest()[:32]
    event = record_event(
        action=AuditAction.AUTH_LOGIN,
        actor=actor,
        object_type="auth.user",
        object_id=user.pk,
    )
    assert event.actor_display == "alice as requester token 0123456789ab"


def test_system_and_user_actors() -> None:
    assert Actor.system("governance_expire").username == "system:governance_expire"
    user = get_user_model().objects.create_user("bob", password="correct horse battery")
    actor = Actor.for_user(user, role="data_steward")
    assert (actor.user_id, actor.username, actor.role) == (user.pk, "bob", "data_steward")
    with pytest.raises(ValueError, match="name"):
        Actor.system("")


@pytest.mark.django_db
def test_an_action_must_be_a_member_of_audit_action() -> None:
    """A plain string (a typo, or a new kind of event nobody declared) is refused."""
    actor = Actor(user_id=1, username="legal", role="legal")
    with pytest.raises(TypeError, match="AuditAction"):
        record_event(
            action="request.submited",  # type: ignore[arg-type]
            actor=actor,
            object_type="governance.dataaccessrequest",
            object_id=1,
        )
