"""API access rules: tokens, organization scoping (404 across organizations), states, throttling."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from governance.models import Membership, ReleaseState
from governance.models.tokens import ApiToken
from tests.governance.api_support import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings, tmp_path):
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    a, b = make_world(tmp_path / "releases")
    yield a, b
    cache.clear()


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def _endpoints(target):
    """Every endpoint, aimed at ``target``'s objects: (method, url, json body)."""
    rel, req = target.release.pk, target.request.pk
    return [
        ("get", f"/api/v1/releases/{rel}/", None),
        ("get", f"/api/v1/releases/{rel}/files/person.csv", None),
        ("head", f"/api/v1/releases/{rel}/files/person.csv", None),
        ("get", f"/api/v1/releases/{rel}/files/notes/part-0.csv", None),
        ("post", f"/api/v1/releases/{rel}/links/", {"name": "person.csv"}),
        ("get", f"/api/v1/requests/{req}/", None),
        ("post", f"/api/v1/requests/{req}/submit/", {}),
        ("get", f"/api/v1/tokens/{target.token_id}/", None),
        ("delete", f"/api/v1/tokens/{target.token_id}/", None),
    ]


def _call(client, method, url, body):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


# --- Authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/releases/", "/api/v1/requests/", "/api/v1/tokens/", "/api/v1/releases/1/"]
)
def test_no_token_is_401_with_a_json_error(world, url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer gdt_0123456789ab_" + "A" * 43,
        "Bearer nonsense",
        "Bearer",
        "Bearer a b",
        "Token gdt_0123456789ab_" + "A" * 43,
    ],
)
def test_bad_tokens_are_401(world, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/releases/")
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}
    assert "gdt_0123456789ab_" not in response.content.decode()  # never echoed


def test_a_token_with_a_right_prefix_and_wrong_secret_is_401(world):
    a, _ = world
    prefix = a.token.split("_")[1]
    forged = f"gdt_{prefix}_" + "B" * 43
    assert Client(HTTP_AUTHORIZATION=f"Bearer {forged}").get("/api/v1/releases/").status_code == 401


