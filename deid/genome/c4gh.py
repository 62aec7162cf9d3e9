"""Per-recipient encryption of genome files with Crypt4GH (GA4GH), via the ``crypt4gh`` package.

A recipient organization registers its Crypt4GH public key (the text block
``-----BEGIN CRYPT4GH PUBLIC KEY-----`` ... as written by ``crypt4gh-keygen``, or
the bare base64 of its 32 bytes). Genome files are published encrypted to it, so only
the holder of the matching secret key can read them; another organization's key
cannot. The sender key is ephemeral (one per file), as ``crypt4gh encrypt`` does
without ``--sk``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import os
from pathlib import Path
from typing import Any

from deid.errors import DataError, KeyMaterialError, PolicyError

__all__ = [
    "decrypt_file",
    "encrypt_file",
    "generate_keypair",
    "parse_public_key",
    "public_key_text",
    "read_secret_key",
]

_PUB_BEGIN = "-----BEGIN CRYPT4GH PUBLIC KEY-----"
_PUB_END = "-----END CRYPT4GH PUBLIC KEY-----"


def parse_public_key(text: str | bytes, *, where: str = "recipient_public_key") -> bytes:
    """The 32 key bytes of a Crypt4GH public key (PEM-like block or bare base64)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    if not isinstance(text, str):
        raise PolicyError(where, f"expected a Crypt4GH public key, got {type(text).__name__}")
    body = "".join(
        line.strip()
        for line in text.strip().splitlines()
        if line.strip() and not line.strip().startswith("-----")
    )
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise PolicyError(
            where,
            "expected a Crypt4GH public key (the block written by crypt4gh-keygen: "
            f"{_PUB_BEGIN} / base64 of 32 bytes / {_PUB_END})",
        )
    return key


def public_key_text(key: bytes) -> str:
    return f"{_PUB_BEGIN}\n{base64.b64encode(key).decode('ascii')}\n{_PUB_END}\n"


def generate_keypair(secret_path: Path | str, public_path: Path | str) -> str:
    """Write a Crypt4GH key pair (secret key 0600, not passphrase-protected); return the public text.

    For demos and tests: real recipients generate their key pair themselves and
    register only the public key.
    """
    from crypt4gh.keys.c4gh import generate

    secret_path, public_path = Path(secret_path), Path(public_path)
    secret_path.parent.mkdir(parents=True, exist_ok=True)
    if secret_path.exists():
        os.chmod(secret_path, 0o600)
        secret_path.unlink()
    with contextlib.redirect_stderr(io.StringIO()):  # it warns that the key is not locked
        generate(str(secret_path), str(public_path), passphrase=None, comment=b"gangwon-deid")
    os.chmod(secret_path, 0o600)
    return public_path.read_text(encoding="ascii")


def read_secret_key(path: Path | str, passphrase: str | None = None) -> bytes:
    """The 32 bytes of a Crypt4GH secret key file (``passphrase`` if it is locked)."""
    from crypt4gh.keys import get_private_key

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # "the key is not encrypted"
            key: bytes = get_private_key(str(path), lambda: passphrase or "")
    except FileNotFoundError:
        raise KeyMaterialError(f"Crypt4GH secret key {str(path)!r} does not exist") from None
    except (ValueError, NotImplementedError) as exc:
        raise KeyMaterialError(f"{path}: not a usable Crypt4GH secret key ({exc})") from None
    return key


def encrypt_file(src: Path | str, dst: Path | str, recipient_public_key: bytes) -> None:
    """Encrypt ``src`` to ``dst`` for one recipient (an ephemeral sender key)."""
    from crypt4gh.lib import encrypt

    if len(recipient_public_key) != 32:
        raise KeyMaterialError("a Crypt4GH public key has 32 bytes")
    sender = os.urandom(32)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        encrypt([(0, sender, recipient_public_key)], fin, fout)


def decrypt_file(src: Path | str, dst: Path | str, secret_key: bytes) -> None:
    """Decrypt a Crypt4GH file; a key it was not encrypted for raises ``DataError``."""
    from crypt4gh.lib import decrypt

    keys: list[tuple[int, bytes, Any]] = [(0, secret_key, None)]
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            decrypt(keys, fin, fout)
    except (ValueError, OSError) as exc:
        Path(dst).unlink(missing_ok=True)
        raise DataError(
            f"{Path(src).name}: cannot decrypt with this Crypt4GH secret key ({exc}); "
            "it was encrypted for another recipient, or the file is damaged"
        ) from None
