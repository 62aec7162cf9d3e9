"""Release-level privacy over event tables: the (k, k^m) threat model, its search,
the transform's decisions and the independent measurement of the written files.

- :mod:`deid.longitudinal.model`: ``release.events`` in the release spec;
- :mod:`deid.longitudinal.store`: persons and events as compact integer codes;
- :mod:`deid.longitudinal.search`: the joint optimal levels with local event suppression;
- :mod:`deid.longitudinal.release`: the build's planner, decisions and output check;
- :mod:`deid.longitudinal.measure`: k^m risk measured on released tables (polars).
"""

from deid.longitudinal.measure import km_risk_frames, km_risk_tables
from deid.longitudinal.model import EventModel, EventTable, parse_event_model
from deid.longitudinal.release import LongitudinalPlanner, ReleaseEvents, check_written
from deid.longitudinal.search import LongitudinalSearch

__all__ = [
    "EventModel",
    "EventTable",
    "LongitudinalPlanner",
    "LongitudinalSearch",
    "ReleaseEvents",
    "check_written",
    "km_risk_frames",
    "km_risk_tables",
    "parse_event_model",
]
