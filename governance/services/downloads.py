"""Reads of a published release, each audited: the manifest viewed, a signed link issued, a
file downloaded (with what was sent) or refused.

The HTTP side (ranges, streaming, link signatures) is :mod:`governance.api.downloads`; the
API's views and the portal call these functions and write no audit row themselves.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.api.downloads import SIGNED_LINK_MAX_SECONDS, SignedLink, sign_link
from governance.api.selectors_api import manifest_files, release_denial
from governance.models import Release

logger = logging.getLogger(__name__)

__all__ = [
    "LinkRefused",
    "file_download_denied",
    "file_download_recorded",
    "issue_file_link",
    "release_manifest_viewed",
]


def _release_event(
    action: AuditAction, *, release_id: int, actor: Actor, details: dict[str, Any]
) -> None:
    with transaction.atomic():
        record_event(
            action=action,
            actor=actor,
            object_type="governance.release",
            object_id=release_id,
            details=details,
        )


def release_manifest_viewed(*, release: Release, actor: Actor) -> None:
    """The recipient read the manifest (files, schema, privacy report) of a readable release."""
    _release_event(
        AuditAction.RELEASE_MANIFEST_VIEWED,
        release_id=release.pk,
        actor=actor,
        details={"manifest_sha256": release.manifest_sha256},
    )


#: How long the end of a download waits for the database to come back (a restart, a
#: failover) before it gives up recording it; see :func:`file_download_recorded`.
RECORD_RETRY_SECONDS = 60.0


def file_download_recorded(*, release_id: int, actor: Actor, details: dict[str, Any]) -> None:
    """A download ended (completed, stopped by a revocation, or broken off): what was sent.

    It runs when the response closes, outside any request transaction; if the database is
    away (restarted under a running download) the record is retried on a fresh connection
    for up to :data:`RECORD_RETRY_SECONDS`, so a restart loses no download record. Past
    that the error is raised (and logged by the server)."""
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            _release_event(
                AuditAction.FILE_DOWNLOADED, release_id=release_id, actor=actor, details=details
            )
            return
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("recording download of release %s: database away, retrying", release_id)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def file_download_denied(
    *, release: Release, name: str, code: str, status: int, actor: Actor
) -> None:
    """A refused download (or download link) of a file of a visible release."""
    _release_event(
        AuditAction.FILE_DOWNLOAD_DENIED,
        release_id=release.pk,
        actor=actor,
        details={"file": name, "code": code, "status": status},
    )


class LinkRefused(Exception):
    """No link: ``denial`` says why the release cannot be read now (None: no such file)."""

    def __init__(self, denial: Any | None) -> None:
        super().__init__(getattr(denial, "message", "no such file"))
        self.denial = denial


def issue_file_link(
    *, release: Release, name: str, person_id: int, token_id: int | None, actor: Actor
) -> tuple[str, datetime]:
    """A signed link to one file of a release, audited (``file.link_signed``).

    Refused (``LinkRefused``, the refusal audited) when the release cannot be read now
    or ``name`` is not in its manifest. Returns the link's path (with ``?sig=``) and when
    it expires. Used by the API (``POST releases/ID/links/``) and the portal's download
    buttons; the file view checks everything again when the link is used.
    """
    denial = release_denial(release)
    if denial is not None:
        file_download_denied(
            release=release, name=name, code=denial.code, status=denial.status, actor=actor
        )
        raise LinkRefused(denial)
    if name not in {f["name"] for f in manifest_files(release)}:
        raise LinkRefused(None)
    value = sign_link(
        SignedLink(person_id=person_id, token_id=token_id, release_id=release.pk, name=name)
    )
    url = reverse("api:release-file", kwargs={"pk": release.pk, "name": name})
    expires_at = timezone.now() + timedelta(seconds=SIGNED_LINK_MAX_SECONDS)
    _release_event(
        AuditAction.FILE_LINK_SIGNED,
        release_id=release.pk,
        actor=actor,
        details={"file": name, "expires_at": expires_at.isoformat()},
    )
    return f"{url}?sig={value}", expires_at
