"""The stable vocabulary of audit events.

Actor versus subject: the *actor* of an event is who did it (a person, with
the role they acted in, the API token or session they used and their client
address; or a named system job), recorded in the event's ``actor_*`` fields
from an :class:`audit.services.Actor`. The *subject* is what it was done to,
recorded as ``object_type`` (``"<app_label>.<model>"``, e.g.
``"governance.dataaccessrequest"``) and ``object_id``. A person who is the
subject of an event (an account that failed to log in, a user whose token was
revoked by an administrator) is the subject, not the actor.

Values are stored in the hash chain, so they are never renamed or reused.
Each family owns a dotted prefix (a reserved range); add new members to the
family they belong to, with a new value, and keep old ones even when they are
no longer emitted:

===================  ============================================================
prefix               family
===================  ============================================================
``auth.``            logins, failed logins, logouts
``request.``         the data access request workflow (governance)
``document.``        IRB/DUA documents viewed or verified
``irb.``/``dua.``    IRB approval and DUA verification, expiry, close-out
``policy.``          de-identification policy changes
``key.``             per-release key derivation and destruction (never key material)
``release.``         release build, approval, publication, expiry, revocation, destruction
``file.``            downloads (with the byte range and the bytes sent)
``token.``           API token creation and revocation
``admin.``           changes made in the Django admin (LogEntry)
``audit.``           the audit log's own operations (exports)
``system.``          scheduled jobs
===================  ============================================================
"""

from __future__ import annotations

from django.db import models

__all__ = ["AuditAction"]


class AuditAction(models.TextChoices):
    """What happened. Stable values grouped by dotted prefix (see the module docstring)."""

    # --- auth.: sign-in (subject: the account) -------------------------------------------
    AUTH_LOGIN = "auth.login", "Login"
    AUTH_LOGIN_FAILED = "auth.login_failed", "Failed login"
    AUTH_LOGOUT = "auth.logout", "Logout"
    AUTH_LOCKED_OUT = "auth.locked_out", "Locked out after failed logins"

    # --- request.: the data access request workflow ---------------------------------------
    REQUEST_CREATED = "request.created", "Request created"
    REQUEST_UPDATED = "request.updated", "Request updated"
    REQUEST_SUBMITTED = "request.submitted", "Request submitted"
    REQUEST_RESUBMITTED = "request.resubmitted", "Request resubmitted"
    REQUEST_REVIEW_STARTED = "request.review_started", "Review started"
    REQUEST_LEGAL_APPROVED = "request.legal_approved", "Legally approved"
    REQUEST_CHANGES_REQUESTED = "request.changes_requested", "Changes requested"
    REQUEST_REJECTED = "request.rejected", "Request rejected"
    REQUEST_STEWARD_APPROVED = "request.steward_approved", "Approved by data steward"
    REQUEST_DUO_OVERRIDDEN = "request.duo_overridden", "DUO incompatibility overridden"
    REQUEST_WITHDRAWN = "request.withdrawn", "Request withdrawn"
    REQUEST_RENEWAL_REQUESTED = "request.renewal_requested", "Renewal requested"
    REQUEST_RENEWED = "request.renewed", "Access renewed"
    REQUEST_RENEWAL_REJECTED = "request.renewal_rejected", "Renewal rejected"

    # --- document. / irb. / dua.: evidence ------------------------------------------------
    DOCUMENT_UPLOADED = "document.uploaded", "Document uploaded"
    DOCUMENT_VIEWED = "document.viewed", "Document viewed"
    IRB_VERIFIED = "irb.verified", "IRB approval verified"
    IRB_EXPIRED = "irb.expired", "IRB approval expired"
    DUA_VERIFIED = "dua.verified", "DUA verified"
    DUA_EXPIRED = "dua.expired", "DUA expired"
    DESTRUCTION_ATTESTED = "dua.destruction_attested", "Destruction of copies attested"

    # --- catalog.: what recipients ask of the data before a request ----------------------
    CATALOG_FEASIBILITY_QUERIED = "catalog.feasibility_queried", "Cohort feasibility count queried"

    # --- notify.: messages to whoever acts next ---------------------------------------------
    NOTIFICATION_SENT = "notify.sent", "Notification sent"

    # --- policy.: de-identification policy --------------------------------------------------
    POLICY_CHANGED = "policy.changed", "Policy changed"
    POLICY_DRY_RUN = "policy.dry_run", "Policy dry run on the CDW"

    # --- key.: key lifecycle (key ids only, never key material) ---------------------------
    KEY_DERIVED = "key.derived", "Release key derived"
    KEY_DESTROYED = "key.destroyed", "Release key destroyed"
    KEY_RECIPIENT_REGISTERED = "key.recipient_registered", "Recipient encryption key registered"

    # --- release.: builds and publication ----------------------------------------------------
    RELEASE_BUILD_STARTED = "release.build_started", "Release build started"
    RELEASE_BUILT = "release.built", "Release built"
    RELEASE_BUILD_FAILED = "release.build_failed", "Release build failed"
    RELEASE_BUILD_CANCELLED = "release.build_cancelled", "Release build cancelled"
    RELEASE_APPROVED = "release.approved", "Release approved"
    RELEASE_REFUSED = "release.refused", "Release refused"
    RELEASE_PUBLISHED = "release.published", "Release published"
    RELEASE_REVOKED = "release.revoked", "Release revoked"
    RELEASE_EXPIRED = "release.expired", "Release expired"
    RELEASE_DESTROYED = "release.destroyed", "Release destroyed"
    RELEASE_MANIFEST_VIEWED = "release.manifest_viewed", "Release manifest viewed"

    # --- file.: downloads ----------------------------------------------------------------------
    FILE_DOWNLOADED = "file.downloaded", "File downloaded"
    FILE_DOWNLOAD_DENIED = "file.download_denied", "File download denied"
    FILE_LINK_SIGNED = "file.link_signed", "Signed download link issued"

    # --- token.: API tokens ----------------------------------------------------------------------
    TOKEN_CREATED = "token.created", "API token created"
    TOKEN_REVOKED = "token.revoked", "API token revoked"

    # --- admin.: Django admin changes (LogEntry) -------------------------------------------
    ADMIN_CHANGE = "admin.change", "Admin change"

    # --- audit.: the log's own operations --------------------------------------------------
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"

    # --- system.: scheduled jobs --------------------------------------------------------------
    SYSTEM_JOB = "system.job", "Scheduled job ran"
