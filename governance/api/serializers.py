"""Serializers: the API's input parsing and output shapes (no business rules here)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api.exceptions import PayloadTooLarge, UnsupportedMediaType
from governance.api.selectors_api import manifest_files, valid_dua, valid_irb
from governance.models import (
    DataAccessRequest,
    Dataset,
    Decision,
    Release,
    Variable,
)
from governance.models.tokens import ApiToken

# --- Errors (for the schema) ---------------------------------------------------------------


class ErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable machine-readable error code")
    message = serializers.CharField(help_text="Human-readable explanation")
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="Per-field errors (code 'invalid')"
    )


# --- Tokens ---------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer[Any]):
    token_id = serializers.CharField(source="display_id", read_only=True)
    organization = serializers.CharField(source="organization.name", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = (
            "id",
            "token_id",
            "name",
            "organization",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "active",
        )
        read_only_fields = fields

    def get_active(self, obj: ApiToken) -> bool:
        return obj.is_active()


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False)
    organization = serializers.IntegerField(
        required=False, help_text="Organization id (needed only when you belong to several)"
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token, shown this once only")

    class Meta(ApiTokenSerializer.Meta):
        fields = (*ApiTokenSerializer.Meta.fields, "token")  # type: ignore[assignment]
        read_only_fields = fields  # type: ignore[assignment]


# --- Requests ---------------------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer[Any]):
    class Meta:
        model = Decision
        fields = ("stage", "verdict", "reason", "role", "decided_at")
        read_only_fields = fields


class DataAccessRequestSerializer(serializers.ModelSerializer[Any]):
    recipient = serializers.CharField(source="recipient.name", read_only=True)
    datasets: Any = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    decisions = DecisionSerializer(many=True, read_only=True)
    irb_approvals = serializers.SerializerMethodField()
    duas = serializers.SerializerMethodField()

    class Meta:
        model = DataAccessRequest
        fields = (
            "id",
            "title",
            "state",
            "recipient",
            "purpose",
            "purpose_code",
            "purpose_diseases",
            "commercial",
            "datasets",
            "cohort_criteria",
            "requested_duration_months",
            "created_at",
            "submitted_at",
            "state_changed_at",
            "decisions",
            "irb_approvals",
            "duas",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_irb_approvals(self, obj: DataAccessRequest) -> list[dict[str, Any]]:
        return [
            {
                "number": irb.number,
                "institution": irb.institution,
                "approved_on": irb.approved_on,
                "expires_on": irb.expires_on,
                "verified": irb.verified_at is not None,
            }
            for irb in obj.irb_approvals.all()
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_duas(self, obj: DataAccessRequest) -> list[dict[str, Any]]:
        return [
            {
                "effective_on": dua.effective_on,
                "expires_on": dua.expires_on,
                "permitted_purposes": dua.permitted_purposes,
                "signed": dua.signed_at is not None,
                "verified": dua.verified_at is not None,
            }
            for dua in obj.duas.all()
        ]


PDF_TYPES = {"application/pdf", "application/x-pdf"}
PDF_MAGIC = b"%PDF-"


class PdfUploadField(serializers.FileField):
    """A PDF upload: size limited (413), type checked on the bytes, not on the name (415)."""

    def to_internal_value(self, data: Any) -> Any:
        file = super().to_internal_value(data)
        limit = int(settings.DEID_MAX_DOCUMENT_BYTES)
        if file.size is None or file.size > limit:
            raise PayloadTooLarge(
                f"'{self.field_name}' is {file.size} bytes; the limit is {limit} bytes."
            )
        declared = (getattr(file, "content_type", "") or "").split(";")[0].strip().lower()
        file.seek(0)
        head = file.read(len(PDF_MAGIC))
        file.seek(0)
        if declared not in PDF_TYPES or head != PDF_MAGIC:
            raise UnsupportedMediaType(
                f"'{self.field_name}' must be a PDF document (application/pdf starting with %PDF-)."
            )
        return file


class DataAccessRequestCreateSerializer(serializers.Serializer[Any]):
    """A new data access request with its IRB approval and signed DUA (multipart form)."""

    title = serializers.CharField(max_length=300)
    purpose = serializers.CharField(max_length=20000)
    purpose_code = serializers.ChoiceField(choices=DataAccessRequest.Purpose.choices)
    purpose_diseases = serializers.ListField(
        child=serializers.CharField(max_length=10), required=False, default=list
    )
    commercial = serializers.BooleanField(required=False, default=False)
    datasets = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Dataset.objects.all(), allow_empty=False
    )
    requested_variables = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Variable.objects.all(), required=False, default=list
    )
    cohort_criteria = serializers.JSONField(required=False, default=dict)
    requested_duration_months = serializers.IntegerField(
        min_value=1, max_value=60, required=False, default=12
    )
    irb_number = serializers.CharField(max_length=100)
    irb_institution = serializers.CharField(max_length=200)
    irb_approved_on = serializers.DateField()
    irb_expires_on = serializers.DateField()
    irb_document = PdfUploadField()
    dua_effective_on = serializers.DateField()
    dua_expires_on = serializers.DateField()
    dua_permitted_purposes = serializers.ListField(
        child=serializers.ChoiceField(choices=DataAccessRequest.Purpose.choices),
        allow_empty=False,
    )
    dua_document = PdfUploadField()
    submit = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Submit for review at once (default) or keep a draft",
    )

    def validate_cohort_criteria(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {}
        if attrs["irb_expires_on"] <= attrs["irb_approved_on"]:
            errors["irb_expires_on"] = "must be after irb_approved_on"
        if attrs["dua_expires_on"] <= attrs["dua_effective_on"]:
            errors["dua_expires_on"] = "must be after dua_effective_on"
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --- Releases ---------------------------------------------------------------------------------


class ReleaseListSerializer(serializers.ModelSerializer[Any]):
    request = serializers.IntegerField(source="request_id", read_only=True)
    title = serializers.CharField(source="request.title", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = (
            "id",
            "request",
            "title",
            "state",
            "published_at",
            "expires_at",
            "manifest_sha256",
            "url",
        )
        read_only_fields = fields

    def get_url(self, obj: Release) -> str:
        return reverse("api:release-detail", kwargs={"pk": obj.pk})


class ManifestFileSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    size = serializers.IntegerField()
    rows = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    table = serializers.CharField(allow_null=True, required=False)
    format = serializers.CharField(allow_null=True, required=False)
    url = serializers.CharField()


def _report_summary(report: Any) -> dict[str, Any]:
    """The privacy report's headline figures (not the full class-size tables)."""
    if not isinstance(report, dict):
        return {}
    keys = (
        "k",
        "k_target",
        "l",
        "t",
        "suppressed",
        "records_in",
        "records_out",
        "classes",
        "levels",
        "info_loss",
        "risk",
        "model",
    )
    return {k: report[k] for k in keys if k in report}


