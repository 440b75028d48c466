"""Field encryption (AES-GCM with a keyring of identified keys) and key rotation."""

import base64
import json
import stat
from datetime import datetime

import pytest
from sqlmodel import Session, select

from backoffice.patients.models import Patient
from backoffice.patients.service import SSN_CONTEXT
from backoffice.security import crypto, key_rotation
from backoffice.security.crypto import (
    FieldCipher,
    Keyring,
    KeyringError,
    load_keyring,
    save_keyring,
)
from tests.fixtures.builders import create_patient

SSN = "219-09-9999"
SSNS = ["123-45-6789", "219-09-9999", "078-05-1120"]


@pytest.fixture
def field_cipher() -> FieldCipher:
    return FieldCipher(Keyring.generate())


# --- FieldCipher ------------------------------------------------------------------------


def test_encrypted_value_decrypts_to_the_original(field_cipher):
    stored = field_cipher.encrypt(SSN, context=SSN_CONTEXT)
    assert field_cipher.decrypt(stored, context=SSN_CONTEXT) == SSN


def test_encrypted_value_names_the_active_key_and_hides_the_plaintext(field_cipher):
    stored = field_cipher.encrypt(SSN, context=SSN_CONTEXT)
    assert stored.startswith(f"fe1:{field_cipher.keyring.active_id}:")
    assert "9999" not in stored


def test_the_same_value_encrypts_differently_each_time(field_cipher):
    first = field_cipher.encrypt(SSN, context=SSN_CONTEXT)
    assert field_cipher.encrypt(SSN, context=SSN_CONTEXT) != first


def test_a_value_does_not_decrypt_in_another_column(field_cipher):
    stored = field_cipher.encrypt(SSN, context=SSN_CONTEXT)
    with pytest.raises(KeyringError, match="integrity"):
        field_cipher.decrypt(stored, context="patients.phone")


