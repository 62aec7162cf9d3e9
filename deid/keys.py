"""Key hierarchy: one master secret, per-release keys (HKDF), per-domain keys.

- The master secret comes from ``DEID_MASTER_KEY`` (hex or base64) or from a key
  file readable by its owner only (mode 0600 or stricter).
- A release key is ``HKDF-SHA256(master, salt=<record salt>, info="release|<release
  id>|<recipient org id>")``. The random salt lives in a key record in the
  :class:`KeyStore`; destroying the record makes the key (and every pseudonym made
  with it) impossible to recompute: crypto-shredding.
- A domain key is ``HKDF-SHA256(release key, info=<domain>)``, e.g. ``person`` for
  the patient id of every table, so joins inside a release survive while releases to
  different recipients stay unlinkable.

Only key ids ever leave this module in plans, reports and logs; reprs never show
key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from deid import settings
from deid.errors import KeyMaterialError

__all__ = [
    "DATE_SHIFT_DOMAIN",
    "MASTER_KEY_ENV",
    "MASTER_KEY_FILE_ENV",
    "RESERVED_DOMAIN_PREFIX",
    "TEXT_DOMAIN",
    "KeyRef",
    "KeyStore",
    "MasterKey",
    "ReleaseKey",
    "generate_master_key_file",
    "load_master_key",
]

MASTER_KEY_ENV = "DEID_MASTER_KEY"
MASTER_KEY_FILE_ENV = "DEID_MASTER_KEY_FILE"
MIN_MASTER_KEY_BYTES = 32
RESERVED_DOMAIN_PREFIX = "deid:"
DATE_SHIFT_DOMAIN = "deid:date-shift"
TEXT_DOMAIN = "deid:text"
_KEY_ID_RE = re.compile(r"^rk_[0-9a-f]{32}$")
_RECORDS_SUBDIR = "release-keys"


def _hkdf(material: bytes, *, info: bytes, salt: bytes | None = None, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(material)


def _decode_secret(text: str, *, where: str) -> bytes:
    """Decode a hex or base64 secret; errors name ``where`` but never the value."""
    value = text.strip()
    if not value:
        raise KeyMaterialError(f"{where}: the master key is empty; expected hex or base64")
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]+", value) and len(value) % 2 == 0:
        raw = bytes.fromhex(value)
    else:
        try:
            padded = value + "=" * (-len(value) % 4)
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None:
        raise KeyMaterialError(f"{where}: the master key is neither hex nor base64")
    if len(raw) < MIN_MASTER_KEY_BYTES:
        raise KeyMaterialError(
            f"{where}: the master key has {len(raw)} bytes; expected at least "
            f"{MIN_MASTER_KEY_BYTES}"
        )
    return raw


@dataclass(frozen=True)
class MasterKey:
    """The master secret. Its repr shows only a non-secret fingerprint."""

    _material: bytes = field(repr=False)
    source: str = "unknown"

    def __post_init__(self) -> None:
        if len(self._material) < MIN_MASTER_KEY_BYTES:
            raise KeyMaterialError(
                f"master key from {self.source} has {len(self._material)} bytes; expected at "
                f"least {MIN_MASTER_KEY_BYTES}"
            )

    @classmethod
    def from_text(cls, text: str, *, source: str = "text") -> MasterKey:
        return cls(_decode_secret(text, where=source), source=source)

    @classmethod
    def from_file(cls, path: Path | str) -> MasterKey:
        """Read a key file; refuse one that group or others can read or write."""
        path = Path(path)
        where = f"master key file {str(path)!r}"
        try:
            st = path.stat()
        except FileNotFoundError:
            raise KeyMaterialError(f"{where} does not exist") from None
        if not stat.S_ISREG(st.st_mode):
            raise KeyMaterialError(f"{where} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise KeyMaterialError(
                f"{where} has permissions {mode:04o}; expected 0600 or stricter "
                f"(run: chmod 600 {path})"
            )
        return cls.from_text(path.read_text(encoding="ascii"), source=f"file {path}")

    def fingerprint(self) -> str:
        """A short non-secret identifier of the key (HKDF output, not the key)."""
        return _hkdf(self._material, info=b"deid|fingerprint", length=8).hex()

    def derive(self, *, salt: bytes, info: bytes) -> bytes:
        return _hkdf(self._material, salt=salt, info=info)

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r}, fingerprint={self.fingerprint()!r})"


def load_master_key(
    *, key_file: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> MasterKey:
    """The master key from ``DEID_MASTER_KEY``, else ``key_file``, else ``DEID_MASTER_KEY_FILE``."""
    env = settings.environ() if environ is None else environ
    text = env.get(MASTER_KEY_ENV)
    if text:
        return MasterKey.from_text(text, source=f"environment variable {MASTER_KEY_ENV}")
    path = key_file if key_file is not None else env.get(MASTER_KEY_FILE_ENV)
    if not path:
        raise KeyMaterialError(
            f"no master key: set {MASTER_KEY_ENV} (hex or base64) or {MASTER_KEY_FILE_ENV} "
            "(a file with mode 0600)"
        )
    return MasterKey.from_file(path)


def generate_master_key_file(path: Path | str, *, overwrite: bool = False) -> MasterKey:
    """Write a fresh 256-bit master key (hex) to ``path`` with mode 0600; return it.

    For the demo and tests; production keeps the master secret in a KMS.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not overwrite:
        raise KeyMaterialError(f"master key file {str(path)!r} already exists; not overwriting")
    material = secrets.token_bytes(32)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (material.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return MasterKey(material, source=f"file {path}")


@dataclass(frozen=True)
class ReleaseKey:
    """The key of one release to one recipient organization."""

    key_id: str
    release_id: str
    recipient_org_id: str
    _material: bytes = field(repr=False)

    def domain_key(self, domain: str) -> bytes:
        """The HMAC key of a column domain: ``HKDF(release key, info=domain)``.

        Returned as the 64 ASCII hex digits of the 32-byte HKDF output, so it can be
        handed to vectorized HMAC engines that take a text key; HMAC uses those 64
        bytes as its key (256 bits of entropy).
        """
        if not domain:
            raise KeyMaterialError("domain key: the domain is empty; expected a name like 'person'")
        return _domain_key(self._material, domain)

    def __repr__(self) -> str:
        return (
            f"ReleaseKey(key_id={self.key_id!r}, release_id={self.release_id!r}, "
            f"recipient_org_id={self.recipient_org_id!r})"
        )


@lru_cache(maxsize=256)
def _domain_key(material: bytes, domain: str) -> bytes:
    return _hkdf(material, info=domain.encode("utf-8")).hex().encode("ascii")


def _release_info(release_id: str, recipient_org_id: str) -> bytes:
    for name, value in (("release_id", release_id), ("recipient_org_id", recipient_org_id)):
        if not value or "|" in value:
            raise KeyMaterialError(
                f"{name} {value!r} is invalid; expected a non-empty id without '|'"
            )
    return f"release|{release_id}|{recipient_org_id}".encode()


class KeyStore:
    """Key records (random salts) of release keys, one JSON file each, mode 0600.

    A record holds no key: the key is derived from the master key and the record's
    salt. ``destroy`` erases the record, after which the key cannot be derived again.
    """

    def __init__(self, root: Path | str, master: MasterKey) -> None:
        self.root = Path(root)
        self._master = master

    def __repr__(self) -> str:
        return f"KeyStore(root={str(self.root)!r})"

    @property
    def _records(self) -> Path:
        return self.root / _RECORDS_SUBDIR

    def _path(self, key_id: str) -> Path:
        if not _KEY_ID_RE.fullmatch(key_id):
            raise KeyMaterialError(
                f"key id {key_id!r} is malformed; expected 'rk_' + 32 hex digits"
            )
        return self._records / f"{key_id}.json"

    def create_release_key(self, *, release_id: str, recipient_org_id: str) -> str:
        """Create a key record for a release to a recipient; return its key id."""
        _release_info(release_id, recipient_org_id)
        self._records.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_id = "rk_" + secrets.token_hex(16)
        record = {
            "key_id": key_id,
            "release_id": release_id,
            "recipient_org_id": recipient_org_id,
            "salt": secrets.token_bytes(32).hex(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "kdf": "HKDF-SHA256",
            "master_fingerprint": self._master.fingerprint(),
        }
        path = self._path(key_id)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, json.dumps(record, sort_keys=True).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return key_id

    def exists(self, key_id: str) -> bool:
        return self._path(key_id).is_file()

    def release_key(self, key_id: str) -> ReleaseKey:
        path = self._path(key_id)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyMaterialError(
                f"release key {key_id!r} does not exist (never created, or destroyed)"
            ) from None
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(f"release key record {key_id!r} is unreadable: {exc}") from None
        if record.get("master_fingerprint") not in (None, self._master.fingerprint()):
            raise KeyMaterialError(
                f"release key {key_id!r} was created under a different master key "
                f"(fingerprint {record.get('master_fingerprint')!r}, loaded "
                f"{self._master.fingerprint()!r})"
            )
        release_id = str(record["release_id"])
        recipient = str(record["recipient_org_id"])
        material = self._master.derive(
            salt=bytes.fromhex(record["salt"]), info=_release_info(release_id, recipient)
        )
        return ReleaseKey(
            key_id=key_id, release_id=release_id, recipient_org_id=recipient, _material=material
        )

    def destroy(self, key_id: str) -> None:
        """Crypto-shred a release key: overwrite and delete its record (idempotent)."""
        path = self._path(key_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        with open(path, "r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()


@dataclass(frozen=True)
class KeyRef:
    """Where to load a release key from, without the key: safe to pickle to executors.

    ``master_key_file`` of None means: the executor's environment
    (``DEID_MASTER_KEY`` / ``DEID_MASTER_KEY_FILE``).
    """

    keystore_root: str
    key_id: str
    master_key_file: str | None = None

    def load(self) -> ReleaseKey:
        # The record is checked on every load so that a destroyed key is never served
        # from this process's cache.
        if not (Path(self.keystore_root) / _RECORDS_SUBDIR / f"{self.key_id}.json").is_file():
            raise KeyMaterialError(
                f"release key {self.key_id!r} does not exist (never created, or destroyed)"
            )
        return _load_ref(self.keystore_root, self.key_id, self.master_key_file)


@lru_cache(maxsize=16)
def _load_ref(root: str, key_id: str, master_key_file: str | None) -> ReleaseKey:
    master = load_master_key(key_file=master_key_file)
    return KeyStore(Path(root), master).release_key(key_id)
