"""Core governance models: who asks for what data, who decides, and what gets released.

State changes go through ``governance.services``; these models hold data and
database-level invariants only (``CheckConstraint`` / ``UniqueConstraint``).
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "DataAccessRequest",
    "DataUseAgreement",
    "DataUseLimitation",
    "Dataset",
    "DatasetKind",
    "Decision",
    "DeidClass",
    "DeidPolicy",
    "DestructionAttestation",
    "Document",
    "IrbApproval",
    "Membership",
    "Organization",
    "OrganizationKind",
    "Release",
    "ReleaseState",
    "Renewal",
    "RenewalState",
    "RequestState",
    "Role",
    "Variable",
    "Verdict",
]


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    LEGAL_REVIEWER = "legal_reviewer", "Legal reviewer"
    DATA_STEWARD = "data_steward", "Data steward"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"


class OrganizationKind(models.TextChoices):
    PROVIDER = "provider", "Data provider (hospital)"
    COMPANY = "company", "Recipient company"
    INSTITUTE = "institute", "Research institute"
    LEGAL_FIRM = "legal_firm", "Legal firm"
    PLATFORM = "platform", "Platform operator"


class Organization(models.Model):
    Kind = OrganizationKind

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=OrganizationKind.choices)
    for_profit = models.BooleanField(
        default=True, help_text="Used by the DUO not-for-profit-use-only (NPUO) check."
    )
    country = models.CharField(max_length=2, default="KR", help_text="ISO 3166-1 alpha-2")
    require_second_factor = models.BooleanField(
        default=False,
        help_text="Its members must enter a TOTP code when they log in to the portal.",
    )
    crypt4gh_public_key = models.TextField(
        blank=True,
        help_text="The recipient's Crypt4GH public key (crypt4gh-keygen's .pub block): genome "
        "files are published encrypted to it. Register it with "
        "services.organization_register_crypt4gh_key.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(
                condition=Q(kind__in=OrganizationKind.values), name="organization_kind_valid"
            ),
        )

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role in one organization. Roles also map to Django groups (roles.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("organization__name", "user__username")
        constraints = (
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="membership_unique_role"
            ),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        )

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.organization}"


class DeidClass(models.TextChoices):
    IDENTIFIER = "identifier", _("Direct identifier")
    QUASI = "quasi", _("Quasi-identifier")
    SENSITIVE = "sensitive", _("Sensitive")
    INSENSITIVE = "insensitive", _("Insensitive")
    TEXT = "text", _("Free text")


class DatasetKind(models.TextChoices):
    CDW = "cdw", _("Clinical data warehouse (CDW)")
    GENOME = "genome", _("Genome (VCF)")
    LIFELOG = "lifelog", _("Lifelog (wearables)")


class Dataset(models.Model):
    """A dataset offered to recipients (CDW tables, genome VCFs or lifelog series), with its
    variable dictionary and consent limits."""

    Kind = DatasetKind

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=DatasetKind.choices, default=DatasetKind.CDW)
    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="datasets", null=True, blank=True
    )
    source = models.CharField(
        max_length=500, help_text="CDW source name (never a connection string with secrets)."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(
                condition=Q(kind__in=DatasetKind.values), name="dataset_kind_valid"
            ),
        )

    def __str__(self) -> str:
        return self.name


class Variable(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="variables")
    table = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    deid_class = models.CharField(max_length=20, choices=DeidClass.choices)

    class Meta:
        ordering = ("dataset__name", "table", "name")
        constraints = (
            models.UniqueConstraint(
                fields=["dataset", "table", "name"], name="variable_unique_in_dataset"
            ),
            models.CheckConstraint(
                condition=Q(deid_class__in=[c.value for c in DeidClass]),
                name="variable_deid_class_valid",
            ),
        )

    def __str__(self) -> str:
        return f"{self.table}.{self.name}"


class DataUseLimitation(models.Model):
    """One GA4GH DUO code attached to a dataset (from the patients' consent)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="limitations")
    code = models.CharField(max_length=10, help_text="DUO shorthand, e.g. HMB, DS, NCU, TS")
    disease_codes = models.JSONField(
        default=list, blank=True, help_text="ICD-10 codes (prefixes) for DS"
    )
    time_limit_months = models.PositiveIntegerField(null=True, blank=True, help_text="for TS")
    regions = models.JSONField(
        default=list, blank=True, help_text="ISO country codes / region names for GS"
    )

    class Meta:
        ordering = ("dataset__name", "code")
        constraints = (
            models.UniqueConstraint(fields=["dataset", "code"], name="limitation_unique_code"),
            models.CheckConstraint(
                condition=~Q(code="TS") | Q(time_limit_months__isnull=False),
                name="limitation_ts_has_months",
            ),
        )

    def __str__(self) -> str:
        return f"{self.dataset}: {self.code}"


class RequestState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    LEGAL_REVIEW = "legal_review", _("In legal review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    LEGALLY_APPROVED = "legally_approved", _("Legally approved")
    STEWARD_REVIEW = "steward_review", _("In steward review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class DataAccessRequest(models.Model):
    class Purpose(models.TextChoices):
        GRU = "GRU", "General research use"
        HMB = "HMB", "Health / medical / biomedical research"
        DS = "DS", "Disease-specific research"
        POA = "POA", "Population origins or ancestry research"
        CC = "CC", "Clinical care use"

    recipient = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="access_requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    title = models.CharField(max_length=300)
    purpose = models.TextField(help_text="Research purpose in plain words")
    purpose_code = models.CharField(max_length=5, choices=Purpose.choices)
    purpose_diseases = models.JSONField(
        default=list, blank=True, help_text="ICD-10 codes the research is about (for DS)"
    )
    commercial = models.BooleanField(default=False, help_text="Commercial use of results")
    methods_research = models.BooleanField(default=False, help_text="Methods development")
    will_publish = models.BooleanField(default=True)
    use_regions = models.JSONField(
        default=list, blank=True, help_text="Where the data will be used (ISO codes)"
    )
    datasets = models.ManyToManyField(Dataset, related_name="access_requests")
    requested_variables = models.ManyToManyField(
        Variable, related_name="access_requests", blank=True
    )
    cohort_criteria = models.JSONField(default=dict, blank=True)
    requested_duration_months = models.PositiveIntegerField(default=12)
    state = models.CharField(
        max_length=20, choices=RequestState.choices, default=RequestState.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    due_on = models.DateField(null=True, blank=True, help_text="Review due date")

    class Meta:
        ordering = ("created_at",)
        verbose_name = "data access request"
        constraints = (
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in RequestState]),
                name="request_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(requested_duration_months__gte=1)
                & Q(requested_duration_months__lte=60),
                name="request_duration_1_60_months",
            ),
            models.CheckConstraint(
                condition=Q(state=RequestState.DRAFT) | Q(submitted_at__isnull=False),
                name="request_submitted_has_timestamp",
            ),
        )

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class Document(models.Model):
    """An uploaded file; stored under a generated name, never the uploaded one."""

    class Kind(models.TextChoices):
        IRB = "irb", "IRB approval"
        DUA = "dua", "Signed data-use agreement"
        PROGRESS_REPORT = "progress_report", "Progress report"
        ATTESTATION = "attestation", "Destruction attestation"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    request = models.ForeignKey(
        DataAccessRequest,
        on_delete=models.PROTECT,
        related_name="documents",
        null=True,
        blank=True,
    )
    file = models.FileField(upload_to="documents/", max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("uploaded_at",)
        constraints = (
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class IrbApproval(models.Model):
    request = models.ForeignKey(
        DataAccessRequest, on_delete=models.PROTECT, related_name="irb_approvals"
    )
    number = models.CharField(max_length=100)
    institution = models.CharField(max_length=200)
    approved_on = models.DateField()
    expires_on = models.DateField()
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-approved_on",)
        verbose_name = "IRB approval"
        constraints = (
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("approved_on")), name="irb_expires_after_approval"
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True, verified_at__isnull=True)
                | Q(verified_by__isnull=False, verified_at__isnull=False),
                name="irb_verified_by_and_at_together",
            ),
        )

    def __str__(self) -> str:
        return f"IRB {self.number} ({self.institution})"

    def is_valid_on(self, day: date) -> bool:
        return self.verified_at is not None and self.approved_on <= day <= self.expires_on


