"""Filing a data access request in one call (the API's ``POST requests/``): draft, evidence and
submission in one transaction, through the workflow's own services."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from governance.models import DataAccessRequest, Organization


def file_request(
    *, person: Any, organization: Organization, data: dict[str, Any]
) -> DataAccessRequest:
    """Create the request, attach the IRB approval and DUA (documents), submit if asked.

    One transaction: a refused step (e.g. a DUO incompatibility at submission)
    leaves nothing behind, neither rows nor stored files. Uploaded file names are
    passed as display names only; the workflow stores documents under generated names.
    """
    from governance import services

    with services.documents_removed_on_error(), transaction.atomic():
        return _file_request(person=person, organization=organization, data=data)


def _file_request(
    *, person: Any, organization: Organization, data: dict[str, Any]
) -> DataAccessRequest:
    from governance import services

    dar = services.request_create(
        acting_user=person,
        recipient=organization,
        title=data["title"],
        purpose=data["purpose"],
        purpose_code=data["purpose_code"],
        purpose_diseases=data.get("purpose_diseases") or [],
        commercial=data.get("commercial", False),
        datasets=list(data["datasets"]),
        requested_variables=list(data.get("requested_variables") or []),
        cohort_criteria=data.get("cohort_criteria") or {},
        requested_duration_months=data.get("requested_duration_months", 12),
    )
    for kind in ("irb", "dua"):
        upload = data[f"{kind}_document"]
        upload.seek(0)
        # The uploaded name is only a display name: the workflow strips any path from it
        # and stores the bytes under a generated name.
        common = {
            "request": dar,
            "acting_user": person,
            "file": upload,
            "original_name": str(upload.name or ""),
            "content_type": "application/pdf",
        }
        if kind == "irb":
            services.irb_approval_add(
                number=data["irb_number"],
                institution=data["irb_institution"],
                approved_on=data["irb_approved_on"],
                expires_on=data["irb_expires_on"],
                **common,
            )
        else:
            services.dua_add(
                effective_on=data["dua_effective_on"],
                expires_on=data["dua_expires_on"],
                permitted_purposes=list(data["dua_permitted_purposes"]),
                **common,
            )
    if data.get("submit", True):
        dar = services.request_submit(request=dar, acting_user=person)
    return dar


def submit_request(*, person: Any, request: DataAccessRequest) -> DataAccessRequest:
    from governance import services

    return services.request_submit(request=request, acting_user=person)
