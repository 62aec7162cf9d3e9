"""GA4GH Data Use Ontology (DUO): codes and the request-versus-dataset compatibility check.

A dataset carries data-use limitations (from the patients' consent), a request
carries a DUO-coded research purpose. ``check`` compares them and explains
every finding in words a legal reviewer can act on. Plain Python: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

# shorthand -> (DUO id, label, kind). kind: "permission" (what research the data
# may be used for) or "modifier" (extra conditions on any permitted use).
DUO_CODES: dict[str, tuple[str, str, str]] = {
    "NRES": ("DUO:0000004", "no restriction", "permission"),
    "GRU": ("DUO:0000042", "general research use", "permission"),
    "HMB": ("DUO:0000006", "health or medical or biomedical research", "permission"),
    "DS": ("DUO:0000007", "disease specific research", "permission"),
    "POA": ("DUO:0000011", "population origins or ancestry research only", "permission"),
    "CC": ("DUO:0000043", "clinical care use", "permission"),
    "NCU": ("DUO:0000046", "non-commercial use only", "modifier"),
    "NPUO": ("DUO:0000045", "not-for-profit organisation use only", "modifier"),
    "IRB": ("DUO:0000021", "ethics approval required", "modifier"),
    "TS": ("DUO:0000025", "time limit on use", "modifier"),
    "PUB": ("DUO:0000019", "publication required", "modifier"),
    "GS": ("DUO:0000022", "geographical restriction", "modifier"),
    "NMDS": ("DUO:0000015", "no general methods research", "modifier"),
    "GSO": ("DUO:0000016", "genetic studies only", "modifier"),
    "COL": ("DUO:0000020", "collaboration required", "modifier"),
    "RTN": ("DUO:0000029", "return to database or resource", "modifier"),
    "US": ("DUO:0000026", "user specific restriction", "modifier"),
    "PS": ("DUO:0000027", "project specific restriction", "modifier"),
    "IS": ("DUO:0000028", "institution specific restriction", "modifier"),
    "MOR": ("DUO:0000024", "publication moratorium", "modifier"),
}

PURPOSE_CODES = ("GRU", "HMB", "DS", "POA", "CC")
# Codes a machine cannot decide: a person must confirm them (override reason).
MANUAL_CODES = frozenset({"COL", "RTN", "US", "PS", "IS", "MOR", "GSO"})

Outcome = Literal["ok", "conflict", "manual"]


class DuoError(ValueError):
    """An unknown code or malformed parameters (says which code and what was expected)."""


@dataclass(frozen=True)
class Limitation:
    code: str
    disease_codes: tuple[str, ...] = ()
    time_limit_months: int | None = None
    regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in DUO_CODES:
            raise DuoError(f"unknown DUO code {self.code!r}; expected one of {sorted(DUO_CODES)}")
        if self.code == "DS" and not self.disease_codes:
            raise DuoError("DUO code DS needs at least one ICD-10 disease code; got none")
        if self.code == "TS" and (self.time_limit_months is None or self.time_limit_months < 1):
            raise DuoError(
                f"DUO code TS needs time_limit_months >= 1; got {self.time_limit_months}"
            )
        if self.code == "GS" and not self.regions:
            raise DuoError("DUO code GS needs at least one region; got none")


@dataclass(frozen=True)
class Purpose:
    """A request's research purpose, DUO-coded."""

    code: str
    diseases: tuple[str, ...] = ()
    commercial: bool = False
    for_profit: bool = True
    methods_research: bool = False
    will_publish: bool = True
    regions: tuple[str, ...] = ()
    duration_months: int = 12
    has_ethics_approval: bool = False

    def __post_init__(self) -> None:
        if self.code not in PURPOSE_CODES:
            raise DuoError(
                f"unknown research purpose {self.code!r}; expected one of {PURPOSE_CODES}"
            )
        if self.code == "DS" and not self.diseases:
            raise DuoError("a disease-specific (DS) purpose needs ICD-10 codes; got none")


@dataclass(frozen=True)
class Finding:
    dataset: str
    code: str
    outcome: Outcome
    explanation: str


@dataclass(frozen=True)
class DuoResult:
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def compatible(self) -> bool:
        return all(f.outcome == "ok" for f in self.findings)

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.outcome != "ok")

    def summary(self) -> str:
        if self.compatible:
            return "Compatible: the purpose fits every data-use limitation."
        return "Not compatible: " + "; ".join(
            f"{f.dataset} {f.code}: {f.explanation}" for f in self.problems
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "compatible": self.compatible,
            "findings": [
                {
                    "dataset": f.dataset,
                    "code": f.code,
                    "outcome": f.outcome,
                    "explanation": f.explanation,
                }
                for f in self.findings
            ],
        }


def label(code: str) -> str:
    entry = DUO_CODES.get(code)
    return f"{code} ({entry[0]}, {entry[1]})" if entry else code


def _icd_covered(disease: str, allowed: Iterable[str]) -> bool:
    """ICD-10 hierarchy by prefix: consent for C50 covers C50.9 and C509."""
    d = disease.upper().replace(".", "")
    return any(d.startswith(a.upper().replace(".", "")) for a in allowed)


