"""Small hand-written factories for governance tests (no factory_boy dependency)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from audit.models import AuditEvent
from governance import services
from governance.errors import GovernanceError
from governance.models import (
    DataAccessRequest,
    Dataset,
    DataUseLimitation,
    DeidClass,
    Organization,
    Release,
    Role,
    Variable,
)

PASSWORD = "correct horse battery staple 42"
PDF = b"%PDF-1.4\n% test document\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
POLICY_YAML = """\
name: test policy
columns:
  person_id: {role: identifier, transform: pseudonymize, domain: person}
  age: {role: quasi, hierarchy: {type: interval, widths: [5, 10, 20]}}
  sex: {role: quasi, hierarchy: {type: flat}}
  icd10: {role: sensitive}
privacy:
  k: 5
  suppression_limit: 0.1
"""

_seq = itertools.count(1)


def org(kind: str = "company", name: str | None = None, **kw: Any) -> Organization:
    return Organization.objects.create(name=name or f"{kind}-{next(_seq)}", kind=kind, **kw)


def user(organization: Organization, *roles: str, username: str | None = None) -> Any:
    return services.user_create(
        username=username or f"u{next(_seq)}",
        email="person@example.org",
        password=PASSWORD,
        organization=organization,
        roles=list(roles),
    )


def dataset(
    provider: Organization | None = None,
    limitations: list[dict[str, Any]] | None = None,
    name: str | None = None,
) -> Dataset:
    ds = Dataset.objects.create(
        name=name or f"cdw-{next(_seq)}",
        provider=provider,
        source="gangwon_cdw",
        description="Synthetic CDW extract",
    )
    for spec in limitations if limitations is not None else [{"code": "HMB"}]:
        DataUseLimitation.objects.create(dataset=ds, **spec)
    for table, name_, cls in [
        ("person", "person_id", DeidClass.IDENTIFIER),
        ("person", "age", DeidClass.QUASI),
        ("person", "sex", DeidClass.QUASI),
        ("condition_occurrence", "icd10", DeidClass.SENSITIVE),
    ]:
        Variable.objects.create(dataset=ds, table=table, name=name_, deid_class=cls)
    return ds


class World:
    """A provider hospital, a recipient company, a legal firm, a platform, and their people."""

    def __init__(self) -> None:
        self.hospital = org("provider", name=f"Chuncheon Hospital {next(_seq)}")
        self.company = org("company", name=f"Acme Bio {next(_seq)}")
        self.other_company = org("company", name=f"Other Co {next(_seq)}")
        self.law = org("legal_firm", name=f"Law LLP {next(_seq)}")
        self.platform = org("platform", name=f"Platform {next(_seq)}")
        self.researcher = user(self.company, Role.REQUESTER)
        self.other = user(self.other_company, Role.REQUESTER)
        self.legal = user(self.law, Role.LEGAL_REVIEWER)
        self.legal2 = user(self.law, Role.LEGAL_REVIEWER)
        self.steward = user(self.platform, Role.DATA_STEWARD)
        self.steward2 = user(self.platform, Role.DATA_STEWARD)
        self.auditor = user(self.platform, Role.AUDITOR)
        self.admin = user(self.platform, Role.ADMINISTRATOR)
        # Holds both roles: the two-person rule must stop them deciding twice.
        self.both = user(self.platform, Role.LEGAL_REVIEWER, Role.DATA_STEWARD)
        self.dataset = dataset(self.hospital)

    # --- request lifecycle helpers -------------------------------------------------------

    def draft(self, **kw: Any) -> DataAccessRequest:
        params: dict[str, Any] = {
            "acting_user": self.researcher,
            "title": "Diabetes outcomes in Gangwon",
            "purpose": "Study HbA1c trajectories of type 2 diabetes patients.",
            "purpose_code": "DS",
            "purpose_diseases": ["E11"],
            "datasets": [self.dataset],
            "requested_variables": list(self.dataset.variables.all()),
            "cohort_criteria": {"icd10": ["E11"], "age_min": 40},
        }
        params.update(kw)
        return services.request_create(**params)

    def with_documents(
        self,
        request: DataAccessRequest,
        *,
        irb_expires: date | None = None,
        dua_expires: date | None = None,
        purposes: tuple[str, ...] = ("HMB", "DS"),
    ) -> DataAccessRequest:
        today = timezone.localdate()
        services.irb_approval_add(
            request=request,
            acting_user=self.researcher,
            number="IRB-2026-001",
            institution="Kangwon National University Hospital",
            approved_on=today - timedelta(days=30),
            expires_on=irb_expires or today + timedelta(days=400),
            file=PDF,
            original_name="../../etc/irb approval.pdf",
            content_type="application/pdf",
        )
        services.dua_add(
            request=request,
            acting_user=self.researcher,
            effective_on=today - timedelta(days=1),
            expires_on=dua_expires or today + timedelta(days=500),
            permitted_purposes=list(purposes),
            file=PDF,
            original_name="dua-signed.pdf",
            content_type="application/pdf",
        )
        return request

    def submitted(self, **kw: Any) -> DataAccessRequest:
        request = self.with_documents(self.draft(**kw))
        return services.request_submit(request=request, acting_user=self.researcher)

    def verified(self, request: DataAccessRequest, by: Any = None) -> DataAccessRequest:
        by = by or self.legal
        for irb in request.irb_approvals.all():
            services.irb_verify(irb=irb, acting_user=by)
        for dua in request.duas.all():
            services.dua_verify(dua=dua, acting_user=by)
        return request

    def legally_approved(self, **kw: Any) -> DataAccessRequest:
        request = self.verified(self.submitted(**kw))
        return services.request_approve_legal(
            request=request, acting_user=self.legal, reason="IRB and DUA in order."
        )

    def approved(self, **kw: Any) -> DataAccessRequest:
        request = self.legally_approved(**kw)
        services.policy_set(request=request, acting_user=self.steward, policy_yaml=POLICY_YAML)
        return services.request_approve_steward(
            request=request, acting_user=self.steward, reason="Policy suffices."
        )

    def built(self, **kw: Any) -> Release:
        request = self.approved(**kw)
        release = services.release_create(request=request, acting_user=self.steward)
        release = services.release_build_start(release=release, acting_user=self.steward)
        return services.release_build_succeeded(
            release=release, manifest=MANIFEST, report=REPORT, files_dir=""
        )

    def published(self, **kw: Any) -> Release:
        release = self.built(**kw)
        services.release_approve(release=release, acting_user=self.steward, reason="k=5 met.")
        return services.release_publish(release=release, acting_user=self.steward)


MANIFEST: dict[str, Any] = {
    "files": [{"name": "person.parquet", "size": 1234, "rows": 95, "sha256": "a" * 64}],
    "plan_sha256": "b" * 64,
}
REPORT: dict[str, Any] = {
    # The engine's privacy report shape (deid.report.PrivacyReport.to_dict()).
    "privacy": {"k": 5, "suppression_limit": 0.1, "metric": "loss"},
    "k": 5,
    "records_in": 100,
    "records_out": 95,
    "suppressed": 5,
    "suppressed_share": 0.05,
    "classes": 10,
    "class_size_histogram": {"5": 4, "6": 3, "8": 2, "12": 1},
    "levels": {"age": 2, "sex": 0},
    "risk": {
        "prosecutor": {
            "highest": 0.2,
            "average": 0.11,
            "records_above_threshold": 0.0,
            "threshold": 0.2,
        },
        "journalist": {
            "highest": 0.2,
            "average": 0.1,
            "records_above_threshold": 0.0,
            "threshold": 0.2,
        },
        "marketer": {"average": 0.09},
    },
    "info_loss": {"loss": 0.31, "discernibility": 1234.0},
}


# A release-level privacy section as the build writes it (deid.longitudinal).
LONGITUDINAL = {
    "model": {"m": 2},
    "k": 5,
    "m": 2,
    "loss": 0.40216,
    "events_in": 69742,
    "events_suppressed": 20729,
    "cells_suppressed": 50000,
    "max_suppressed_events": 20922,
    "anchor_levels": {"gender_source_value": 1},
    "levels": {
        "visit_occurrence.visit_start_date": {
            "level": 2,
            "label": "year",
            "min_level": 0,
            "max_level": 2,
            "height": 4,
        }
    },
    "tables": {
        "visit_occurrence": {
            "events_in": 53603,
            "events_of_suppressed_patients": 0,
            "events_suppressed": 13666,
            "events_out": 39937,
            "kept_share": 0.745,
        }
    },
    "notes": {"date_level": "year", "remove_ages": True, "remove_sex": True, "plain_tags": True},
    "risk_before": {
        "m1": {
            "measured": True,
            "share_below_k": 0.365,
            "below_k": 3650,
            "highest": 1.0,
            "average": 0.2,
        },
        "m2": {
            "measured": True,
            "share_below_k": 0.975,
            "below_k": 9750,
            "highest": 1.0,
            "average": 0.9,
        },
        "m3": {"measured": False, "combinations": 10**9},
    },
    "risk_after": {
        "m1": {
            "measured": True,
            "share_below_k": 0.0,
            "below_k": 0,
            "highest": 0.2,
            "average": 0.01,
        },
        "m2": {
            "measured": True,
            "share_below_k": 0.0,
            "below_k": 0,
            "highest": 0.2,
            "average": 0.05,
        },
        "m3": {
            "measured": True,
            "share_below_k": 0.48,
            "below_k": 4800,
            "highest": 1.0,
            "average": 0.3,
        },
    },
}


# --- assertions the service tests share ---


def actions_for(obj: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(
            object_type=f"{obj._meta.app_label}.{obj._meta.model_name}", object_id=str(obj.pk)
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )


def refused(code: str):  # type: ignore[no-untyped-def]
    class _Ctx:
        def __enter__(self) -> None:
            return None

        def __exit__(self, et: Any, exc: Any, tb: Any) -> bool:
            assert et is GovernanceError, f"expected GovernanceError({code}), got {et}: {exc}"
            assert exc.code == code, f"expected code {code}, got {exc.code}: {exc.message}"
            return True

    return _Ctx()
