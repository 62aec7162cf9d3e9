"""The de-identification engine: plain Python over Arrow, no Django.

Public API is re-exported here; modules starting with ``_`` are private.
"""

from deid.errors import DataError, DeidError, PolicyError, PrivacyTargetNotMet

__all__ = ["DataError", "DeidError", "PolicyError", "PrivacyTargetNotMet"]
