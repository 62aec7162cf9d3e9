"""The main job: one data access request from submission to download (``manage.py demo``).

Every step goes through the same service functions that the admin UI, the
REST API and the background worker call; this module only orders them and
prints what happened. It is for the embedded default (SQLite, local engine,
synthetic CDW) and never runs against a production database.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from governance import services
from governance.errors import GovernanceError, GovernanceErrorCode
from governance.models import (
    Dataset,
    DatasetKind,
    DataUseLimitation,
    DeidClass,
    Organization,
    OrganizationKind,
    Release,
    ReleaseState,
    Role,
    Variable,
)

Say = Callable[[str], None]

DEMO_PATIENTS = 10_000
DEMO_SEED = 42
POLICY_FILE = Path(settings.BASE_DIR) / "fixtures" / "policies" / "demo_release.yaml"

# username -> (organization, kind, roles)
DEMO_PEOPLE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "researcher": ("Haneul Bio Inc.", OrganizationKind.COMPANY, (Role.REQUESTER,)),
    "other": ("Seorak Pharma Co.", OrganizationKind.COMPANY, (Role.REQUESTER,)),
    "legal": ("Gangwon Law Partners", OrganizationKind.LEGAL_FIRM, (Role.LEGAL_REVIEWER,)),
    "steward": (
        "Gangwon Precision Medicine Platform",
        OrganizationKind.PLATFORM,
        (Role.DATA_STEWARD,),
    ),
    "auditor": ("Gangwon Precision Medicine Platform", OrganizationKind.PLATFORM, (Role.AUDITOR,)),
    "admin": (
        "Gangwon Precision Medicine Platform",
        OrganizationKind.PLATFORM,
        (Role.ADMINISTRATOR,),
    ),
}
PROVIDER = "Gangwon hospitals CDW consortium"
GENOME_PROVIDER = "Gangwon Genomics Co."
LIFELOG_PROVIDER = "Gangwon Lifelog Institute"
DEMO_GENOME_SAMPLES = 600
DEMO_LIFELOG_DEVICES = 300
# (table, variable, class, description) of the genome and lifelog datasets
GENOME_VARIABLES = (
    ("vcf", "sample", DeidClass.IDENTIFIER, "Sample column: the patient's release pseudonym"),
    ("vcf", "GT", DeidClass.SENSITIVE, "Genotype"),
    ("vcf", "DP", DeidClass.INSENSITIVE, "Read depth"),
    ("vcf", "AD", DeidClass.INSENSITIVE, "Allelic depths"),
    ("vcf", "GENE", DeidClass.INSENSITIVE, "Gene symbol (TP53, KRAS, EGFR, BRCA1/2, PIK3CA, APC)"),
)
LIFELOG_VARIABLES = (
    ("lifelog", "device_id", DeidClass.IDENTIFIER, "Wearable id: replaced by the person pseudonym"),
    ("lifelog", "ts", DeidClass.QUASI, "Minute: shifted per patient, aggregated to a window"),
    ("lifelog", "steps", DeidClass.SENSITIVE, "Steps per minute (sum per window)"),
    ("lifelog", "heart_rate", DeidClass.SENSITIVE, "Heart rate (mean/min/max per window)"),
    ("lifelog", "sleep_stage", DeidClass.SENSITIVE, "Sleep stage (minutes per stage per window)"),
    ("lifelog", "gps", DeidClass.QUASI, "GPS points: dropped, or 시군구 if the policy allows"),
)
RECIPIENT_KEY_FILE = "demo-recipient.c4gh.sec"  # the secret key file name

# A minimal, valid PDF: the demo's stand-in for a scanned, signed document.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class DemoResult:
    release: Release
    records_in: int
    download_dir: Path
    downloaded: list[Path]
    audit_events: int
    passwords: dict[str, str] = field(default_factory=dict)


def _pdf(title: str) -> bytes:
    return _PDF + f"% {title}\n".encode()


def ensure_keys(say: Say) -> None:
    """The demo's master key: a generated, git-ignored file with 0600 permissions."""
    from deid.keys import generate_master_key_file

    path = Path(settings.DEID_MASTER_KEY_FILE)
    if path.exists():
        say(f"master key: {path} (exists)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    generate_master_key_file(path)
    say(f"master key: generated {path} (0600; demo only, never commit it)")


def ensure_cdw(say: Say, *, patients: int, seed: int) -> int:
    """Generate the synthetic CDW unless it is there; return the number of patients."""
    from sqlalchemy import create_engine, func, select

    from deid.sources.cdw_schema import Person

    url = settings.DEID_CDW_URL
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count = int(conn.execute(select(func.count()).select_from(Person)).scalar_one())
        if count:
            say(f"synthetic CDW: {url} ({count:,} patients, exists)")
            return count
    except Exception:  # noqa: S110 - no CDW yet: generate it below
        pass
    finally:
        engine.dispose()
    from fixtures.synthetic_cdw import generate

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    summary = generate(url, patients=patients, seed=seed)
    say(f"synthetic CDW: generated {url} with seed {seed}: {summary}")
    return patients


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.txt"


def ensure_people(say: Say) -> tuple[dict[str, Any], dict[str, str]]:
    """Demo organizations and users; passwords generated once and kept in var/."""
    User = get_user_model()
    cred_file = _credentials_file()
    passwords: dict[str, str] = {}
    if cred_file.exists():
        for line in cred_file.read_text(encoding="utf-8").splitlines():
            name, _, pw = line.partition(" ")
            if name and pw:
                passwords[name] = pw
    users: dict[str, Any] = {}
    for username, (org_name, kind, roles) in DEMO_PEOPLE.items():
        org, _ = Organization.objects.get_or_create(
            name=org_name, defaults={"kind": kind, "for_profit": kind == OrganizationKind.COMPANY}
        )
        user = User.objects.filter(username=username).first()
        if user is None:
            password = passwords.get(username) or secrets.token_urlsafe(12)
            user = services.user_create(
                username=username,
                email=f"{username}@demo.invalid",
                password=password,
                organization=org,
                roles=[str(r) for r in roles],
            )
            if username == "admin":
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
            passwords[username] = password
        users[username] = user
    Organization.objects.get_or_create(
        name=PROVIDER, defaults={"kind": OrganizationKind.PROVIDER, "for_profit": False}
    )
    cred_file.parent.mkdir(parents=True, exist_ok=True)
    cred_file.write_text(
        "".join(f"{n} {passwords[n]}\n" for n in DEMO_PEOPLE if n in passwords), encoding="utf-8"
    )
    cred_file.chmod(0o600)
    say(f"demo users: {', '.join(DEMO_PEOPLE)} (passwords in {cred_file})")
    return users, passwords


def ensure_dataset(say: Say) -> Dataset:
    """The CDW dataset with its variable dictionary and the consent's data-use limitations."""
    from deid.plan import load_release_spec

    provider = Organization.objects.get(name=PROVIDER)
    dataset, created = Dataset.objects.get_or_create(
        name="Gangwon CDW (synthetic)",
        defaults={
            "provider": provider,
            "source": "cdw",
            "description": "OMOP-CDM-style extract of ten Gangwon hospitals (synthetic demo data).",
        },
    )
    if created:
        spec = load_release_spec(POLICY_FILE)
        for table_name, table in spec["tables"].items():
            for name, column in table["policy"]["columns"].items():
                Variable.objects.create(
                    dataset=dataset, table=table_name, name=name, deid_class=column["role"]
                )
        DataUseLimitation.objects.create(dataset=dataset, code="HMB")
        DataUseLimitation.objects.create(dataset=dataset, code="IRB")
        say(f"dataset: {dataset} with {dataset.variables.count()} variables, DUO HMB + IRB")
    return dataset


def _ensure_kind_dataset(
    say: Say,
    *,
    name: str,
    kind: str,
    provider: str,
    source: str,
    description: str,
    variables: tuple[tuple[str, str, str, str], ...],
    duo: tuple[str, ...],
) -> Dataset:
    org, _ = Organization.objects.get_or_create(
        name=provider, defaults={"kind": OrganizationKind.PROVIDER, "for_profit": True}
    )
    dataset, created = Dataset.objects.get_or_create(
        name=name,
        defaults={"provider": org, "kind": kind, "source": source, "description": description},
    )
    if created:
        for table, var, klass, text in variables:
            Variable.objects.create(
                dataset=dataset, table=table, name=var, deid_class=klass, description=text
            )
        for code in duo:
            DataUseLimitation.objects.create(dataset=dataset, code=code)
        say(f"dataset: {dataset} ({kind}) with {len(variables)} variables, DUO {' + '.join(duo)}")
    return dataset


def ensure_other_datasets(say: Say) -> list[Dataset]:
    """The genome and lifelog datasets offered beside the CDW."""
    return [
        _ensure_kind_dataset(
            say,
            name="Gangwon cancer-gene panel (synthetic)",
            kind=DatasetKind.GENOME,
            provider=GENOME_PROVIDER,
            source="genome",
            description="Joint-called cohort VCF (GRCh38) over TP53, KRAS, EGFR, BRCA1/2, PIK3CA "
            "and APC, linked to CDW patients by the platform (synthetic demo data).",
            variables=GENOME_VARIABLES,
            duo=("HMB", "IRB"),
        ),
        _ensure_kind_dataset(
            say,
            name="Gangwon wearables (synthetic)",
            kind=DatasetKind.LIFELOG,
            provider=LIFELOG_PROVIDER,
            source="lifelog",
            description="Minute-level steps, heart rate, sleep stages and GPS from wearables, "
            "linked to CDW patients by the platform (synthetic demo data).",
            variables=LIFELOG_VARIABLES,
            duo=("HMB", "IRB"),
        ),
    ]


def _cdw_person_ids() -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.DEID_CDW_URL)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT person_id FROM person ORDER BY person_id")).scalars()
            return [int(x) for x in rows]
    finally:
        engine.dispose()


