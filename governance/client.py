"""``deid-client``: a small command-line client for recipients of releases.

    deid-client login [--url URL] [--token-stdin]     store the API URL and token
    deid-client requests                              my organization's requests
    deid-client releases                              my organization's releases
    deid-client download RELEASE_ID DIR               fetch every file, resume, verify

The token is stored in ``$DEID_CLIENT_CONFIG`` (default
``~/.config/deid-client/config.json``, mode 0600); ``DEID_API_URL`` and
``DEID_API_TOKEN`` override it. Downloads go to ``DIR/<name>.part`` first,
resume from there with an HTTP Range request, are verified against the
manifest's SHA-256, and only then renamed to ``DIR/<name>``. A mismatch is an
error (exit status 3) and the bad file is removed, never kept under its name.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import requests
from tqdm import tqdm

DEFAULT_URL = "http://127.0.0.1:8000"
CHUNK = 1024 * 1024
TIMEOUT = (10, 60)  # connect, read (seconds)
MAX_ATTEMPTS = 5


class ClientError(Exception):
    """A failure to report to the user (exit status ``status``)."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class IntegrityError(ClientError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=3)


# --- Configuration ------------------------------------------------------------------


def config_path() -> Path:
    env = os.environ.get("DEID_CLIENT_CONFIG")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "deid-client" / "config.json"


def load_config() -> dict[str, str]:
    path = config_path()
    data: dict[str, str] = {}
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
    if os.environ.get("DEID_API_URL"):
        data["url"] = os.environ["DEID_API_URL"]
    if os.environ.get("DEID_API_TOKEN"):
        data["token"] = os.environ["DEID_API_TOKEN"]
    return data


def save_config(url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Create with 0600 before writing the token into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": url, "token": token}, fh)
    os.chmod(path, 0o600)
    return path


# --- HTTP ----------------------------------------------------------------------------


@dataclass
class Api:
    url: str
    token: str
    session: requests.Session

    @classmethod
    def from_config(cls, session: requests.Session | None = None) -> Api:
        cfg = load_config()
        if not cfg.get("token"):
            raise ClientError("Not logged in: run `deid-client login` (or set DEID_API_TOKEN).")
        return cls(
            cfg.get("url", DEFAULT_URL).rstrip("/"), cfg["token"], session or requests.Session()
        )

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            **(extra or {}),
        }

    def get_json(self, path: str) -> Any:
        response = self.session.get(self.url + path, headers=self._headers(), timeout=TIMEOUT)
        check(response)
        return response.json()

    def put_json(self, path: str, body: dict[str, Any]) -> Any:
        response = self.session.put(
            self.url + path, json=body, headers=self._headers(), timeout=TIMEOUT
        )
        check(response)
        return response.json()

    def get_stream(self, path: str, headers: dict[str, str]) -> requests.Response:
        response = self.session.get(
            self.url + path, headers=self._headers(headers), timeout=TIMEOUT, stream=True
        )
        if response.status_code >= 400:
            check(response)
        return response


def check(response: requests.Response) -> None:
    """Raise ClientError with the API's code and message for an error response."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        code, message = body.get("code", "error"), body.get("message", "")
    except ValueError:
        code, message = "error", response.text[:200]
    raise ClientError(f"HTTP {response.status_code} {code}: {message}", status=2)


def list_all(api: Api, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated list endpoint (follows the ``next`` links)."""
    items: list[dict[str, Any]] = []
    page: Any = api.get_json(path)
    while True:
        if not (isinstance(page, dict) and "results" in page):
            return items + list(page)
        items += page["results"]
        nxt = page.get("next")
        if not nxt:
            return items
        if not str(nxt).startswith(api.url + "/"):
            # Follow only links on the same server (the token is sent with them).
            nxt = "/" + str(nxt).split("/", 3)[-1]
            page = api.get_json(nxt)
        else:
            page = api.get_json(str(nxt)[len(api.url) :])


# --- Download ----------------------------------------------------------------------------


def safe_name(name: str) -> PurePosixPath:
    """A manifest file name as a relative path; refuse anything that could escape DIR."""
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or "\\" in name
        or any(part in {"", ".", ".."} for part in name.split("/"))
    ):
        raise ClientError(f"Refusing unsafe file name in the manifest: {name!r}")
    return path


def sha256_file(path: Path) -> str:
    return str(_sha256_of(path).hexdigest())


def _sha256_of(path: Path) -> Any:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h


