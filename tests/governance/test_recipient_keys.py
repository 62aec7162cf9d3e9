"""Recipient organizations register their Crypt4GH public key; builds encrypt to it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from audit.models import AuditEvent
from deid.genome.c4gh import generate_keypair, parse_public_key
from governance import services
from governance.errors import GovernanceError
from governance.models import Dataset, DatasetKind, Organization
from tests.governance.factories import World
from tests.governance.jobs_harness import RELEASE_SPEC

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_key(tmp_path: Path) -> str:
    return generate_keypair(tmp_path / "k.sec", tmp_path / "k.pub")


def test_requester_registers_the_organizations_key_audited(world: World, public_key: str) -> None:
    org = services.organization_register_crypt4gh_key(
        organization=world.company, acting_user=world.researcher, public_key=public_key
    )
    org.refresh_from_db()
    assert parse_public_key(org.crypt4gh_public_key) == parse_public_key(public_key)
    event = AuditEvent.objects.filter(action="key.recipient_registered").get()
    assert event.object_id == str(org.pk)
    fingerprint = hashlib.sha256(parse_public_key(public_key)).hexdigest()
    assert event.details == {
        "kind": "crypt4gh",
        "fingerprint_sha256": fingerprint,
        "replaced": False,
    }


def test_other_organizations_and_bad_keys_are_refused(world: World, public_key: str) -> None:
    with pytest.raises(GovernanceError) as exc:
        services.organization_register_crypt4gh_key(
            organization=world.company, acting_user=world.other, public_key=public_key
        )
    assert exc.value.code == "permission_denied"
    with pytest.raises(GovernanceError) as exc:
        services.organization_register_crypt4gh_key(
            organization=world.company, acting_user=world.researcher, public_key="ssh-rsa AAAA"
        )
    assert exc.value.code == "validation"
    assert Organization.objects.get(pk=world.company.pk).crypt4gh_public_key == ""
    assert not AuditEvent.objects.filter(action="key.recipient_registered").exists()
    # an administrator may register it for them
    services.organization_register_crypt4gh_key(
        organization=world.company, acting_user=world.admin, public_key=public_key
    )


def test_compiled_plan_carries_the_recipients_key(world: World, public_key: str) -> None:
    from governance.build import compile_release_plan

    services.organization_register_crypt4gh_key(
        organization=world.company, acting_user=world.researcher, public_key=public_key
    )
    release = services.release_create(request=world.approved(), acting_user=world.steward)
    assert release.policy is not None
    release.policy.policy_yaml = (
        RELEASE_SPEC + "genome: {min_carriers: 7}\nlifelog: {window: 30min}\n"
    )
    release.policy.save()
    plan = compile_release_plan(release=release, key_id="kid")
    assert plan.genome is not None
    assert plan.genome.min_carriers == 7
    assert parse_public_key(plan.genome.recipient_public_key or "") == parse_public_key(public_key)
    assert plan.lifelog is not None
    assert plan.lifelog.window == "30min"


def test_datasets_have_a_kind(world: World) -> None:
    assert world.dataset.kind == DatasetKind.CDW
    genome = Dataset.objects.create(name="panel", kind=DatasetKind.GENOME, source="genome")
    assert genome.get_kind_display() == "Genome (VCF)"