def ensure_genome_and_lifelog(say: Say, *, seed: int) -> None:
    """The genomics company's and the lifelog institution's feeds, generated once."""
    genome_dir = Path(settings.DEID_GENOME_DIR)
    lifelog_dir = Path(settings.DEID_LIFELOG_DIR)
    persons: list[int] | None = None
    if any(genome_dir.glob("*.vcf.gz")) and (genome_dir / "linkage.csv").exists():
        say(f"genome feed: {genome_dir} (exists)")
    else:
        from fixtures.genome import generate_genome

        persons = _cdw_person_ids()
        summary = generate_genome(genome_dir, persons, seed=seed, samples=DEMO_GENOME_SAMPLES)
        say(f"genome feed: generated {summary}")
    if (lifelog_dir / "minutes.parquet").exists() and (lifelog_dir / "linkage.csv").exists():
        say(f"lifelog feed: {lifelog_dir} (exists)")
    else:
        from fixtures.lifelog import generate_lifelog

        persons = persons if persons is not None else _cdw_person_ids()
        summary_l = generate_lifelog(lifelog_dir, persons, seed=seed, devices=DEMO_LIFELOG_DEVICES)
        say(f"lifelog feed: generated {summary_l}")


def ensure_recipient_key(say: Say, organization: Organization, acting_user: Any) -> Path:
    """The demo recipient's Crypt4GH key pair (secret key 0600, demo only) and its registration."""
    from deid.genome.c4gh import generate_keypair

    secret = Path(settings.DEID_KEYS_DIR) / RECIPIENT_KEY_FILE
    public = secret.with_suffix(".pub")
    if secret.exists() and public.exists():
        public_text = public.read_text(encoding="ascii")
        say(f"recipient key: {secret} (exists)")
    else:
        public_text = generate_keypair(secret, public)
        say(f"recipient key: generated {secret} (0600; the company's own secret, demo only)")
    if organization.crypt4gh_public_key.strip() != public_text.strip():
        services.organization_register_crypt4gh_key(
            organization=organization, acting_user=acting_user, public_key=public_text
        )
        say(f"   {organization} registered its Crypt4GH public key")
    return secret


