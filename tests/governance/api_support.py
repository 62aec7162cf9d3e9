"""A small world for the API tests: two recipient companies, each with a published release.

Objects are built directly with the ORM (the state a finished workflow leaves
behind); the services under test are the API's own. Release files are real
files under a temporary ``DEID_RELEASES_DIR`` with a manifest of their sizes
and SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from governance.models import (
    DataAccessRequest,
    Dataset,
    DataUseAgreement,
    Document,
    IrbApproval,
    Membership,
    Organization,
    Release,
    ReleaseState,
    RequestState,
    Role,
)

PDF = b"%PDF-1.4\n% test document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Recipient:
    org: Organization
    user: Any
    request: DataAccessRequest
    release: Release
    files: dict[str, bytes]
    token: str = ""
    token_id: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, token: str | None = None) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {token or self.token}")


def _document(kind: str, user: Any, dar: DataAccessRequest) -> Document:
    sha = hashlib.sha256(PDF).hexdigest()
    doc = Document(
        kind=kind,
        request=dar,
        original_name=f"{kind}.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256=sha,
        uploaded_by=user,
    )
    doc.file.save(f"{os.urandom(8).hex()}.pdf", ContentFile(PDF), save=False)
    doc.save()
    return doc


def write_release_files(release: Release, files: dict[str, bytes], releases_dir: Path) -> None:
    folder = releases_dir / str(release.pk)
    entries = []
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append(
            {
                "name": name,
                "size": len(data),
                "rows": data.count(b"\n"),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "release_id": release.pk,
        "files": entries,
        "tables": {
            "person": {
                "rows": 500,
                "columns": [
                    {"name": "person_pseudonym", "type": "string", "class": "pseudonymized"},
                    {"name": "age_band", "type": "string", "class": "quasi"},
                ],
            }
        },
        "privacy_report": {"k": 5, "suppressed": 3, "classes": 12, "risk": {"highest": 0.2}},
    }
    # as a build writes it: JSON on disk, its canonical SHA-256 recorded on the release
    from governance.services import canonical_sha256

    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    release.manifest = manifest
    release.manifest_sha256 = canonical_sha256(manifest)
    release.files_dir = str(folder)
    release.save(update_fields=["manifest", "manifest_sha256", "files_dir"])


def make_recipient(
    name: str,
    *,
    steward: Any,
    dataset: Dataset,
    releases_dir: Path,
    files: dict[str, bytes] | None = None,
) -> Recipient:
    from governance.services.tokens import token_create

    User = get_user_model()
    org = Organization.objects.create(name=name, kind=Organization.Kind.COMPANY)
    user = User.objects.create_user(username=f"{name.lower()}-researcher", password="x" * 16)
    Membership.objects.create(user=user, organization=org, role=Role.REQUESTER)
    now = timezone.now()
    today = timezone.localdate()
    dar = DataAccessRequest.objects.create(
        recipient=org,
        requester=user,
        title=f"{name} diabetes cohort",
        purpose="Study of type 2 diabetes outcomes",
        purpose_code="HMB",
        state=RequestState.APPROVED,
        submitted_at=now,
    )
    dar.datasets.add(dataset)
    IrbApproval.objects.create(
        request=dar,
        number=f"IRB-{name}",
        institution="Kangwon National University Hospital",
        approved_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=300),
        document=_document("irb", user, dar),
        verified_by=steward,
        verified_at=now,
    )
    dua = DataUseAgreement.objects.create(
        request=dar,
        effective_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=355),
        permitted_purposes=["HMB"],
        document=_document("dua", user, dar),
        signed_sha256=hashlib.sha256(PDF).hexdigest(),
        signed_at=now,
        verified_by=steward,
        verified_at=now,
    )
    dua.parties.add(org)
    release = Release.objects.create(
        request=dar,
        recipient=org,
        state=ReleaseState.DRAFT,
        created_by=steward,
    )
    files = files or {
        "person.csv": b"person_pseudonym,age_band\n" + b"abc,40-49\n" * 500,
        "notes/part-0.csv": b"note\n" + "증상 호전\n".encode() * 100,
    }
    write_release_files(release, files, releases_dir)
    Release.objects.filter(pk=release.pk).update(
        state=ReleaseState.PUBLISHED,
        built_at=now,
        approved_at=now,
        published_at=now,
        expires_at=now + timedelta(days=300),
    )
    release.refresh_from_db()
    token, raw = token_create(person=user, organization=org, name="pipeline", actor=_system_actor())
    return Recipient(
        org=org, user=user, request=dar, release=release, files=files, token=raw, token_id=token.pk
    )


def _system_actor() -> Any:
    from audit.services import Actor

    return Actor.system("tests")


def make_world(releases_dir: Path) -> tuple[Recipient, Recipient]:
    User = get_user_model()
    steward = User.objects.create_user(username="steward", password="y" * 16)
    platform = Organization.objects.create(name="Platform", kind=Organization.Kind.PLATFORM)
    Membership.objects.create(user=steward, organization=platform, role=Role.DATA_STEWARD)
    dataset = Dataset.objects.create(name="Gangwon CDW", source="cdw")
    a = make_recipient("Alpha", steward=steward, dataset=dataset, releases_dir=releases_dir)
    b = make_recipient("Beta", steward=steward, dataset=dataset, releases_dir=releases_dir)
    a.extra["dataset"] = dataset
    a.extra["steward"] = steward
    return a, b
