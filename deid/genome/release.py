"""The genome part of a release: source VCFs -> one encrypted, de-identified VCF each.

For every ``*.vcf.gz`` of the source folder (with the platform's ``linkage.csv``):

1. every sample column must be linked to a CDW patient (else ``DataError`` naming
   the file and sample ids: nothing is published); the released samples are those
   whose patient is released in the anchor table (after suppression), named by the
   patient's pseudonym in the release's person domain;
2. the parts (the file, its selected regions or, on Spark, its contigs) are
   transformed by :func:`deid.genome.vcf.transform_part` through ``mapper`` (the
   executor's map: in order locally, on the workers with Spark) and assembled;
3. the written file is read back (:func:`deid.genome.vcf.measure_written`): the
   report's figures are measured on it, and a variant under the carrier floor fails
   the build;
4. it is encrypted with Crypt4GH for the recipient's public key
   (``<name>.vcf.gz.c4gh``) and the plaintext removed from staging.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from deid.errors import DataError, PolicyError
from deid.genome.spec import GenomeSpec, parse_genome_spec

__all__ = ["GENOME_TABLE", "GenomeFile", "Mapper", "build_genome", "run_part"]

GENOME_TABLE = "genome"
LINKAGE_NAME = "linkage.csv"
Mapper = Callable[
    [Callable[[dict[str, Any]], dict[str, int]], list[dict[str, Any]]], list[dict[str, int]]
]
Contains = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True)
class GenomeFile:
    """An encrypted genome file in staging, for the manifest."""

    path: Path
    variants: int


def _local_map(
    fn: Callable[[dict[str, Any]], dict[str, int]], tasks: list[dict[str, Any]]
) -> list[dict[str, int]]:
    return [fn(t) for t in tasks]


def run_part(task: dict[str, Any]) -> dict[str, int]:
    """One part, from plain data (what a Spark worker receives)."""
    from deid.genome.vcf import transform_part

    spec = parse_genome_spec(task["spec"])
    return transform_part(
        task, samples=[tuple(s) for s in task["samples"]], spec=spec, dst=task["dst"]
    )


def source_files(source: Path) -> list[Path]:
    if not source.is_dir():
        raise DataError(
            f"genome source folder {str(source)!r} does not exist", field="genome.source"
        )
    files = sorted(source.glob("*.vcf.gz"))
    if not files:
        raise DataError(
            f"genome source folder {str(source)!r} holds no *.vcf.gz", field="genome.source"
        )
    return files


def released_samples(
    vcf: Path, linkage: Any, contains: Contains, person_key: bytes
) -> tuple[list[tuple[str, str]], int]:
    """(sample id, person pseudonym) of the file's released samples, and its sample count."""
    from deid.genome.vcf import header_sample_ids
    from deid.pseudonym import pseudonymize

    ids = header_sample_ids(vcf)
    try:
        persons = linkage.person_of(ids)
    except DataError as exc:
        raise DataError(f"{vcf.name}: {exc.message}", record=vcf.name, field="sample") from None
    mask = contains(persons).to_pylist()
    kept_ids = [s for s, m in zip(ids, mask, strict=True) if m]
    kept_persons = persons.filter(pa.array(mask, pa.bool_()))
    pseudonyms = pseudonymize(kept_persons, person_key, field="person_id").to_pylist()
    seen: dict[str, str] = {}
    for sid, p in zip(kept_ids, pseudonyms, strict=True):
        if p in seen:
            raise DataError(
                f"{vcf.name}: samples {seen[p]!r} and {sid!r} belong to the same patient; a "
                "released VCF has one column per person (release them from separate files)",
                record=vcf.name,
                field="sample",
            )
        seen[p] = sid
    return list(zip(kept_ids, pseudonyms, strict=True)), len(ids)


def build_genome(
    spec: GenomeSpec,
    *,
    staging: Path,
    contains: Contains,
    person_key: bytes,
    mapper: Mapper | None = None,
    split: bool = False,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> tuple[list[GenomeFile], dict[str, Any]]:
    """Write the encrypted genome files into ``staging``; return them and the report section."""
    from deid.genome.c4gh import encrypt_file, parse_public_key
    from deid.genome.vcf import assemble, measure_written, part_tasks
    from deid.linkage import read_linkage

    if spec.source is None:
        raise PolicyError("genome.source", "the plan names no genome source folder")
    if spec.recipient_public_key is None:
        raise PolicyError(
            "genome.recipient_public_key",
            "genome files are published encrypted to the recipient: register the recipient "
            "organization's Crypt4GH public key first",
        )
    public = parse_public_key(spec.recipient_public_key, where="genome.recipient_public_key")
    source = Path(spec.source)
    files = source_files(source)
    linkage = read_linkage(source / LINKAGE_NAME, "sample_id")
    work = staging / ".genome"
    work.mkdir(mode=0o700, exist_ok=True)
    mapper = mapper or _local_map
    outputs: list[GenomeFile] = []
    per_file: list[dict[str, Any]] = []
    if progress is not None:
        progress("transform:genome", 0, len(files))
    for n, vcf in enumerate(files, start=1):
        samples, sample_count = released_samples(vcf, linkage, contains, person_key)
        name = vcf.name.removesuffix(".vcf.gz")
        tasks = part_tasks(vcf, spec, split=split)
        for i, task in enumerate(tasks):
            task.update(
                samples=[list(s) for s in samples],
                spec=spec.to_dict(),
                dst=str(work / f"{name}.part-{i:05d}.vcf"),
            )
        stats = mapper(run_part, tasks)
        plain = work / f"{name}.vcf.gz"
        assemble([Path(t["dst"]) for t in tasks], plain)
        measured = measure_written(
            plain, expected_samples={p for _, p in samples}, min_carriers=spec.min_carriers
        )
        target = staging / f"{name}.vcf.gz.c4gh"
        encrypt_file(plain, target, public)
        for t in tasks:
            Path(t["dst"]).unlink(missing_ok=True)
        plain.unlink()
        total = {
            k: sum(s[k] for s in stats) for k in ("variants_in", "variants_out", "suppressed_rare")
        }
        total["header_lines_removed"] = max((s["header_lines_removed"] for s in stats), default=0)
        per_file.append(
            {
                "source": vcf.name,
                "file": target.name,
                "samples_in": sample_count,
                "samples_released": len(samples),
                "samples_not_released": sample_count - len(samples),
                **total,
                "variants_written": measured["variants"],
                "min_carriers_measured": measured["min_carriers_measured"],
            }
        )
        outputs.append(GenomeFile(path=target, variants=measured["variants"]))
        if progress is not None:
            progress("transform:genome", n, len(files))
    os.rmdir(work)
    report = {
        "min_carriers": spec.min_carriers,
        "genes": list(spec.genes),
        "regions": [str(r) for r in spec.selected_regions()],
        "format_fields": list(spec.format_fields),
        "info_fields": [*spec.info_fields, "AC", "AN", "AF"],
        "encryption": "crypt4gh (X25519, ChaCha20-Poly1305) for the recipient's public key",
        "residual_risk": (
            "the released genotypes of common variants still identify a person to anyone "
            "holding that person's DNA or genotypes; only the DUA and the encryption to the "
            "recipient guard against that, not the transform"
        ),
        "files": per_file,
        "samples_released": sum(f["samples_released"] for f in per_file),
        "variants_in": sum(f["variants_in"] for f in per_file),
        "variants_released": sum(f["variants_written"] for f in per_file),
        "variants_suppressed_rare": sum(f["suppressed_rare"] for f in per_file),
    }
    return outputs, report