def decrypt_downloads(paths: list[Path], secret_key: Path) -> list[Path]:
    """The company's side: decrypt the downloaded genome files with its secret key."""
    from deid.genome.c4gh import decrypt_file, read_secret_key

    key = read_secret_key(secret_key)
    out = []
    for path in paths:
        if path.name.endswith(".c4gh"):
            target = path.with_name(path.name.removesuffix(".c4gh"))
            decrypt_file(path, target, key)
            out.append(target)
    return out


def _progress_printer(say: Say) -> Callable[[str, int, int | None], None]:
    """A tqdm bar per build phase on a terminal; one line per finished phase otherwise."""
    import sys

    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    bars: dict[str, Any] = {}
    done: dict[str, int] = {}

    def finish(phase: str) -> None:
        if phase in bars:
            bars.pop(phase).close()
        elif phase in done and not interactive:
            say(f"    {phase}: {done.pop(phase):,} rows")

    def progress(phase: str, rows_done: int, rows_total: int | None) -> None:
        for other in [p for p in (*bars, *done) if p != phase]:
            finish(other)
        if not interactive:
            done[phase] = rows_done
            return
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=rows_total, desc=f"    {phase}", unit=" rows")
        if rows_total is not None and bar.total != rows_total:
            bar.total = rows_total
        bar.update(rows_done - bar.n)

    def close() -> None:
        for phase in [*bars, *done]:
            finish(phase)

    progress.close = close  # type: ignore[attr-defined]
    return progress


