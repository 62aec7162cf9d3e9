"""``deid build``, ``deid plan`` and ``deid keys``: release builds without Django.

    deid keys init-master --file var/keys/master.key
    deid keys create --release-id R1 --recipient ORG1            # prints the key id
    deid plan --spec fixtures/policies/demo_release.yaml --release-id R1 --recipient ORG1 \\
              --key-id rk_... --source sqlite:///var/cdw.sqlite3 --output plan.json
    deid build --plan plan.json --source sqlite:///var/cdw.sqlite3 --out var/releases

Keys come from ``--keys-dir`` (default ``$DEID_KEYS_DIR`` or ``var/keys``) and the
master key from ``DEID_MASTER_KEY`` / ``--master-key-file`` / ``DEID_MASTER_KEY_FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers"]


def _keys_dir(args: argparse.Namespace) -> Path:
    value = args.keys_dir or os.environ.get("DEID_KEYS_DIR") or "var/keys"
    return Path(value)


def _master(args: argparse.Namespace) -> Any:
    from deid.keys import load_master_key

    key_file = args.master_key_file
    if key_file is None and not os.environ.get("DEID_MASTER_KEY"):
        key_file = os.environ.get("DEID_MASTER_KEY_FILE") or str(_keys_dir(args) / "master.key")
    return load_master_key(key_file=key_file)


def _add_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keys-dir", help="key store folder (default $DEID_KEYS_DIR or var/keys)")
    p.add_argument(
        "--master-key-file",
        help="master key file, mode 0600 (default $DEID_MASTER_KEY or <keys-dir>/master.key)",
    )


class _Progress:
    """A tqdm progress bar per phase on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.phase: str | None = None
        self.bar: Any = None

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, desc=phase, unit="rows", file=sys.stderr, leave=True)
        if self.bar is not None:
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _cmd_build(args: argparse.Namespace) -> int:
    from deid.keys import KeyStore
    from deid.pipeline import build_release
    from deid.plan import ReleasePlan
    from deid.sources import open_source

    plan = ReleasePlan.from_json(Path(args.plan).read_text(encoding="utf-8"))
    source = open_source(args.source)
    store = KeyStore(_keys_dir(args), _master(args))
    progress = _Progress(not args.quiet)
    from deid.errors import PrivacyTargetNotMet

    try:
        manifest = build_release(
            plan,
            source=source,
            keystore=store,
            releases_dir=Path(args.out),
            progress=progress,
            batch_size=args.batch_size,
        )
    except PrivacyTargetNotMet as exc:
        progress.close()
        # The steward needs the evidence: the best nodes found and what they would cost.
        print(json.dumps(exc.report, indent=2, ensure_ascii=False), file=sys.stderr)
        raise
    finally:
        progress.close()
    report = manifest.privacy_report
    summary = {
        "release_dir": str(manifest.release_dir),
        "manifest_sha256": manifest.sha256,
        "plan_digest": manifest.plan_digest,
        "records_in": report.get("records_in"),
        "records_released": report.get("records_released"),
        "records_suppressed": report.get("records_suppressed"),
        "files": [{"name": f.name, "rows": f.rows, "sha256": f.sha256} for f in manifest.files],
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from deid.plan import compile_plan, load_release_spec

    spec = load_release_spec(args.spec)
    plan = compile_plan(
        spec,
        release_id=args.release_id,
        recipient_org_id=args.recipient,
        key_id=args.key_id,
        source=args.source,
    )
    text = plan.to_json()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(plan.digest())
    else:
        print(text)
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    from deid.keys import KeyStore, generate_master_key_file

    if args.keys_command == "init-master":
        path = Path(args.file) if args.file else _keys_dir(args) / "master.key"
        key = generate_master_key_file(path, overwrite=args.force)
        print(f"wrote {path} (mode 0600, fingerprint {key.fingerprint()})")
        return 0
    store = KeyStore(_keys_dir(args), _master(args))
    if args.keys_command == "create":
        print(store.create_release_key(release_id=args.release_id, recipient_org_id=args.recipient))
        return 0
    if args.keys_command == "destroy":
        store.destroy(args.key_id)
        print(f"destroyed {args.key_id}")
        return 0
    raise AssertionError(args.keys_command)  # pragma: no cover


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("build", help="build and publish a release from a plan (JSON)")
    p.add_argument("--plan", required=True, help="release plan JSON (from `deid plan`)")
    p.add_argument(
        "--source",
        default=os.environ.get("DEID_CDW_URL", "sqlite:///var/cdw.sqlite3"),
        help="SQLAlchemy URL or Parquet/CSV path (default $DEID_CDW_URL)",
    )
    p.add_argument("--out", required=True, help="releases folder; the release lands in OUT/<id>")
    p.add_argument("--batch-size", type=int, default=65_536)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_key_args(p)
    p.set_defaults(func=_cmd_build)

    p = subparsers.add_parser("plan", help="compile a release spec (YAML) into a plan (JSON)")
    p.add_argument("--spec", required=True)
    p.add_argument("--release-id", required=True)
    p.add_argument("--recipient", required=True, help="recipient organization id")
    p.add_argument("--key-id", required=True)
    p.add_argument("--source", default=os.environ.get("DEID_CDW_URL", "sqlite:///var/cdw.sqlite3"))
    p.add_argument("--output", "-o", help="write the plan here and print its digest")
    p.set_defaults(func=_cmd_plan)

    p = subparsers.add_parser("keys", help="master key and release keys")
    ks = p.add_subparsers(dest="keys_command", required=True)
    k = ks.add_parser("init-master", help="generate a master key file (mode 0600)")
    k.add_argument("--file", help="default <keys-dir>/master.key")
    k.add_argument("--force", action="store_true", help="overwrite an existing file")
    _add_key_args(k)
    k = ks.add_parser("create", help="create a release key; prints its key id")
    k.add_argument("--release-id", required=True)
    k.add_argument("--recipient", required=True)
    _add_key_args(k)
    k = ks.add_parser("destroy", help="crypto-shred a release key")
    k.add_argument("--key-id", required=True)
    _add_key_args(k)
    p.set_defaults(func=_cmd_keys)
