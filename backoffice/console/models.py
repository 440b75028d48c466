"""Browser sign-ins to the staff console and the lobby display: one row per signed-in
browser, so a sign-out, a password change or a revoked display ends it at once, on every
back-office process."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # SHA-256 of the cookie's random token: a copy of the table signs nobody in.
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # A person (staff console) or a lobby display (a device of kind "display"), never both.
    user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id", index=True)
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id", index=True)
    # The user's token_version when signed in: a password change ends older sessions.
    token_version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
