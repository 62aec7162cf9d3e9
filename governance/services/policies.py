"""The steward's de-identification policy (a release spec, validated by the engine)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    DataAccessRequest,
    DeidPolicy,
    Release,
    RequestState,
    Role,
)
from governance.roles import (
    ActingUser,
    is_member,
    legal_approver_ids,
)
from governance.services._common import (
    REBUILDABLE_RELEASE_STATES,
    STEWARD_REVIEW_STATES,
    _audit,
    _lock,
    _require_role,
    _require_state,
    _require_user,
    _set_request_state,
)


def _parse_policy(policy_yaml: str) -> dict[str, Any]:
    """Parse and validate the policy YAML; return a digest for display and audit."""
    import yaml

    try:
        data = yaml.safe_load(policy_yaml)
    except yaml.YAMLError as exc:
        raise GovernanceError(
            code=GovernanceErrorCode.POLICY_INVALID,
            message=_("The policy is not YAML: %(exc)s") % {"exc": exc},
        ) from exc
    if not isinstance(data, dict):
        raise GovernanceError(
            code=GovernanceErrorCode.POLICY_INVALID,
            message=_("The policy must be a YAML mapping; got %(type_data_name)s.")
            % {"type_data_name": type(data).__name__},
        )
    digest: dict[str, Any] = {"keys": sorted(str(k) for k in data)}
    try:
        from deid.policy import parse_policy

        have_engine = True
    except ImportError:  # the engine's policy module is not installed: structural check only
        have_engine = False
    if have_engine and "tables" in data:
        # A multi-table release spec: every table's policy is parsed, the anchor needs k.
        from deid.plan import compile_plan

        try:
            plan = compile_plan(
                data,
                release_id="validation",
                recipient_org_id="validation",
                key_id="validation",
                source="validation",
                base_dir=Path(settings.BASE_DIR),
            )
        except Exception as exc:  # the engine's PolicyError names the dotted field
            raise GovernanceError(
                code=GovernanceErrorCode.POLICY_INVALID,
                message=_("The policy is not valid: %(exc)s") % {"exc": exc},
            ) from exc
        anchor = plan.anchor_table.policy()
        digest["engine_sha256"] = anchor.digest()
        digest["tables"] = [t.name for t in plan.tables]
        digest["columns"] = {str(n): str(c.role) for n, c in anchor.columns.items()}
        digest["privacy"] = anchor.privacy.to_dict()
    elif have_engine:
        try:
            policy = parse_policy(data, Path(settings.BASE_DIR))
            digest["engine_sha256"] = policy.digest()
        except Exception as exc:  # the engine's PolicyError names the dotted field
            raise GovernanceError(
                code=GovernanceErrorCode.POLICY_INVALID,
                message=_("The policy is not valid: %(exc)s") % {"exc": exc},
            ) from exc
        digest["columns"] = {str(n): str(c.role) for n, c in policy.columns.items()}
        digest["privacy"] = policy.privacy.to_dict()
    else:
        cols = data.get("columns")
        if isinstance(cols, Mapping):
            digest["columns"] = {
                str(n): str(c.get("role", "")) if isinstance(c, Mapping) else ""
                for n, c in cols.items()
            }
        if isinstance(data.get("privacy"), Mapping):
            digest["privacy"] = dict(data["privacy"])
    return digest


def policy_set(
    *,
    acting_user: ActingUser,
    policy_yaml: str,
    request: DataAccessRequest | None = None,
    release: Release | None = None,
) -> DeidPolicy:
    """The data steward sets the de-identification policy of a request's releases (or of one
    release before it is built). Role separation: the setter is neither from the recipient
    organization nor the legal reviewer who approved the request."""
    if (request is None) == (release is None):
        raise GovernanceError(
            code=GovernanceErrorCode.VALIDATION,
            message=_("Give exactly one of request or release."),
        )
    subject_request = request if request is not None else release.request  # type: ignore[union-attr]
    _require_role(acting_user, Role.DATA_STEWARD, action="set a de-identification policy")
    if is_member(acting_user, subject_request.recipient_id):
        raise GovernanceError(
            code=GovernanceErrorCode.ROLE_SEPARATION,
            message=_(
                "The de-identification policy may not be set by a member of the recipient organization."
            ),
        )
    if acting_user.pk in legal_approver_ids(subject_request):
        raise GovernanceError(
            code=GovernanceErrorCode.ROLE_SEPARATION,
            message=_("The legal reviewer who approved the request may not set its policy."),
        )
    if not (policy_yaml or "").strip():
        raise GovernanceError(
            code=GovernanceErrorCode.POLICY_INVALID, message=_("The policy is empty.")
        )
    digest = _parse_policy(policy_yaml)
    with transaction.atomic():
        locked_request = _lock(DataAccessRequest, subject_request.pk)
        locked_release = _lock(Release, release.pk) if release is not None else None
        if locked_release is not None:
            _require_state(locked_release, REBUILDABLE_RELEASE_STATES, action="change the policy")
        else:
            _require_state(
                locked_request,
                [*STEWARD_REVIEW_STATES, RequestState.APPROVED],
                action="set the policy",
            )
        policy = DeidPolicy.objects.create(
            request=locked_request,
            policy_yaml=policy_yaml,
            digest=digest,
            sha256=hashlib.sha256(policy_yaml.encode("utf-8")).hexdigest(),
            set_by=_require_user(acting_user),
        )
        if locked_release is not None:
            locked_release.policy = policy
            locked_release.save(update_fields=["policy"])
        if locked_request.state == RequestState.LEGALLY_APPROVED:
            _set_request_state(locked_request, RequestState.STEWARD_REVIEW)
        _audit(
            AuditAction.POLICY_CHANGED,
            acting_user=acting_user,
            role=Role.DATA_STEWARD,
            subject=policy,
            details={
                "request_id": locked_request.pk,
                "release_id": locked_release.pk if locked_release else None,
                "sha256": policy.sha256,
            },
        )
    if release is not None:
        release.refresh_from_db()
    if request is not None:
        request.refresh_from_db()
    return policy
