"""The privacy report: JSON for machines, a readable summary for the steward."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

_EXACT_SIZES = 20
_BUCKETS = ((21, 50), (51, 100), (101, 1000), (1001, 10_000), (10_001, None))


def class_size_histogram(sizes: IntArray) -> dict[str, int]:
    """Classes per size: exact up to 20, then ranges ("21-50", ..., "10001+")."""
    out: dict[str, int] = {}
    if not len(sizes):
        return out
    vals, cnts = np.unique(sizes, return_counts=True)
    for v, c in zip(vals.tolist(), cnts.tolist(), strict=True):
        if v <= _EXACT_SIZES:
            out[str(v)] = int(c)
    for lo, hi in _BUCKETS:
        sel = (vals >= lo) if hi is None else ((vals >= lo) & (vals <= hi))
        total = int(cnts[sel].sum())
        if total:
            out[f"{lo}+" if hi is None else f"{lo}-{hi}"] = total
    return out


@dataclass(frozen=True)
class PrivacyReport:
    """What a release reached. ``data`` is JSON-ready; use :meth:`to_dict`."""

    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.data))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacyReport:
        return cls(copy.deepcopy(dict(data)))

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True, ensure_ascii=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def k(self) -> int:
        return int(self.data["k"])

    @property
    def levels(self) -> dict[str, int]:
        return dict(self.data["levels"])

    def summary(self) -> str:
        d = self.data
        lines = []
        target = d.get("privacy", {})
        lines.append(
            f"Privacy target: k={target.get('k')}, suppression limit "
            f"{100 * float(target.get('suppression_limit', 0)):.2f}%, metric {target.get('metric')}"
        )
        if target.get("l_diversity"):
            ld = target["l_diversity"]
            lines.append(f"  l-diversity ({ld['variant']}) on {ld['column']}: l={ld['l']}")
        if target.get("t_closeness"):
            tc = target["t_closeness"]
            lines.append(f"  t-closeness ({tc['distance']}) on {tc['column']}: t={tc['t']}")
        lines.append(
            f"Records: {d.get('records_in')} in, {d.get('records_out')} out, "
            f"{d.get('suppressed')} suppressed ({100 * float(d.get('suppressed_share', 0)):.2f}%)"
        )
        levels = d.get("levels", {})
        if levels:
            lines.append(
                "Generalization levels: " + ", ".join(f"{k}={v}" for k, v in levels.items())
            )
        lines.append(f"Equivalence classes: {d.get('classes')}; smallest (k reached): {d.get('k')}")
        if "l" in d:
            lines.append(f"l reached: {d['l']:.4g}")
        if "t" in d:
            lines.append(f"t reached (largest EMD): {d['t']:.4g}")
        loss = d.get("info_loss", {})
        if loss:
            lines.append("Information loss: " + ", ".join(f"{k}={v:.4g}" for k, v in loss.items()))
        risk = d.get("risk", {})
        pr = risk.get("prosecutor")
        if pr:
            lines.append(
                f"Prosecutor risk: highest {pr['highest']:.4f}, average {pr['average']:.4f}, "
                f"{100 * pr['records_above_threshold']:.2f}% of records above {pr['threshold']}"
            )
        jr = risk.get("journalist")
        if jr:
            lines.append(
                f"Journalist risk: highest {jr['highest']:.4f}, average {jr['average']:.4f}; "
                f"marketer risk {risk['marketer']['average']:.4f}"
            )
        search = d.get("search")
        if search:
            lines.append(
                f"Search: {search.get('checked')} of {search.get('lattice_size')} lattice nodes checked "
                f"in {search.get('seconds', 0):.3f} s"
            )
        return "\n".join(lines)
