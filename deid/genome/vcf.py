"""The VCF release transform: released samples renamed, identifying header gone, rare variants out.

Read and written with pysam (htslib), streaming record by record. One *part* is one
source file, or one region of it (with its tabix index): a pure function of plain,
picklable arguments (:func:`transform_part`), so the local executor maps it over the
parts in order and Spark maps it over its workers; :func:`assemble` joins the parts
into one bgzipped VCF.

What a part does to each record:

- only the released samples are read (``subset_samples``); their columns are named
  by the patient's release pseudonym (the ``person`` domain: the same id as in every
  clinical table);
- INFO keeps only the policy's fields, and AC / AN / AF are recomputed on the
  released samples (the source's counts describe a larger cohort); FORMAT keeps only
  the policy's fields (GT always);
- a variant with an ALT allele carried by fewer than ``min_carriers`` released
  samples is suppressed (rare variants identify their carriers; Beacon-style
  membership attacks work on them), and so is a site no released sample carries.

The header is rebuilt from an allow-list: FILTER, ALT, contigs (ID and length only),
the kept INFO and FORMAT definitions and the assembly name of ``##reference``; every
other line (``##commandline`` with its paths, run dates, lab and instrument ids,
``##SAMPLE`` lines, the source's own tags) is removed and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pysam

from deid.errors import DataError, PrivacyTargetNotMet
from deid.genome.spec import GenomeSpec, Region

__all__ = [
    "assemble",
    "header_sample_ids",
    "measure_written",
    "part_tasks",
    "release_header",
    "transform_part",
]

pysam.set_verbosity(0)  # htslib's own stderr chatter; errors still raise

_ASSEMBLY_RE = re.compile(r"(GRCh3[78]|hg19|hg38|b37|hs37d5|CHM13|T2T)", re.IGNORECASE)
_DEID_LINE = "##deid=<Release=pseudonymized,MinCarriers={mc},Samples={n}>"


def _open(path: Path | str) -> pysam.VariantFile:
    try:
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{Path(path).name}: not a readable VCF ({exc})", record=str(path)
        ) from None


def header_sample_ids(path: Path | str) -> list[str]:
    """The sample columns of a VCF, in file order."""
    with _open(path) as vf:
        return list(vf.header.samples)


def release_header(
    source: pysam.VariantHeader, pseudonyms: Sequence[str], spec: GenomeSpec
) -> tuple[pysam.VariantHeader, int]:
    """The released header (see the module docstring) and how many source lines it drops."""
    out = pysam.VariantHeader()
    kept = 0
    for rec in source.records:
        kind = rec.type
        key = rec.key
        if kind == "FILTER" and rec.get("ID") != "PASS":
            out.add_record(rec)
            kept += 1
        elif kind == "CONTIG":
            length = rec.get("length")
            out.contigs.add(rec["ID"], length=int(length) if length is not None else None)
            kept += 1
        elif (
            (kind == "INFO" and rec["ID"] in spec.info_fields)
            or (kind == "FORMAT" and rec["ID"] in spec.format_fields)
            or kind == "ALT"
        ):
            out.add_record(rec)
            kept += 1
        elif key == "reference" and rec.value:
            m = _ASSEMBLY_RE.search(rec.value)
            if m is not None:
                out.add_line(f"##reference={m.group(1)}")
        elif key == "fileformat" or (kind == "FILTER" and rec.get("ID") == "PASS"):
            kept += 1
    if "GT" not in source.formats:
        raise DataError("the VCF has no GT FORMAT field: carriers cannot be counted", field="GT")
    out.add_line(
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in the released samples">'
    )
    out.add_line(
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Alleles called in the released samples">'
    )
    out.add_line(
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency in the released samples">'
    )
    out.add_line(_DEID_LINE.format(mc=spec.min_carriers, n=len(pseudonyms)))
    for name in pseudonyms:
        out.add_sample(name)
    dropped = sum(1 for _ in source.records) - kept
    return out, max(0, dropped)


def part_tasks(src: Path | str, spec: GenomeSpec, *, split: bool) -> list[dict[str, Any]]:
    """The parts of one source file: its selected regions, else (``split``) its contigs."""
    src = str(src)
    regions = spec.selected_regions()
    has_index = Path(src + ".tbi").exists() or Path(src + ".csi").exists()
    if regions and not has_index:
        raise DataError(
            f"{Path(src).name}: restricting to genes/regions needs its tabix index "
            f"({Path(src).name}.tbi); index it with `tabix -p vcf`",
            record=src,
        )
    if not regions and split and has_index:
        with pysam.TabixFile(src) as tbx:
            regions = tuple(Region(c, 1, 2**31 - 2) for c in tbx.contigs)
    if not regions:
        return [{"src": src, "region": None}]
    return [{"src": src, "region": str(r)} for r in regions]


def _allele_carriers(rec: pysam.VariantRecord, n_alleles: int) -> tuple[list[int], list[int], int]:
    """Per allele index: samples carrying it and its count (index 0 left at 0); alleles called."""
    gts = [sample.allele_indices or () for sample in rec.samples.values()]
    called = sum(len(g) for g in gts) - sum(g.count(None) for g in gts)
    carriers = [0] * n_alleles
    counts = [0] * n_alleles
    for a in range(1, n_alleles):
        carriers[a] = sum(1 for g in gts if a in g)
        counts[a] = sum(g.count(a) for g in gts)
    return carriers, counts, called


def transform_part(
    task: Mapping[str, Any],
    *,
    samples: Sequence[tuple[str, str]],
    spec: GenomeSpec,
    dst: Path | str,
) -> dict[str, int]:
    """Write one part (plain VCF text with its header) and return its counts.

    ``samples``: (source sample id, pseudonym) of the released samples, in file order.
    """
    src = Path(task["src"])
    region = Region.parse(task["region"], where="region") if task.get("region") else None
    stats = {"variants_in": 0, "variants_out": 0, "suppressed_rare": 0, "header_lines_removed": 0}
    with _open(src) as vf:
        order = {s: i for i, s in enumerate(vf.header.samples)}
        chosen = sorted(samples, key=lambda sp: order[sp[0]])
        vf.subset_samples([s for s, _ in chosen])
        if list(vf.header.samples) != [s for s, _ in chosen]:
            raise DataError(
                f"{src.name}: the released samples could not be selected", record=str(src)
            )
        header, dropped = release_header(vf.header, [p for _, p in chosen], spec)
        stats["header_lines_removed"] = dropped
        header_lines = str(vf.header).count("\n")
        keep_info = set(spec.info_fields)
        keep_format = set(spec.format_fields)
        with pysam.VariantFile(str(dst), "w", header=header) as out:
            records: Iterator[pysam.VariantRecord]
            if region is None:
                records = iter(vf)
            else:
                try:
                    records = vf.fetch(region.contig, region.start - 1, region.end)
                except ValueError:
                    return stats  # the contig is not in this file: nothing to release there
            line = header_lines
            while True:
                line += 1
                try:
                    rec = next(records)
                except StopIteration:
                    break
                except (OSError, ValueError) as exc:
                    where = f"{src.name}:{line}" if region is None else f"{src.name} in {region}"
                    raise DataError(
                        f"malformed VCF record ({exc}); nothing was published", record=where
                    ) from None
                if region is not None and not (region.start <= rec.pos <= region.end):
                    continue  # a long record starting in the previous region
                stats["variants_in"] += 1
                n_alleles = len(rec.alleles or ())
                if n_alleles < 2 or rec.alts is None:
                    stats["suppressed_rare"] += 1
                    continue  # a reference-only site tells nothing but who was sequenced
                carriers, counts, called = _allele_carriers(rec, n_alleles)
                if min(carriers[1:]) < spec.min_carriers:
                    stats["suppressed_rare"] += 1
                    continue
                for k in [k for k in rec.info if k not in keep_info]:
                    del rec.info[k]
                for k in [k for k in rec.format if k not in keep_format]:
                    del rec.format[k]
                rec.translate(header)
                rec.info["AC"] = tuple(counts[1:])
                rec.info["AN"] = called
                rec.info["AF"] = tuple(round(c / called, 6) if called else 0.0 for c in counts[1:])
                out.write(rec)
                stats["variants_out"] += 1
    return stats


def assemble(parts: Sequence[Path], dst: Path) -> None:
    """Join part files (plain VCF, each with the same header) into one bgzipped VCF."""
    with pysam.BGZFile(str(dst), "wb", index=None) as out:
        for i, part in enumerate(parts):
            with open(part, "rb") as fh:
                for raw in fh:
                    if i and raw.startswith(b"#"):
                        continue
                    out.write(raw)


def measure_written(path: Path, *, expected_samples: set[str], min_carriers: int) -> dict[str, Any]:
    """Read the written VCF back: its samples and the fewest carriers of any released allele.

    The genome section of the privacy report comes from here (what is written), and
    a file that breaks the rule raises ``PrivacyTargetNotMet``.
    """
    with _open(path) as vf:
        names = list(vf.header.samples)
        unknown = [n for n in names if n not in expected_samples]
        if unknown or len(set(names)) != len(names):
            raise DataError(
                f"{path.name}: written sample columns are not the released persons' pseudonyms "
                f"({len(unknown)} unknown, {len(names) - len(set(names))} repeated)"
            )
        fewest: int | None = None
        variants = 0
        for rec in vf:
            variants += 1
            carriers, _, _ = _allele_carriers(rec, len(rec.alleles or ()))
            low = min(carriers[1:]) if len(carriers) > 1 else 0
            fewest = low if fewest is None else min(fewest, low)
    if fewest is not None and fewest < min_carriers:
        raise PrivacyTargetNotMet(
            f"{path.name}: a released variant is carried by {fewest} samples; the policy "
            f"requires at least {min_carriers} (nothing was published)",
            {"genome": {"file": path.name, "min_carriers_measured": fewest}},
        )
    return {"samples": len(names), "variants": variants, "min_carriers_measured": fewest}
