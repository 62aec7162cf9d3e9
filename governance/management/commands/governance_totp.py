"""Give a person a TOTP device for the admin's second factor (demo, first enrolment).

``manage.py governance_totp USERNAME`` creates a confirmed device if the person has none and
prints the current six-digit code as its last line (valid for about 30 seconds).
``--enroll`` also prints the otpauth:// URL to scan into an authenticator app: it carries the
device secret, so show it only to its owner.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.services.users import totp_device_ensure


class Command(BaseCommand):
    help = "Create (if missing) a TOTP device for a user and print the current code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--enroll", action="store_true", help="Also print the otpauth:// enrolment URL."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_otp.oath import totp

        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        device, created = totp_device_ensure(user=user, system="governance_totp")
        if created:
            self.stdout.write(f"created TOTP device #{device.pk} for {user.get_username()}")
        if options["enroll"]:
            self.stdout.write(f"enrolment URL (secret, owner only): {device.config_url}")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
