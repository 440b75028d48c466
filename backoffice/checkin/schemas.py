"""Staff-side shapes of the arrival queue; the kiosk's own shapes are in shared.contracts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.contracts.kiosk import ArrivalState, QueueFlag


class QueueItem(BaseModel):
    arrival_id: uuid.UUID
    appointment_id: uuid.UUID
    appointment_version: int
    patient_id: uuid.UUID
    patient_name: str
    location_id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    appointment_type: str
    appointment_start: datetime
    arrived_at: datetime
    waited_minutes: int  # so far while waiting; until they were taken in afterwards
    state: ArrivalState
    flags: list[QueueFlag]
    offline: bool


class QueueTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Literal["roomed", "with_provider", "checked_out", "sent_home"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class StaffAlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    message: str
    device_id: uuid.UUID | None
    location_id: uuid.UUID | None
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class CheckInCode(BaseModel):
    appointment_id: uuid.UUID
    token: str
    expires_at: datetime


class DemographicChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    arrival_id: uuid.UUID | None
    changes: dict[str, Any]
    status: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
