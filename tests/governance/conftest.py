"""Governance fixtures: a small world of organizations and people, documents in a temp dir,
and the build queue replaced by a recorder (the jobs engineer tests the real worker)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.governance.factories import World


@pytest.fixture(autouse=True)
def _media_and_releases(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.DEID_KEYS_DIR = tmp_path / "keys"
    (tmp_path / "releases").mkdir()
    # Argon2 is the production hasher (tested once); tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record enqueued builds instead of queueing them (the service enqueues after its commit:
    wrap the call in ``django_capture_on_commit_callbacks(execute=True)`` to see it here)."""
    calls: list[int] = []

    def fake_enqueue(release_id: int, *, job_id: str, engine: str) -> str:
        calls.append(release_id)
        return f"task-{job_id}"

    import governance.queue

    monkeypatch.setattr(governance.queue, "enqueue_release_build", fake_enqueue)
    return calls


@pytest.fixture
def world(db: None, enqueued: list[int]) -> World:
    return World()


@pytest.fixture
def login(client: Any) -> Any:
    """Log a user into the admin, with a verified TOTP device when their role needs one."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from governance.roles import totp_device_create

    def _login(user: Any, *, verified: bool = True) -> Any:
        client.force_login(user)
        if verified:
            device = totp_device_create(user=user)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return _login
