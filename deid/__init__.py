"""The de-identification engine: plain Python over Arrow, no Django.

Public API is re-exported here; modules starting with ``_`` are private.
"""

from typing import TYPE_CHECKING, Any

from deid.errors import DataError, DeidError, PolicyError, PrivacyTargetNotMet

if TYPE_CHECKING:
    from deid.keys import KeyRef, KeyStore, MasterKey, ReleaseKey, load_master_key
    from deid.pipeline import build_release
    from deid.plan import ReleasePlan, compile_plan, load_release_spec
    from deid.pseudonym import pseudonymize
    from deid.sinks import Manifest, StagingSink, verify_release
    from deid.transform import transform_batch

__all__ = [
    "DataError",
    "DeidError",
    "KeyRef",
    "KeyStore",
    "Manifest",
    "MasterKey",
    "PolicyError",
    "PrivacyTargetNotMet",
    "ReleaseKey",
    "ReleasePlan",
    "StagingSink",
    "build_release",
    "compile_plan",
    "load_master_key",
    "load_release_spec",
    "pseudonymize",
    "transform_batch",
    "verify_release",
]

# Release-build API, imported on first use so that ``import deid`` stays light.
_LAZY = {
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
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deid' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
