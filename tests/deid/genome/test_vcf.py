"""The VCF release transform on real VCF files (pysam/htslib), checked by a plain text parser."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid.errors import DataError, PolicyError, PrivacyTargetNotMet
from deid.genome import parse_genome_spec
from deid.genome.c4gh import decrypt_file, generate_keypair, parse_public_key, read_secret_key
from deid.genome.release import build_genome
from deid.linkage import read_linkage
from deid.pseudonym import pseudonymize
from deid.transform import PersonSet
from fixtures.genome import GENES, generate_genome

KEY = b"p" * 32


def vcf_records(text: str) -> tuple[list[str], list[list[str]]]:
    """Sample names and the record rows of VCF text (no VCF library)."""
    samples: list[str] = []
    rows = []
    for line in text.splitlines():
        if line.startswith("#CHROM"):
            samples = line.split("\t")[9:]
        elif line and not line.startswith("#"):
            rows.append(line.split("\t"))
    return samples, rows


def carriers(row: list[str], columns: list[int] | None = None) -> list[int]:
    """Samples carrying each ALT allele (of ``columns``, else all samples)."""
    n_alts = len(row[4].split(","))
    gt_at = row[8].split(":").index("GT")
    calls = row[9:] if columns is None else [row[9 + i] for i in columns]
    out = [0] * n_alts
    for call in calls:
        alleles = {a for a in call.split(":")[gt_at].replace("|", "/").split("/") if a != "."}
        for a in alleles:
            if a != "0":
                out[int(a) - 1] += 1
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("genome")
    summary = generate_genome(root / "src", list(range(1, 201)), seed=5, samples=80, variants=400)
    generate_keypair(root / "a.sec", root / "a.pub")
    generate_keypair(root / "b.sec", root / "b.pub")
    return {"root": root, "src": root / "src", "summary": summary}


def build(world: dict[str, Any], tmp_path: Path, *, keep: range = range(1, 151), **spec: Any):
    raw = {"source": str(spec.pop("source", world["src"])), **spec}
    raw.setdefault("recipient_public_key", (world["root"] / "a.pub").read_text())
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    persons = PersonSet(pa.array(list(keep), pa.int64()))
    files, report = build_genome(
        parse_genome_spec(raw), staging=staging, contains=persons.contains, person_key=KEY
    )
    return files, report


def decrypted(world: dict[str, Any], path: Path, tmp_path: Path, key: str = "a.sec") -> str:
    out = tmp_path / (path.name + ".plain.gz")
    decrypt_file(path, out, read_secret_key(world["root"] / key))
    return gzip.decompress(out.read_bytes()).decode("ascii")


def test_released_samples_are_person_pseudonyms_of_released_patients(world, tmp_path) -> None:
    files, report = build(world, tmp_path)
    text = decrypted(world, files[0].path, tmp_path)
    samples, _ = vcf_records(text)
    linkage = read_linkage(world["src"] / "linkage.csv", "sample_id")
    released = [p for p in linkage.persons.to_pylist() if p <= 150]
    expected = set(pseudonymize(pa.array(released, pa.int64()), KEY).to_pylist())
    assert set(samples) == expected
    assert report["samples_released"] == len(expected)
    assert report["files"][0]["samples_not_released"] == len(linkage) - len(expected)
    for sid in linkage.ids:
        assert sid not in text


def test_header_keeps_no_identifying_line(world, tmp_path) -> None:
    files, report = build(world, tmp_path)
    text = decrypted(world, files[0].path, tmp_path)
    header = [line for line in text.splitlines() if line.startswith("##")]
    kinds = {line[2:].split("=")[0] for line in header}
    assert kinds <= {"fileformat", "FILTER", "contig", "INFO", "FORMAT", "reference", "deid"}
    assert "##reference=GRCh38" in header
    assert not any("/mnt/" in line or "RUN-" in line or "NovaSeq" in line for line in header)
    assert report["files"][0]["header_lines_removed"] >= 6


def test_rare_variants_are_suppressed_exactly(world, tmp_path) -> None:
    """Kept = variants whose every ALT has >= 5 released carriers, counted on the source."""
    files, report = build(world, tmp_path)
    out_samples, out_rows = vcf_records(decrypted(world, files[0].path, tmp_path))
    src_text = gzip.decompress((world["src"] / "cohort.vcf.gz").read_bytes()).decode("ascii")
    src_samples, src_rows = vcf_records(src_text)
    linkage = read_linkage(world["src"] / "linkage.csv", "sample_id")
    person = dict(zip(linkage.ids, linkage.persons.to_pylist(), strict=True))
    columns = [i for i, s in enumerate(src_samples) if person[s] <= 150]
    expected = {(r[0], r[1]) for r in src_rows if min(carriers(r, columns)) >= 5}
    assert {(r[0], r[1]) for r in out_rows} == expected
    assert all(min(carriers(r)) >= 5 for r in out_rows)
    assert report["variants_in"] == len(src_rows)
    assert report["variants_released"] == len(out_rows)
    assert report["variants_suppressed_rare"] == len(src_rows) - len(out_rows)
    assert report["files"][0]["min_carriers_measured"] == min(min(carriers(r)) for r in out_rows)
    assert len(out_samples) == len(columns)


def test_counts_are_recomputed_on_released_samples(world, tmp_path) -> None:
    files, _ = build(world, tmp_path, format=["GT"], info=[])
    _, rows = vcf_records(decrypted(world, files[0].path, tmp_path))
    assert rows
    for r in rows:
        assert r[8] == "GT"
        info = dict(kv.split("=") for kv in r[7].split(";"))
        assert set(info) == {"AC", "AN", "AF"}  # GENE and BATCH are gone
        alleles = [a for call in r[9:] for a in call.replace("|", "/").split("/") if a != "."]
        assert int(info["AN"]) == len(alleles)
        assert int(info["AC"]) == sum(1 for a in alleles if a == "1")


def test_gene_restriction(world, tmp_path) -> None:
    files, report = build(world, tmp_path, genes=["TP53", "KRAS"])
    _, rows = vcf_records(decrypted(world, files[0].path, tmp_path))
    spans = [GENES["TP53"], GENES["KRAS"]]
    assert rows
    for r in rows:
        assert any(r[0] == c and lo <= int(r[1]) <= hi for c, lo, hi in spans)
    assert report["regions"] == ["chr12:25205246-25250929", "chr17:7661779-7687538"]


def test_another_organizations_key_cannot_decrypt(world, tmp_path) -> None:
    files, _ = build(world, tmp_path)
    with pytest.raises(DataError, match="cannot decrypt"):
        decrypted(world, files[0].path, tmp_path, key="b.sec")
    assert b"##fileformat" not in files[0].path.read_bytes()


def test_missing_recipient_key_or_bad_key_is_refused(world, tmp_path) -> None:
    with pytest.raises(PolicyError, match="Crypt4GH public key"):
        build(world, tmp_path, recipient_public_key=None)
    with pytest.raises(PolicyError, match="expected a Crypt4GH public key"):
        parse_public_key("-----BEGIN CRYPT4GH PUBLIC KEY-----\nnot-a-key\n-----END-----")


def test_unknown_sample_fails_naming_file_and_sample(world, tmp_path) -> None:
    src = tmp_path / "src"
    shutil.copytree(world["src"], src)
    lines = (src / "linkage.csv").read_text().splitlines()
    dropped = lines.pop(3).split(",")[0]
    (src / "linkage.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"cohort.vcf.gz.*{dropped}"):
        build(world, tmp_path, source=src)


def test_malformed_record_fails_naming_file_and_line(world, tmp_path) -> None:
    src = tmp_path / "src"
    shutil.copytree(world["src"], src)
    text = gzip.decompress((src / "cohort.vcf.gz").read_bytes()).decode("ascii").splitlines()
    header = sum(1 for line in text if line.startswith("#"))
    bad = text[header + 9].split("\t")
    bad[1] = "not-a-position"
    text[header + 9] = "\t".join(bad)
    (src / "cohort.vcf.gz").unlink()
    (src / "cohort.vcf.gz.tbi").unlink()
    plain = src / "cohort.vcf"
    plain.write_text("\n".join(text) + "\n")
    pysam.tabix_compress(str(plain), str(src / "cohort.vcf.gz"))
    plain.unlink()
    with pytest.raises(DataError, match=rf"cohort.vcf.gz:{header + 10}"):
        build(world, tmp_path, source=src)


def test_two_samples_of_one_patient_are_refused(world, tmp_path) -> None:
    src = tmp_path / "src"
    shutil.copytree(world["src"], src)
    lines = (src / "linkage.csv").read_text().splitlines()
    first_person = lines[1].split(",")[1]
    lines[2] = lines[2].split(",")[0] + "," + first_person
    (src / "linkage.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="same patient"):
        build(world, tmp_path, source=src, keep=range(1, 201))


def test_min_carriers_below_two_is_refused() -> None:
    with pytest.raises(PolicyError, match="min_carriers"):
        parse_genome_spec({"min_carriers": 1})
    with pytest.raises(PolicyError, match="unknown gene"):
        parse_genome_spec({"genes": ["NOTAGENE"]})
    with pytest.raises(PolicyError, match="recomputed"):
        parse_genome_spec({"info": ["AF"]})


def _write_vcf(path: Path, genotypes: list[list[int]]) -> None:
    n = len(genotypes[0])
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr17,length=83257441>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(f"S{i}" for i in range(n)),
    ]
    gt = {0: "0/0", 1: "0/1", 2: "1/1"}
    for i, row in enumerate(genotypes):
        calls = "\t".join(gt[g] for g in row)
        lines.append(f"chr17\t{1000 + i}\t.\tA\tG\t50\tPASS\t.\tGT\t{calls}")
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    genotypes=st.lists(
        st.lists(st.integers(0, 2), min_size=12, max_size=12), min_size=1, max_size=15
    ),
    min_carriers=st.integers(2, 6),
    released=st.sets(st.integers(0, 11), min_size=1),
)
def test_property_no_released_variant_has_fewer_carriers(
    world, tmp_path, genotypes, min_carriers, released
) -> None:
    src = tmp_path / "prop"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    _write_vcf(src / "c.vcf.gz", genotypes)
    (src / "linkage.csv").write_text(
        "sample_id,person_id\n" + "".join(f"S{i},{i + 1}\n" for i in range(12))
    )
    staging = tmp_path / "st"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    keep = PersonSet(pa.array([i + 1 for i in sorted(released)], pa.int64()))
    spec = parse_genome_spec(
        {
            "source": str(src),
            "min_carriers": min_carriers,
            "format": ["GT"],
            "info": [],
            "recipient_public_key": (world["root"] / "a.pub").read_text(),
        }
    )
    files, report = build_genome(spec, staging=staging, contains=keep.contains, person_key=KEY)
    samples, rows = vcf_records(decrypted(world, files[0].path, tmp_path))
    assert len(samples) == len(released)
    expected = sum(1 for row in genotypes if sum(1 for i in released if row[i] > 0) >= min_carriers)
    assert len(rows) == expected == report["variants_released"]
    assert all(min(carriers(r)) >= min_carriers for r in rows)


def test_written_file_under_the_floor_fails(world, tmp_path) -> None:
    from deid.genome.vcf import measure_written

    src = tmp_path / "one.vcf.gz"
    _write_vcf(src, [[1, 1, 0, 0]])
    with pytest.raises(PrivacyTargetNotMet, match="carried by 2 samples"):
        measure_written(src, expected_samples={"S0", "S1", "S2", "S3"}, min_carriers=3)
