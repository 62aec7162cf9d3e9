"""Streaming file downloads: HTTP Range, ETag/Digest, signed links.

The pieces here know nothing of releases: a file, a byte range, a callback
that says whether the download may go on, and a callback that records what
was sent. The view (``views.ReleaseFileView``) puts them together; what is
audited (links, downloads, refusals) is :mod:`governance.services.downloads`.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.core import signing
from django.http import StreamingHttpResponse

from governance.api.exceptions import NotFound, RangeNotSatisfiable

CHUNK_SIZE = 256 * 1024
# Re-check that the download is still allowed every this many chunks (8 MiB):
# a revocation or expiry stops a running download within one such window.
CHECK_EVERY_CHUNKS = 32
# The full download rule (IRB and DUA valid today) is re-checked at most this often
# during one download; revocation and expiry are checked at every CHECK_EVERY_CHUNKS.
FULL_CHECK_SECONDS = 10.0

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)

SIGNED_LINK_SALT = "governance.api.download-link"
SIGNED_LINK_MAX_SECONDS = 15 * 60


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range [start, end] of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def is_full(self) -> bool:
        return self.start == 0 and self.end == self.size - 1

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range a ``Range`` header asks for, or None for the whole file.

    ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` are honoured. A header that is
    not a single bytes range (several ranges, another unit, garbage) is ignored,
    as RFC 9110 allows: the whole file is sent. A well-formed range that lies
    outside the file raises RangeNotSatisfiable (416).
    """
    if not header:
        return None
    m = _RANGE_RE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(size=size)
        return ByteRange(max(0, size - n), size - 1, size)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # syntactically invalid: ignore
    if start >= size:
        raise RangeNotSatisfiable(size=size)
    end = int(last) if last != "" else size - 1
    return ByteRange(start, min(end, size - 1), size)


def sha256_etag(sha256_hex: str) -> str:
    """A strong ETag from the file's SHA-256 (the same bytes, the same tag)."""
    return f'"sha256-{sha256_hex}"'


def digest_headers(sha256_hex: str) -> dict[str, str]:
    """``Repr-Digest`` (RFC 9530) and legacy ``Digest`` (RFC 3230) for the whole file."""
    b64 = base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")
    return {"Repr-Digest": f"sha-256=:{b64}:", "Digest": f"SHA-256={b64}"}


def if_range_allows(if_range: str | None, etag: str) -> bool:
    """Honour Range only when If-Range is absent or names the current ETag (strong match)."""
    if not if_range:
        return True
    return if_range.strip() == etag


@dataclass
class StreamResult:
    """What a stream sent; filled in while it runs, read by the on_close callback."""

    bytes_sent: int = 0
    completed: bool = False
    stopped_reason: str | None = None


def stream_file(
    fh: BinaryIO,
    byte_range: ByteRange,
    *,
    still_allowed: Callable[[], str | None],
    on_close: Callable[[StreamResult], None],
    chunk_size: int = CHUNK_SIZE,
    check_every: int = CHECK_EVERY_CHUNKS,
) -> Iterator[bytes]:
    """Yield the bytes of ``byte_range`` from ``fh`` in chunks, never the whole file.

    Before every ``check_every``-th chunk (after the first), ``still_allowed()``
    is asked again; when it returns a reason (revoked, expired...), or cannot answer
    (``check_failed``: the database is away), the stream stops there: the client sees a
    short body and must ask again, and then gets the error. ``on_close`` runs exactly once, however the stream ends
    (finished, stopped, client gone), with the bytes handed to the server; a
    finished download is recorded just before its last chunk goes out.
    """
    result = StreamResult()
    remaining = byte_range.length
    chunks = 0
    recorded = False
    try:
        fh.seek(byte_range.start)
        while remaining > 0:
            if chunks and chunks % check_every == 0:
                try:
                    reason = still_allowed()
                except Exception:  # e.g. the database went away: cannot tell, so stop
                    reason = "check_failed"
                if reason is not None:
                    result.stopped_reason = reason
                    return
            data = fh.read(min(chunk_size, remaining))
            if not data:
                result.stopped_reason = "file_truncated"
                return
            remaining -= len(data)
            chunks += 1
            result.bytes_sent += len(data)
            if remaining == 0:
                # Record before handing over the last chunk, so the record exists by the
                # time the client has the whole file.
                result.completed = True
                recorded = True
                on_close(result)
            yield data
    finally:
        fh.close()
        if not recorded:
            if result.completed is False and not result.stopped_reason:
                # The client went away: the last chunk counted may not have been delivered.
                result.stopped_reason = "client_closed"
            on_close(result)


