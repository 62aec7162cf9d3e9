"""``manage.py audit_verify``: recompute the chain and check every checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoints import (
    CheckpointFormatError,
    SigningKeyError,
    load_checkpoint_file,
    load_public_key,
    unique_keys,
)
from audit.sequencer import seal_pending
from audit.verify import verify_chain, verify_export

EXIT_DAMAGED = 1
EXIT_USAGE = 2
EXIT_UNANCHORED = 3


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain, check the recorded head and the signed "
        "checkpoints. Exit 0 when intact; otherwise exit 1 naming the first bad "
        "sequence number and the kind of damage. An --export with no damage but no "
        "trusted checkpoint at its last event exits 3 (unanchored): its hashes agree "
        "with each other, which a forged or truncated export's do too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="a checkpoint JSON file kept outside the database (repeatable)",
        )
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            metavar="FILE",
            help="trusted Ed25519 public key (PEM or base64; repeatable). Default: the "
            "public half of AUDIT_SIGNING_KEY_FILE",
        )
        parser.add_argument(
            "--no-stored-checkpoints",
            action="store_true",
            help="check only the checkpoints given with --from-checkpoint",
        )
        parser.add_argument(
            "--export",
            metavar="FILE",
            help="verify a JSON Lines export (audit_export --format jsonl) instead of the "
            "database, against the --from-checkpoint files inside its range",
        )
        parser.add_argument(
            "--seal",
            action="store_true",
            help="first seal the pending events (batched sequencer) so they are verified too",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoints = [load_checkpoint_file(Path(p)) for p in options["from_checkpoint"]]
            keys = [load_public_key(Path(p)) for p in options["public_key"]]
            if not keys:
                key_file = Path(settings.AUDIT_SIGNING_KEY_FILE)
                if key_file.exists():
                    keys = [load_public_key(key_file)]
        except (CheckpointFormatError, SigningKeyError, OSError, ValueError) as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None

        def progress(n: int) -> None:
            if options["verbosity"] >= 2:
                self.stderr.write(f"  {n} events verified")

        if options["export"]:
            try:
                with Path(options["export"]).open(encoding="utf-8") as handle:
                    records = [json.loads(line) for line in handle if line.strip()]
                report = verify_export(
                    records, checkpoints=checkpoints, trusted_keys=unique_keys(keys)
                )
            except (OSError, ValueError) as exc:
                raise CommandError(f"{options['export']}: {exc}", returncode=EXIT_USAGE) from None
        else:
            if options["seal"]:
                sealed = seal_pending(using=options["database"])
                if sealed:
                    self.stderr.write(f"sealed {sealed} pending event(s) first")
            report = verify_chain(
                using=options["database"],
                checkpoints=checkpoints,
                trusted_keys=unique_keys(keys),
                include_stored_checkpoints=not options["no_stored_checkpoints"],
                progress=progress,
            )
        if report.ok:
            first_seq = report.last_seq - report.events + 1 if report.events else 0
            self.stdout.write(
                f"audit chain intact: {report.events} events (seq {first_seq}..{report.last_seq}), "
                f"head {report.last_hash}; {report.checkpoints_checked} signed checkpoint(s) "
                "verified"
            )
            if report.pending:
                self.stdout.write(
                    f"{report.pending} event(s) pending, not yet sealed into the chain (oldest "
                    f"{report.pending_age_seconds or 0:.0f} s): run `manage.py audit_seal` "
                    "if that age grows"
                )
            return
        if not report.problems and report.unanchored is not None:
            first_seq = report.last_seq - report.events + 1 if report.events else 0
            raise CommandError(
                f"audit export unanchored: {report.events} events (seq {first_seq}.."
                f"{report.last_seq}) link up; {report.unanchored}",
                returncode=EXIT_UNANCHORED,
            )
        for damage in report.problems:
            self.stderr.write(f"DAMAGE {damage}")
        first = report.first
        assert first is not None
        raise CommandError(
            f"audit chain damaged: first bad seq {first.seq}: {first.kind.value}: {first.detail}",
            returncode=EXIT_DAMAGED,
        )
