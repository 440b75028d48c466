from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.kiosk import KioskHeartbeat

DeviceName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$"
    ),
]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DeviceName


class DisplayCreate(BaseModel):
    """A lobby display for one location's waiting room."""

    model_config = ConfigDict(extra="forbid")

    name: DeviceName
    location_id: uuid.UUID


class DevicePublic(BaseModel):
    """A device in the fleet list: what it is, where, its credential's story and how it is
    doing (its last heartbeat, and whether it has gone silent). Never PHI."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    token_hint: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    location_id: uuid.UUID | None = None
    hostname: str | None = None
    payment_reader_id: str | None = None
    enrolled_at: datetime | None = None
    credential_rotated_at: datetime | None = None
    rotation_requested_at: datetime | None = None
    status_at: datetime | None = None
    heartbeat: KioskHeartbeat | None = None
    silent: bool = False


class EnrollmentCodeCreate(BaseModel):
    """A one-time code for the technician who sets up a kiosk at `location_id`."""

    model_config = ConfigDict(extra="forbid")

    location_id: uuid.UUID
    payment_reader_id: Annotated[str, StringConstraints(max_length=80)] | None = None
    device_id: uuid.UUID | None = None  # enrol into this kiosk (a replacement SD card)
    device_name: DeviceName | None = None  # default: the kiosk's host name
    expires_in_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 60


class EnrollmentCodeIssued(BaseModel):
    """Shown once: the code is kept only as a digest."""

    code: str
    expires_at: datetime
    location_id: uuid.UUID
    payment_reader_id: str | None
    device_id: uuid.UUID | None
    device_name: str | None


class DeviceIssued(BaseModel):
    """Returned once, when the token is made: the back office keeps only its digest."""

    device: DevicePublic
    token: str


class KioskIdentity(BaseModel):
    device_id: uuid.UUID
    name: str
    clinic_timezone: str
    server_time: datetime
