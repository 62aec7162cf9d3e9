"""A dry run of a policy before approval: what the anchor table would release, and what it loses.

The steward's policy form runs the engine on the anchor table (the demographics) of
the CDW with the policy as edited, writes nothing, and shows the privacy report
(k reached, suppression, class sizes, risk), each quasi-identifier's distribution
before and after, and sample rows as they would be released (no identifier and no
free text is ever shown). The release-level (k, k^m) search over visits and
diagnoses runs in the real build; the dry run says so. Every dry run is audited
(``policy.dry_run``): it reads patient data.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import DataAccessRequest, Role

__all__ = ["DRY_RUN_MAX_ROWS", "DryRun", "policy_dry_run"]

DRY_RUN_MAX_ROWS = 200_000
TOP_VALUES = 8
SAMPLE_ROWS = 8


@dataclass
class DryRun:
    anchor: str
    rows_read: int
    capped: bool
    seconds: float
    report: dict[str, Any] | None = None
    failure: str | None = None
    distributions: list[dict[str, Any]] = field(default_factory=list)
    sample_columns: list[str] = field(default_factory=list)
    sample_rows: list[list[Any]] = field(default_factory=list)
    has_events: bool = False


def _top(values: list[Any]) -> list[tuple[str, int]]:
    counts = Counter("∅" if v is None else str(v) for v in values)
    return counts.most_common(TOP_VALUES)


def policy_dry_run(*, request: DataAccessRequest, acting_user: Any, policy_yaml: str) -> DryRun:
    """Run the anchor table's part of ``policy_yaml`` on the CDW; publish nothing."""
    from deid.anonymize import anonymize_table
    from deid.errors import DeidError, PrivacyTargetNotMet
    from deid.policy import parse_policy
    from deid.sources.sql import SqlSource
    from governance.services import _parse_policy, _require_role

    role = _require_role(acting_user, Role.DATA_STEWARD, action="run a policy dry run")
    _parse_policy(policy_yaml)  # the same validation as saving
    spec = yaml.safe_load(policy_yaml)
    anchor = spec["release"]["anchor"]
    tspec = spec["tables"][anchor]
    policy = parse_policy(dict(tspec["policy"]), Path(settings.BASE_DIR))
    columns = list(policy.columns)
    started = time.perf_counter()
    source = SqlSource(str(settings.DEID_CDW_URL))
    batches: list[pa.RecordBatch] = []
    rows = 0
    try:
        for batch in source.batches(
            tspec.get("table", anchor),
            columns=None if tspec.get("query") else columns,
            query=tspec.get("query"),
            batch_size=50_000,
        ):
            batches.append(batch)
            rows += batch.num_rows
            if rows >= DRY_RUN_MAX_ROWS:
                break
    except Exception as exc:  # the CDW is unreachable: say so, without its URL
        raise GovernanceError(
            code=GovernanceErrorCode.UNAVAILABLE,
            message=_("The CDW cannot be read now (%(type_exc_name)s).")
            % {"type_exc_name": type(exc).__name__},
        ) from None
    finally:
        source.close()
    table = pa.Table.from_batches(batches) if batches else pa.table({})
    table = table.slice(0, DRY_RUN_MAX_ROWS)
    table = table.select([c for c in columns if c in table.column_names])
    shown = [
        n
        for n, c in policy.columns.items()
        if c.role not in ("identifier", "text") and n in table.column_names
    ]
    result = DryRun(
        anchor=anchor,
        rows_read=table.num_rows,
        capped=rows >= DRY_RUN_MAX_ROWS,
        seconds=0.0,
        has_events=bool((spec.get("release") or {}).get("events")),
    )
    try:
        out, report = anonymize_table(table, policy)
        result.report = report.to_dict()
        for name in policy.quasi_identifiers:
            if name in table.column_names:
                before = _top(table.column(name).to_pylist())
                after = _top(out.column(name).to_pylist())
                result.distributions.append(
                    {
                        "column": name,
                        "before": before,
                        "after": after,
                        # side by side: (value, count) before | (value, count) after
                        "rows": [
                            (*(b or ("", "")), *(a or ("", "")))
                            for b, a in zip_longest(before, after)
                        ],
                        "distinct_before": len(set(table.column(name).to_pylist())),
                        "distinct_after": len(set(out.column(name).to_pylist())),
                    }
                )
        result.sample_columns = [n for n in shown if n in out.column_names]
        sample = out.select(result.sample_columns).slice(0, SAMPLE_ROWS).to_pylist()
        result.sample_rows = [[row[c] for c in result.sample_columns] for row in sample]
    except PrivacyTargetNotMet as exc:
        result.failure = str(exc)
    except DeidError as exc:
        raise GovernanceError(code=GovernanceErrorCode.POLICY_INVALID, message=str(exc)) from None
    result.seconds = round(time.perf_counter() - started, 2)
    with transaction.atomic():
        record_event(
            action=AuditAction.POLICY_DRY_RUN,
            actor=Actor.for_user(acting_user, role=role),
            object_type="governance.dataaccessrequest",
            object_id=str(request.pk),
            details={
                "anchor": anchor,
                "rows": result.rows_read,
                "k": (result.report or {}).get("k"),
                "suppressed": (result.report or {}).get("suppressed"),
                "target_met": result.failure is None,
            },
        )
    return result
