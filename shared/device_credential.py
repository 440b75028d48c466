"""A kiosk's credential on disk: its token and its Ed25519 private key, in a directory only
the kiosk user may read (0700; files 0600). Written at enrolment by `frontdesk provision
enroll`, read and rewritten (on rotation) by the kiosk app, so it lives in `shared`.

Files are replaced atomically (a temporary file in the same directory, then a rename), so a
power cut mid-rotation leaves the old credential or the new one, never half of each. Needs
`cryptography` (the kiosk and provisioning extras)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shared.contracts.provisioning import PRIVATE_KEY_FILE, TOKEN_FILE, b64

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DIR_MODE = 0o700
FILE_MODE = 0o600


class CredentialError(Exception):
    """The credential directory is missing, unreadable or not private enough."""


def new_private_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return b64(key.sign(message))


def _pem(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


@dataclass
class DeviceCredential:
    device_id: uuid.UUID
    token: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return public_key_text(self.private_key)

    def save(self, directory: Path, *, owner: tuple[int, int] | None = None) -> None:
        """Write the key, then the token, each atomically; `owner` (uid, gid) when root writes
        them for the kiosk user."""
        directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(directory, DIR_MODE)
        if owner is not None:
            os.chown(directory, *owner)
        _write_private(directory / PRIVATE_KEY_FILE, _pem(self.private_key), owner)
        _write_private(directory / TOKEN_FILE, f"{self.device_id} {self.token}\n".encode(), owner)

    @classmethod
    def load(cls, directory: Path) -> DeviceCredential:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        check_private(directory)
        try:
            device_id, token = (directory / TOKEN_FILE).read_text().split()
            key = load_pem_private_key((directory / PRIVATE_KEY_FILE).read_bytes(), None)
        except FileNotFoundError as exc:
            raise CredentialError(f"{exc.filename} is missing: enrol this kiosk") from exc
        except PermissionError as exc:
            raise CredentialError(
                f"{exc.filename} cannot be read: run as the kiosk user (or root)"
            ) from exc
        except ValueError as exc:
            raise CredentialError(f"the credential in {directory} is damaged: enrol again") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CredentialError(f"the key in {directory} is not an Ed25519 key: enrol again")
        try:
            return cls(uuid.UUID(device_id), token, key)
        except ValueError as exc:
            raise CredentialError(f"the token file in {directory} is damaged") from exc


def check_private(directory: Path) -> None:
    """Refuse a credential that others can read: it lets anyone act as this kiosk."""
    for path in (directory, directory / TOKEN_FILE, directory / PRIVATE_KEY_FILE):
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            raise CredentialError(
                f"{path} is readable by others (mode {mode:o}): run `chmod go= {path}`"
            )


def _write_private(path: Path, data: bytes, owner: tuple[int, int] | None) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if owner is not None:
        os.chown(temporary, *owner)
    os.replace(temporary, path)
