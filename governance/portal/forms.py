"""Portal forms: parse and validate input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from governance.duo import PURPOSE_CODES
from governance.models import Dataset, Variable

PURPOSE_LABELS = {
    "GRU": _("General research use (GRU)"),
    "HMB": _("Health, medical or biomedical research (HMB)"),
    "DS": _("Disease-specific research (DS)"),
    "POA": _("Population origins or ancestry research (POA)"),
    "CC": _("Clinical care use (CC)"),
}


class LoginForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    otp_token = forms.CharField(
        label=_("6-digit code from your authenticator"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RequestForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 5}))
    purpose_code = forms.ChoiceField(
        label=_("Research purpose (GA4GH DUO)"),
        choices=[(c, PURPOSE_LABELS[c]) for c in PURPOSE_CODES],
    )
    purpose_diseases = forms.CharField(
        label=_("Diseases (ICD-10, comma-separated; for DS)"), required=False, max_length=200
    )
    datasets = forms.ModelMultipleChoiceField(
        label=_("Datasets"),
        queryset=Dataset.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
    )
    variables = forms.ModelMultipleChoiceField(
        label=_("Variables"),
        queryset=Variable.objects.select_related("dataset").order_by(
            "dataset__name", "table", "name"
        ),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    icd10_prefixes = forms.CharField(
        label=_("Cohort: ICD-10 codes or prefixes (comma-separated)"),
        required=False,
        max_length=200,
    )
    age_min = forms.IntegerField(
        label=_("Cohort: minimum age"), required=False, min_value=0, max_value=120
    )
    age_max = forms.IntegerField(
        label=_("Cohort: maximum age"), required=False, min_value=0, max_value=120
    )
    duration_months = forms.IntegerField(
        label=_("Duration (months)"), min_value=1, max_value=60, initial=12
    )
    commercial = forms.BooleanField(label=_("Commercial use"), required=False)

    def cohort(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        codes = _codes(data.get("icd10_prefixes") or "")
        if codes:
            out["condition_icd10_prefix"] = codes
        if data.get("age_min") is not None:
            out["age_min"] = data["age_min"]
        if data.get("age_max") is not None:
            out["age_max"] = data["age_max"]
        return out

    def diseases(self) -> list[str]:
        return _codes(self.cleaned_data.get("purpose_diseases") or "")


class IrbForm(forms.Form):
    number = forms.CharField(label=_("IRB approval number"), max_length=100)
    institution = forms.CharField(label=_("IRB (institution)"), max_length=300)
    approved_on = forms.DateField(
        label=_("Approved on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label=_("Expires on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    file = forms.FileField(label=_("Approval letter (PDF)"))


class DuaForm(forms.Form):
    effective_on = forms.DateField(
        label=_("In effect from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label=_("Expires on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    file = forms.FileField(label=_("Signed data-use agreement (PDF)"))


class FeasibilityForm(forms.Form):
    icd10_prefixes = forms.CharField(
        label=_("ICD-10 codes or prefixes (comma-separated)"), required=False, max_length=200
    )
    age_min = forms.IntegerField(label=_("Minimum age"), required=False, min_value=0, max_value=120)
    age_max = forms.IntegerField(label=_("Maximum age"), required=False, min_value=0, max_value=120)
    sex = forms.ChoiceField(
        label=_("Sex"),
        required=False,
        choices=[("", _("any")), ("F", _("female")), ("M", _("male"))],
    )

    def codes(self) -> list[str]:
        return _codes(self.cleaned_data.get("icd10_prefixes") or "")


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


def _codes(text: str) -> list[str]:
    return [c.strip().upper() for c in text.replace(";", ",").split(",") if c.strip()]


class RenewalForm(forms.Form):
    progress_summary = forms.CharField(
        label=_("Progress so far"), widget=forms.Textarea(attrs={"rows": 4})
    )
    requested_until = forms.DateField(
        label=_("Extend access until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    file = forms.FileField(label=_("Progress report (PDF)"))


class AttestationForm(forms.Form):
    destroyed_on = forms.DateField(
        label=_("Copies destroyed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    copies_description = forms.CharField(
        label=_("What was destroyed, and where"), widget=forms.Textarea(attrs={"rows": 3})
    )
    file = forms.FileField(label=_("Signed attestation (PDF, optional)"), required=False)


class KeyForm(forms.Form):
    public_key = forms.CharField(
        label=_("Crypt4GH public key (the .pub file of crypt4gh-keygen)"),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
