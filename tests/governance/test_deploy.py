"""Production hardening: the deploy checks, the Content-Security-Policy, trusted proxies."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from governance.middleware import client_address
from tests.governance.factories import World

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_in_production_prints_no_warning(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEID_"))},
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "data.example.kr",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEID_MASTER_KEY_FILE": str(tmp_path / "master.key"),
        "AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit.key"),
        "DEID_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/portal/login/", "/account/login/", "/api/docs/", "/api/redoc/"])
def test_every_html_page_carries_a_csp_without_inline_script(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or "application/json" in tag, f"inline script on {url}: {tag}"


@pytest.mark.django_db
def test_swagger_ui_start_script_is_served_from_this_server() -> None:
    html = Client().get("/api/docs/").content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") for s in sources)  # nothing from a CDN
    init = [s for s in sources if "script" in s and "swagger-ui" not in s]
    assert init
    assert Client().get(init[0].replace("&amp;", "&")).status_code == 200


def test_client_address_walks_the_chain_through_trusted_proxies_only() -> None:
    proxies = ["10.0.0.0/24", "192.168.7.2"]
    assert client_address("10.0.0.5", "203.0.113.7", proxies) == "203.0.113.7"
    assert client_address("10.0.0.5", "198.51.100.1, 203.0.113.7, 192.168.7.2", proxies) == (
        "203.0.113.7"
    )  # the rightmost address that is not a proxy; what the client wrote left of it is ignored
    assert client_address("198.51.100.9", "203.0.113.7", proxies) == "198.51.100.9"
    assert client_address("10.0.0.5", "not-an-ip, 203.0.113.7", proxies) == "203.0.113.7"
    assert client_address("10.0.0.5", "203.0.113.7, junk", proxies) == "10.0.0.5"
    assert client_address("10.0.0.5", None, proxies) == "10.0.0.5"
    assert client_address("10.0.0.5", "10.0.0.6", proxies) == "10.0.0.5"


def failed_login(client: Client, username: str) -> Any:
    return client.post(
        "/account/login/",
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": "nope" * 4},
    )


@pytest.mark.django_db
def test_audit_log_names_the_client_behind_a_trusted_proxy_not_a_forger(
    world: World, settings: Any
) -> None:
    settings.DEID_TRUSTED_PROXIES = ["10.0.0.5"]
    failed_login(
        Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7"), world.legal.username
    )
    failed_login(
        Client(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.99"),
        world.legal.username,
    )
    ips = list(
        AuditEvent.objects.filter(action="auth.login_failed")
        .order_by("seq")
        .values_list("actor_ip", flat=True)
    )
    assert ips[-2:] == ["203.0.113.7", "198.51.100.9"]


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_dodge_the_lockout(world: World, settings: Any) -> None:
    from axes.utils import reset

    settings.AXES_FAILURE_LIMIT = 3
    settings.DEID_TRUSTED_PROXIES = ["10.0.0.5"]
    reset()
    statuses = [
        failed_login(
            Client(REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"),
            world.steward.username,
        ).status_code
        for i in range(4)
    ]
    assert statuses[-1] == 429
    reset()


@pytest.mark.django_db
def test_https_is_believed_only_from_a_trusted_proxy(settings: Any) -> None:
    from django.http import HttpRequest, HttpResponse

    from governance.middleware import TrustedProxyMiddleware

    settings.DEID_TRUSTED_PROXIES = ["10.0.0.5"]
    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["secure"] = request.is_secure()
        seen["addr"] = request.META["REMOTE_ADDR"]
        return HttpResponse("ok")

    middleware = TrustedProxyMiddleware(view)
    for peer, expected in (("10.0.0.5", True), ("198.51.100.9", False)):
        request = HttpRequest()
        request.META = {
            "REMOTE_ADDR": peer,
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_FOR": "203.0.113.7",
        }
        middleware(request)
        assert seen["secure"] is expected
        assert seen["addr"] == ("203.0.113.7" if expected else peer)