def _permission(dataset: str, lim: Limitation, p: Purpose) -> Finding:
    code = lim.code
    if code in ("NRES", "GRU"):
        return Finding(dataset, code, "ok", f"{label(code)} allows {p.code} research.")
    if code == "HMB":
        if p.code in ("HMB", "DS", "CC"):
            return Finding(dataset, code, "ok", f"{p.code} research is health/medical research.")
        return Finding(
            dataset,
            code,
            "conflict",
            f"the data may only be used for health/medical/biomedical research; "
            f"the request's purpose is {label(p.code)}.",
        )
    if code == "DS":
        allowed = ", ".join(lim.disease_codes)
        if p.code != "DS":
            return Finding(
                dataset,
                code,
                "conflict",
                f"the data may only be used for research on {allowed}; the request's purpose "
                f"is {label(p.code)}, not disease-specific.",
            )
        outside = [d for d in p.diseases if not _icd_covered(d, lim.disease_codes)]
        if outside:
            return Finding(
                dataset,
                code,
                "conflict",
                f"the request studies {', '.join(outside)}, outside the consented diseases "
                f"({allowed}).",
            )
        return Finding(
            dataset, code, "ok", f"the studied diseases fall within the consented {allowed}."
        )
    if code == "POA":
        if p.code == "POA":
            return Finding(dataset, code, "ok", "the purpose is ancestry research.")
        return Finding(
            dataset,
            code,
            "conflict",
            f"the data is for ancestry research only; the purpose is {label(p.code)}.",
        )
    if code == "CC":
        if p.code == "CC":
            return Finding(dataset, code, "ok", "the purpose is clinical care.")
        return Finding(
            dataset,
            code,
            "conflict",
            f"the data is for clinical care only; the purpose is {label(p.code)}.",
        )
    raise DuoError(f"{code} is not a permission code")  # pragma: no cover


def _modifier(dataset: str, lim: Limitation, p: Purpose) -> Finding:  # noqa: C901
    code = lim.code
    if code == "NCU":
        if p.commercial:
            return Finding(
                dataset,
                code,
                "conflict",
                "the consent forbids commercial use; the request declares commercial use.",
            )
        return Finding(dataset, code, "ok", "the request declares non-commercial use.")
    if code == "NPUO":
        if p.for_profit:
            return Finding(
                dataset,
                code,
                "conflict",
                "only not-for-profit organisations may use the data; the recipient is for-profit.",
            )
        return Finding(dataset, code, "ok", "the recipient is a not-for-profit organisation.")
    if code == "IRB":
        if not p.has_ethics_approval:
            return Finding(
                dataset, code, "conflict", "ethics approval is required; no IRB approval attached."
            )
        return Finding(dataset, code, "ok", "an IRB approval is attached.")
    if code == "TS":
        limit = lim.time_limit_months or 0
        if p.duration_months > limit:
            return Finding(
                dataset,
                code,
                "conflict",
                f"use is limited to {limit} months; the request asks for {p.duration_months}.",
            )
        return Finding(
            dataset, code, "ok", f"{p.duration_months} months is within the {limit}-month limit."
        )
    if code == "PUB":
        if not p.will_publish:
            return Finding(
                dataset,
                code,
                "conflict",
                "results must be published; the request does not commit to publishing.",
            )
        return Finding(dataset, code, "ok", "the request commits to publishing results.")
    if code == "GS":
        allowed = {r.upper() for r in lim.regions}
        used = {r.upper() for r in p.regions}
        if not used:
            return Finding(
                dataset,
                code,
                "conflict",
                f"use is restricted to {', '.join(sorted(allowed))}; the request names no region.",
            )
        outside = sorted(used - allowed)
        if outside:
            return Finding(
                dataset,
                code,
                "conflict",
                f"use is restricted to {', '.join(sorted(allowed))}; the request would use the "
                f"data in {', '.join(outside)}.",
            )
        return Finding(dataset, code, "ok", "the data stays within the permitted regions.")
    if code == "NMDS":
        if p.methods_research:
            return Finding(
                dataset,
                code,
                "conflict",
                "general methods research is not allowed; the request declares methods research.",
            )
        return Finding(dataset, code, "ok", "the request is not methods research.")
    # COL, RTN, US, PS, IS, MOR, GSO: a person must confirm them.
    return Finding(
        dataset,
        code,
        "manual",
        f"{label(code)} cannot be checked automatically: confirm it with the provider.",
    )


def check(purpose: Purpose, limitations: Sequence[tuple[str, Sequence[Limitation]]]) -> DuoResult:
    """Check one purpose against each dataset's limitations: ``[(dataset name, [Limitation])]``."""
    findings: list[Finding] = []
    for dataset, lims in limitations:
        permissions = [lim for lim in lims if DUO_CODES[lim.code][2] == "permission"]
        if not permissions:
            findings.append(
                Finding(
                    dataset,
                    "-",
                    "manual",
                    "the dataset records no permitted use (e.g. GRU, HMB, DS): "
                    "its consent terms must be checked by hand.",
                )
            )
        for lim in permissions:
            findings.append(_permission(dataset, lim, purpose))
        for lim in lims:
            if DUO_CODES[lim.code][2] == "modifier":
                findings.append(_modifier(dataset, lim, purpose))
    if not limitations:
        findings.append(Finding("-", "-", "conflict", "the request names no dataset."))
    return DuoResult(tuple(findings))
