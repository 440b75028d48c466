"""The check-in code printed as a QR code on an appointment confirmation.

    FDQ1.<appointment id and expiry, base64url>.<HMAC-SHA256, first 16 bytes, base64url>

Short enough for a small QR code that a phone screen shows sharply. It only names the
appointment: the kiosk still asks for the date of birth before it shows anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from datetime import UTC, datetime

PREFIX = "FDQ1"


def _key(signing_key: bytes | str) -> bytes:
    raw = signing_key.encode() if isinstance(signing_key, str) else signing_key
    return hmac.new(raw, b"frontdesk check-in code", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_check_in_code(
    appointment_id: uuid.UUID, *, expires_at: datetime, signing_key: bytes | str
) -> str:
    body = appointment_id.bytes + struct.pack(">I", int(expires_at.timestamp()))
    mac = hmac.new(_key(signing_key), body, hashlib.sha256).digest()[:16]
    return f"{PREFIX}.{_b64(body)}.{_b64(mac)}"


def read_check_in_code(token: str, *, signing_key: bytes | str, now: datetime) -> uuid.UUID | None:
    """The appointment a genuine, unexpired code names; None for anything else."""
    try:
        prefix, body_text, mac_text = token.strip().split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
    except ValueError:
        return None
    if prefix != PREFIX or len(body) != 20:
        return None
    expected = hmac.new(_key(signing_key), body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        return None
    (expires,) = struct.unpack(">I", body[16:])
    if datetime.fromtimestamp(expires, UTC) < now:
        return None
    return uuid.UUID(bytes=body[:16])
