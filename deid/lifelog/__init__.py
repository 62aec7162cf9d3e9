"""Lifelog (wearable) series in releases: person pseudonyms, the patient's date shift,
windowed aggregates, GPS dropped or generalized, uniqueness measured. See
:mod:`deid.lifelog.release`."""

from deid.lifelog.spec import WINDOWS, LifelogSpec, parse_lifelog_spec

__all__ = ["WINDOWS", "LifelogSpec", "parse_lifelog_spec"]