def run(
    say: Say,
    *,
    patients: int = DEMO_PATIENTS,
    seed: int = DEMO_SEED,
    api_url: str | None = None,
) -> DemoResult:
    """Walk one request through its life. ``api_url``: a running server (else one is started)."""
    from audit.models import AuditEvent
    from audit.services import Actor
    from governance import jobs
    from governance.api.local_server import local_api_server
    from governance.client import Api, download_release
    from governance.services.tokens import token_create

    say("0. Set-up")
    ensure_keys(say)
    records_in = ensure_cdw(say, patients=patients, seed=seed)
    ensure_genome_and_lifelog(say, seed=seed)
    users, passwords = ensure_people(say)
    dataset = ensure_dataset(say)
    others = ensure_other_datasets(say)
    researcher, legal, steward = users["researcher"], users["legal"], users["steward"]
    recipient_org = Organization.objects.get(name=DEMO_PEOPLE["researcher"][0])
    secret_key = ensure_recipient_key(say, recipient_org, researcher)
    today = timezone.localdate()

    say("1. The researcher submits a data access request with an IRB approval and a signed DUA")
    request = services.request_create(
        acting_user=researcher,
        title="Type 2 diabetes progression in Gangwon adults",
        purpose="Train a model that predicts HbA1c trajectories of type 2 diabetes patients "
        "from diagnoses, visits and laboratory results, to support drug development.",
        purpose_code="HMB",
        datasets=[dataset, *others],
        requested_variables=[v for d in (dataset, *others) for v in d.variables.all()],
        cohort_criteria={"condition_icd10_prefix": ["E11"], "age_min": 18},
        requested_duration_months=12,
    )
    irb = services.irb_approval_add(
        request=request,
        acting_user=researcher,
        number=f"KWNUH-IRB-{today.year}-{request.pk:04d}",
        institution="Kangwon National University Hospital IRB",
        approved_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=365),
        file=_pdf("IRB approval"),
        original_name="irb_approval.pdf",
        content_type="application/pdf",
    )
    dua = services.dua_add(
        request=request,
        acting_user=researcher,
        effective_on=today - timedelta(days=1),
        expires_on=today + timedelta(days=365),
        permitted_purposes=["HMB"],
        file=_pdf("Signed data-use agreement"),
        original_name="dua_signed.pdf",
        content_type="application/pdf",
    )
    request = services.request_submit(request=request, acting_user=researcher)
    say(
        f"   request #{request.pk} {request.state}; IRB {irb.number} and DUA stored "
        f"(sha256 {dua.signed_sha256[:12]}...)"
    )

    say("2. The legal reviewer verifies the documents and approves, with a reason")
    request = services.request_start_legal_review(request=request, acting_user=legal)
    services.irb_verify(irb=irb, acting_user=legal)
    services.dua_verify(dua=dua, acting_user=legal)
    request = services.request_approve_legal(
        request=request,
        acting_user=legal,
        reason="IRB approval and DUA verified; purpose HMB is compatible with the consent.",
    )
    say(f"   request #{request.pk} {request.state} by {legal.username}")
    try:
        services.request_approve_steward(
            request=request, acting_user=legal, reason="the same person trying both approvals"
        )
    except GovernanceError as exc:
        say(f"   refused, as it must be: {legal.username} deciding as steward -> {exc}")

    say("3. The data steward sets the de-identification policy and approves")
    services.policy_set(
        request=request,
        acting_user=steward,
        policy_yaml=POLICY_FILE.read_text(encoding="utf-8"),
    )
    request = services.request_approve_steward(
        request=request,
        acting_user=steward,
        reason="Policy: ids pseudonymized per recipient, k=5 on age/sex/region, notes scrubbed.",
    )
    release = services.release_create(request=request, acting_user=steward)
    say(f"   request #{request.pk} {request.state}; release #{release.pk} created")

    say("4. The release is built (the worker's code, run in-process here, with progress)")
    progress = _progress_printer(say)
    release = services.release_build_start(release=release, acting_user=steward, enqueue=False)
    outcome = jobs.run_job(
        release_id=release.pk, job_id=release.build_job_id, engine="local", progress=progress
    )
    progress.close()  # type: ignore[attr-defined]
    release.refresh_from_db()
    if release.state != ReleaseState.BUILT:
        raise GovernanceError(
            code=GovernanceErrorCode.BUILD_FAILED,
            message=f"The build of release #{release.pk} ended {outcome.get('status')}: "
            f"{release.build_error or outcome}",
        )
    say(f"   release #{release.pk} built: {release.files_dir}")

    say("5. The steward reads the privacy report and approves publication")
    release = services.release_approve(
        release=release,
        acting_user=steward,
        reason="k=5 reached, suppression under the limit, notes scrubbed.",
    )
    release = services.release_publish(release=release, acting_user=steward)
    say(f"   release #{release.pk} {release.state} until {release.expires_at:%Y-%m-%d}")

    say("6. The company downloads the release through the REST API and verifies every file")
    membership_org = Organization.objects.get(name=DEMO_PEOPLE["researcher"][0])
    _, token = token_create(
        person=researcher,
        organization=membership_org,
        name="demo download",
        actor=Actor.for_user(researcher, role=Role.REQUESTER),
    )
    download_dir = Path(settings.VAR_DIR) / "downloads" / f"release-{release.pk}"
    import requests

    with contextlib.ExitStack() as stack:
        url = api_url or stack.enter_context(local_api_server())
        api = Api(url, token, requests.Session())
        downloaded = download_release(api, release.pk, download_dir, quiet=True)
    say(f"   {len(downloaded)} files in {download_dir}, each SHA-256 equal to the manifest")
    decrypted = decrypt_downloads(downloaded, secret_key)
    for path in decrypted:
        say(f"   decrypted with the company's Crypt4GH secret key: {path.name}")

    say("7. The audit log holds every step; its chain is verified")
    from django.core.management import call_command

    call_command("audit_checkpoint")
    call_command("audit_verify")
    audit_events = AuditEvent.objects.count()
    return DemoResult(
        release=release,
        records_in=records_in,
        download_dir=download_dir,
        downloaded=downloaded,
        audit_events=audit_events,
        passwords=passwords,
    )


