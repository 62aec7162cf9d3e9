"""Uploaded documents (IRB approvals, DUAs, progress reports, attestations): stored with their
SHA-256, viewed with an audit event, removed when their transaction fails."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    DataAccessRequest,
    Document,
)
from governance.roles import ActingUser
from governance.services._common import (
    DOCUMENT_TYPES,
    _audit,
    _primary_role,
    _require_user,
    record_system_job,
)

# --- documents ------------------------------------------------------------------------------

# Files stored by ``document_create`` inside the outermost ``documents_removed_on_error`` block:
# the row that names a file commits with the block's transaction, so a block that fails (the
# transaction rolls back) deletes the files it stored instead of leaving orphans in MEDIA_ROOT.
_stored_documents: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "governance_stored_documents", default=None
)


@contextlib.contextmanager
def documents_removed_on_error() -> Iterator[None]:
    """Wrap a ``transaction.atomic()`` block (outside it) that may call ``document_create``: when
    the block raises, the documents it stored are deleted from storage. Nested blocks defer to
    the outermost one. A caller with its own enclosing transaction (e.g. the API's
    ``file_request``) can wrap it too; ``manage.py governance_documents_sweep`` catches the rest."""
    if _stored_documents.get() is not None:
        yield
        return
    stored: list[str] = []
    token = _stored_documents.set(stored)
    try:
        yield
    except BaseException:
        storage = Document._meta.get_field("file").storage
        for name in stored:
            with contextlib.suppress(OSError):
                storage.delete(name)
        raise
    finally:
        _stored_documents.reset(token)


def document_create(
    *,
    kind: str,
    file: IO[bytes] | bytes,
    original_name: str,
    content_type: str,
    acting_user: ActingUser,
    request: DataAccessRequest | None = None,
) -> Document:
    """Store an uploaded document under a generated name with its size and SHA-256."""
    _require_user(acting_user)
    if kind not in Document.Kind.values:
        raise GovernanceError(
            code=GovernanceErrorCode.DOCUMENT_INVALID,
            message=_("Unknown document kind %(kind)s.") % {"kind": repr(kind)},
        )
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in DOCUMENT_TYPES:
        raise GovernanceError(
            code=GovernanceErrorCode.DOCUMENT_INVALID,
            message=_(
                "Document type %(content_type_or_unknown)s is not accepted; expected one of %(sorted_document_types)s."
            )
            % {
                "content_type_or_unknown": repr(content_type or "unknown"),
                "sorted_document_types": sorted(DOCUMENT_TYPES),
            },
        )
    data = file if isinstance(file, bytes) else file.read()
    limit = int(getattr(settings, "DEID_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))
    if not data:
        raise GovernanceError(
            code=GovernanceErrorCode.DOCUMENT_INVALID, message=_("The document is empty.")
        )
    if len(data) > limit:
        raise GovernanceError(
            code=GovernanceErrorCode.DOCUMENT_INVALID,
            message=_("The document has %(len_data)s bytes; the limit is %(limit)s.")
            % {"len_data": len(data), "limit": limit},
            status=413,
        )
    if content_type == "application/pdf" and not data.startswith(b"%PDF-"):
        raise GovernanceError(
            code=GovernanceErrorCode.DOCUMENT_INVALID,
            message=_("The document claims to be a PDF but is not one."),
        )
    display_name = os.path.basename((original_name or "").replace("\\", "/"))[:255] or "document"
    # The field's ``upload_to`` adds the "documents/" folder: pass the bare file name.
    storage_name = f"{uuid.uuid4().hex}{DOCUMENT_TYPES[content_type]}"
    with documents_removed_on_error(), transaction.atomic():
        doc = Document(
            kind=kind,
            request=request,
            original_name=display_name,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=_require_user(acting_user),
        )
        doc.file.save(storage_name, ContentFile(data), save=False)
        stored = _stored_documents.get()
        if stored is not None and doc.file.name:
            stored.append(doc.file.name)
        # A name collision in storage would change the name; never trust it silently.
        doc.save()
        _audit(
            AuditAction.DOCUMENT_UPLOADED,
            acting_user=acting_user,
            role=None,
            subject=doc,
            details={
                "kind": kind,
                "request_id": request.pk if request else None,
                "size": doc.size,
                "sha256": doc.sha256,
                "content_type": content_type,
            },
        )
    return doc


def document_view(*, document: Document, acting_user: ActingUser) -> Document:
    """Record that a person opened a document (the caller then streams ``document.file``)."""
    from governance.selectors import documents_visible_to

    _require_user(acting_user)
    if not documents_visible_to(user=acting_user).filter(pk=document.pk).exists():
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED,
            message=_("You may not view document #%(document_pk)s.") % {"document_pk": document.pk},
        )
    with transaction.atomic():
        _audit(
            AuditAction.DOCUMENT_VIEWED,
            acting_user=acting_user,
            role=_primary_role(acting_user),
            subject=document,
            details={
                "kind": document.kind,
                "request_id": document.request_id,
                "sha256": document.sha256,
            },
        )
    return document


# --- the safety net: files of uploads whose transaction rolled back ---------------------


DOCUMENTS_FOLDER = "documents"


def _walk(storage: Storage, folder: str) -> list[str]:
    try:
        dirs, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for sub in dirs:
        names.extend(_walk(storage, f"{folder}/{sub}"))
    return names


def orphan_documents(*, older_than: timedelta) -> list[str]:
    """Storage names under ``documents/`` that no ``Document`` names, older than ``older_than``."""
    storage = Document._meta.get_field("file").storage
    cutoff = timezone.now() - older_than
    stored = _walk(storage, DOCUMENTS_FOLDER)
    if not stored:
        return []
    known = set(Document.objects.filter(file__in=stored).values_list("file", flat=True))
    return sorted(
        name for name in stored if name not in known and storage.get_modified_time(name) < cutoff
    )


def documents_sweep(*, older_than: timedelta, dry_run: bool = False) -> list[str]:
    """Remove stored document files that no row names, older than ``older_than`` (a caller's
    transaction that rolled back after ``document_create`` wrote the file, or a killed
    process); return their names. Audited as a system job unless ``dry_run``."""
    orphans = orphan_documents(older_than=older_than)
    if dry_run:
        return orphans
    storage = Document._meta.get_field("file").storage
    for name in orphans:
        storage.delete(name)
    record_system_job(
        "governance_documents_sweep",
        object_type="governance.document",
        details={"removed": len(orphans)},
    )
    return orphans