def test_a_tampered_ciphertext_fails_its_integrity_check(field_cipher):
    prefix, key_id, body = field_cipher.encrypt(SSN, context=SSN_CONTEXT).split(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 0x01
    tampered = f"{prefix}:{key_id}:{base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(KeyringError, match="integrity"):
        field_cipher.decrypt(tampered, context=SSN_CONTEXT)


def test_a_value_under_an_unknown_key_fails_with_keyring_error(field_cipher):
    stored = FieldCipher(Keyring.generate()).encrypt(SSN, context=SSN_CONTEXT)
    with pytest.raises(KeyringError, match="not in the keyring"):
        field_cipher.decrypt(stored, context=SSN_CONTEXT)


@pytest.mark.parametrize("stored", ["123-45-6789", "xx1:k1:AAAA", "fe1:k1"])
def test_a_value_that_is_not_encrypted_fails_with_keyring_error(field_cipher, stored):
    with pytest.raises(KeyringError, match="not an encrypted field value"):
        field_cipher.decrypt(stored, context=SSN_CONTEXT)


def test_adding_a_key_never_replaces_one_in_the_ring(monkeypatch):
    """Key ids are the time to the second plus 16 random bits: two keys made in the same
    second can draw the same id, and the new key must not overwrite the old one."""

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime(2026, 11, 21, 12, 0, 0, tzinfo=tz)

    monkeypatch.setattr(crypto, "datetime", FrozenClock)
    monkeypatch.setattr(crypto.secrets, "token_hex", lambda nbytes: "beef")
    ring = Keyring.generate()
    first_id, first_key = ring.active_id, ring.keys[ring.active_id]
    ring.add_key()
    assert ring.keys.get(first_id) == first_key


def test_a_value_under_a_retired_key_still_decrypts(field_cipher):
    stored = field_cipher.encrypt(SSN, context=SSN_CONTEXT)
    field_cipher.keyring.add_key()
    assert field_cipher.decrypt(stored, context=SSN_CONTEXT) == SSN


# --- the keyring file ---------------------------------------------------------------------


def test_keyring_file_is_written_owner_only(tmp_path):
    path = tmp_path / "keys.json"
    save_keyring(path, Keyring.generate())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keyring_created_on_first_load_is_owner_only(tmp_path):
    path = tmp_path / "var" / "keys.json"
    load_keyring(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rewriting_a_world_readable_keyring_makes_it_owner_only(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(Keyring.generate().to_json())
    path.chmod(0o644)
    save_keyring(path, load_keyring(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keyring_survives_a_save_and_load(tmp_path):
    path, ring = tmp_path / "keys.json", Keyring.generate()
    ring.add_key()
    save_keyring(path, ring)
    loaded = load_keyring(path)
    assert (loaded.active_id, loaded.keys) == (ring.active_id, ring.keys)


def test_a_missing_keyring_file_is_an_error_unless_asked_to_create(tmp_path):
    with pytest.raises(KeyringError, match="no encryption key file"):
        load_keyring(tmp_path / "keys.json")


def _ring_json(**changes: object) -> str:
    data = json.loads(Keyring.generate().to_json())
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json at all",
        "[]",
        '{"keys": []}',
        _ring_json(active="k-unknown"),
        _ring_json(keys="not a list"),
        json.dumps({"active": "k1", "keys": [{"id": "k1", "key": "!!not base64!!"}]}),
        json.dumps(
            {"active": "k1", "keys": [{"id": "k1", "key": base64.b64encode(b"short").decode()}]}
        ),
        json.dumps({"active": "k1", "keys": [{"id": "k1"}]}),
    ],
    ids=[
        "empty",
        "not-json",
        "a-list",
        "no-active",
        "unknown-active",
        "keys-not-a-list",
        "bad-base64",
        "short-key",
        "no-key",
    ],
)
def test_a_damaged_keyring_file_is_a_keyring_error(tmp_path, text):
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(KeyringError):
        load_keyring(path)


# --- rotation -------------------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path, cipher):
    """A copy of the app's keyring: rotation writes the file, the app's ring stays as it is."""
    path = tmp_path / "keys.json"
    save_keyring(path, cipher.keyring)
    return path


@pytest.fixture
def patients(session, cipher) -> list[Patient]:
    with_ssn = [create_patient(session, cipher, ssn=ssn) for ssn in SSNS]
    return [*with_ssn, create_patient(session, cipher)]


def _stored_ssns(session: Session) -> dict[object, str | None]:
    return dict(session.exec(select(Patient.id, Patient.ssn_ciphertext)).all())  # type: ignore[arg-type]


def _decrypted(session: Session, key_file, patients: list[Patient]) -> list[str | None]:
    ring_cipher = FieldCipher(load_keyring(key_file))
    stored = _stored_ssns(session)
    return [
        ring_cipher.decrypt(s, context=SSN_CONTEXT) if (s := stored[p.id]) else None
        for p in patients
    ]


def test_rotate_makes_a_new_active_key_and_keeps_the_old_ones(session, key_file, cipher):
    old_ids = set(cipher.keyring.keys)
    result = key_rotation.rotate(session, key_file=key_file)
    ring = load_keyring(key_file)
    assert result.new_key_id not in old_ids
    assert ring.active_id == result.new_key_id
    assert set(ring.keys) == {*old_ids, result.new_key_id}


def test_rotate_reencrypts_every_value_with_the_new_key(session, key_file, patients):
    result = key_rotation.rotate(session, key_file=key_file)
    values = [v for v in _stored_ssns(session).values() if v is not None]
    assert result.reencrypted == len(values) >= len(SSNS)
    assert {FieldCipher.key_id_of(v) for v in values} == {result.new_key_id}


def test_values_read_the_same_after_rotation(session, key_file, patients):
    key_rotation.rotate(session, key_file=key_file)
    assert _decrypted(session, key_file, patients) == [*SSNS, None]


def test_rotating_twice_is_safe(session, key_file, patients):
    key_rotation.rotate(session, key_file=key_file)
    second = key_rotation.rotate(session, key_file=key_file)
    values = [v for v in _stored_ssns(session).values() if v is not None]
    assert {FieldCipher.key_id_of(v) for v in values} == {second.new_key_id}
    assert _decrypted(session, key_file, patients) == [*SSNS, None]


def test_usage_counts_values_per_key_after_rotation(session, key_file, patients, cipher):
    old_id = cipher.keyring.active_id
    result = key_rotation.rotate(session, key_file=key_file)
    usage = key_rotation.usage(session, key_file=key_file)
    assert usage[old_id] == (False, 0)
    assert usage[result.new_key_id] == (True, result.reencrypted)
