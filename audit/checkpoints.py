"""Signed checkpoints of the chain head (Ed25519), in the database and as files.

A checkpoint states "the event with sequence ``seq`` has hash ``hash``",
signed at ``time`` with the audit signing key, which lives outside the
database (``settings.AUDIT_SIGNING_KEY_FILE``, PKCS#8 PEM, mode 0600). Since
every event's hash covers its predecessor's, a valid checkpoint vouches for
the whole chain up to ``seq``: whoever keeps checkpoint files (an auditor, a
hospital committee) can later prove that no event at or before ``seq`` was
edited, deleted, inserted or reordered, and that the log was not truncated
below ``seq``.

Checkpoint file (JSON)::

    {"type": "gangwon-deid-audit-checkpoint", "v": 1, "seq": 123,
     "hash": "<64 hex>", "time": "2026-11-29T23:00:00.000000Z",
     "key_id": "<SHA-256 hex of the raw 32-byte public key>",
     "public_key": "<raw public key, base64>", "signature": "<base64>"}

The signature is Ed25519 over the UTF-8 canonical JSON (sorted keys, no
spaces) of ``{"type", "v", "seq", "hash", "time", "key_id"}``. Verify it
against a public key you obtained independently (``audit_checkpoint
--export-public-key``), never against the ``public_key`` inside the file:
that one only says which key was used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.canonical import canonical_json, format_time

__all__ = [
    "CHECKPOINT_TYPE",
    "Checkpoint",
    "CheckpointFormatError",
    "SigningKeyError",
    "key_id",
    "load_checkpoint_file",
    "load_public_key",
    "load_signing_key",
    "public_key_b64",
    "sign_checkpoint",
    "signature_problem",
    "write_checkpoint_file",
]

CHECKPOINT_TYPE = "gangwon-deid-audit-checkpoint"
CHECKPOINT_VERSION = 1


class SigningKeyError(RuntimeError):
    """The audit signing key is missing, unreadable, or too widely readable."""


class CheckpointFormatError(ValueError):
    """A checkpoint file is not valid JSON of the documented shape."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed head, whether loaded from the database or from a file."""

    seq: int
    hash: str
    time: str
    key_id: str
    public_key: str
    signature: str
    source: str = ""

    def signed_bytes(self) -> bytes:
        return _signed_bytes(self.seq, self.hash, self.time, self.key_id)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        return {"type": CHECKPOINT_TYPE, "v": CHECKPOINT_VERSION, **data}


