"""Cohort feasibility counts for the catalog: how many patients match, never exactly.

A recipient may ask, before filing a request, how many patients of the CDW match
simple criteria (ICD-10 code prefixes, an age range, sex). The answer is rounded to
the nearest 10 and a count below 10 is shown as ``<10`` (small-cell suppression),
and every query is audited (``catalog.feasibility_queried``) with the criteria and
the answer shown, never the exact count.

Rounding does not stop a determined differencing attack over many queries; the
audit log (and the API's throttling) is what lets the platform see one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.errors import GovernanceError, GovernanceErrorCode

__all__ = ["MIN_CELL", "Criteria", "FeasibilityResult", "feasibility_count"]

MIN_CELL = 10
_ICD_RE = re.compile(r"^[A-Z][0-9]{0,2}(\.[0-9]{0,2})?$")


@dataclass(frozen=True)
class Criteria:
    icd10_prefixes: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    sex: str | None = None

    def __post_init__(self) -> None:
        for p in self.icd10_prefixes:
            if not _ICD_RE.fullmatch(p):
                raise GovernanceError(
                    code=GovernanceErrorCode.VALIDATION,
                    message=_("%(p)s is not an ICD-10 code or prefix (e.g. E11).") % {"p": repr(p)},
                )
        for value in (self.age_min, self.age_max):
            if value is not None and not 0 <= value <= 120:
                raise GovernanceError(
                    code=GovernanceErrorCode.VALIDATION, message=_("Ages must be within 0..120.")
                )
        if self.sex not in (None, "F", "M"):
            raise GovernanceError(
                code=GovernanceErrorCode.VALIDATION, message=_("Sex must be F or M.")
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "icd10_prefixes": list(self.icd10_prefixes),
            "age_min": self.age_min,
            "age_max": self.age_max,
            "sex": self.sex,
        }


@dataclass(frozen=True)
class FeasibilityResult:
    shown: str  # "<10" or a multiple of 10, e.g. "1,230"
    suppressed: bool


def _shown(count: int) -> FeasibilityResult:
    if count < MIN_CELL:
        return FeasibilityResult(shown=f"<{MIN_CELL}", suppressed=True)
    return FeasibilityResult(shown=f"{(count + 5) // 10 * 10:,}", suppressed=False)


def _count(criteria: Criteria, today: date) -> int:
    from sqlalchemy import create_engine, text

    where = ["1 = 1"]
    params: dict[str, Any] = {}
    if criteria.age_min is not None:
        where.append("p.year_of_birth <= :max_year")
        params["max_year"] = today.year - criteria.age_min
    if criteria.age_max is not None:
        where.append("p.year_of_birth >= :min_year")
        params["min_year"] = today.year - criteria.age_max
    if criteria.sex is not None:
        where.append("p.gender_source_value = :sex")
        params["sex"] = criteria.sex
    if criteria.icd10_prefixes:
        likes = []
        for i, prefix in enumerate(criteria.icd10_prefixes):
            likes.append(f"c.condition_source_value LIKE :icd{i}")
            params[f"icd{i}"] = prefix + "%"
        exists = (
            "EXISTS (SELECT 1 FROM condition_occurrence c WHERE c.person_id = p.person_id AND ({}))"
        )
        where.append(exists.format(" OR ".join(likes)))  # placeholders only; values are bound
    sql = f"SELECT COUNT(*) FROM person p WHERE {' AND '.join(where)}"  # noqa: S608 - bound values
    engine = create_engine(str(settings.DEID_CDW_URL))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def feasibility_count(
    *, criteria: Criteria, acting_user: Any, actor: Actor | None = None
) -> FeasibilityResult:
    """The rounded, small-cell-suppressed count of matching patients (audited)."""
    from django.utils import timezone

    if acting_user is None or not getattr(acting_user, "is_authenticated", False):
        raise GovernanceError(
            code=GovernanceErrorCode.PERMISSION_DENIED, message=_("Log in to query the catalog.")
        )
    try:
        result = _shown(_count(criteria, timezone.localdate()))
    except GovernanceError:
        raise
    except Exception as exc:  # the CDW is unreachable: say so, without its URL
        raise GovernanceError(
            code=GovernanceErrorCode.UNAVAILABLE,
            message=_("The CDW cannot be queried now (%(type_exc_name)s).")
            % {"type_exc_name": type(exc).__name__},
        ) from None
    with transaction.atomic():
        record_event(
            action=AuditAction.CATALOG_FEASIBILITY_QUERIED,
            actor=actor or Actor.for_user(acting_user, role="requester"),
            object_type="governance.dataset",
            object_id="cdw",
            details={"criteria": criteria.to_dict(), "shown": result.shown},
        )
    return result
