"""Release-level privacy over event tables: the (k, k^m) threat model, its search,
the transform's decisions and the independent measurement of the written files.

- :mod:`deid.longitudinal.model`: ``release.events`` in the release spec;
- :mod:`deid.longitudinal.store`: persons and events as compact integer codes;
- :mod:`deid.longitudinal.search`: the joint optimal levels with local event suppression;
- :mod:`deid.longitudinal.release`: the build's planner, decisions and output check;
- :mod:`deid.longitudinal.measure`: k^m risk measured on released tables (polars).
"""
