"""Key hierarchy: master key loading, HKDF release/domain keys, crypto-shredding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deid.errors import KeyMaterialError
from deid.keys import (
    KeyRef,
    KeyStore,
    MasterKey,
    generate_master_key_file,
    load_master_key,
)

MASTER_HEX = "00112233445566778899aabbccddeeff" * 2


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.from_text(MASTER_HEX)


@pytest.fixture
def store(tmp_path: Path, master: MasterKey) -> KeyStore:
    return KeyStore(tmp_path / "keys", master)


def test_master_key_from_hex_and_base64_agree() -> None:
    import base64

    raw = bytes.fromhex(MASTER_HEX)
    a = MasterKey.from_text(MASTER_HEX)
    b = MasterKey.from_text(base64.b64encode(raw).decode())
    c = MasterKey.from_text(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()


@pytest.mark.parametrize("text", ["", "zz", "abcd", "!!!not base64!!!"])
def test_master_key_rejects_bad_text(text: str) -> None:
    with pytest.raises(KeyMaterialError):
        MasterKey.from_text(text)


def test_master_key_from_env_wins(tmp_path: Path) -> None:
    key = load_master_key(environ={"DEID_MASTER_KEY": MASTER_HEX})
    assert key.fingerprint() == MasterKey.from_text(MASTER_HEX).fingerprint()
    with pytest.raises(KeyMaterialError, match="no master key"):
        load_master_key(environ={})


def test_generated_key_file_has_0600_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "k" / "master.key"
    made = generate_master_key_file(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    loaded = load_master_key(environ={"DEID_MASTER_KEY_FILE": str(path)})
    assert loaded.fingerprint() == made.fingerprint()
    with pytest.raises(KeyMaterialError, match="already exists"):
        generate_master_key_file(path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_with_loose_permissions_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    path.write_text(MASTER_HEX)
    os.chmod(path, mode)
    with pytest.raises(KeyMaterialError, match="expected 0600"):
        MasterKey.from_file(path)


def test_reprs_never_show_key_material(store: KeyStore, master: MasterKey) -> None:
    key_id = store.create_release_key(release_id="r1", recipient_org_id="org1")
    rk = store.release_key(key_id)
    text = repr(master) + repr(rk) + str(rk) + repr(store)
    assert MASTER_HEX not in text
    assert rk._material.hex() not in text
    assert rk.domain_key("person").decode() not in text
    assert key_id in repr(rk)


def test_release_key_is_stable_and_domains_differ(store: KeyStore) -> None:
    key_id = store.create_release_key(release_id="r1", recipient_org_id="org1")
    a = store.release_key(key_id)
    b = store.release_key(key_id)
    assert a.domain_key("person") == b.domain_key("person")
    assert a.domain_key("person") != a.domain_key("visit")
    assert len(a.domain_key("person")) == 64


def test_release_keys_differ_per_recipient_and_release(store: KeyStore) -> None:
    k1 = store.release_key(store.create_release_key(release_id="r1", recipient_org_id="org1"))
    k2 = store.release_key(store.create_release_key(release_id="r1", recipient_org_id="org2"))
    k3 = store.release_key(store.create_release_key(release_id="r2", recipient_org_id="org1"))
    keys = {k.domain_key("person") for k in (k1, k2, k3)}
    assert len(keys) == 3


def test_release_key_matches_hkdf_definition(store: KeyStore, master: MasterKey) -> None:
    import json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key_id = store.create_release_key(release_id="r9", recipient_org_id="acme")
    record = json.loads((store.root / "release-keys" / f"{key_id}.json").read_text())
    expected = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=bytes.fromhex(record["salt"]),
        info=b"release|r9|acme",
    ).derive(bytes.fromhex(MASTER_HEX))
    rk = store.release_key(key_id)
    assert rk._material == expected
    domain = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"person").derive(expected)
    assert rk.domain_key("person") == domain.hex().encode()


def test_destroy_makes_key_unrecoverable(store: KeyStore, tmp_path: Path) -> None:
    key_id = store.create_release_key(release_id="r1", recipient_org_id="org1")
    ref = KeyRef(keystore_root=str(store.root), key_id=key_id)
    assert store.exists(key_id)
    store.destroy(key_id)
    assert not store.exists(key_id)
    with pytest.raises(KeyMaterialError, match="does not exist"):
        store.release_key(key_id)
    with pytest.raises(KeyMaterialError, match="does not exist"):
        ref.load()
    store.destroy(key_id)  # idempotent
    # A new key for the same release and recipient is a different key.
    again = store.release_key(store.create_release_key(release_id="r1", recipient_org_id="org1"))
    assert again.key_id != key_id


def test_key_record_files_are_private_and_hold_no_key(store: KeyStore) -> None:
    key_id = store.create_release_key(release_id="r1", recipient_org_id="org1")
    path = store.root / "release-keys" / f"{key_id}.json"
    assert (path.stat().st_mode & 0o777) == 0o600
    rk = store.release_key(key_id)
    assert rk._material.hex() not in path.read_text()


def test_wrong_master_is_detected(store: KeyStore) -> None:
    key_id = store.create_release_key(release_id="r1", recipient_org_id="org1")
    other = KeyStore(store.root, MasterKey.from_text("ff" * 32))
    with pytest.raises(KeyMaterialError, match="different master key"):
        other.release_key(key_id)


@pytest.mark.parametrize("bad", ["", "a|b"])
def test_ids_with_separator_are_refused(store: KeyStore, bad: str) -> None:
    with pytest.raises(KeyMaterialError):
        store.create_release_key(release_id=bad, recipient_org_id="org")


def test_malformed_key_id_is_refused(store: KeyStore) -> None:
    with pytest.raises(KeyMaterialError, match="malformed"):
        store.release_key("../../etc/passwd")


def test_keyref_loads_from_file(
    tmp_path: Path, master: MasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEID_MASTER_KEY", raising=False)
    key_file = tmp_path / "master.key"
    m = generate_master_key_file(key_file)
    store = KeyStore(tmp_path / "ks", m)
    key_id = store.create_release_key(release_id="r1", recipient_org_id="o")
    ref = KeyRef(keystore_root=str(store.root), key_id=key_id, master_key_file=str(key_file))
    import pickle

    loaded = pickle.loads(pickle.dumps(ref)).load()  # noqa: S301 - our own bytes
    assert loaded.domain_key("person") == store.release_key(key_id).domain_key("person")
