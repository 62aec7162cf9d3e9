"""Gene spans on GRCh38 (Ensembl 110), for ``genome.genes`` in a release spec."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from deid.errors import PolicyError
from deid.genome.spec import Region

__all__ = ["gene_region", "known_genes"]


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
