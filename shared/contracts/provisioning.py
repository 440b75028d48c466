"""Enrolment, credentials and remote configuration: the contract between a kiosk (its
`frontdesk provision` commands and the running app) and the back office.

    admin ──enrolment code──▶ technician ──`frontdesk provision enroll`──▶ POST /enrollments
        code + the kiosk's new Ed25519 public key  ──▶  device id, token, `KioskConfig`

The token is what every call carries. The key pair is what the kiosk *is*: its private half
never leaves the kiosk, and a token is renewed (`CredentialRotation`) or a kiosk re-enrolled
in place only with a signature from it, so a copied token alone cannot take a kiosk over.

The kiosk's own file (`kiosk.toml`) is described here too, because `provisioning` writes it
and `kiosk` reads it, and neither imports the other.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

ENROLLMENT_API = "/api/v1/enrollments"
CREDENTIAL_API = "/api/v1/kiosk/credential"  # POST …/challenge, then POST …
CONFIG_API = "/api/v1/kiosk/config"

DEFAULT_CONFIG_PATH = Path("/etc/frontdesk/kiosk.toml")
DEFAULT_CREDENTIAL_DIR = Path("/var/lib/frontdesk/credential")
CONFIG_TABLE = "kiosk"  # kiosk.toml keeps its keys under [kiosk]
TOKEN_FILE = "token"
PRIVATE_KEY_FILE = "device-key.pem"

# Crockford base32 without I, L, O, U: a code read aloud or typed on a Pi keyboard survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 random bits, shown as XXXX-XXXX-XXXX
_CODE_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})

SUPPORTED_LANGUAGES = ("en", "es")  # the touchscreen's catalogues
MIN_IDLE_TIMEOUT_SECONDS = 45  # "Still there?" is asked 30 s before, and needs 20 s to answer
MAX_IDLE_TIMEOUT_SECONDS = 900

Base64Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}=?$")]  # 32 bytes
Base64Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}(==)?$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
ConsentCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


def normalise_code(text: str) -> str:
    """The code as stored: upper case, no dashes or spaces, O read as 0 and I or L as 1."""
    return text.strip().upper().translate(_CODE_TYPOS)


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def is_code_shaped(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


# --- what is signed ---------------------------------------------------------------------------


def rotation_message(device_id: uuid.UUID, challenge: str, new_public_key: str) -> bytes:
    """What the kiosk signs with its current key to have a new token (and key) issued."""
    return f"frontdesk credential rotation\n{device_id}\n{challenge}\n{new_public_key}".encode()


def reenrolment_message(device_id: uuid.UUID, code: str, new_public_key: str) -> bytes:
    """What a kiosk signs with its old key when it enrols again, to stay the same device."""
    return f"frontdesk re-enrolment\n{device_id}\n{normalise_code(code)}\n{new_public_key}".encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the wire ---------------------------------------------------------------------------------


class EnrollmentRequest(BaseModel):
    """A kiosk asks to be enrolled with a code an admin made."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    public_key: Base64Key  # raw Ed25519 public key, base64url
    hostname: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=63)]
    app_version: Annotated[str, StringConstraints(max_length=40)] | None = None
    # Enrolling again with the old key still on disk: the same device, a new credential.
    previous_device_id: uuid.UUID | None = None
    previous_signature: Base64Signature | None = None  # of `reenrolment_message`


class PaymentReader(BaseModel):
    id: str
    label: str | None = None


class KioskConfig(BaseModel):
    """What a kiosk pulls from the back office: set by an admin, applied without a visit.
    `version` changes whenever any of it does, and heartbeats answer with it."""

    version: int
    device_id: uuid.UUID
    device_name: str
    location_id: uuid.UUID | None
    location_name: str | None
    timezone: str
    languages: list[LanguageCode]  # the first is the one a patient starts in
    consent_documents: list[ConsentCode]  # asked at check-in, in this order
    idle_timeout_seconds: int
    payment_reader: PaymentReader | None
    heartbeat_seconds: int = 60
    rotate_credential: bool = False  # an admin asked for a new token: rotate now
    server_time: AwareDatetime


class KioskConfigChange(BaseModel):
    """An admin's change to one kiosk's configuration. Fields left out stay as they are; a
    field sent as null goes back to the clinic's default (for consent_documents: every current
    form; for payment_reader_id: no reader, copays at the desk)."""

    model_config = ConfigDict(extra="forbid")

    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=5)] | None = None
    consent_documents: Annotated[list[ConsentCode], Field(max_length=20)] | None = None
    idle_timeout_seconds: (
        Annotated[int, Field(ge=MIN_IDLE_TIMEOUT_SECONDS, le=MAX_IDLE_TIMEOUT_SECONDS)] | None
    ) = None
    payment_reader_id: Annotated[str, StringConstraints(max_length=80)] | None = None


class Enrollment(BaseModel):
    """The back office's answer to an enrolment: the token is shown this once."""

    device_id: uuid.UUID
    device_name: str
    token: str
    config: KioskConfig


class CredentialChallenge(BaseModel):
    challenge: str
    expires_at: AwareDatetime


class CredentialRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge: Annotated[str, StringConstraints(min_length=16, max_length=64)]
    public_key: Base64Key  # the new key (the same one again keeps the key, renews the token)
    signature: Base64Signature  # of `rotation_message`, by the current key


class IssuedCredential(BaseModel):
    token: str
    rotated_at: AwareDatetime


class HeartbeatAnswer(BaseModel):
    """What the back office says back to a heartbeat: enough for the kiosk to know whether
    to pull its configuration again, and to measure its clock against the server's."""

    config_version: int
    rotate_credential: bool = False
    server_time: AwareDatetime


# --- kiosk.toml -------------------------------------------------------------------------------


class KioskConfigFile(BaseModel):
    """The kiosk's own file, written at enrolment (root:kiosk, 0640). It holds no secret: the
    token and private key live in `credential_dir` (kiosk:kiosk, 0700; files 0600), which the
    kiosk rewrites when it rotates its credential."""

    model_config = ConfigDict(extra="forbid")

    server: str
    device_id: uuid.UUID
    credential_dir: Path
    var_dir: Path | None = None
    camera: str | None = None
    printer_port: str | None = None
    scanner_port: str | None = None
    clinic_name: str | None = None


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def render_config_file(config: KioskConfigFile, *, comment: str) -> str:
    """TOML for `config` under [kiosk]. Every value is a string; JSON's string escapes are
    TOML's basic-string escapes, so `json.dumps` quotes them correctly."""
    lines = [f"# {line}" for line in comment.splitlines()] + ["", f"[{CONFIG_TABLE}]"]
    for key, value in config.model_dump(mode="json", exclude_none=True).items():
        assert _BARE_KEY.match(key)
        lines.append(f"{key} = {json.dumps(str(value))}")
    return "\n".join(lines) + "\n"


def read_config_file(path: Path) -> KioskConfigFile:
    """The [kiosk] table of `path` (OSError, tomllib.TOMLDecodeError or ValidationError)."""
    import tomllib

    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    return KioskConfigFile.model_validate(data.get(CONFIG_TABLE, {}))


def heartbeat_offset_ms(sent: datetime, received: datetime, server_time: datetime) -> int:
    """The kiosk's clock minus the server's, NTP-style: the server read its clock halfway
    between our sending and our receiving."""
    midpoint = sent + (received - sent) / 2
    return round((midpoint - server_time).total_seconds() * 1000)
