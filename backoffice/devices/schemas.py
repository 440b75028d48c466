from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

DeviceName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$"
    ),
]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DeviceName


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    token_hint: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class DeviceIssued(BaseModel):
    """Returned once, when the token is made: the back office keeps only its digest."""

    device: DevicePublic
    token: str


class KioskIdentity(BaseModel):
    device_id: uuid.UUID
    name: str
    clinic_timezone: str
    server_time: datetime
