"""The ``genome`` section of a release spec: what of the cohort VCFs a release carries.

::

    genome:
      min_carriers: 5            # a variant carried by fewer released samples is suppressed
      genes: [TP53, KRAS]        # optional: only these genes (GRCh38 spans, deid/data)
      regions: ["chr17:7661779-7687538"]   # optional: only these regions (1-based)
      format: [GT, DP, AD]       # FORMAT fields kept (GT required); others are dropped
      info: [GENE]               # INFO fields kept; AC, AN and AF are recomputed

The source folder (``*.vcf.gz`` with ``.tbi`` and the platform's ``linkage.csv``) and
the recipient's Crypt4GH public key come from the platform, not from the policy: they
are added when the plan is compiled (``source``, ``recipient_public_key``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deid.errors import PolicyError
from deid.genome.genes import Region, gene_region

__all__ = ["DEFAULT_MIN_CARRIERS", "GenomeSpec", "Region", "parse_genome_spec"]

DEFAULT_MIN_CARRIERS = 5
_KEYS = {"min_carriers", "genes", "regions", "format", "info", "source", "recipient_public_key"}
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
RECOMPUTED_INFO = ("AC", "AN", "AF")


@dataclass(frozen=True)
class GenomeSpec:
    min_carriers: int = DEFAULT_MIN_CARRIERS
    genes: tuple[str, ...] = ()
    regions: tuple[Region, ...] = ()
    format_fields: tuple[str, ...] = ("GT", "DP", "AD")
    info_fields: tuple[str, ...] = ("GENE",)
    source: str | None = None
    recipient_public_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "min_carriers": self.min_carriers,
            "genes": list(self.genes),
            "regions": [str(r) for r in self.regions],
            "format": list(self.format_fields),
            "info": list(self.info_fields),
        }
        if self.source is not None:
            out["source"] = self.source
        if self.recipient_public_key is not None:
            out["recipient_public_key"] = self.recipient_public_key
        return out

    def selected_regions(self) -> tuple[Region, ...]:
        """Genes and regions as merged, sorted spans (empty: the whole file)."""
        spans = [gene_region(g, where="genome.genes") for g in self.genes] + list(self.regions)
        merged: list[Region] = []
        for r in sorted(spans):
            last = merged[-1] if merged else None
            if last is not None and last.contig == r.contig and r.start <= last.end + 1:
                merged[-1] = Region(last.contig, last.start, max(last.end, r.end))
            else:
                merged.append(r)
        return tuple(merged)


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(
        isinstance(x, str) and _FIELD_RE.fullmatch(x) for x in raw
    ):
        raise PolicyError(where, f"expected a list of names, got {raw!r}")
    return tuple(dict.fromkeys(raw))


def parse_genome_spec(raw: Any, *, where: str = "genome") -> GenomeSpec:
    """Parse (and check) the ``genome`` section; errors name the field."""
    if raw is None or raw is True:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PolicyError(where, f"expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(where, f"unknown keys {sorted(unknown)}; expected {sorted(_KEYS)}")
    mc = raw.get("min_carriers", DEFAULT_MIN_CARRIERS)
    if isinstance(mc, bool) or not isinstance(mc, int) or not (2 <= mc <= 1000):
        raise PolicyError(
            f"{where}.min_carriers",
            f"expected an integer in 2..1000 (a variant carried by one sample names it), got {mc!r}",
        )
    genes = _names(raw.get("genes", []), f"{where}.genes")
    for g in genes:
        gene_region(g, where=f"{where}.genes")
    regions_raw = raw.get("regions", [])
    if not isinstance(regions_raw, list | tuple):
        raise PolicyError(f"{where}.regions", f"expected a list, got {regions_raw!r}")
    regions = tuple(
        Region.parse(r, where=f"{where}.regions[{i}]") for i, r in enumerate(regions_raw)
    )
    fmt = _names(raw.get("format", ["GT", "DP", "AD"]), f"{where}.format")
    if "GT" not in fmt:
        raise PolicyError(
            f"{where}.format", f"GT is required (carriers are counted on it), got {list(fmt)}"
        )
    info = _names(raw.get("info", ["GENE"]), f"{where}.info")
    clash = set(info) & set(RECOMPUTED_INFO)
    if clash:
        raise PolicyError(
            f"{where}.info",
            f"{sorted(clash)} are recomputed on the released samples; do not list them",
        )
    source = raw.get("source")
    if source is not None and (not isinstance(source, str) or not source):
        raise PolicyError(f"{where}.source", f"expected a folder path, got {source!r}")
    pub = raw.get("recipient_public_key")
    if pub is not None:
        from deid.genome.c4gh import parse_public_key

        parse_public_key(pub, where=f"{where}.recipient_public_key")
    return GenomeSpec(
        min_carriers=mc,
        genes=genes,
        regions=regions,
        format_fields=fmt,
        info_fields=info,
        source=source,
        recipient_public_key=pub,
    )
