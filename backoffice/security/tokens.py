"""Bearer tokens: short-lived JWTs for staff, opaque random tokens for refresh and devices.

Opaque tokens are stored as SHA-256 digests: they carry 256 bits of randomness, so a
slow password hash would add cost without adding safety.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt

from backoffice.kit.columns import utcnow

ALGORITHM = "HS256"
DEVICE_TOKEN_PREFIX = "fdk_"
REFRESH_TOKEN_PREFIX = "fdr_"


def new_opaque_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def encode_access_token(
    *, key: str, user_id: str, token_version: int, minutes: int, now: datetime | None = None
) -> tuple[str, datetime]:
    issued = now or utcnow()
    expires = issued + timedelta(minutes=minutes)
    claims = {
        "sub": user_id,
        "ver": token_version,
        "typ": "access",
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def decode_access_token(token: str, *, key: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired access token, or None."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "ver"]}
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None
