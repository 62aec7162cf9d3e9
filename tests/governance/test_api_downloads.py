"""Downloads: streaming, Range and resume, ETag/Digest, revocation mid-download, audit, signed links."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from governance.api import downloads
from governance.models import Release, ReleaseState
from governance.models.tokens import ApiToken
from tests.governance.api_support import make_world

pytestmark = pytest.mark.django_db

BIG = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def world(settings, tmp_path):
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    a, b = make_world(tmp_path / "releases")
    yield a, b
    cache.clear()


def _close_early(response):
    """Close a response early, as the WSGI server does when the client goes away.

    Through the test client's own stream wrapper, which keeps Django's per-request
    connection cleanup from closing the test's transaction.
    """
    response._iterator.close()


def _url(r, name="person.csv"):
    return f"/api/v1/releases/{r.release.pk}/files/{name}"


def _events(action="file.downloaded"):
    return [
        json.loads(e.details_json) | {"_actor_token": e.actor_token_id, "_ip": e.actor_ip}
        for e in AuditEvent.objects.filter(action=action).order_by("seq")
    ]


def test_full_download_streams_the_exact_bytes_with_digests(world):
    a, _ = world
    data = a.files["person.csv"]
    response = a.client().get(_url(a), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == data
    sha = hashlib.sha256(data).hexdigest()
    b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert response["ETag"] == f'"sha256-{sha}"'
    assert response["Repr-Digest"] == f"sha-256=:{b64}:"
    assert response["Digest"] == f"SHA-256={b64}"
    assert response["Content-Length"] == str(len(data))
    assert response["Accept-Ranges"] == "bytes"
    assert "attachment" in response["Content-Disposition"]
    [event] = _events()
    assert event["file"] == "person.csv"
    assert event["bytes_sent"] == len(data)
    assert event["completed"] is True
    assert event["range"] == ""
    assert event["person_id"] == a.user.pk
    assert event["token_id"] == "gdt_" + a.token.split("_")[1]
    assert event["_ip"] == "10.1.2.3"
    assert a.token not in json.dumps(event)


def test_nested_file_names_are_served(world):
    a, _ = world
    response = a.client().get(_url(a, "notes/part-0.csv"))
    assert b"".join(response.streaming_content) == a.files["notes/part-0.csv"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_range_requests_get_206_with_content_range(world, header, start, end):
    a, _ = world
    data = a.files["person.csv"]
    response = a.client().get(_url(a), HTTP_RANGE=header)
    assert response.status_code == 206
    body = b"".join(response.streaming_content)
    expected = data[start : (end + 1 if end is not None else None)]
    assert body == expected
    first = start if start >= 0 else len(data) + start
    assert response["Content-Range"] == f"bytes {first}-{first + len(body) - 1}/{len(data)}"
    assert response["Content-Length"] == str(len(body))
    # The digest is of the whole file (the representation), whatever the range.
    assert response["ETag"] == f'"sha256-{hashlib.sha256(data).hexdigest()}"'
    [event] = _events()
    assert event["range"] == f"{first}-{first + len(body) - 1}"
    assert event["bytes_sent"] == len(body)


def test_resume_with_if_range_rebuilds_the_file(world):
    a, _ = world
    data = a.files["person.csv"]
    client = a.client()
    first = client.get(_url(a))
    etag = first["ETag"]
    part = b""
    for chunk in first.streaming_content:
        part += chunk
        break  # the connection "drops" after the first chunk
    _close_early(first)
    part = part[:1000]
    rest = client.get(_url(a), HTTP_RANGE=f"bytes={len(part)}-", HTTP_IF_RANGE=etag)
    assert rest.status_code == 206
    assert part + b"".join(rest.streaming_content) == data


def test_if_range_with_a_stale_etag_sends_the_whole_file(world):
    a, _ = world
    response = a.client().get(
        _url(a), HTTP_RANGE="bytes=10-", HTTP_IF_RANGE='"sha256-' + "0" * 64 + '"'
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == a.files["person.csv"]


def test_unsatisfiable_range_is_416(world):
    a, _ = world
    size = len(a.files["person.csv"])
    response = a.client().get(_url(a), HTTP_RANGE=f"bytes={size}-")
    assert response.status_code == 416
    assert response.json()["code"] == "range_not_satisfiable"
    assert response["Content-Range"] == f"bytes */{size}"


def test_head_gives_size_and_digest_without_a_body(world):
    a, _ = world
    response = a.client().head(_url(a))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(a.files["person.csv"]))
    assert response["ETag"].startswith('"sha256-')
    assert response.content == b""


def test_file_changed_on_disk_is_refused(world):
    a, _ = world
    (Path(a.release.files_dir) / "person.csv").write_bytes(b"tampered")
    response = a.client().get(_url(a))
    assert response.status_code == 409
    assert response.json()["code"] == "file_inconsistent"


# --- Revocation mid-download -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["revoke", "expire", "dua"])
def test_revocation_mid_download_stops_at_the_next_check(world, monkeypatch, tmp_path, how):
    a, _ = world
    from tests.governance.api_support import write_release_files

    write_release_files(a.release, {"big.bin": BIG}, tmp_path / "releases")
    monkeypatch.setattr(downloads, "CHUNK_SIZE", 4096)
    monkeypatch.setattr(downloads, "CHECK_EVERY_CHUNKS", 4)
    response = a.client().get(_url(a, "big.bin"))
    assert response.status_code == 200
    stream = iter(response.streaming_content)
    got = b"".join(next(stream) for _ in range(10))
    now = timezone.now()
    if how == "revoke":
        Release.objects.filter(pk=a.release.pk).update(
            state=ReleaseState.REVOKED, revoked_at=now, revoke_reason="DUA breach"
        )
    elif how == "expire":
        Release.objects.filter(pk=a.release.pk).update(expires_at=now)
    else:
        # The DUA ends (e.g. terminated by the legal reviewer): caught by the full re-check.
        monkeypatch.setattr(downloads, "FULL_CHECK_SECONDS", 0.0)
        today = timezone.localdate()
        a.request.duas.update(
            effective_on=today - timedelta(days=30), expires_on=today - timedelta(days=1)
        )
    got += b"".join(stream)
    # Stopped within one check window (4 chunks) of the revocation, far short of the file.
    assert 10 * 4096 <= len(got) <= 12 * 4096
    assert got == BIG[: len(got)]
    [event] = _events()
    assert event["completed"] is False
    assert event["bytes_sent"] == len(got)
    expected = {"revoke": "release_revoked", "expire": "release_expired", "dua": "dua_invalid"}
    assert event["stopped"] == expected[how]
    # The next request is refused.
    again = a.client().get(_url(a, "big.bin"), HTTP_RANGE=f"bytes={len(got)}-")
    assert again.status_code == 410


def test_client_disconnect_is_audited_with_the_bytes_sent(world, monkeypatch, tmp_path):
    a, _ = world
    from tests.governance.api_support import write_release_files

    write_release_files(a.release, {"big.bin": BIG}, tmp_path / "releases")
    monkeypatch.setattr(downloads, "CHUNK_SIZE", 65536)
    response = a.client().get(_url(a, "big.bin"))
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)
    _close_early(response)
    [event] = _events()
    assert event["bytes_sent"] == 2 * 65536
    assert event["completed"] is False


# --- Signed links ------------------------------------------------------------------------------


def _link(recipient, name="person.csv"):
    response = recipient.client().post(
        f"/api/v1/releases/{recipient.release.pk}/links/",
        {"name": name},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    url = urlsplit(response.json()["url"])
    return f"{url.path}?{url.query}"


def test_signed_link_downloads_without_headers(world):
    a, _ = world
    link = _link(a)
    response = Client().get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == a.files["person.csv"]
    [event] = _events()
    assert event["signed_link"] is True
    assert event["person_id"] == a.user.pk
    assert AuditEvent.objects.filter(action="file.link_signed").count() == 1


def test_signed_link_is_bound_to_its_file_and_release(world):
    a, b = world
    link = _link(a)
    path, query = link.split("?")
    assert (
        Client().get(path.replace("person.csv", "notes/part-0.csv") + "?" + query).status_code
        == 404
    )
    other = path.replace(f"/releases/{a.release.pk}/", f"/releases/{b.release.pk}/")
    assert Client().get(other + "?" + query).status_code == 404
    tampered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
    assert Client().get(tampered).status_code == 404


def test_signed_link_dies_with_its_token_and_with_the_release(world):
    a, _ = world
    link = _link(a)
    ApiToken.objects.filter(pk=a.token_id).update(revoked_at=timezone.now())
    assert Client().get(link).status_code == 401
    ApiToken.objects.filter(pk=a.token_id).update(revoked_at=None)
    Release.objects.filter(pk=a.release.pk).update(
        state=ReleaseState.REVOKED, revoked_at=timezone.now()
    )
    assert Client().get(link).status_code == 410


def test_signed_link_expires(world, monkeypatch):
    a, _ = world
    link = _link(a)
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + downloads.SIGNED_LINK_MAX_SECONDS + 1)
    assert Client().get(link).status_code == 404


def test_signed_link_dies_when_the_person_leaves_the_token_organization(world):
    from governance.models import Membership

    a, _ = world
    link = _link(a)
    assert Client().get(link).status_code == 200
    memberships = Membership.objects.filter(user=a.user, organization=a.org)
    kept = list(memberships.values("role"))
    memberships.delete()
    response = Client().get(link)
    assert response.status_code == 401
    assert response.json()["code"] == "link_invalid"
    assert a.client().get(_url(a)).status_code == 401  # as the Bearer token itself
    for row in kept:
        Membership.objects.create(user=a.user, organization=a.org, **row)
    assert Client().get(link).status_code == 200