class ReleaseManifestSerializer(serializers.ModelSerializer[Any]):
    """A release's manifest as the recipient sees it."""

    request = serializers.IntegerField(source="request_id", read_only=True)
    recipient = serializers.CharField(source="recipient.name", read_only=True)
    files = serializers.SerializerMethodField()
    schema = serializers.SerializerMethodField()
    privacy_report = serializers.SerializerMethodField()
    dua = serializers.SerializerMethodField()
    irb = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = (
            "id",
            "request",
            "recipient",
            "state",
            "published_at",
            "expires_at",
            "plan_sha256",
            "manifest_sha256",
            "files",
            "schema",
            "privacy_report",
            "dua",
            "irb",
        )
        read_only_fields = fields

    @extend_schema_field(ManifestFileSerializer(many=True))
    def get_files(self, obj: Release) -> list[dict[str, Any]]:
        return [
            {
                "name": f["name"],
                "size": f.get("size"),
                "rows": f.get("rows"),
                "sha256": f.get("sha256"),
                "table": f.get("table"),
                "format": f.get("format"),
                "url": reverse("api:release-file", kwargs={"pk": obj.pk, "name": f["name"]}),
            }
            for f in manifest_files(obj)
        ]

    @extend_schema_field(serializers.JSONField())
    def get_schema(self, obj: Release) -> Any:
        """Each table's rows and columns (name, type, de-identification class), from the manifest."""
        manifest = obj.manifest or {}
        return manifest.get("tables") or manifest.get("schema") or {}

    @extend_schema_field(serializers.DictField())
    def get_privacy_report(self, obj: Release) -> dict[str, Any]:
        manifest = obj.manifest or {}
        return _report_summary(
            obj.privacy_report or manifest.get("privacy_report") or manifest.get("report")
        )

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_dua(self, obj: Release) -> dict[str, Any] | None:
        dua = valid_dua(obj, timezone.localdate())
        if dua is None:
            return None
        return {
            "effective_on": dua.effective_on,
            "expires_on": dua.expires_on,
            "permitted_purposes": dua.permitted_purposes,
            "prohibits_reidentification": dua.prohibits_reidentification,
            "prohibits_onward_transfer": dua.prohibits_onward_transfer,
            "prohibits_linkage": dua.prohibits_linkage,
        }

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_irb(self, obj: Release) -> dict[str, Any] | None:
        irb = valid_irb(obj, timezone.localdate())
        if irb is None:
            return None
        return {"number": irb.number, "institution": irb.institution, "expires_on": irb.expires_on}


class SignedLinkCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=500, help_text="A file name from the manifest")


class SignedLinkSerializer(serializers.Serializer[Any]):
    url = serializers.CharField()
    expires_at = serializers.DateTimeField()


# --- Recipient encryption key --------------------------------------------------------------


class Crypt4ghKeySerializer(serializers.Serializer[Any]):
    organization = serializers.IntegerField(read_only=True)
    public_key = serializers.CharField(
        help_text="The organization's Crypt4GH public key (the .pub block of crypt4gh-keygen)",
        max_length=1000,
    )
    fingerprint_sha256 = serializers.CharField(
        read_only=True, allow_null=True, help_text="SHA-256 of the 32 key bytes"
    )
