"""``manage.py audit_checkpoint``: sign the verified head and export the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from audit.canonical import parse_time
from audit.checkpoints import (
    CheckpointFormatError,
    SigningKeyError,
    load_checkpoint_file,
    load_public_key,
    load_signing_key,
    public_key_pem,
    sign_checkpoint,
    unique_keys,
    write_checkpoint_file,
)
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.verify import verify_chain


def checkpoint_dir() -> Path:
    default = Path(settings.VAR_DIR) / "audit" / "checkpoints"
    return Path(getattr(settings, "AUDIT_CHECKPOINT_DIR", default))


class Command(BaseCommand):
    help = (
        "Verify the audit chain against the recorded head and every earlier checkpoint "
        "(stored ones and --from-checkpoint files, trusting the public half of "
        "AUDIT_SIGNING_KEY_FILE and any --public-key), then sign its head (seq, hash, time) "
        "with that key, store the checkpoint and write it as a JSON file that a third party "
        "can keep. Refuses (exit 1) when the chain is damaged or contradicts a checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", metavar="FILE", help="where to write the checkpoint JSON")
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="sign the current head without recomputing the chain first",
        )
        parser.add_argument(
            "--export-public-key",
            metavar="FILE",
            help="also write the public key (PEM) for auditors to pin",
        )
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            metavar="FILE",
            help="also trust checkpoints signed by this Ed25519 public key (PEM or base64; "
            "repeatable), e.g. the key used before a rotation",
        )
        parser.add_argument(
            "--from-checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="also check the chain against this checkpoint JSON file (repeatable)",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        production = bool(getattr(settings, "PRODUCTION", False))
        key_file = Path(settings.AUDIT_SIGNING_KEY_FILE)
        created = not key_file.exists()
        try:
            key = load_signing_key(key_file, create=not production, strict_permissions=production)
        except SigningKeyError as exc:
            raise CommandError(str(exc)) from None
        if created:
            self.stderr.write(f"created a development audit signing key at {key_file} (0600)")
        elif key_file.stat().st_mode & 0o077:
            self.stderr.write(f"warning: {key_file} is readable by others; chmod 600 it")

        if options["no_verify"]:
            with transaction.atomic(using=using):
                head = AuditChainHead.objects.using(using).get(pk=AuditChainHead.SINGLETON_ID)
                seq, head_hash = head.seq, head.hash
                if (
                    seq
                    and not AuditEvent.objects.using(using).filter(seq=seq, hash=head_hash).exists()
                ):
                    raise CommandError(
                        f"the head (seq {seq}) is not in the chain; run audit_verify"
                    )
        else:
            # Earlier checkpoints are the only defence against a chain rehashed consistently
            # (head row included): never sign over one that contradicts them.
            try:
                files = [load_checkpoint_file(Path(p)) for p in options["from_checkpoint"]]
                extra_keys = [load_public_key(Path(p)) for p in options["public_key"]]
            except (CheckpointFormatError, SigningKeyError, OSError, ValueError) as exc:
                raise CommandError(str(exc)) from None
            report = verify_chain(
                using=using,
                checkpoints=files,
                trusted_keys=unique_keys([key.public_key(), *extra_keys]),
                include_stored_checkpoints=True,
            )
            if not report.ok:
                for damage in report.problems:
                    self.stderr.write(f"DAMAGE {damage}")
                first = report.first
                assert first is not None
                raise CommandError(
                    f"refusing to sign a damaged chain: first bad seq {first.seq}: "
                    f"{first.kind.value}: {first.detail}; run audit_verify"
                )
            seq, head_hash = report.last_seq, report.last_hash

        from django.utils import timezone

        checkpoint = sign_checkpoint(key, seq=seq, head_hash=head_hash, time=timezone.now())
        stored = AuditCheckpoint(
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            time=parse_time(checkpoint.time),
            key_id=checkpoint.key_id,
            public_key=checkpoint.public_key,
            signature=checkpoint.signature,
        )
        stored.save(using=using)
        out = (
            Path(options["out"])
            if options["out"]
            else (
                checkpoint_dir() / f"checkpoint-{seq:012d}-{checkpoint.time.replace(':', '')}.json"
            )
        )
        write_checkpoint_file(checkpoint, out)
        if options["export_public_key"]:
            pub = Path(options["export_public_key"])
            pub.parent.mkdir(parents=True, exist_ok=True)
            pub.write_bytes(public_key_pem(key.public_key()))
        self.stdout.write(json.dumps(checkpoint.to_json(), sort_keys=True))
        self.stderr.write(f"checkpoint #{stored.pk} at seq {seq} written to {out}")