def test_expired_token_is_401(world):
    a, _ = world
    assert a.client().get("/api/v1/releases/").status_code == 200
    ApiToken.objects.filter(pk=a.token_id).update(
        created_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(days=1)
    )
    response = a.client().get("/api/v1/releases/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_revoked_token_is_401_at_once(world):
    a, _ = world
    client = a.client()
    response = client.delete(f"/api/v1/tokens/{a.token_id}/")
    assert response.status_code == 200
    assert response.json()["active"] is False
    response = client.get("/api/v1/releases/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    event = AuditEvent.objects.filter(action="token.revoked").get()
    assert a.token not in event.details_json
    assert event.actor_token_id == a.token.split("_")[1]


def test_person_removed_from_the_organization_loses_access(world):
    a, _ = world
    Membership.objects.filter(user=a.user, organization=a.org).delete()
    assert a.client().get("/api/v1/releases/").status_code == 401


def test_tokens_are_stored_hashed_and_shown_once(world):
    a, _ = world
    response = a.client().post(
        "/api/v1/tokens/", {"name": "notebook"}, content_type="application/json"
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert raw not in {row.token_hash, row.prefix, str(row)}
    assert row.organization == a.org
    listing = a.client().get("/api/v1/tokens/").json()
    assert raw not in str(listing)
    assert {t["name"] for t in listing["results"]} == {"pipeline", "notebook"}
    assert a.client(raw).get("/api/v1/releases/").status_code == 200
    created = AuditEvent.objects.filter(action="token.created").order_by("seq").last()
    assert raw not in created.details_json


def test_a_token_cannot_mint_a_longer_lived_token(world):
    a, _ = world
    parent = ApiToken.objects.get(pk=a.token_id)
    far = (parent.expires_at + timedelta(days=30)).isoformat()
    response = a.client().post(
        "/api/v1/tokens/", {"name": "child", "expires_at": far}, content_type="application/json"
    )
    assert response.status_code == 201
    child = ApiToken.objects.get(pk=response.json()["id"])
    assert child.expires_at <= parent.expires_at


def test_a_person_logged_in_by_session_creates_a_token(world):
    a, _ = world
    browser = Client()
    browser.force_login(a.user)
    response = browser.post("/api/v1/tokens/", {"name": "laptop"}, content_type="application/json")
    assert response.status_code == 201
    assert ApiToken.objects.get(pk=response.json()["id"]).organization == a.org


def test_token_lifetime_is_bounded(world):
    a, _ = world
    browser = Client()
    browser.force_login(a.user)
    far = (timezone.now() + timedelta(days=4000)).isoformat()
    response = browser.post(
        "/api/v1/tokens/", {"name": "forever", "expires_at": far}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()["fields"]


def test_issue_token_prints_the_token_last(world):
    a, _ = world
    out = io.StringIO()
    call_command("issue_token", a.user.username, stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("gdt_")
    assert a.client(token).get("/api/v1/releases/").status_code == 200


# --- Organization scoping ---------------------------------------------------------------------


def test_each_organization_lists_only_its_own(world):
    a, b = world
    listed = a.client().get("/api/v1/releases/").json()["results"]
    assert [r["id"] for r in listed] == [a.release.pk]
    listed = b.client().get("/api/v1/requests/").json()["results"]
    assert [r["id"] for r in listed] == [b.request.pk]


def test_organization_a_gets_404_on_every_endpoint_of_organization_b(world):
    a, b = world
    client = a.client()
    for method, url, body in _endpoints(b):
        response = _call(client, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)
        if method != "head":
            assert response.json() == {"code": "not_found", "message": "Not found."}
    # B's objects are untouched and B still reads them.
    assert b.client().get(f"/api/v1/releases/{b.release.pk}/").status_code == 200
    assert ApiToken.objects.get(pk=b.token_id).revoked_at is None


def test_unpublished_releases_are_invisible_to_the_recipient(world):
    a, _ = world
    type(a.release).objects.filter(pk=a.release.pk).update(
        state=ReleaseState.APPROVED, published_at=None, expires_at=None
    )
    assert a.client().get(f"/api/v1/releases/{a.release.pk}/").status_code == 404
    assert _get_file_status(a) == 404


def _get_file_status(recipient):
    response = recipient.client().get(f"/api/v1/releases/{recipient.release.pk}/files/person.csv")
    return response.status_code


def test_404_for_another_org_is_indistinguishable_from_a_missing_object(world):
    a, b = world
    client = a.client()
    other = client.get(f"/api/v1/releases/{b.release.pk}/")
    missing = client.get("/api/v1/releases/999999/")
    assert (other.status_code, other.content) == (missing.status_code, missing.content)


def test_every_endpoint_works_for_the_owner(world):
    a, _ = world
    client = a.client()
    for method, url, body in _endpoints(a):
        response = _call(client, method, url, body)
        # The request is already approved: submitting it again is a wrong state (409).
        expected = {409} if url.endswith("/submit/") else {200, 201}
        assert response.status_code in expected, (method, url, response.status_code)
        _body(response)


# --- Release states ------------------------------------------------------------------------------


def _get_file(recipient, name="person.csv", **headers):
    return recipient.client().get(
        f"/api/v1/releases/{recipient.release.pk}/files/{name}", **headers
    )


def test_manifest_lists_files_schema_report_and_terms(world):
    a, _ = world
    body = a.client().get(f"/api/v1/releases/{a.release.pk}/").json()
    files = {f["name"]: f for f in body["files"]}
    assert set(files) == {"person.csv", "notes/part-0.csv"}
    manifest = {f["name"]: f for f in a.release.manifest["files"]}
    for name, entry in files.items():
        assert entry["sha256"] == manifest[name]["sha256"]
        assert entry["size"] == manifest[name]["size"]
        assert entry["rows"] == manifest[name]["rows"]
    classes = {c["name"]: c["class"] for c in body["schema"]["person"]["columns"]}
    assert classes == {"person_pseudonym": "pseudonymized", "age_band": "quasi"}
    assert body["schema"]["person"]["rows"] == 500
    assert body["privacy_report"]["k"] == 5
    assert body["dua"]["prohibits_reidentification"] is True
    assert body["expires_at"]
    viewed = AuditEvent.objects.filter(action="release.manifest_viewed").get()
    assert viewed.object_id == str(a.release.pk)
    assert viewed.actor_user_id == a.user.pk


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            {"state": ReleaseState.REVOKED, "revoked_at": "now"},
            410,
            "release_revoked",
        ),
        ({"state": ReleaseState.EXPIRED}, 410, "release_expired"),
        ({"expires_at": "past"}, 410, "release_expired"),
    ],
)
def test_release_state_gates_manifest_and_download(world, change, status, code):
    a, _ = world
    now = timezone.now()
    values = {
        k: (now if v == "now" else now - timedelta(seconds=1) if v == "past" else v)
        for k, v in change.items()
    }
    type(a.release).objects.filter(pk=a.release.pk).update(**values)
    for response in (
        a.client().get(f"/api/v1/releases/{a.release.pk}/"),
        _get_file(a),
        a.client().post(
            f"/api/v1/releases/{a.release.pk}/links/",
            {"name": "person.csv"},
            content_type="application/json",
        ),
    ):
        assert response.status_code == status
        assert response.json()["code"] == code
    assert a.release.pk not in [
        r["id"] for r in a.client().get("/api/v1/releases/").json()["results"]
    ]
    denied = AuditEvent.objects.filter(action="file.download_denied")
    assert denied.exists()


@pytest.mark.parametrize("which", ["dua", "irb"])
def test_download_stops_when_the_dua_or_irb_is_no_longer_valid(world, which):
    a, _ = world
    today = timezone.localdate()
    if which == "dua":
        a.request.duas.update(
            expires_on=today - timedelta(days=1), effective_on=today - timedelta(days=20)
        )
    else:
        a.request.irb_approvals.update(
            expires_on=today - timedelta(days=1), approved_on=today - timedelta(days=60)
        )
    response = _get_file(a)
    assert response.status_code == 410
    assert response.json()["code"] == f"{which}_invalid"


def test_a_dua_not_naming_the_recipient_does_not_count(world):
    a, b = world
    dua = a.request.duas.get()
    dua.parties.set([b.org])
    assert _get_file(a).status_code == 410


def test_unlisted_and_traversal_names_are_404(world, tmp_path):
    a, _ = world
    (tmp_path / "releases" / "secret.txt").write_text("not in any manifest")
    for name in ["manifest.json", "../secret.txt", "..%2Fsecret.txt", "missing.csv", "notes"]:
        response = _get_file(a, name)
        assert response.status_code == 404, name


# --- Throttling -----------------------------------------------------------------------------


def test_throttling_is_per_token(world, settings):
    a, b = world
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min", "download": "100/min"},
    }
    client = a.client()
    codes = [client.get("/api/v1/releases/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/releases/")
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1
    # Another token (even of the same person) has its own budget.
    assert b.client().get("/api/v1/releases/").status_code == 200


def test_downloads_have_their_own_budget(world, settings):
    a, _ = world
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100/min", "download": "2/min"},
    }
    codes = []
    for _ in range(3):
        response = _get_file(a)
        _body(response)
        codes.append(response.status_code)
    assert codes == [200, 200, 429]
    assert a.client().get("/api/v1/releases/").status_code == 200


# --- Schema and docs ---------------------------------------------------------------------------


def test_schema_and_docs_are_served_locally(world):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/releases/",
        "/api/v1/releases/{id}/",
        "/api/v1/releases/{id}/files/{name}",
        "/api/v1/requests/",
        "/api/v1/tokens/",
    ]:
        assert path in paths
    assert "bearerAuth" in schema.json()["components"]["securitySchemes"]
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


# --- Recipient encryption key ------------------------------------------------------------------


def test_recipient_registers_its_crypt4gh_key_and_nobody_elses(world, tmp_path):
    from deid.genome.c4gh import generate_keypair

    a, b = world
    public = generate_keypair(tmp_path / "k.sec", tmp_path / "k.pub")
    url = f"/api/v1/organizations/{a.org.pk}/crypt4gh-key/"
    assert a.client().get(url).json()["fingerprint_sha256"] is None
    response = a.client().put(url, {"public_key": public}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["organization"] == a.org.pk
    assert len(body["fingerprint_sha256"]) == 64
    assert a.client().get(url).json() == body
    # another organization's member sees no such organization (404, not 403)
    assert b.client().get(url).status_code == 404
    assert (
        b.client().put(url, {"public_key": public}, content_type="application/json").status_code
        == 404
    )
    bad = a.client().put(url, {"public_key": "nope"}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation"
    event = AuditEvent.objects.filter(action="key.recipient_registered").get()
    assert event.object_id == str(a.org.pk)
