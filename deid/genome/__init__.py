"""Genome data (VCF) in releases: sample pseudonyms, header scrubbing, rare-variant suppression,
per-recipient Crypt4GH encryption. See :mod:`deid.genome.release`."""

from deid.genome.spec import DEFAULT_MIN_CARRIERS, GenomeSpec, Region, parse_genome_spec

__all__ = ["DEFAULT_MIN_CARRIERS", "GenomeSpec", "Region", "parse_genome_spec"]
