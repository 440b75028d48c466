"""Browser sign-ins for the staff console and the lobby display, and their CSRF tokens.

The cookie holds a random token; the table keeps its digest. A staff sign-in ends after
`console_idle_minutes` untouched or `console_session_hours` in all; a password change
(token_version), deactivation or sign-out ends it at once. A lobby display's sign-in lasts
a year, until its device is revoked. Forms carry an HMAC of the cookie's token, so a page
on another site cannot post with the cookie the browser would send.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from backoffice.console.models import ConsoleSession
from backoffice.devices.models import Device
from backoffice.security.tokens import digest, new_opaque_token
from backoffice.settings import Settings
from backoffice.staff.models import StaffUser

COOKIE = "frontdesk_console"
TOKEN_PREFIX = "fdc_"
DISPLAY_DAYS = 365
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    row: ConsoleSession
    user: StaffUser | None = None
    device: Device | None = None


def open_session(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    user: StaffUser | None = None,
    device: Device | None = None,
) -> str:
    """A new sign-in for a person or a display; returns the cookie's token."""
    assert (user is None) != (device is None)
    token = new_opaque_token(TOKEN_PREFIX)
    lasts = (
        timedelta(hours=settings.console_session_hours) if user else timedelta(days=DISPLAY_DAYS)
    )
    session.add(
        ConsoleSession(
            token_hash=digest(token),
            user_id=user.id if user else None,
            device_id=device.id if device else None,
            token_version=user.token_version if user else 1,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lasts,
        )
    )
    return token


def resolve(
    session: Session, token: str | None, *, settings: Settings, now: datetime
) -> SignedIn | None:
    """Who a cookie signs in, if it still does; keeps the idle clock going."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(
        select(ConsoleSession).where(ConsoleSession.token_hash == digest(token))
    ).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    found: SignedIn | None = None
    if row.user_id is not None:
        user = session.get(StaffUser, row.user_id)
        idle = now - row.last_seen_at > timedelta(minutes=settings.console_idle_minutes)
        if user is not None and user.active and user.token_version == row.token_version:
            found = None if idle else SignedIn(row, user=user)
    elif row.device_id is not None:
        device = session.get(Device, row.device_id)
        if device is not None and device.revoked_at is None and device.kind == "display":
            found = SignedIn(row, device=device)
    if found is None:
        row.ended_at = now
        session.add(row)
    elif now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return found


def end_session(session: Session, token: str | None, *, now: datetime) -> ConsoleSession | None:
    if not token:
        return None
    row = session.exec(
        select(ConsoleSession).where(ConsoleSession.token_hash == digest(token))
    ).first()
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)
    return row


def csrf_token(signing_key: str, token: str) -> str:
    return hmac.new(signing_key.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(signing_key: str, token: str | None, offered: str | None) -> bool:
    if not token or not offered:
        return False
    return hmac.compare_digest(csrf_token(signing_key, token), offered)
