"""Scheduling tables: appointment types, weekly templates, exceptions, appointments and
their history.

Double booking is settled by the database. On PostgreSQL an exclusion constraint forbids
two live appointments of one provider whose blocked spans (the visit and its buffers)
overlap in the same lane; lane 1 holds the deliberate overbookings. On SQLite every
transaction takes the write lock when it begins, so the check and the insert of a booking
cannot interleave with another writer's.
"""

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow

# Statuses in which an appointment holds its time on the calendar.
LIVE_STATUSES = ("scheduled", "confirmed", "arrived", "roomed", "in_progress")


class AppointmentTypeProvider(SQLModel, table=True):
    __tablename__ = "appointment_type_providers"

    appointment_type_id: uuid.UUID = Field(foreign_key="appointment_types.id", primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="providers.id", primary_key=True)


class AppointmentType(SQLModel, table=True):
    __tablename__ = "appointment_types"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    name: str = Field(max_length=80)
    duration_minutes: int
    # primary_care, specialist, urgent_care, procedure, telehealth: copays follow it.
    category: str = Field(max_length=20)
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    # What a patient without insurance pays at check-in for this kind of visit (None: nothing).
    self_pay_fee_cents: int | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScheduleRule(SQLModel, table=True):
    """A weekly session of one provider at one location, in that location's local time."""

    __tablename__ = "schedule_rules"
    __table_args__ = (Index("ix_schedule_rules_provider", "provider_id", "weekday"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="providers.id")
    location_id: uuid.UUID = Field(foreign_key="locations.id")
    weekday: int  # 0 is Monday
    start_time: time
    end_time: time
    # [["12:00", "13:00"], …]: breaks inside the session, local time.
    breaks: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    effective_date: date
    expiration_date: date | None = None


class ScheduleException(SQLModel, table=True):
    """Time taken out (PTO, holiday, closure) or added (an extra session). A closure with
    no provider closes the location for everyone."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (Index("ix_schedule_exceptions_span", "starts_at", "ends_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=20)  # pto, holiday, closure, extra_session
    provider_id: uuid.UUID | None = Field(default=None, foreign_key="providers.id")
    location_id: uuid.UUID | None = Field(default=None, foreign_key="locations.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=200)


def _version_column() -> Column[int]:
    return Column("version", Integer, nullable=False, default=1)


_appointment_version = _version_column()


class Appointment(SQLModel, table=True):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_provider_span", "provider_id", "blocked_start", "blocked_end"),
        Index("ix_appointments_patient", "patient_id", "starts_at"),
        Index("ix_appointments_location_day", "location_id", "starts_at"),
        Index("ix_appointments_series", "series_id"),
    )
    __mapper_args__ = {"version_id_col": _appointment_version}

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id")
    provider_id: uuid.UUID = Field(foreign_key="providers.id")
    location_id: uuid.UUID = Field(foreign_key="locations.id")
    appointment_type_id: uuid.UUID = Field(foreign_key="appointment_types.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    # The visit widened by its type's buffers: what no other appointment may overlap.
    blocked_start: datetime = Field(sa_type=UTCDateTime)
    blocked_end: datetime = Field(sa_type=UTCDateTime)
    lane: int = 0  # 1 for an overbooking placed on purpose beside another appointment
    status: str = Field(default="scheduled", max_length=20)
    series_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None  # a family booked side by side, all or nothing
    rescheduled_to_id: uuid.UUID | None = Field(default=None, foreign_key="appointments.id")
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=120)
    version: int = Field(default=1, sa_column=_appointment_version)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AppointmentChange(SQLModel, table=True):
    """The appointment's history, one row per lifecycle event, undos included."""

    __tablename__ = "appointment_changes"
    __table_args__ = (
        Index("ix_appointment_changes_appointment", "appointment_id", "seq", unique=True),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointments.id")
    seq: int
    event: str = Field(max_length=20)
    from_state: str = Field(max_length=20)
    to_state: str = Field(max_length=20)
    actor: str = Field(max_length=120)
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    undoes: int | None = None
    new_appointment_id: uuid.UUID | None = None


class CalendarFeed(SQLModel, table=True):
    """A provider's subscription URL for Google Calendar or Outlook: whoever holds the token
    can read the feed, so it is long, random, stored only as a digest, and revocable."""

    __tablename__ = "calendar_feeds"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="providers.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    token_hint: str = Field(max_length=12)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WaitListEntry(SQLModel, table=True):
    """A patient who wants an earlier appointment: of this type, with this provider (or
    anyone who offers it), within [earliest, latest). When a matching time frees up the
    entry is offered it, and the offer lapses at `offer_expires_at`."""

    __tablename__ = "wait_list_entries"
    __table_args__ = (Index("ix_wait_list_entries_match", "status", "appointment_type_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    appointment_type_id: uuid.UUID = Field(foreign_key="appointment_types.id")
    provider_id: uuid.UUID | None = Field(default=None, foreign_key="providers.id")
    location_id: uuid.UUID | None = Field(default=None, foreign_key="locations.id")
    earliest: datetime = Field(sa_type=UTCDateTime)
    latest: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="waiting", max_length=12)  # waiting, offered, booked, cancelled
    offered_provider_id: uuid.UUID | None = Field(default=None, foreign_key="providers.id")
    offered_location_id: uuid.UUID | None = Field(default=None, foreign_key="locations.id")
    offered_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offer_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Offers this entry let lapse or declined, so the same time is not offered twice.
    passed_over: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    booked_appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointments.id")
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DomainEvent(SQLModel, table=True):
    """Something other parts act on (a wait-list offer to text to the patient, say), written
    in the same transaction as the change, for a worker to publish once."""

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_unpublished", "published_at", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
