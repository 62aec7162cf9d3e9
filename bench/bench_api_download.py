"""Download throughput of the recipient API on one large release file.

    python -m bench.bench_api_download              # 512 MiB file
    python -m bench.bench_api_download --mb 64      # quick

A scratch SQLite database and release folder are created in a temp dir; a
published release with one file is served by Django's threaded WSGI server on
127.0.0.1. Measured in the same run, over loopback HTTP:

* baseline: the same file served by Python's ``http.server`` (a plain static
  file server, no authentication, no checks);
* API raw: ``GET /api/v1/releases/{id}/files/{name}`` with a Bearer token,
  body read and discarded (token check, visibility, download rule, streaming,
  revocation re-checks every 8 MiB, audit event at the end);
* API resume: a ``Range: bytes=N/2-`` request for the second half;
* deid-client: ``download_file`` end to end (progress bar off, write to disk,
  SHA-256 verification against the manifest, rename into place).

Numbers are MB/s (10^6 bytes per second) and ratios to the baseline.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _serve(server: Any) -> tuple[str, threading.Thread]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return f"http://{host}:{port}", thread


def _get(session: Any, url: str, headers: dict[str, str] | None = None) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    with session.get(url, headers=headers or {}, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1024 * 1024):
            n += len(chunk)
    return n, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=512, help="file size in MiB (default 512)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best kept)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'db.sqlite3'}"
    os.environ["DEID_RELEASES_DIR"] = str(tmp / "releases")
    os.environ["DEID_MEDIA_ROOT"] = str(tmp / "media")
    os.environ["DEID_API_RATE"] = "100000/min"
    os.environ["DEID_DOWNLOAD_RATE"] = "100000/min"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import requests
    from django.core.management import call_command

    from governance import client
    from tests.governance.api_support import make_world, write_release_files

    call_command("migrate", verbosity=0)
    a, _b = make_world(tmp / "releases")
    size = args.mb * 1024 * 1024
    block = os.urandom(1024 * 1024)
    data = block * args.mb
    write_release_files(a.release, {"big.bin": data}, tmp / "releases")
    sha = hashlib.sha256(data).hexdigest()
    del data
    folder = Path(a.release.files_dir)

    class QuietStatic(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    from governance.api.local_server import local_api_server

    server_cm = local_api_server()
    api_url = server_cm.__enter__()
    static = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietStatic, directory=str(folder))
    )
    static_url, _ = _serve(static)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {a.token}"}
    file_url = f"{api_url}/api/v1/releases/{a.release.pk}/files/big.bin"

    def best(fn: Any) -> tuple[int, float]:
        runs = [fn() for _ in range(args.repeat)]
        return min(runs, key=lambda r: r[1])

    results: dict[str, tuple[int, float]] = {}
    results["baseline http.server"] = best(lambda: _get(session, f"{static_url}/big.bin"))
    results["API raw"] = best(lambda: _get(session, file_url, auth))
    results["API resume (2nd half)"] = best(
        lambda: _get(session, file_url, {**auth, "Range": f"bytes={size // 2}-"})
    )

    def client_run() -> tuple[int, float]:
        dest = tmp / "out"
        for p in dest.glob("*"):
            p.unlink()
        api_client = client.Api(api_url, a.token, requests.Session())
        entry = {"name": "big.bin", "size": size, "sha256": sha}
        start = time.perf_counter()
        client.download_file(api_client, a.release.pk, entry, dest, quiet=True)
        return size, time.perf_counter() - start

    results["deid-client (write + SHA-256)"] = best(client_run)

    base = results["baseline http.server"]
    base_rate = base[0] / base[1] / 1e6
    print(f"file: {args.mb} MiB, best of {args.repeat}, loopback HTTP, {os.cpu_count()} CPUs")
    for name, (n, seconds) in results.items():
        rate = n / seconds / 1e6
        print(
            f"  {name:32s} {n / 1e6:9.1f} MB in {seconds:6.2f} s  {rate:8.1f} MB/s  x{rate / base_rate:.2f}"
        )
    server_cm.__exit__(None, None, None)
    static.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