def summary(result: DemoResult) -> list[str]:
    """The short summary printed at the end of the demo."""
    release = result.release
    report = release.privacy_report or {}
    manifest = release.manifest or {}
    anchor = report.get("report") or {}
    pseudonymized = sorted(
        {
            f"{t}.{c['name']}"
            for t, table in (manifest.get("tables") or {}).items()
            for c in table.get("columns", [])
            if c.get("class") == "pseudonymized"
        }
    )
    lines = [
        f"records in (patients):     {anchor.get('records_in', result.records_in):,}",
        f"records released:          {anchor.get('records_out', 0):,}",
        f"records suppressed:        {anchor.get('suppressed', 0):,}"
        f" (limit {anchor.get('max_suppressed', '?')})",
        f"minimum class size (k):    {anchor.get('k', '?')} in {anchor.get('classes', '?')} classes",
        f"generalization levels:     {anchor.get('levels', '?')}",
        f"prosecutor risk (max):     {anchor.get('risk', {}).get('prosecutor', {}).get('highest', '?')}",
        f"pseudonymized columns:     {', '.join(pseudonymized) or '?'}",
        "files (SHA-256):",
    ]
    lines += [
        f"  {f['name']:<36} {f.get('rows', '?'):>9} rows  {f['sha256'][:16]}..."
        for f in manifest.get("files", [])
    ]
    lines += longitudinal_summary(report.get("longitudinal"))
    lines += kinds_summary(report)
    lines += [
        f"audit events:              {result.audit_events} (chain verified)",
        f"release files:             {release.files_dir}",
        f"downloaded to:             {result.download_dir}",
    ]
    return lines


