"""Building a release: compile the plan, run an executor, record the outcome.

Data flow (docs/architecture.md, "One release, as data flows through it"):

1. An approved request + the steward's policy (a release spec: ``release`` +
   ``tables``) + the recipient + the release key id compile into one immutable
   :class:`deid.plan.ReleasePlan`, stored with its SHA-256 on the release
   (``services.release_plan_record``, which audits ``KEY_DERIVED``). A rebuild
   reuses the stored plan as long as the policy has not changed, so it writes
   the same files.
2. The executor (``local``: streaming on this machine; ``spark``: the same
   batch functions on Apache Spark) runs count pass -> search -> transform
   pass -> staging sink -> atomic publish.
3. The outcome goes through ``services.release_build_succeeded``; failures are
   recorded by :mod:`governance.jobs` (which also handles retries and
   cancellation) through ``services.release_build_failed``.

``governance.jobs.build_release_for`` is the synchronous entry point (demo, tests,
``manage.py release_build --sync``): the same code a worker runs, in this process.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from django.conf import settings
from django.utils import timezone

from deid.errors import PolicyError
from governance import services

if TYPE_CHECKING:
    from deid.keys import KeyRef, KeyStore
    from deid.plan import ReleasePlan
    from deid.sinks import Manifest
    from governance.jobs import ProgressFn
    from governance.models import Release

__all__ = [
    "compile_release_plan",
    "discard_staging",
    "execute_build",
    "key_ref",
    "keystore",
]


# --- keys -------------------------------------------------------------------------


def _master_key_file() -> str:
    return str(settings.DEID_MASTER_KEY_FILE)


def keystore() -> KeyStore:
    """The release key store (``DEID_KEYS_DIR``) under the master key."""
    from deid.keys import KeyStore, load_master_key

    master = load_master_key(key_file=_master_key_file())
    return KeyStore(Path(settings.DEID_KEYS_DIR), master)


def key_ref(key_id: str) -> KeyRef:
    """Where executors load the release key from (paths and key id only, no key)."""

    from deid.keys import KeyRef

    # The engine loads a master secret from its environment itself (settings know only
    # whether there is one), so the secret never sits in the settings object.
    master_file = None if settings.DEID_MASTER_KEY_IN_ENV else _master_key_file()
    return KeyRef(
        keystore_root=str(settings.DEID_KEYS_DIR), key_id=key_id, master_key_file=master_file
    )


# --- the plan -----------------------------------------------------------------------


def _release_spec(release: Release) -> dict[str, Any]:
    if release.policy is None:
        raise PolicyError("policy", f"release #{release.pk} has no de-identification policy")
    try:
        spec = yaml.safe_load(release.policy.policy_yaml)
    except yaml.YAMLError as exc:
        raise PolicyError("policy", f"policy #{release.policy_id} is not YAML: {exc}") from None
    if not isinstance(spec, dict) or "tables" not in spec or "release" not in spec:
        raise PolicyError(
            "policy",
            f"policy #{release.policy_id} is not a release spec: expected top-level 'release' "
            "(anchor, link_column) and 'tables' (see fixtures/policies/demo_release.yaml), got "
            f"{sorted(spec) if isinstance(spec, dict) else type(spec).__name__}",
        )
    return spec


def compile_release_plan(*, release: Release, key_id: str) -> ReleasePlan:
    """Approved request + steward's policy + recipient + key id -> an immutable plan."""
    from deid.plan import compile_plan

    spec = _release_spec(release)
    request = release.request
    extra = {
        "request_id": request.pk,
        "request_title": request.title,
        "purpose_code": request.purpose_code,
        "recipient": release.recipient.name,
        "policy_id": release.policy_id,
        "policy_sha256": release.policy.sha256 if release.policy else None,
    }
    return compile_plan(
        spec,
        release_id=str(release.pk),
        recipient_org_id=str(release.recipient_id),
        key_id=key_id,
        source=str(settings.DEID_CDW_URL),
        base_dir=Path(settings.BASE_DIR),
        created_at=timezone.now(),
        extra=extra,
        genome_source=str(settings.DEID_GENOME_DIR),
        lifelog_source=str(settings.DEID_LIFELOG_DIR),
        recipient_public_key=release.recipient.crypt4gh_public_key or None,
    )


