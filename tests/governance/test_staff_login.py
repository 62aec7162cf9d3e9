"""Staff log in once, in two steps (password, then the 6-digit code): django-two-factor-auth."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from governance.roles import totp_device_create
from tests.governance.factories import PASSWORD, World

pytestmark = pytest.mark.django_db


def code_for(device: Any) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def password_step(client: Client, user: Any, next_url: str = "/admin/") -> Any:
    return client.post(
        f"/account/login/?next={next_url}",
        {
            "login_view-current_step": "auth",
            "auth-username": user.username,
            "auth-password": PASSWORD,
        },
    )


def test_admin_sends_staff_to_the_two_step_login(world: World) -> None:
    client = Client()
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/account/login/?next=/admin/")
    page = response.content.decode()
    assert 'name="auth-username"' in page
    assert "cdnjs" not in page  # nothing is fetched from the internet


def test_decider_enters_password_then_code(world: World) -> None:
    device = totp_device_create(user=world.legal)
    client = Client()
    step1 = password_step(client, world.legal)
    assert step1.status_code == 200
    assert 'name="token-otp_token"' in step1.content.decode()
    assert client.get("/admin/").status_code == 302  # not in yet
    step2 = client.post(
        "/account/login/?next=/admin/",
        {"login_view-current_step": "token", "token-otp_token": code_for(device)},
    )
    assert step2.status_code == 302
    assert step2["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_keeps_the_door_shut(world: World) -> None:
    totp_device_create(user=world.steward)
    client = Client()
    password_step(client, world.steward)
    page = client.post(
        "/account/login/?next=/admin/",
        {"login_view-current_step": "token", "token-otp_token": "000000"},
    )
    assert page.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_a_decider_without_a_device_is_sent_to_enrol(world: World) -> None:
    client = Client()
    response = password_step(client, world.steward)
    assert response.status_code == 302  # no device: password only, but not verified
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/account/two_factor/setup/"
    assert response.status_code == 200


def test_the_auditor_reads_with_a_password_only(world: World) -> None:
    client = Client()
    response = password_step(client, world.auditor)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_verified_admin_generates_ten_backup_codes(world: World) -> None:
    device = totp_device_create(user=world.admin)
    client = Client()
    password_step(client, world.admin)
    client.post(
        "/account/login/?next=/admin/",
        {"login_view-current_step": "token", "token-otp_token": code_for(device)},
    )
    page = client.post("/account/two_factor/backup/tokens/", follow=True).content.decode()
    assert page.count("<li>") >= 10  # ten backup codes to print
    from django_otp.plugins.otp_static.models import StaticToken

    assert StaticToken.objects.filter(device__user=world.admin).count() == 10
