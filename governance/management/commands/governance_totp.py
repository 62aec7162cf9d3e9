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
from django.db import transaction

from audit.actions import AuditAction
from audit.services import Actor, record_event
from governance.roles import totp_device_create


class Command(BaseCommand):
    help = "Create (if missing) a TOTP device for a user and print the current code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--enroll", action="store_true", help="Also print the otpauth:// enrolment URL."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_otp.oath import totp
        from django_otp.plugins.otp_totp.models import TOTPDevice

        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            with transaction.atomic():
                device = totp_device_create(user=user)
                record_event(
                    action=AuditAction.ADMIN_CHANGE,
                    actor=Actor.system("governance_totp"),
                    object_type="auth.user",
                    object_id=str(user.pk),
                    details={"change": "totp_device_created", "device_id": device.pk},
                )
            self.stdout.write(f"created TOTP device #{device.pk} for {user.get_username()}")
        if options["enroll"]:
            self.stdout.write(f"enrolment URL (secret, owner only): {device.config_url}")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
