"""The privacy report shaped for the steward's release page: figures, tables, SVG charts.

Pure functions of the manifest's privacy report (no database): the anchor's section
(k, classes, class-size histogram, risk, loss) and the release-level longitudinal
section (events kept per table, levels per event column, suppression, and the risk
before and after for m = 1, 2, 3 as a grouped bar chart).
"""

from __future__ import annotations

from typing import Any

__all__ = ["kinds_context", "longitudinal_context", "report_context"]


def _num(value: Any) -> Any:
    """Floats to four significant digits for people; everything else unchanged."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value


def report_context(report: dict[str, Any] | None) -> dict[str, Any]:
    """The privacy report, shaped for a person: figures, tables, and an SVG histogram."""
    if not report:
        return {"present": False}
    # The build's report wraps the engine's anonymization report under "report" and adds
    # release-wide figures (records released, per-table rows); flatten both shapes.
    inner = report.get("report")
    if isinstance(inner, dict):
        report = {**inner, **{k: v for k, v in report.items() if k != "report"}}
    target = report.get("privacy") or {}
    hist_raw = (
        report.get("class_sizes")
        or report.get("class_size_histogram")
        or report.get("histogram")
        or {}
    )
    if isinstance(hist_raw, list):
        hist_raw = {str(i + 1): v for i, v in enumerate(hist_raw)}

    def size_key(label: str) -> float:
        head = str(label).split("-")[0].rstrip("+")
        try:
            return float(head)
        except ValueError:
            return float("inf")

    bars_data = sorted(
        ((str(k), int(v)) for k, v in hist_raw.items()), key=lambda kv: size_key(kv[0])
    )
    k_target = target.get("k", report.get("k_target"))
    width, height, pad = 560, 220, 30
    bars = []
    if bars_data:
        peak = max(c for _, c in bars_data) or 1
        slot = (width - 2 * pad) / len(bars_data)
        # Axis labels never overlap: about 7 px per character at the chart's font size,
        # so with many classes only every stride-th bar is labelled (all keep a tooltip).
        widest = max(len(label) for label, _ in bars_data) * 7 + 6
        stride = max(1, -(-widest // max(1, int(slot))))
        for i, (label, count) in enumerate(bars_data):
            h = (height - 2 * pad) * count / peak
            below = k_target is not None and size_key(label) < float(k_target)
            bars.append(
                {
                    "label": label,
                    "count": count,
                    "x": round(pad + i * slot + slot * 0.1, 1),
                    "y": round(height - pad - h, 1),
                    "w": round(slot * 0.8, 1),
                    "h": round(h, 1),
                    "cx": round(pad + i * slot + slot / 2, 1),
                    "below_k": below,
                    "show_label": i % stride == 0,
                }
            )
    risk_rows: list[dict[str, Any]] = []
    for name, value in (report.get("risk") or {}).items():
        if isinstance(value, dict):
            risk_rows.append(
                {
                    "name": name,
                    **{
                        k: _num(value.get(k))
                        for k in ("highest", "average", "records_above_threshold", "threshold")
                    },
                }
            )
        else:
            risk_rows.append({"name": name, "highest": _num(value)})
    share = report.get("suppressed_share", report.get("suppression_rate"))
    tables = [
        {"name": name, **stats}
        for name, stats in sorted((report.get("tables") or {}).items())
        if isinstance(stats, dict)
    ]
    return {
        "present": True,
        "k": report.get("k", report.get("k_reached")),
        "k_target": k_target,
        "l": report.get("l"),
        "t": report.get("t"),
        "suppression_limit": target.get("suppression_limit"),
        "metric": target.get("metric"),
        "records_in": report.get("records_in"),
        "records_out": report.get("records_released", report.get("records_out")),
        "suppressed": report.get("records_suppressed", report.get("suppressed")),
        "persons": report.get("persons_released"),
        "tables": tables,
        "suppressed_pct": round(100 * float(share), 2) if share is not None else None,
        "classes": report.get("classes"),
        "levels": sorted((report.get("levels") or {}).items()),
        "risk": risk_rows,
        "info_loss": sorted((k, _num(v)) for k, v in (report.get("info_loss") or {}).items()),
        "chart": {
            "width": width,
            "height": height,
            "pad": pad,
            "bars": bars,
            "axis_y": height - pad,
        },
    }


RISK_MS = (1, 2, 3)


def longitudinal_context(section: dict[str, Any] | None, warnings: list[str]) -> dict[str, Any]:
    """The release-level section: what an attacker knowing m events can do, before/after."""
    if not section:
        return {"present": False, "warnings": warnings}
    before = section.get("risk_before") or {}
    after = section.get("risk_after") or {}
    k = section.get("k")
    risk_rows: list[dict[str, Any]] = []
    for m in RISK_MS:
        b, a = before.get(f"m{m}") or {}, after.get(f"m{m}") or {}
        risk_rows.append(
            {
                "m": m,
                "in_model": section.get("m") is not None and m <= int(section["m"]),
                "before": _risk_cell(b),
                "after": _risk_cell(a),
            }
        )
    tables = [
        {"name": name, **{key: _num(v) for key, v in stats.items()}}
        for name, stats in sorted((section.get("tables") or {}).items())
        if isinstance(stats, dict)
    ]
    levels = [
        {"column": col, **info}
        for col, info in sorted((section.get("levels") or {}).items())
        if isinstance(info, dict)
    ]
    in_model = [r["after"] for r in risk_rows if r["in_model"]]
    met = bool(in_model) and all(a.get("measured") and not a.get("below_k") for a in in_model)
    return {
        "present": True,
        "target_met": met,
        "model": section.get("model") is not None,
        "k": k,
        "m": section.get("m"),
        "loss": _num(section.get("loss")),
        "events_in": section.get("events_in"),
        "events_suppressed": section.get("events_suppressed"),
        "cells_suppressed": section.get("cells_suppressed"),
        "max_suppressed": section.get("max_suppressed_events"),
        "anchor_levels": sorted((section.get("anchor_levels") or {}).items()),
        "tables": tables,
        "levels": levels,
        "known": sorted((section.get("known") or {}).items()),
        "notes": section.get("notes"),
        "risk": risk_rows,
        "chart": _risk_chart(risk_rows, k),
        "warnings": warnings,
    }


def _risk_cell(part: dict[str, Any]) -> dict[str, Any]:
    if not part.get("measured"):
        return {"measured": False}
    return {
        "measured": True,
        "share": float(part.get("share_below_k", 0.0)),
        "pct": round(100 * float(part.get("share_below_k", 0.0)), 1),
        "below_k": part.get("below_k"),
        "highest": _num(part.get("highest")),
        "average": _num(part.get("average")),
    }


def _risk_chart(rows: list[dict[str, Any]], k: Any) -> dict[str, Any]:
    """Grouped bars: share of patients matching fewer than k, before and after, per m.

    Each group has its own slot and each label its own line, so labels never overlap.
    """
    width, height, pad, top = 560, 230, 40, 24
    plot_h = height - pad - top
    slot = (width - 2 * pad) / max(len(rows), 1)
    bar_w = slot * 0.32
    bars = []
    labels = []
    for i, row in enumerate(rows):
        x0 = pad + i * slot + slot * 0.14
        for j, key in enumerate(("before", "after")):
            cell = row[key]
            share = cell["share"] if cell.get("measured") else 0.0
            h = plot_h * share
            x = x0 + j * (bar_w + slot * 0.08)
            bars.append(
                {
                    "key": key,
                    "m": row["m"],
                    "x": round(x, 1),
                    "y": round(top + plot_h - h, 1),
                    "w": round(bar_w, 1),
                    "h": round(h, 1),
                    "cx": round(x + bar_w / 2, 1),
                    "text": f"{cell['pct']}%" if cell.get("measured") else "n/m",
                }
            )
        labels.append({"x": round(pad + i * slot + slot / 2, 1), "m": row["m"]})
    return {
        "width": width,
        "height": height,
        "pad": pad,
        "top": top,
        "axis_y": top + plot_h,
        "bars": bars,
        "labels": labels,
        "k": k,
    }


def kinds_context(report: dict[str, Any] | None) -> dict[str, Any]:
    """The genome and lifelog sections of the report, for the steward's page."""
    report = report or {}
    out: dict[str, Any] = {"genome": report.get("genome") or None, "lifelog": None}
    lifelog = report.get("lifelog")
    if isinstance(lifelog, dict):
        share = float((lifelog.get("uniqueness") or {}).get("unique_share") or 0.0)
        limit = lifelog.get("max_unique_share")
        out["lifelog"] = {
            **lifelog,
            "unique_pct": round(share * 100, 1),
            "max_pct": round(float(limit) * 100, 1) if limit is not None else None,
            "unique_high": share > (float(limit) if limit is not None else 0.5),
        }
    return out
