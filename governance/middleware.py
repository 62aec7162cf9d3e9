"""The client's address and scheme, trusted only through the configured reverse proxies.

Behind a reverse proxy every request comes from the proxy's address. This middleware
(first in ``MIDDLEWARE``) rewrites ``REMOTE_ADDR`` to the real client only when the
immediate peer is a configured proxy (``DEID_TRUSTED_PROXIES``: addresses or networks):
it walks ``X-Forwarded-For`` from the right and takes the first address that is not a
trusted proxy. From any other peer the ``X-Forwarded-*`` headers are removed, so a
client cannot forge its address (for lockouts, throttling and the audit log) nor claim
HTTPS (``SECURE_PROXY_SSL_HEADER``). Everything downstream reads ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

__all__ = ["TrustedProxyMiddleware", "client_address", "remote_addr"]

_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(remote_addr: str, forwarded_for: str | None, proxies: Iterable[str]) -> str:
    """The client's address: ``remote_addr`` unless it is a trusted proxy, then the
    rightmost ``X-Forwarded-For`` entry that is not one (an invalid entry stops the walk)."""
    networks = _networks(tuple(proxies))
    if not _trusted(remote_addr, networks) or not forwarded_for:
        return remote_addr
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote_addr  # a malformed chain: trust nothing beyond the proxy
        if not _trusted(hop, networks):
            return hop
    return remote_addr


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        proxies = tuple(getattr(settings, "DEID_TRUSTED_PROXIES", ()) or ())
        meta = request.META
        peer = str(meta.get("REMOTE_ADDR", ""))
        if proxies and _trusted(peer, _networks(proxies)):
            meta["REMOTE_ADDR"] = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR"), proxies)
        else:
            for header in _FORWARDED:
                meta.pop(header, None)
        return self.get_response(request)


def remote_addr(request: HttpRequest) -> str:
    """The client address as resolved above (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""
    return str(request.META.get("REMOTE_ADDR", ""))