class DataUseAgreement(models.Model):
    request = models.ForeignKey(DataAccessRequest, on_delete=models.PROTECT, related_name="duas")
    parties = models.ManyToManyField(Organization, related_name="duas")
    effective_on = models.DateField()
    expires_on = models.DateField()
    permitted_purposes = models.JSONField(
        default=list, help_text="DUO purpose codes the agreement covers (e.g. HMB, DS)"
    )
    prohibits_reidentification = models.BooleanField(default=True)
    prohibits_onward_transfer = models.BooleanField(default=True)
    prohibits_linkage = models.BooleanField(default=True)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    signed_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-effective_on",)
        verbose_name = "data-use agreement"
        constraints = (
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("effective_on")), name="dua_expires_after_effective"
            ),
            # Korean pseudonymization rules: re-identification is always prohibited.
            models.CheckConstraint(
                condition=Q(prohibits_reidentification=True), name="dua_prohibits_reidentification"
            ),
            models.CheckConstraint(
                condition=Q(signed_sha256__regex=r"^[0-9a-f]{64}$"), name="dua_sha256_hex"
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True, verified_at__isnull=True)
                | Q(verified_by__isnull=False, verified_at__isnull=False),
                name="dua_verified_by_and_at_together",
            ),
        )

    def __str__(self) -> str:
        return f"DUA #{self.pk} ({self.effective_on}–{self.expires_on})"

    def covers(self, purpose_code: str) -> bool:
        permitted = set(self.permitted_purposes or [])
        return purpose_code in permitted or "GRU" in permitted

    def is_effective_on(self, day: date) -> bool:
        return (
            self.signed_at is not None
            and self.verified_at is not None
            and self.effective_on <= day <= self.expires_on
        )


