from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backoffice.kit.columns import Timestamp


class AppointmentTypePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    duration_minutes: int
    category: str
    buffer_before_minutes: int
    buffer_after_minutes: int
    active: bool


class SlotPublic(BaseModel):
    provider_id: uuid.UUID
    location_id: uuid.UUID
    start: datetime
    end: datetime


class AppointmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: uuid.UUID
    provider_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: Timestamp
    location_id: uuid.UUID | None = None


class AppointmentPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    location_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: datetime
    end: datetime
    status: str
    series_id: uuid.UUID | None
    rescheduled_to_id: uuid.UUID | None
    cancel_reason: str | None
    version: int
    created_by: str
    created_at: datetime


class AppointmentEventIn(BaseModel):
    """A lifecycle step; `reschedule` has its own endpoint, since it books a new time."""

    model_config = ConfigDict(extra="forbid")

    event: Literal[
        "confirm", "arrive", "room", "start", "complete", "cancel", "mark_no_show", "undo"
    ]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Timestamp
    provider_id: uuid.UUID | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class AppointmentChangePublic(BaseModel):
    seq: int
    event: str
    from_state: str
    to_state: str
    actor: str
    at: datetime
    reason: str | None
    undoes: int | None
    new_appointment_id: uuid.UUID | None


class SeriesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: uuid.UUID
    provider_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: Timestamp
    rrule: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=300)]
    location_id: uuid.UUID | None = None
    all_or_nothing: bool = False


class SeriesConflict(BaseModel):
    start: datetime
    reason: str
    alternatives: list[SlotPublic]


class SeriesPublic(BaseModel):
    series_id: uuid.UUID
    booked: list[AppointmentPublic]
    conflicts: list[SeriesConflict]


class SeriesCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    from_start: Timestamp | None = None


class CalendarFeedIssued(BaseModel):
    """Returned once: the back office keeps only the token's digest."""

    id: uuid.UUID
    provider_id: uuid.UUID
    url: str
    token_hint: str
    created_at: datetime


class CalendarFeedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider_id: uuid.UUID
    token_hint: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class WaitListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    provider_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    earliest: Timestamp
    latest: Timestamp


class WaitListPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    appointment_type_id: uuid.UUID
    provider_id: uuid.UUID | None
    location_id: uuid.UUID | None
    earliest: datetime
    latest: datetime
    status: str
    offered_provider_id: uuid.UUID | None
    offered_location_id: uuid.UUID | None
    offered_start: datetime | None
    offer_expires_at: datetime | None
    booked_appointment_id: uuid.UUID | None
    created_at: datetime


class GroupCreate(BaseModel):
    """A family or group seen one after another by one provider."""

    model_config = ConfigDict(extra="forbid")

    patient_ids: Annotated[list[uuid.UUID], Field(min_length=2, max_length=8)]
    provider_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: Timestamp
    location_id: uuid.UUID | None = None


class GroupPublic(BaseModel):
    group_id: uuid.UUID
    booked: list[AppointmentPublic]


class WorkingTime(BaseModel):
    location_id: uuid.UUID
    start: datetime
    end: datetime


class ProviderCalendarView(BaseModel):
    """A provider's day or week as staff see it: when they work, and what is booked."""

    provider_id: uuid.UUID
    start: datetime
    end: datetime
    working: list[WorkingTime]
    appointments: list[AppointmentPublic]