def _signed_bytes(seq: int, head_hash: str, time: str, kid: str) -> bytes:
    document = {
        "type": CHECKPOINT_TYPE,
        "v": CHECKPOINT_VERSION,
        "seq": int(seq),
        "hash": head_hash,
        "time": time,
        "key_id": kid,
    }
    return canonical_json(document).encode("utf-8")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw public key."""
    return hashlib.sha256(_raw_public(key)).hexdigest()


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(key)).decode("ascii")


def sign_checkpoint(
    private_key: Ed25519PrivateKey, *, seq: int, head_hash: str, time: datetime
) -> Checkpoint:
    """Sign (seq, hash, time) and return the checkpoint."""
    public = private_key.public_key()
    kid = key_id(public)
    stamp = format_time(time)
    signature = private_key.sign(_signed_bytes(seq, head_hash, stamp, kid))
    return Checkpoint(
        seq=int(seq),
        hash=head_hash,
        time=stamp,
        key_id=kid,
        public_key=public_key_b64(public),
        signature=base64.b64encode(signature).decode("ascii"),
    )


def signature_problem(
    checkpoint: Checkpoint, trusted_keys: Sequence[Ed25519PublicKey]
) -> str | None:
    """None when the checkpoint is signed by one of ``trusted_keys``; else what is wrong."""
    trusted = {key_id(k): k for k in trusted_keys}
    key = trusted.get(checkpoint.key_id)
    if key is None:
        return (
            f"signed with key {checkpoint.key_id[:16]}..., which is not a trusted audit key "
            f"(trusted: {', '.join(k[:16] + '...' for k in trusted) or 'none'})"
        )
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not valid base64"
    try:
        key.verify(signature, checkpoint.signed_bytes())
    except InvalidSignature:
        return "the signature does not match the checkpoint's seq, hash and time"
    return None


# --- files ----------------------------------------------------------------------------------


def load_checkpoint_file(path: Path) -> Checkpoint:
    """Read a checkpoint JSON file; CheckpointFormatError names what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointFormatError(f"{path}: cannot read checkpoint JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("type") != CHECKPOINT_TYPE:
        raise CheckpointFormatError(f"{path}: expected a JSON object with type {CHECKPOINT_TYPE!r}")
    if data.get("v") != CHECKPOINT_VERSION:
        raise CheckpointFormatError(
            f"{path}: unsupported checkpoint version {data.get('v')!r}; "
            f"expected {CHECKPOINT_VERSION}"
        )
    fields: dict[str, Any] = {}
    for name, kind in (
        ("seq", int),
        ("hash", str),
        ("time", str),
        ("key_id", str),
        ("public_key", str),
        ("signature", str),
    ):
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointFormatError(
                f"{path}: field {name!r} must be {kind.__name__}, got {type(value).__name__}"
            )
        fields[name] = value
    return Checkpoint(**fields, source=str(path))


def write_checkpoint_file(checkpoint: Checkpoint, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(checkpoint.to_json(), indent=2, sort_keys=True) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# --- keys --------------------------------------------------------------------------------------


def load_signing_key(path: Path, *, create: bool, strict_permissions: bool) -> Ed25519PrivateKey:
    """Load the Ed25519 private key at ``path``.

    ``create``: generate it (mode 0600, parent 0700) when missing; only for
    development. ``strict_permissions``: refuse a key readable by group or others.
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise SigningKeyError(
                f"the audit signing key {path} does not exist; create it out of band "
                "(an Ed25519 PKCS#8 PEM file, mode 0600) and set AUDIT_SIGNING_KEY_FILE"
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return key
    mode = path.stat().st_mode & 0o777
    if strict_permissions and mode & 0o077:
        raise SigningKeyError(
            f"the audit signing key {path} has mode {mode:o}; expected 600 (owner only)"
        )
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # The exception text never contains key bytes.
        raise SigningKeyError(f"cannot load the audit signing key {path}: {exc}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"the audit signing key {path} is not an Ed25519 private key")
    return loaded


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A trusted public key from a PEM file, a private-key PEM, or raw base64 text."""
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 key")
        return private.public_key()
    if b"PUBLIC KEY" in data:
        public = serialization.load_pem_public_key(data)
        if not isinstance(public, Ed25519PublicKey):
            raise SigningKeyError(f"{path} is not an Ed25519 public key")
        return public
    try:
        raw = base64.b64decode(data.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise SigningKeyError(
            f"{path}: expected a PEM public key or a base64 raw Ed25519 key"
        ) from None


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def stored_checkpoints(using: str) -> list[Checkpoint]:
    """Every checkpoint kept in the database, oldest first."""
    from audit.models import AuditCheckpoint

    return [
        Checkpoint(
            seq=row.seq,
            hash=row.hash,
            time=format_time(row.time),
            key_id=row.key_id,
            public_key=row.public_key,
            signature=row.signature,
            source=f"database checkpoint #{row.pk}",
        )
        for row in AuditCheckpoint.objects.using(using).order_by("seq", "id")
    ]


def unique_keys(keys: Iterable[Ed25519PublicKey]) -> list[Ed25519PublicKey]:
    seen: dict[str, Ed25519PublicKey] = {}
    for key in keys:
        seen.setdefault(key_id(key), key)
    return list(seen.values())