def download_file(
    api: Api, release_id: int | str, entry: dict[str, Any], dest_dir: Path, *, quiet: bool = False
) -> Path:
    """Fetch one manifest file into ``dest_dir``: resume, verify, then rename into place."""
    name, size, expected = entry["name"], int(entry["size"]), str(entry["sha256"]).lower()
    final = dest_dir.joinpath(*safe_name(name).parts)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.is_file() and final.stat().st_size == size and sha256_file(final) == expected:
        return final  # already here and intact
    part = final.with_name(final.name + ".part")
    url = f"/api/v1/releases/{release_id}/files/{name}"
    etag = f'"sha256-{expected}"'
    hasher: Any = None
    hashed = 0
    for _attempt in range(MAX_ATTEMPTS):
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        if have == size:
            break
        headers = {"Range": f"bytes={have}-", "If-Range": etag} if have else {}
        with api.get_stream(url, headers) as response:
            if response.status_code == 200:
                have = 0  # the server sent the whole file: start over
            elif response.status_code != 206:
                check(response)
                raise ClientError(f"{name}: unexpected HTTP {response.status_code}")
            server_etag = response.headers.get("ETag")
            if server_etag and server_etag != etag:
                raise IntegrityError(
                    f"{name}: the server's ETag {server_etag} does not match the manifest's "
                    f"SHA-256 {expected}"
                )
            mode = "ab" if have else "wb"
            # Hash while writing (the part already on disk is read once, on resume).
            hasher = _sha256_of(part) if have else hashlib.sha256()
            hashed = have
            with (
                part.open(mode) as out,
                tqdm(
                    total=size,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=name,
                    disable=quiet,
                    leave=True,
                ) as bar,
            ):
                try:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        hasher.update(chunk)
                        hashed += len(chunk)
                        bar.update(len(chunk))
                except requests.RequestException:
                    continue  # connection lost: resume from what we have
    have = part.stat().st_size if part.exists() else 0
    if have != size:
        # Stopped early (the release may have been revoked): ask once more for the reason.
        response = api.get_stream(url, {"Range": f"bytes={have}-"})
        response.close()
        raise ClientError(f"{name}: download incomplete ({have} of {size} bytes)")
    # The running hash covers the file only if the last attempt wrote it to the end.
    got = hasher.hexdigest() if hasher is not None and hashed == size else sha256_file(part)
    if got != expected:
        part.unlink()
        raise IntegrityError(
            f"{name}: SHA-256 mismatch: the manifest says {expected}, the file has {got}. "
            "The partial file was removed; nothing was kept under this name."
        )
    os.replace(part, final)
    return final


def download_release(
    api: Api, release_id: int | str, dest_dir: Path, *, quiet: bool = False
) -> list[Path]:
    manifest = api.get_json(f"/api/v1/releases/{release_id}/")
    files = manifest.get("files") or []
    if not files:
        raise ClientError(f"Release {release_id} lists no files.")
    for entry in files:
        safe_name(entry["name"])  # refuse the whole release before writing anything
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = [download_file(api, release_id, entry, dest_dir, quiet=quiet) for entry in files]
    (dest_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return paths


# --- Commands ------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    url = (args.url or load_config().get("url") or DEFAULT_URL).rstrip("/")
    if args.token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = getpass.getpass("API token: ").strip()
    if not token:
        raise ClientError("No token given.")
    api = Api(url, token, requests.Session())
    api.get_json("/api/v1/releases/")  # fails loudly on a bad token or URL
    path = save_config(url, token)
    print(f"Logged in to {url}; token stored in {path}")
    return 0


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def cmd_requests(args: argparse.Namespace) -> int:
    rows = list_all(Api.from_config(), "/api/v1/requests/")
    _print_table(rows, ["id", "title", "state", "submitted_at"])
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    rows = list_all(Api.from_config(), "/api/v1/releases/")
    _print_table(rows, ["id", "name", "state", "published_at", "expires_at"])
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    paths = download_release(Api.from_config(), args.release_id, Path(args.dir), quiet=args.quiet)
    print(
        f"{len(paths)} file(s) downloaded to {args.dir} and verified against the manifest (SHA-256)."
    )
    return 0


def cmd_register_key(args: argparse.Namespace) -> int:
    """Register the organization's Crypt4GH public key (genome files are encrypted to it)."""
    text = Path(args.public_key).read_text(encoding="ascii")
    body = Api.from_config().put_json(
        f"/api/v1/organizations/{args.organization}/crypt4gh-key/", {"public_key": text}
    )
    print(
        f"Crypt4GH key registered for organization {body['organization']}: "
        f"SHA-256 {body['fingerprint_sha256']}"
    )
    return 0


def cmd_decrypt(args: argparse.Namespace) -> int:
    """Decrypt downloaded genome files (``*.c4gh``) with the organization's secret key."""
    from deid.errors import DeidError
    from deid.genome.c4gh import decrypt_file, read_secret_key

    try:
        key = read_secret_key(args.secret_key, os.environ.get("C4GH_PASSPHRASE"))
        for name in args.files:
            src = Path(name)
            if not src.name.endswith(".c4gh"):
                raise ClientError(f"{src}: not a Crypt4GH file (*.c4gh)")
            dst = src.with_name(src.name.removesuffix(".c4gh"))
            decrypt_file(src, dst, key)
            print(f"{src} -> {dst}")
    except DeidError as exc:
        raise ClientError(str(exc)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deid-client", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("login", help="store the API URL and your token")
    p.add_argument("--url", help=f"API base URL (default {DEFAULT_URL})")
    p.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    p.set_defaults(func=cmd_login)
    p = sub.add_parser("requests", help="list your organization's data access requests")
    p.set_defaults(func=cmd_requests)
    p = sub.add_parser("releases", help="list your organization's releases")
    p.set_defaults(func=cmd_releases)
    p = sub.add_parser("download", help="download and verify every file of a release")
    p.add_argument("release_id")
    p.add_argument("dir")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_download)
    p = sub.add_parser(
        "register-key", help="register your organization's Crypt4GH public key (crypt4gh-keygen)"
    )
    p.add_argument("organization", type=int, help="your organization's id")
    p.add_argument("public_key", help="the .pub file")
    p.set_defaults(func=cmd_register_key)
    p = sub.add_parser(
        "decrypt",
        help="decrypt downloaded *.c4gh genome files (passphrase from C4GH_PASSPHRASE if locked)",
    )
    p.add_argument("files", nargs="+")
    p.add_argument("--secret-key", required=True, help="your organization's Crypt4GH secret key")
    p.set_defaults(func=cmd_decrypt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ClientError as exc:
        print(f"deid-client: error: {exc}", file=sys.stderr)
        return exc.status
    except requests.RequestException as exc:
        print(f"deid-client: error: cannot reach the API: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
