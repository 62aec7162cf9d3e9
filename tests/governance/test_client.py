"""deid-client against a live server: login, listings, download with resume and verification."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.models import AuditEvent
from governance import client
from governance.models import Release, ReleaseState
from tests.governance.api_support import make_world

pytestmark = pytest.mark.django_db(transaction=True)

BIG = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture
def world(settings, tmp_path, monkeypatch, live_server):
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    a, b = make_world(tmp_path / "releases")
    from tests.governance.api_support import write_release_files

    files = {**a.files, "big.bin": BIG}
    write_release_files(a.release, files, tmp_path / "releases")
    a.release.refresh_from_db()
    a.files = files
    monkeypatch.setenv("DEID_CLIENT_CONFIG", str(tmp_path / "cfg" / "config.json"))
    monkeypatch.delenv("DEID_API_URL", raising=False)
    monkeypatch.delenv("DEID_API_TOKEN", raising=False)
    # The audit log is append-only (its triggers refuse DELETE), so events of earlier
    # transactional tests may remain: look only at this test's.
    a.extra["seq0"] = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    yield a, b, live_server.url
    cache.clear()


def _downloads(a):
    return [
        json.loads(e.details_json)
        for e in AuditEvent.objects.filter(action="file.downloaded", seq__gt=a.extra["seq0"])
    ]


def _login(url, token, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    assert client.main(["login", "--url", url, "--token-stdin"]) == 0
    capsys.readouterr()


def test_login_stores_the_token_privately_and_lists(world, monkeypatch, capsys, tmp_path):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    cfg = tmp_path / "cfg" / "config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert json.loads(cfg.read_text())["token"] == a.token
    assert client.main(["releases"]) == 0
    out = capsys.readouterr().out
    assert str(a.release.pk) in out
    assert "published" in out
    assert client.main(["requests"]) == 0
    assert a.request.title in capsys.readouterr().out


def test_login_with_a_bad_token_fails_and_stores_nothing(world, monkeypatch, capsys, tmp_path):
    _, _, url = world
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("gdt_0123456789ab_" + "x" * 43 + "\n"))
    assert client.main(["login", "--url", url, "--token-stdin"]) == 2
    assert "401" in capsys.readouterr().err
    assert not (tmp_path / "cfg" / "config.json").exists()


def test_download_fetches_and_verifies_every_file(world, monkeypatch, capsys, tmp_path):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    dest = tmp_path / "out"
    assert client.main(["download", str(a.release.pk), str(dest), "--quiet"]) == 0
    for name, data in a.files.items():
        assert (dest / name).read_bytes() == data
    assert not list(dest.rglob("*.part"))
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {f["name"] for f in manifest["files"]} == set(a.files)
    assert len(_downloads(a)) == len(a.files)
    # A second run finds everything intact and downloads nothing.
    assert client.main(["download", str(a.release.pk), str(dest), "--quiet"]) == 0
    assert len(_downloads(a)) == len(a.files)


def test_download_resumes_from_a_partial_file(world, monkeypatch, capsys, tmp_path):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    dest = tmp_path / "out"
    dest.mkdir()
    have = 1024 * 1024 + 5
    (dest / "big.bin.part").write_bytes(BIG[:have])
    assert client.main(["download", str(a.release.pk), str(dest), "--quiet"]) == 0
    assert (dest / "big.bin").read_bytes() == BIG
    ranges = [d for d in _downloads(a) if d["file"] == "big.bin"]
    assert [r["range"] for r in ranges] == [f"{have}-{len(BIG) - 1}"]
    assert ranges[0]["bytes_sent"] == len(BIG) - have


def test_a_corrupted_file_fails_loudly_and_is_not_kept(world, monkeypatch, capsys, tmp_path):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    # Same size, different bytes: the server refuses to serve it (it hashes before serving)...
    path = Path(a.release.files_dir) / "big.bin"
    flipped = bytearray(BIG)
    flipped[12345] ^= 0xFF
    path.write_bytes(bytes(flipped))
    dest = tmp_path / "out"
    status = client.main(["download", str(a.release.pk), str(dest), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    assert "409 file_inconsistent" in err
    assert not (dest / "big.bin").exists()
    # ... and a server that did not check (an older one, a proxy cache) is caught by the client.
    from governance.api import downloads

    real = downloads.content_sha256
    monkeypatch.setattr(
        downloads,
        "content_sha256",
        lambda p: hashlib.sha256(BIG).hexdigest() if p.name == "big.bin" else real(p),
    )
    status = client.main(["download", str(a.release.pk), str(dest), "--quiet"])
    err = capsys.readouterr().err
    assert status == 3
    assert "SHA-256 mismatch" in err
    assert hashlib.sha256(BIG).hexdigest() in err
    assert not (dest / "big.bin").exists()
    assert not (dest / "big.bin.part").exists()


def test_a_manifest_hash_that_disagrees_with_the_server_etag_fails(
    world, monkeypatch, capsys, tmp_path
):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    manifest = a.release.manifest
    for f in manifest["files"]:
        if f["name"] == "big.bin":
            f["sha256"] = "0" * 64
    Release.objects.filter(pk=a.release.pk).update(manifest=manifest)
    # the server would refuse the file itself; test the client's own check of the ETag
    from governance.api import downloads

    real = downloads.content_sha256
    monkeypatch.setattr(
        downloads, "content_sha256", lambda p: "0" * 64 if p.name == "big.bin" else real(p)
    )
    status = client.main(["download", str(a.release.pk), str(tmp_path / "out"), "--quiet"])
    assert status == 3, capsys.readouterr().err
    assert not (tmp_path / "out" / "big.bin").exists()


def test_a_revoked_release_fails_with_the_reason(world, monkeypatch, capsys, tmp_path):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    Release.objects.filter(pk=a.release.pk).update(
        state=ReleaseState.REVOKED, revoked_at=timezone.now()
    )
    status = client.main(["download", str(a.release.pk), str(tmp_path / "out"), "--quiet"])
    assert status == 2
    assert "410 release_revoked" in capsys.readouterr().err


def test_another_organizations_release_is_not_found(world, monkeypatch, capsys, tmp_path):
    a, b, url = world
    _login(url, a.token, monkeypatch, capsys)
    status = client.main(["download", str(b.release.pk), str(tmp_path / "out"), "--quiet"])
    assert status == 2
    assert "404 not_found" in capsys.readouterr().err


def test_unsafe_manifest_names_are_refused_before_writing(world, monkeypatch, capsys, tmp_path):
    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    manifest = a.release.manifest
    manifest["files"].append({"name": "../escape.csv", "size": 1, "rows": 0, "sha256": "0" * 64})
    Release.objects.filter(pk=a.release.pk).update(manifest=manifest)
    dest = tmp_path / "out"
    assert client.main(["download", str(a.release.pk), str(dest), "--quiet"]) == 1
    assert "unsafe file name" in capsys.readouterr().err
    assert not dest.exists()
    assert not (tmp_path / "escape.csv").exists()


def test_not_logged_in(world, capsys):
    assert client.main(["releases"]) == 1
    assert "Not logged in" in capsys.readouterr().err


def test_listings_follow_pagination(world):
    import requests

    a, _, url = world
    from governance.services.tokens import token_create
    from tests.governance.api_support import _system_actor

    for i in range(2):
        token_create(person=a.user, organization=a.org, name=f"extra-{i}", actor=_system_actor())
    api = client.Api(url, a.token, requests.Session())
    tokens = client.list_all(api, "/api/v1/tokens/?page_size=1")
    assert len(tokens) == 3
    assert len({t["id"] for t in tokens}) == 3


def test_local_api_server_serves_the_client(world, tmp_path):
    import requests

    from governance.api.local_server import local_api_server

    a, _, _url = world
    with local_api_server() as base:
        api = client.Api(base, a.token, requests.Session())
        paths = client.download_release(api, a.release.pk, tmp_path / "local", quiet=True)
    assert {p.name for p in paths} == {"person.csv", "part-0.csv", "big.bin"}


def test_register_key_then_decrypt_a_genome_file(world, monkeypatch, capsys, tmp_path):
    from deid.genome.c4gh import encrypt_file, generate_keypair, parse_public_key
    from governance.models import Organization

    a, _, url = world
    _login(url, a.token, monkeypatch, capsys)
    generate_keypair(tmp_path / "org.sec", tmp_path / "org.pub")
    generate_keypair(tmp_path / "other.sec", tmp_path / "other.pub")
    assert client.main(["register-key", str(a.org.pk), str(tmp_path / "org.pub")]) == 0
    assert "SHA-256" in capsys.readouterr().out
    registered = Organization.objects.get(pk=a.org.pk).crypt4gh_public_key
    assert parse_public_key(registered) == parse_public_key((tmp_path / "org.pub").read_text())
    # what a release would hold: a file encrypted to the registered key
    plain = b"##fileformat=VCFv4.2\n"
    (tmp_path / "x.vcf").write_bytes(plain)
    (tmp_path / "d").mkdir()
    encrypt_file(tmp_path / "x.vcf", tmp_path / "d" / "x.vcf.c4gh", parse_public_key(registered))
    assert (
        client.main(
            [
                "decrypt",
                str(tmp_path / "d" / "x.vcf.c4gh"),
                "--secret-key",
                str(tmp_path / "other.sec"),
            ]
        )
        == 1
    )
    assert "cannot decrypt" in capsys.readouterr().err
    assert (
        client.main(
            [
                "decrypt",
                str(tmp_path / "d" / "x.vcf.c4gh"),
                "--secret-key",
                str(tmp_path / "org.sec"),
            ]
        )
        == 0
    )
    assert (tmp_path / "d" / "x.vcf").read_bytes() == plain
