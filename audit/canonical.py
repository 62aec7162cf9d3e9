"""Canonical encoding and hashing of audit events (no database access).

An event's hash is SHA-256 over the UTF-8 bytes of a JSON object with sorted
keys, no insignificant whitespace and ``ensure_ascii=False``, holding every
field of the event and the previous event's hash::

    {"action": ..., "actor": {"client_ip", "role", "session", "token_id",
     "user_id", "username"}, "details": "<canonical details JSON text>",
     "object_id": ..., "object_type": ..., "prev_hash": ..., "seq": ...,
     "time": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "v": 1}

``details`` enter the hash as their stored canonical JSON *text*, so the hash
does not depend on how a database's JSON type normalizes numbers or key
order. Times are UTC with microseconds. An outside auditor can recompute the
chain from an export with nothing but this description (see ``export.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "EVENT_COLUMNS",
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "HASH_VERSION",
    "canonical_details",
    "canonical_event_bytes",
    "canonical_json",
    "event_hash",
    "format_time",
    "parse_time",
    "row_event_hash",
]

HASH_VERSION = 1
# The stored fields of an event that enter its hash, in column order, and the stored
# row (those and the hash itself): the one list verify, export, admin and bench use.
# CONTENT_FIELDS: what an event says (who, what, to what), without its time and place in
# the chain: all a pending event (batched sequencer) holds besides its time.
CONTENT_FIELDS = (
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_token_id",
    "actor_session",
    "actor_ip",
    "action",
    "object_type",
    "object_id",
    "details_json",
)
HASHED_FIELDS = ("seq", "time", *CONTENT_FIELDS, "prev_hash")
EVENT_COLUMNS = (*HASHED_FIELDS, "hash")
# prev_hash of the first event (seq 1).
GENESIS_HASH = "0" * 64

# A details key is refused when it names a secret; key *ids* and counts are fine.
_SECRET_KEY = re.compile(
    r"(password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|master[_-]?key|"
    r"key[_-]?material|raw[_-]?key|session[_-]?key|signing[_-]?key|^key$|^keys$|salt|"
    r"authorization|cookie|credential|otp|totp)",
    re.IGNORECASE,
)
_ALLOWED_SUFFIX = re.compile(
    r"(_id|_ids|_prefix|_name|_type|_count|_expires_at|_expiry|_created_at|_revoked_at|"
    r"_scope|_fingerprint|_ok|_valid|_verified)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(^bearer\s+\S|-----BEGIN [A-Z ]*PRIVATE KEY-----|^gdt_[0-9a-f]{12}_)", re.IGNORECASE
)
_MAX_DETAILS_BYTES = 64 * 1024


def canonical_json(value: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text, no NaN/Infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _check_secrets(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"audit details key at {path or '<root>'} must be a string, "
                    f"got {type(key).__name__}"
                )
            where = f"{path}.{key}" if path else key
            if _SECRET_KEY.search(key) and not _ALLOWED_SUFFIX.search(key):
                raise ValueError(
                    f"audit details must not carry secrets: key {where!r} names a secret "
                    "(record an id such as 'key_id' or 'token_id' instead)"
                )
            _check_secrets(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_secrets(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if _SECRET_VALUE.search(value):
            raise ValueError(
                f"audit details must not carry secrets: the value at {path or '<root>'} "
                "looks like a token or private key"
            )
        if "\x00" in value:
            raise ValueError(f"audit details value at {path or '<root>'} contains a NUL byte")


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Validate ``details`` and return their canonical JSON text.

    Raises ValueError when they are not a JSON object of JSON values, name a
    secret, or exceed 64 KiB.
    """
    if details is None:
        details = {}
    if not isinstance(details, Mapping):
        raise ValueError(f"audit details must be a mapping, got {type(details).__name__}")
    _check_secrets(details, "")
    try:
        text = canonical_json(dict(details))
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("audit details must be valid Unicode (no lone surrogates)") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit details must be JSON-serializable: {exc}") from None
    if size > _MAX_DETAILS_BYTES:
        raise ValueError(f"audit details are {size} bytes; the limit is {_MAX_DETAILS_BYTES}")
    return text


def format_time(value: datetime) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``: the one time format in the hash."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def canonical_event_bytes(
    *,
    seq: int,
    time: datetime | str,
    actor_user_id: int | None,
    actor_username: str,
    actor_role: str,
    actor_token_id: str,
    actor_session: str,
    actor_ip: str,
    action: str,
    object_type: str,
    object_id: str,
    details_json: str,
    prev_hash: str,
) -> bytes:
    """The exact bytes hashed for one event."""
    document = {
        "v": HASH_VERSION,
        "seq": int(seq),
        "time": time if isinstance(time, str) else format_time(time),
        "actor": {
            "user_id": actor_user_id,
            "username": actor_username,
            "role": actor_role,
            "token_id": actor_token_id,
            "session": actor_session,
            "client_ip": actor_ip,
        },
        "action": str(action),
        "object_type": object_type,
        "object_id": object_id,
        "details": details_json,
        "prev_hash": prev_hash,
    }
    return canonical_json(document).encode("utf-8")


def event_hash(**fields: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_event_bytes` for these fields."""
    return hashlib.sha256(canonical_event_bytes(**fields)).hexdigest()


# The string encoder json.dumps(ensure_ascii=False) itself uses (the C one when present).
_encode_str: Callable[[str], str] = (
    json.encoder.c_encode_basestring or json.encoder.py_encode_basestring  # type: ignore[attr-defined]
)
_ZERO = timedelta(0)


def _fast_time(value: datetime) -> str:
    if value.utcoffset() == _ZERO:
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return format_time(value)


def row_event_hash(
    seq: int,
    time: datetime,
    actor_user_id: int | None,
    actor_username: str,
    actor_role: str,
    actor_token_id: str,
    actor_session: str,
    actor_ip: str,
    action: str,
    object_type: str,
    object_id: str,
    details_json: str,
    prev_hash: str,
) -> str:
    """:func:`event_hash` for positional fields, about 1.6 times faster (for verification).

    Builds the same bytes as ``canonical_json`` by hand: keys in sorted order,
    strings escaped by the json module's own encoder. A test pins the two
    functions to each other.
    """
    e = _encode_str
    text = (
        f'{{"action":{e(action)},"actor":{{"client_ip":{e(actor_ip)},"role":{e(actor_role)},'
        f'"session":{e(actor_session)},"token_id":{e(actor_token_id)},'
        f'"user_id":{"null" if actor_user_id is None else int(actor_user_id)},'
        f'"username":{e(actor_username)}}},"details":{e(details_json)},'
        f'"object_id":{e(object_id)},"object_type":{e(object_type)},'
        f'"prev_hash":{e(prev_hash)},"seq":{int(seq)},"time":"{_fast_time(time)}",'
        f'"v":{HASH_VERSION}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
