from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow


class Device(SQLModel, table=True):
    __tablename__ = "devices"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    kind: str = Field(default="kiosk", max_length=20)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # The first characters of the token, shown to staff so they can tell tokens apart.
    token_hint: str = Field(max_length=12)
    # The lobby it stands in: its lookups find that location's appointments (None: any).
    location_id: uuid.UUID | None = Field(default=None, foreign_key="locations.id")
    # The card reader beside it (a Stripe Terminal reader id, tmr_…): its copays are taken there.
    payment_reader_id: str | None = Field(default=None, max_length=80)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The kiosk's last heartbeat: app version, outbox backlog, each peripheral's state.
    status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # --- enrolled kiosks (`frontdesk provision enroll`) ---
    # The kiosk's Ed25519 public key (base64url): a new token is issued only against a
    # signature from its private half, which never leaves the kiosk.
    public_key: str | None = Field(default=None, max_length=64)
    hostname: str | None = Field(default=None, max_length=63)
    enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    credential_rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An admin asked for a new credential; the kiosk rotates on its next heartbeat.
    rotation_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # After a rotation the old token still works until the new one is first used (or this
    # time passes), so an answer lost on the way never strands the kiosk.
    previous_token_hash: str | None = Field(default=None, max_length=64, index=True)
    previous_token_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The key that went with the previous token: a kiosk that never got its new token (the
    # answer was lost) rotates again with it.
    previous_public_key: str | None = Field(default=None, max_length=64)
    challenge_hash: str | None = Field(default=None, max_length=64)
    challenge_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What an admin set for this kiosk (languages, consent documents, idle timeout); what is
    # not set follows the clinic's defaults.
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EnrollmentCode(SQLModel, table=True):
    """A one-time code an admin makes for a technician: used once, before it expires, to
    enrol a kiosk at one location (and, optionally, beside one card reader). Only its
    digest is kept; a code has 60 random bits, and it lives an hour by default."""

    __tablename__ = "enrollment_codes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    location_id: uuid.UUID = Field(foreign_key="locations.id")
    payment_reader_id: str | None = Field(default=None, max_length=80)
    # Enrol into this existing device (a replaced SD card): it keeps its name and history.
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
    device_name: str | None = Field(default=None, max_length=80)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
