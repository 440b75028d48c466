"""The staff PIN that opens the kiosk's maintenance screen.

The kiosk keeps only a scrypt hash of the PIN (`FRONTDESK_KIOSK_STAFF_PIN_HASH`, made by
`frontdesk kiosk staff-pin`), compares in constant time, and locks the PIN pad for a while
after a few wrong tries, so a patient cannot find the PIN by trying them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
MIN_PIN_DIGITS = 4
MAX_TRIES = 5
LOCKOUT_SECONDS = 300.0


class PinError(ValueError):
    """Not a PIN a kiosk takes."""


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    if not pin.isdigit() or len(pin) < MIN_PIN_DIGITS:
        raise PinError(f"a staff PIN is at least {MIN_PIN_DIGITS} digits")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    encode = base64.urlsafe_b64encode
    return f"{SCHEME}${encode(salt).decode()}${encode(digest).decode()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        salt_bytes, digest_bytes = base64.urlsafe_b64decode(salt), base64.urlsafe_b64decode(digest)
    except ValueError:
        return False
    if scheme != SCHEME:
        return False
    candidate = hashlib.scrypt(pin.encode(), salt=salt_bytes, n=N, r=R, p=P, dklen=32)
    return hmac.compare_digest(candidate, digest_bytes)


class StaffAccess:
    """Counts wrong PINs; `None` as the hash means maintenance is closed on this kiosk."""

    def __init__(self, pin_hash: str | None, *, clock: Callable[[], float] = time.monotonic):
        self._hash, self._clock = pin_hash, clock
        self._wrong = 0
        self._locked_until = 0.0

    @property
    def configured(self) -> bool:
        return self._hash is not None

    def locked_for(self) -> float:
        """Seconds until the PIN pad takes tries again."""
        return max(0.0, self._locked_until - self._clock())

    def try_pin(self, pin: str) -> bool:
        if self._hash is None or self.locked_for() > 0:
            return False
        if pin_matches(pin, self._hash):
            self._wrong = 0
            return True
        self._wrong += 1
        if self._wrong >= MAX_TRIES:
            self._wrong, self._locked_until = 0, self._clock() + LOCKOUT_SECONDS
        return False
