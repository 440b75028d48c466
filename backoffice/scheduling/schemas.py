from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from backoffice.clinic.schemas import matching, not_cleared
from backoffice.kit.columns import Timestamp
from shared.enums import AppointmentCategory, ScheduleExceptionKind
from shared.validators import Cents

Minutes = Annotated[int, Field(ge=0, le=240)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
TypeCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20),
    matching(r"[A-Z0-9_-]{1,20}", "FU30"),
]


class AppointmentTypePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    duration_minutes: int
    category: str
    buffer_before_minutes: int
    buffer_after_minutes: int
    self_pay_fee_cents: int | None
    active: bool


class AppointmentTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: TypeCode
    name: Label
    duration_minutes: Annotated[int, Field(ge=5, le=480, multiple_of=5)]
    category: AppointmentCategory
    buffer_before_minutes: Minutes = 0
    buffer_after_minutes: Minutes = 0
    self_pay_fee_cents: Cents | None = None
    provider_ids: Annotated[list[uuid.UUID], Field(max_length=500)] = []


class AppointmentTypeUpdate(BaseModel):
    """Only the fields sent are changed. A new duration or buffer applies to bookings made
    from now on; `active: false` stops new bookings of the type."""

    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    duration_minutes: Annotated[int, Field(ge=5, le=480, multiple_of=5)] | None = None
    category: AppointmentCategory | None = None
    buffer_before_minutes: Minutes | None = None
    buffer_after_minutes: Minutes | None = None
    self_pay_fee_cents: Cents | None = None  # null: no fee at check-in
    provider_ids: Annotated[list[uuid.UUID], Field(max_length=500)] | None = None
    active: bool | None = None

    _required_stay = field_validator(
        "name",
        "duration_minutes",
        "category",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "provider_ids",
        "active",
    )(not_cleared)


class AppointmentTypeDetail(AppointmentTypePublic):
    provider_ids: list[uuid.UUID]


BreakTimes = tuple[time, time]


class ScheduleRuleIn(BaseModel):
    """A weekly session in the location's local time; the same shape creates and replaces."""

    model_config = ConfigDict(extra="forbid")

    location_id: uuid.UUID
    weekday: Annotated[int, Field(ge=0, le=6, description="0 is Monday")]
    start_time: time
    end_time: time
    breaks: Annotated[list[BreakTimes], Field(max_length=6)] = []
    effective_date: date
    expiration_date: date | None = None


class ScheduleRulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider_id: uuid.UUID
    location_id: uuid.UUID
    weekday: int
    start_time: time
    end_time: time
    breaks: list[BreakTimes]
    effective_date: date
    expiration_date: date | None


class ScheduleExceptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ScheduleExceptionKind
    provider_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    start: Timestamp
    end: Timestamp
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class ScheduleExceptionPublic(BaseModel):
    id: uuid.UUID
    kind: str
    provider_id: uuid.UUID | None
    location_id: uuid.UUID | None
    start: datetime
    end: datetime
    reason: str | None


class ScheduleExceptionCreated(ScheduleExceptionPublic):
    affected_appointment_ids: list[uuid.UUID] = Field(
        description="Live appointments inside time taken out, for staff to move or call."
    )


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
    overbook: bool = Field(
        default=False,
        description="Book beside a patient likely not to come, if the provider allows it.",
    )


class AppointmentPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    location_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: datetime
    end: datetime
    status: str
    overbooked: bool
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
