"""The ``lifelog`` section of a release spec: how wearable series are released.

::

    lifelog:
      window: 1h          # aggregation window: 15min, 30min, 1h, 2h, 3h, 4h, 6h, 12h or 1d
      gps: drop           # drop (default) or sigungu (the 시군구 of the points, per window)
      max_unique_share: 0.5   # optional: fail if more released series single a person out

The source (``minutes.parquet`` and the platform's ``linkage.csv``) comes from the
platform when the plan is compiled (``source``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deid.errors import PolicyError

__all__ = ["WINDOWS", "LifelogSpec", "parse_lifelog_spec"]

WINDOWS = {
    "15min": 15, "30min": 30, "1h": 60, "2h": 120, "3h": 180, "4h": 240,
    "6h": 360, "12h": 720, "1d": 1440,
}  # fmt: skip
_KEYS = {"window", "gps", "max_unique_share", "source"}


@dataclass(frozen=True)
class LifelogSpec:
    window: str = "1h"
    gps: str = "drop"
    max_unique_share: float | None = None
    source: str | None = None

    @property
    def window_minutes(self) -> int:
        return WINDOWS[self.window]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "window": self.window,
            "gps": self.gps,
            "max_unique_share": self.max_unique_share,
        }
        if self.source is not None:
            out["source"] = self.source
        return out


def parse_lifelog_spec(raw: Any, *, where: str = "lifelog") -> LifelogSpec:
    if raw is None or raw is True:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PolicyError(where, f"expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(where, f"unknown keys {sorted(unknown)}; expected {sorted(_KEYS)}")
    window = raw.get("window", "1h")
    if window not in WINDOWS:
        raise PolicyError(f"{where}.window", f"expected one of {list(WINDOWS)}, got {window!r}")
    gps = raw.get("gps", "drop")
    if gps not in ("drop", "sigungu"):
        raise PolicyError(f"{where}.gps", f"expected drop or sigungu, got {gps!r}")
    mus = raw.get("max_unique_share")
    if mus is not None and (
        isinstance(mus, bool) or not isinstance(mus, int | float) or not 0 <= mus <= 1
    ):
        raise PolicyError(f"{where}.max_unique_share", f"expected a share in 0..1, got {mus!r}")
    source = raw.get("source")
    if source is not None and (not isinstance(source, str) or not source):
        raise PolicyError(f"{where}.source", f"expected a folder path, got {source!r}")
    return LifelogSpec(
        window=window,
        gps=gps,
        max_unique_share=None if mus is None else float(mus),
        source=source,
    )
