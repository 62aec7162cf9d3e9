"""The de-identification engine: plain Python over Arrow, no Django.

Public API is re-exported here; modules starting with ``_`` are private.
"""

from typing import TYPE_CHECKING, Any

from deid.errors import (
    DataError,
    DeidError,
    PolicyError,
    PrivacyTargetNotMet,
    SourceChangedError,
)

if TYPE_CHECKING:
    from deid.anonymize import (
        Anonymization,
        FrequencyTable,
        anonymize_table,
        count_batch,
        generalize_batch,
        measure_risk,
        search,
    )
    from deid.keys import KeyRef, KeyStore, MasterKey, ReleaseKey, load_master_key
    from deid.pipeline import build_release
    from deid.plan import ReleasePlan, compile_plan, load_release_spec
    from deid.policy import Policy, load_policy, parse_policy
    from deid.pseudonym import pseudonymize
    from deid.report import PrivacyReport
    from deid.sinks import Manifest, StagingSink, verify_release
    from deid.text import Scrubber, scrub_array
    from deid.transform import transform_batch

__all__ = [
    "Anonymization",
    "DataError",
    "DeidError",
    "FrequencyTable",
    "KeyRef",
    "KeyStore",
    "Manifest",
    "MasterKey",
    "Policy",
    "PolicyError",
    "PrivacyReport",
    "PrivacyTargetNotMet",
    "ReleaseKey",
    "ReleasePlan",
    "Scrubber",
    "SourceChangedError",
    "StagingSink",
    "anonymize_table",
    "build_release",
    "compile_plan",
    "count_batch",
    "generalize_batch",
    "load_master_key",
    "load_policy",
    "load_release_spec",
    "measure_risk",
    "parse_policy",
    "pseudonymize",
    "scrub_array",
    "search",
    "transform_batch",
    "verify_release",
]

# Release-build API, imported on first use so that ``import deid`` stays light.
_LAZY = {
    "Anonymization": "deid.anonymize",
    "FrequencyTable": "deid.anonymize",
    "anonymize_table": "deid.anonymize",
    "count_batch": "deid.anonymize",
    "generalize_batch": "deid.anonymize",
    "measure_risk": "deid.anonymize",
    "search": "deid.anonymize",
    "Policy": "deid.policy",
    "load_policy": "deid.policy",
    "parse_policy": "deid.policy",
    "PrivacyReport": "deid.report",
    "KeyRef": "deid.keys",
    "KeyStore": "deid.keys",
    "MasterKey": "deid.keys",
    "ReleaseKey": "deid.keys",
    "load_master_key": "deid.keys",
    "build_release": "deid.pipeline",
    "ReleasePlan": "deid.plan",
    "compile_plan": "deid.plan",
    "load_release_spec": "deid.plan",
    "pseudonymize": "deid.pseudonym",
    "Manifest": "deid.sinks",
    "StagingSink": "deid.sinks",
    "verify_release": "deid.sinks",
    "transform_batch": "deid.transform",
    "Scrubber": "deid.text",
    "scrub_array": "deid.text",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deid' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
