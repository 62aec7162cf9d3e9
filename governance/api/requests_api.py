"""Filing a data access request through the API: the workflow's services do every write."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from governance.models import DataAccessRequest, Organization


@transaction.atomic
def file_request(
    *, person: Any, organization: Organization, data: dict[str, Any]
) -> DataAccessRequest:
    """Create the request, attach the IRB approval and DUA (documents), submit if asked.

    One transaction: a refused step (e.g. a DUO incompatibility at submission)
    leaves nothing behind. Uploaded file names are passed as display names
    only; the workflow stores documents under generated names.
    """
    from governance import services

    dar = services.request_create(
        requester=person,
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
    services.irb_approval_add(
        request=dar,
        acting_user=person,
        number=data["irb_number"],
        institution=data["irb_institution"],
        approved_on=data["irb_approved_on"],
        expires_on=data["irb_expires_on"],
        upload=data["irb_document"],
    )
    services.dua_add(
        request=dar,
        acting_user=person,
        effective_on=data["dua_effective_on"],
        expires_on=data["dua_expires_on"],
        permitted_purposes=list(data["dua_permitted_purposes"]),
        upload=data["dua_document"],
    )
    if data.get("submit", True):
        dar = services.request_submit(request=dar, acting_user=person)
    return dar
