"""Governance workflow services: every state change of a request or release happens here.

Each service is one durable action: keyword-only, ``acting_user`` required, one
``transaction.atomic`` with the subject row locked (``select_for_update``) and its state
re-checked after the lock, the audit event recorded in the same transaction. A refused
action raises :class:`GovernanceError` with a stable machine code. The admin, the API, the
management commands and ``manage.py demo`` call these functions, never around them.

Request: draft → submitted → legal_review ⇄ (changes_requested → resubmitted) →
legally_approved → steward_review → approved; rejected from any review step.
Release: draft → building → built | failed; built → approved | refused; approved → published
→ expired | revoked; revoked / expired → destroyed. A refused or failed release can be rebuilt.
"""

from __future__ import annotations

from governance.errors import GovernanceError
from governance.selectors import duo_check, duo_purpose, valid_dua, valid_irb
from governance.services._common import (
    DOCUMENT_TYPES as DOCUMENT_TYPES,
)
from governance.services._common import (
    EDITABLE_REQUEST_STATES as EDITABLE_REQUEST_STATES,
)
from governance.services._common import (
    LEGAL_REVIEW_STATES as LEGAL_REVIEW_STATES,
)
from governance.services._common import (
    MAX_ACCESS_DAYS as MAX_ACCESS_DAYS,
)
from governance.services._common import (
    REBUILDABLE_RELEASE_STATES as REBUILDABLE_RELEASE_STATES,
)
from governance.services._common import (
    REVIEW_DUE_DAYS as REVIEW_DUE_DAYS,
)
from governance.services._common import (
    STEWARD_REVIEW_STATES as STEWARD_REVIEW_STATES,
)
from governance.services._common import (
    _audit as _audit,
)
from governance.services._common import (
    _require_role as _require_role,
)
from governance.services._common import canonical_sha256
from governance.services.documents import (
    document_create,
    document_view,
    documents_removed_on_error,
)
from governance.services.filing import file_request
from governance.services.policies import (
    _parse_policy as _parse_policy,
)
from governance.services.policies import (
    policy_set,
)
from governance.services.releases import (
    release_approve,
    release_build_cancel,
    release_build_failed,
    release_build_progress,
    release_build_start,
    release_build_succeeded,
    release_create,
    release_destroy,
    release_expire,
    release_expire_reason,
    release_plan_record,
    release_publish,
    release_refuse,
    release_revoke,
    release_verify_files,
    releases_verify,
)
from governance.services.renewals import (
    destruction_attest,
    renewal_approve,
    renewal_reject,
    renewal_request,
)
from governance.services.requests import (
    dua_add,
    irb_approval_add,
    request_create,
    request_resubmit,
    request_submit,
)
from governance.services.reviews import (
    dua_verify,
    irb_verify,
    request_approve_legal,
    request_approve_steward,
    request_reject,
    request_request_changes,
    request_start_legal_review,
)
from governance.services.tokens import token_create, token_revoke
from governance.services.users import (
    membership_add,
    organization_register_crypt4gh_key,
    user_create,
)

__all__ = [
    "GovernanceError",
    "canonical_sha256",
    "destruction_attest",
    "document_create",
    "document_view",
    "documents_removed_on_error",
    "dua_add",
    "dua_verify",
    "duo_check",
    "duo_purpose",
    "file_request",
    "irb_approval_add",
    "irb_verify",
    "membership_add",
    "organization_register_crypt4gh_key",
    "policy_set",
    "release_approve",
    "release_build_cancel",
    "release_build_failed",
    "release_build_progress",
    "release_build_start",
    "release_build_succeeded",
    "release_create",
    "release_destroy",
    "release_expire",
    "release_expire_reason",
    "release_plan_record",
    "release_publish",
    "release_refuse",
    "release_revoke",
    "release_verify_files",
    "releases_verify",
    "renewal_approve",
    "renewal_reject",
    "renewal_request",
    "request_approve_legal",
    "request_approve_steward",
    "request_create",
    "request_reject",
    "request_request_changes",
    "request_resubmit",
    "request_start_legal_review",
    "request_submit",
    "token_create",
    "token_revoke",
    "user_create",
    "valid_dua",
    "valid_irb",
]