def streaming_response(
    chunks: Iterator[bytes],
    *,
    byte_range: ByteRange,
    partial: bool,
    filename: str,
    sha256_hex: str,
    content_type: str,
) -> StreamingHttpResponse:
    """A 200 or 206 streaming response with Content-Length, ETag and digests."""
    response = StreamingHttpResponse(
        chunks, status=206 if partial else 200, content_type=content_type
    )
    response["Content-Length"] = str(byte_range.length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = sha256_etag(sha256_hex)
    for name, value in digest_headers(sha256_hex).items():
        response[name] = value
    if partial:
        response["Content-Range"] = byte_range.content_range()
    # The name comes from the manifest and is validated by the caller; quote it anyway.
    safe = filename.replace("\\", "_").replace('"', "_")
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def content_type_for(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return {
        ".csv": "text/csv; charset=utf-8",
        ".parquet": "application/vnd.apache.parquet",
        ".json": "application/json",
        ".jsonl": "application/x-ndjson",
        ".txt": "text/plain; charset=utf-8",
    }.get(suffix, "application/octet-stream")


# --- Signed links ---------------------------------------------------------------


@dataclass(frozen=True)
class SignedLink:
    """What a signed link grants: one file of one release, to one person, until ``max_age``."""

    person_id: int
    token_id: int | None
    release_id: int
    name: str


def sign_link(link: SignedLink) -> str:
    """An opaque, URL-safe, tamper-proof value naming person, token, release and file."""
    payload: dict[str, Any] = {
        "p": link.person_id,
        "t": link.token_id,
        "r": link.release_id,
        "n": link.name,
    }
    return signing.dumps(payload, salt=SIGNED_LINK_SALT, compress=True)


def unsign_link(value: str, *, max_age: int = SIGNED_LINK_MAX_SECONDS) -> SignedLink:
    """The grant of a signed link; a forged, altered or expired link is 404 (no detail)."""
    try:
        data = signing.loads(value, salt=SIGNED_LINK_SALT, max_age=max_age)
    except (signing.BadSignature, ValueError):
        raise NotFound() from None
    try:
        token_id = data["t"]
        return SignedLink(
            person_id=int(data["p"]),
            token_id=int(token_id) if token_id is not None else None,
            release_id=int(data["r"]),
            name=str(data["n"]),
        )
    except (KeyError, TypeError, ValueError):
        raise NotFound() from None


# --- Paths ------------------------------------------------------------------------

_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")


def safe_file_path(base_dir: Path, name: str, listed: set[str]) -> Path:
    """The path of manifest file ``name`` inside ``base_dir``, or 404.

    Only names listed in the manifest are served; each segment must be a plain
    name (no ``..``, no absolute path, no backslash) and the resolved path must
    stay inside ``base_dir`` (symlinks included).
    """
    if name not in listed:
        raise NotFound()
    segments = name.split("/")
    if not all(_SEGMENT_RE.match(s) and s not in {".", ".."} for s in segments):
        raise NotFound()
    base = base_dir.resolve()
    path = base.joinpath(*segments).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise NotFound()
    return path


# --- Content checked before it is served --------------------------------------------------
# A published file is hashed once per process and per version of the file on disk (path,
# size, mtime, ctime, inode: ctime cannot be set back by a user-space tool), so a file
# changed after publication is caught before its first byte is served; unchanged files are
# not read twice.
_VERIFIED: dict[tuple[str, int, int, int, int], str] = {}
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_MAX = 50_000


def content_sha256(path: Path) -> str:
    """The SHA-256 of the file as it is on disk now (cached per file version)."""
    from deid.sinks import file_sha256

    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    with _VERIFIED_LOCK:
        hit = _VERIFIED.get(key)
    if hit is not None:
        return hit
    digest = file_sha256(path)
    with _VERIFIED_LOCK:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[key] = digest
    return digest