def longitudinal_summary(section: dict[str, Any] | None) -> list[str]:
    """The release-level privacy lines: events kept, levels, risk before and after."""
    if not section or not section.get("model"):
        return ["longitudinal model:        none (k covers the demographics only)"]
    tables = section.get("tables") or {}
    kept = ", ".join(
        f"{name} {t['events_out']:,}/{t['events_in']:,} ({t['kept_share']:.0%})"
        for name, t in tables.items()
    )
    levels = ", ".join(f"{col} {info['label']}" for col, info in section.get("levels", {}).items())
    lines = [
        f"events (k={section['k']}, m={section['m']}):       {kept}",
        f"events suppressed:         {section['events_suppressed']:,} "
        f"(limit {section['max_suppressed_events']:,}); loss {section['loss']:.3f}",
        f"event levels:              {levels}",
        f"demographic levels:        {section.get('anchor_levels')}",
        "risk (patients whose rarest combination of demographics + m events",
        f"  matches fewer than {section['k']}; highest match probability):",
        "    m   before              after (measured on the written files)",
    ]
    before, after = section.get("risk_before") or {}, section.get("risk_after") or {}
    for m in (1, 2, 3):
        b, a = before.get(f"m{m}", {}), after.get(f"m{m}", {})
        lines.append(f"    {m}   {_risk_cell(b):<20}{_risk_cell(a)}")
    return lines


def kinds_summary(report: dict[str, Any]) -> list[str]:
    """The genome and lifelog lines of the summary."""
    lines = []
    genome = report.get("genome")
    if genome:
        lines.append(
            f"genome:                    {genome['samples_released']:,} samples named by person "
            f"pseudonym; {genome['variants_released']:,} of {genome['variants_in']:,} variants "
            f"({genome['variants_suppressed_rare']:,} carried by fewer than "
            f"{genome['min_carriers']} released samples suppressed); Crypt4GH-encrypted"
        )
    lifelog = report.get("lifelog")
    if lifelog:
        unique = lifelog["uniqueness"]
        lines.append(
            f"lifelog:                   {lifelog['patients_released']:,} patients, "
            f"{lifelog['windows_released']:,} {lifelog['window']} windows, GPS "
            f"{lifelog['gps_released']}; {unique['unique_share']:.0%} of series unique in "
            "their demographic class"
        )
    return lines


def _risk_cell(part: dict[str, Any]) -> str:
    if not part.get("measured"):
        return "not measured"
    return f"{part['share_below_k']:6.1%} ({part['highest']:.2f})"


def today() -> date:
    return timezone.localdate()
