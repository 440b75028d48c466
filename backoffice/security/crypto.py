"""Field encryption at rest with AES-256-GCM and a keyring of identified keys.

A stored value reads `fe1:<key id>:<base64 nonce+ciphertext>`; the column name is the
associated data, so a value copied into another column does not decrypt. Rotation adds a
key, makes it active and re-encrypts; old keys stay until nothing uses them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "fe1"


class KeyringError(Exception):
    pass


@dataclass
class Keyring:
    keys: dict[str, bytes]
    active_id: str
    created: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> Keyring:
        ring = cls(keys={}, active_id="")
        ring.add_key()
        return ring

    def add_key(self) -> str:
        base = datetime.now(UTC).strftime("k%Y%m%d%H%M%S") + secrets.token_hex(4)
        key_id, n = base, 1
        while key_id in self.keys:  # never overwrite a key that values may still use
            n += 1
            key_id = f"{base}-{n}"
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.created[key_id] = datetime.now(UTC).isoformat()
        self.active_id = key_id
        return key_id

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active_id,
                "keys": [
                    {
                        "id": kid,
                        "key": base64.b64encode(k).decode(),
                        "created": self.created.get(kid, ""),
                    }
                    for kid, k in self.keys.items()
                ],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data = json.loads(text)
            keys = {k["id"]: base64.b64decode(k["key"]) for k in data["keys"]}
            created = {k["id"]: k.get("created", "") for k in data["keys"]}
            active = data["active"]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError("the encryption key file is not a Frontdesk keyring") from exc
        if active not in keys or any(len(k) != 32 for k in keys.values()):
            raise KeyringError("the encryption key file is damaged (bad active key or key size)")
        return cls(keys=keys, active_id=active, created=created)


def load_keyring(path: Path, *, create: bool = False) -> Keyring:
    if not path.exists():
        if not create:
            raise KeyringError(f"no encryption key file at {path}")
        ring = Keyring.generate()
        save_keyring(path, ring)
        return ring
    return Keyring.from_json(path.read_text())


def save_keyring(path: Path, ring: Keyring) -> None:
    """Write atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.to_json())
    os.replace(tmp, path)


class FieldCipher:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encrypt(self, plaintext: str, *, context: str) -> str:
        key_id = self.keyring.active_id
        nonce = os.urandom(12)
        sealed = AESGCM(self.keyring.keys[key_id]).encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        return f"{PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        try:
            prefix, key_id, body = stored.split(":", 2)
            raw = base64.b64decode(body)
        except ValueError as exc:
            raise KeyringError("not an encrypted field value") from exc
        if prefix != PREFIX:
            raise KeyringError("not an encrypted field value")
        key = self.keyring.keys.get(key_id)
        if key is None:
            raise KeyringError(f"encryption key {key_id} is not in the keyring")
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise KeyringError("an encrypted field failed its integrity check") from exc

    @staticmethod
    def key_id_of(stored: str) -> str:
        return stored.split(":", 2)[1]
