"""``manage.py issue_token USERNAME``: a new API token; the token is the LAST line printed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME (scoped to one of their organizations) and print it. "
        "The token is shown once, as the last line of the output; only its hash is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--organization",
            help="organization name or id (needed when the person belongs to several)",
        )
        parser.add_argument("--name", default="issued by manage.py issue_token")
        parser.add_argument("--days", type=int, default=90, help="lifetime in days (default 90)")

    def handle(self, *args: Any, **options: Any) -> None:
        from audit.services import Actor
        from governance.models import Membership, Organization
        from governance.services.tokens import token_create

        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        org_ids = sorted(
            set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
        )
        wanted = options.get("organization")
        if wanted:
            by_id = (
                Organization.objects.filter(pk=int(wanted)).first() if wanted.isdigit() else None
            )
            org = by_id or Organization.objects.filter(name=wanted).first()
            if org is None or org.pk not in org_ids:
                raise CommandError(f"{user} is not a member of an organization {wanted!r}.")
        elif len(org_ids) == 1:
            org = Organization.objects.get(pk=org_ids[0])
        elif not org_ids:
            raise CommandError(f"{user} belongs to no organization; add a membership first.")
        else:
            names = ", ".join(
                Organization.objects.filter(pk__in=org_ids).values_list("name", flat=True)
            )
            raise CommandError(
                f"{user} belongs to several organizations ({names}); pass --organization."
            )
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        try:
            token, raw = token_create(
                person=user,
                organization=org,
                name=options["name"],
                expires_at=timezone.now() + timedelta(days=options["days"]),
                actor=Actor.system("issue_token"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Token {token.display_id} for {user} @ {org}, expires {token.expires_at:%Y-%m-%d %H:%M %Z}."
        )
        self.stdout.write(raw)