def _stored_plan(release: Release) -> ReleasePlan | None:
    """The plan stored by an earlier attempt, if it still matches the release's policy."""
    from deid.plan import ReleasePlan

    if not release.plan or not release.plan_sha256 or not release.key_id:
        return None
    plan = ReleasePlan.from_dict(release.plan)
    if plan.digest() != release.plan_sha256:
        raise PolicyError(
            "plan",
            f"the stored plan of release #{release.pk} does not match its SHA-256 "
            f"({release.plan_sha256[:12]}...); refusing to build from a changed plan",
        )
    current_policy = release.policy.sha256 if release.policy else None
    if plan.extra.get("policy_sha256") != current_policy or plan.key_id != release.key_id:
        return None  # the steward changed the policy: compile afresh
    return plan


def prepare_plan(*, release: Release) -> tuple[Release, ReleasePlan]:
    """The release's plan: the stored one, or a new one (with a new key if needed)."""
    plan = _stored_plan(release)
    if plan is not None:
        return release, plan
    key_id = release.key_id
    store = keystore()
    if not key_id or not store.exists(key_id):
        if key_id:
            raise PolicyError(
                "key_id", f"release key {key_id!r} of release #{release.pk} no longer exists"
            )
        key_id = store.create_release_key(
            release_id=str(release.pk), recipient_org_id=str(release.recipient_id)
        )
    plan = compile_release_plan(release=release, key_id=key_id)
    release = services.release_plan_record(
        release=release, plan=plan.to_dict(), plan_sha256=plan.digest(), key_id=key_id
    )
    return release, plan


# --- executors -----------------------------------------------------------------------


def releases_dir() -> Path:
    return Path(settings.DEID_RELEASES_DIR)


def discard_staging(*, release_id: int) -> None:
    """Remove staging folders left by an aborted or killed build of this release."""
    root = releases_dir()
    if not root.is_dir():
        return
    for path in root.glob(f".staging-{int(release_id)}-*"):
        shutil.rmtree(path, ignore_errors=True)


def _clear_unpublished_output(release: Release) -> None:
    """A rebuild of a refused or failed release replaces files nobody may download."""
    final = releases_dir() / str(release.pk)
    if final.exists():
        graveyard = releases_dir() / f".superseded-{release.pk}-{int(time.time())}"
        final.rename(graveyard)
        shutil.rmtree(graveyard, ignore_errors=True)


def _batch_size() -> int:
    return int(settings.DEID_BUILD_BATCH_ROWS)


def run_executor(plan: ReleasePlan, *, engine: str, progress: ProgressFn | None = None) -> Manifest:
    """Run the chosen executor on a plan; return the published manifest."""
    from deid.sources import open_source

    source_url = str(settings.DEID_CDW_URL)
    if engine == "local":
        from deid.engines.local import build_release_local

        return build_release_local(
            plan,
            source=open_source(source_url),
            keystore=keystore(),
            releases_dir=releases_dir(),
            progress=progress,
            batch_size=_batch_size(),
        )
    if engine == "spark":
        from deid.engines.spark import build_release_spark, spark_session

        # A PostgreSQL CDW is read through JDBC when the driver JAR is configured;
        # otherwise the executor streams each table once into Parquet first.
        jdbc_jar = str(settings.DEID_SPARK_JDBC_JAR)
        jdbc = bool(jdbc_jar) and source_url.startswith("postgres")
        master = str(settings.DEID_SPARK_MASTER)
        spark = spark_session(master, jars=[jdbc_jar] if jdbc else None)
        return build_release_spark(
            plan,
            source=source_url,
            key_ref=key_ref(plan.key_id),
            releases_dir=releases_dir(),
            progress=progress,
            batch_size=_batch_size(),
            spark=spark,
            jdbc=jdbc,
        )
    raise ValueError(f"engine: expected 'local' or 'spark', got {engine!r}")


def execute_build(
    *,
    release_id: int,
    engine: str = "local",
    progress: ProgressFn | None = None,
    job_id: str | None = None,
) -> Release:
    """Compile (or reuse) the plan, run the executor, record success; raise on failure.

    ``job_id`` (the release's ``build_job_id`` when the job was queued) makes a late worker
    of a superseded build fail with ``stale_build`` instead of recording its files."""
    from governance.models import Release, ReleaseState

    release = Release.objects.select_related("policy", "request", "recipient").get(pk=release_id)
    if release.state != ReleaseState.BUILDING:
        raise PolicyError("state", f"release #{release.pk} is {release.state}, not building")
    release, plan = prepare_plan(release=release)
    discard_staging(release_id=release.pk)
    _clear_unpublished_output(release)
    manifest = run_executor(plan, engine=engine, progress=progress)
    return services.release_build_succeeded(
        release=release,
        manifest=manifest.to_dict(),
        report=manifest.privacy_report,
        files_dir=str(manifest.release_dir),
        job_id=job_id,
    )
