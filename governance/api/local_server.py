"""Serve the API on 127.0.0.1 in a background thread (the demo and benchmarks use it).

    with local_api_server() as base_url:
        api = client.Api(base_url, token, requests.Session())
        client.download_release(api, release.pk, Path("var/downloads"), quiet=True)

Django's threaded development WSGI server: fine for a demo on loopback, not
for production (run the WSGI application under a real server there).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def local_api_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Start the server (any free port by default), yield its base URL, stop it on exit."""
    server = ThreadedWSGIServer((host, port), _QuietHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