class Verdict(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REQUEST_CHANGES = "request_changes", _("Request changes")
    REJECT = "reject", _("Reject")
    REFUSE = "refuse", _("Refuse")
    REVOKE = "revoke", _("Revoke")


class DeidPolicy(models.Model):
    """The steward's de-identification policy for a request's releases (YAML + digest)."""

    request = models.ForeignKey(
        DataAccessRequest, on_delete=models.PROTECT, related_name="policies"
    )
    policy_yaml = models.TextField()
    digest = models.JSONField(default=dict, help_text="Parsed summary of the policy")
    sha256 = models.CharField(max_length=64)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-set_at",)
        verbose_name = "de-identification policy"
        verbose_name_plural = "de-identification policies"

    def __str__(self) -> str:
        return f"Policy #{self.pk} ({self.sha256[:12]})"


class ReleaseState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    BUILDING = "building", _("Building")
    BUILT = "built", _("Built (awaiting steward)")
    FAILED = "failed", _("Build failed")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    PUBLISHED = "published", _("Published")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    DESTROYED = "destroyed", _("Destroyed")


class Release(models.Model):
    request = models.ForeignKey(
        DataAccessRequest, on_delete=models.PROTECT, related_name="releases"
    )
    policy = models.ForeignKey(
        DeidPolicy, on_delete=models.PROTECT, related_name="releases", null=True, blank=True
    )
    recipient = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="releases")
    state = models.CharField(
        max_length=20, choices=ReleaseState.choices, default=ReleaseState.DRAFT
    )
    key_id = models.CharField(max_length=100, blank=True)
    plan = models.JSONField(null=True, blank=True)
    plan_sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    privacy_report = models.JSONField(null=True, blank=True)
    files_dir = models.CharField(max_length=500, blank=True)
    build_progress = models.JSONField(default=dict, blank=True)
    build_job_id = models.CharField(max_length=100, blank=True)
    build_started_at = models.DateTimeField(null=True, blank=True)
    build_error = models.TextField(blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at",)
        constraints = (
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in ReleaseState]),
                name="release_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReleaseState.PUBLISHED)
                | (
                    Q(published_at__isnull=False)
                    & Q(expires_at__isnull=False)
                    & Q(manifest__isnull=False)
                    & ~Q(manifest_sha256="")
                ),
                name="release_published_has_manifest_and_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReleaseState.BUILT) | Q(built_at__isnull=False),
                name="release_built_has_timestamp",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReleaseState.REVOKED) | Q(revoked_at__isnull=False),
                name="release_revoked_has_timestamp",
            ),
            models.CheckConstraint(
                condition=~Q(state=ReleaseState.DESTROYED) | Q(destroyed_at__isnull=False),
                name="release_destroyed_has_timestamp",
            ),
        )

    def __str__(self) -> str:
        return f"Release #{self.pk} of request #{self.request_id}"


class Decision(models.Model):
    """A reviewer's verdict with its reason; kept forever (outlives a destroyed release)."""

    class Stage(models.TextChoices):
        LEGAL = "legal", _("Legal review")
        STEWARD = "steward", _("Steward review")
        RELEASE = "release", _("Release review")
        RENEWAL = "renewal", _("Renewal review")

    request = models.ForeignKey(
        DataAccessRequest,
        on_delete=models.PROTECT,
        related_name="decisions",
        null=True,
        blank=True,
    )
    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, related_name="decisions", null=True, blank=True
    )
    renewal = models.ForeignKey(
        "Renewal", on_delete=models.PROTECT, related_name="decisions", null=True, blank=True
    )
    stage = models.CharField(max_length=10, choices=Stage.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reason = models.TextField()
    override_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("decided_at", "pk")
        constraints = (
            models.CheckConstraint(
                condition=Q(request__isnull=False)
                | Q(release__isnull=False)
                | Q(renewal__isnull=False),
                name="decision_has_subject",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="decision_reason_required"),
        )

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} by {self.decided_by} ({self.get_stage_display()})"


class DestructionAttestation(models.Model):
    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, related_name="destruction_attestations"
    )
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    destroyed_on = models.DateField()
    copies_description = models.TextField(help_text="What was destroyed, where")
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    attested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("attested_at",)
        constraints = (
            models.CheckConstraint(
                condition=~Q(copies_description=""), name="attestation_describes_copies"
            ),
        )

    def __str__(self) -> str:
        return f"Destruction of release #{self.release_id} attested by {self.attested_by}"


class RenewalState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Renewal(models.Model):
    """Access beyond a year: a progress report, reviewed like a request."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="renewals")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    progress_summary = models.TextField()
    progress_report = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    requested_until = models.DateTimeField()
    state = models.CharField(
        max_length=20, choices=RenewalState.choices, default=RenewalState.SUBMITTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)
        constraints = (
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in RenewalState]),
                name="renewal_state_valid",
            ),
            # At most one open renewal per release.
            models.UniqueConstraint(
                fields=["release"],
                condition=Q(state="submitted"),
                name="renewal_one_open_per_release",
            ),
        )

    def __str__(self) -> str:
        return f"Renewal #{self.pk} of release #{self.release_id}"


def document_upload_name() -> str:
    """A generated storage name: the uploaded name is never used as a path."""
    return f"documents/{uuid.uuid4().hex}"
