"""``manage.py demo``: one data access request walked from submission to download."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Generate the synthetic CDW (if missing), create the demo users, and walk one data "
        "access request through its life with the real services: submit, legal approval, "
        "policy, build, publication, API download, audit verification."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        from governance.demo import DEMO_PATIENTS, DEMO_SEED

        parser.add_argument("--patients", type=int, default=DEMO_PATIENTS)
        parser.add_argument("--seed", type=int, default=DEMO_SEED)

    def handle(self, *args: Any, **options: Any) -> None:
        from governance import demo
        from governance.errors import GovernanceError

        if settings.PRODUCTION:
            raise CommandError("The demo creates users with known passwords: never in production.")

        def say(line: str) -> None:
            self.stdout.write(line)

        try:
            result = demo.run(say, patients=options["patients"], seed=options["seed"])
        except GovernanceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Release summary"))
        for line in demo.summary(result):
            self.stdout.write("  " + line)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Where to look"))
        self.stdout.write(
            "  make serve, then http://127.0.0.1:8000/portal/ (researcher, other) or "
            "http://127.0.0.1:8000/admin/ (legal, steward, auditor, admin) — log in as:"
        )
        for username, password in result.passwords.items():
            self.stdout.write(f"    {username:<11} {password}")
        self.stdout.write("  (demo database only; also in var/demo-credentials.txt)")
        self.stdout.write(
            "  legal, steward and admin also need a TOTP code: "
            "manage.py governance_totp USERNAME --enroll prints one"
        )
        self.stdout.write(
            "  researcher and other use the portal, or the API: a token from the portal's "
            "API tokens page (or manage.py issue_token researcher), then deid-client"
        )
        self.stdout.write("  API: http://127.0.0.1:8000/api/v1/  schema: /api/schema/")
        self.stdout.write("  manage.py audit_verify · manage.py audit_export --format csv")
        self.stdout.write("  notification e-mails: var/mail/")
