"""The demo release spec, shaped for the small synthetic cohorts of the tests.

The demo's event model (k = 5, m = 2, at least half of the visits and diagnoses
kept) is met on the demo's 10,000 patients, not on a few hundred: small cohorts
relax the event limits (``suppression_limit`` 0.95, no kept-share floor) so the
same longitudinal path runs in every build test.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from deid.plan import load_release_spec

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "fixtures" / "policies" / "demo_release.yaml"


def demo_spec() -> dict[str, Any]:
    return load_release_spec(DEMO_SPEC)


def small_spec(
    tables: tuple[str, ...] | None = None, *, relax: bool = True, kinds: bool = False
) -> dict[str, Any]:
    """The demo spec with only ``tables`` (all by default), event limits relaxed.

    ``kinds``: keep the genome and lifelog sections (their sources are the caller's).
    """
    spec = copy.deepcopy(demo_spec())
    if not kinds:
        spec.pop("genome", None)
        spec.pop("lifelog", None)
    if tables is not None:
        spec["tables"] = {k: v for k, v in spec["tables"].items() if k in tables}
    events = spec["release"].get("events")
    if events is not None:
        events["tables"] = {k: v for k, v in events["tables"].items() if k in spec["tables"]}
        events["follow"] = {
            k: v
            for k, v in (events.get("follow") or {}).items()
            if k in spec["tables"] and v in events["tables"]
        }
        if not events["tables"]:
            del spec["release"]["events"]
        elif relax:
            events["suppression_limit"] = 0.95
            events["min_kept_share"] = 0.0
    return spec
