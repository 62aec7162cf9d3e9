"""Check every published release's files against its manifest (size and SHA-256).

``manage.py release_verify [--all-states]``: prints each release and what is wrong with
it; exits 1 if any file changed, went missing, or the manifest itself differs from the
one recorded at build time. Run it on a schedule; downloads are checked too, before a
changed file is served. The run is recorded in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance import services
from governance.models import ReleaseState


class Command(BaseCommand):
    help = "Verify every published release's files against its manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all-states",
            action="store_true",
            help="Also built, approved and expired releases (not only published ones).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        states = (
            [
                ReleaseState.BUILT,
                ReleaseState.APPROVED,
                ReleaseState.PUBLISHED,
                ReleaseState.EXPIRED,
            ]
            if options["all_states"]
            else [ReleaseState.PUBLISHED]
        )
        results = services.releases_verify(system="release_verify", states=states)
        failed = 0
        for pk, problems in results.items():
            if problems:
                failed += 1
                self.stdout.write(f"release #{pk}: FAILED")
                for p in problems:
                    self.stdout.write(f"  {p}")
            else:
                self.stdout.write(f"release #{pk}: ok")
        self.stdout.write(f"{len(results)} release(s) checked, {failed} failed.")
        if failed:
            raise CommandError(f"{failed} release(s) do not match their manifest")
