from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, String
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
