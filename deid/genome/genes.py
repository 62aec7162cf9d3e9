"""Spans on GRCh38: regions as ``chr:start-end`` and gene spans (Ensembl 110), for
``genome.genes`` and ``genome.regions`` in a release spec."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from deid.errors import PolicyError

__all__ = ["Region", "gene_region", "known_genes"]

_REGION_RE = re.compile(r"^(?P<contig>[A-Za-z0-9_.]+):(?P<start>[0-9,]+)-(?P<end>[0-9,]+)$")


@dataclass(frozen=True, order=True)
class Region:
    """A 1-based, inclusive span on a contig (as ``chr:start-end``)."""

    contig: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.contig}:{self.start}-{self.end}"

    @classmethod
    def parse(cls, text: str, *, where: str) -> Region:
        m = _REGION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise PolicyError(
                where, f"expected a region like 'chr17:7661779-7687538', got {text!r}"
            )
        start, end = int(m["start"].replace(",", "")), int(m["end"].replace(",", ""))
        if start < 1 or end < start:
            raise PolicyError(where, f"expected 1 <= start <= end, got {text!r}")
        return cls(m["contig"], start, end)


@cache
def known_genes() -> dict[str, Region]:
    text = resources.files("deid.data").joinpath("genes_grch38.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["gene"]: Region(r["contig"], int(r["start"]), int(r["end"])) for r in rows}


def gene_region(gene: str, *, where: str) -> Region:
    try:
        return known_genes()[gene.upper()]
    except KeyError:
        raise PolicyError(
            where, f"unknown gene {gene!r}; known: {', '.join(sorted(known_genes()))}"
        ) from None
