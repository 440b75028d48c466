"""Tables of the check-in: kiosk sessions, arrivals, what patients hand in at the kiosk
(proposed demographic changes, insurance card captures, consent signatures), lookup
attempts for the throttle, and alerts for staff."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow


class CheckInSession(SQLModel, table=True):
    """A kiosk's short hold on one of today's appointments, after a lookup matched it."""

    __tablename__ = "check_in_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="devices.id")
    appointment_id: uuid.UUID = Field(foreign_key="appointments.id")
    patient_id: uuid.UUID = Field(foreign_key="patients.id")
    method: str = Field(max_length=12)  # name_dob, qr, licence
    verified: bool = False  # the date of birth was checked
    birth_date_failures: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Arrival(SQLModel, table=True):
    """A patient checked in for an appointment. Its state in the queue is the appointment's
    own state, so the arrival keeps only what the check-in added."""

    __tablename__ = "arrivals"
    __table_args__ = (Index("ix_arrivals_location_day", "location_id", "arrived_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # One arrival per appointment and per kiosk check-in: a replay cannot make a second.
    appointment_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("appointments.id"), unique=True, nullable=False)
    )
    check_in_id: uuid.UUID = Field(sa_column=Column(Uuid, unique=True, nullable=False))
    patient_id: uuid.UUID = Field(foreign_key="patients.id")
    location_id: uuid.UUID = Field(foreign_key="locations.id")
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
    arrived_at: datetime = Field(sa_type=UTCDateTime)  # when the patient finished, kiosk clock
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    language: str = Field(default="en", max_length=20)
    flags: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    offline: bool = False
    copay_paid_cents: int = 0


class DemographicChange(SQLModel, table=True):
    """Corrections a patient proposed at the kiosk, for staff to accept or reject."""

    __tablename__ = "demographic_changes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    arrival_id: uuid.UUID | None = Field(default=None, foreign_key="arrivals.id")
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=10)  # pending, accepted, rejected
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=120)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CardCapture(SQLModel, table=True):
    """An insurance card as the kiosk captured it, with the fields it read, for review."""

    __tablename__ = "card_captures"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    arrival_id: uuid.UUID | None = Field(default=None, foreign_key="arrivals.id")
    media_type: str = Field(max_length=20)
    front_image: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    back_image: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    fields: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="to_review", max_length=10)  # to_review, accepted, rejected
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The policy the reviewed fields went into, and who decided.
    policy_id: uuid.UUID | None = Field(default=None, foreign_key="insurance_policies.id")
    decided_by: str | None = Field(default=None, max_length=120)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsentDocument(SQLModel, table=True):
    """One version of a consent form. A new text is a new version; signatures name the
    hash of the exact text signed."""

    __tablename__ = "consent_documents"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=40)
    version: int
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    # A signature of this version is asked again after this many days (None: never).
    renew_after_days: int | None = 365
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsentSignature(SQLModel, table=True):
    __tablename__ = "consent_signatures"
    __table_args__ = (Index("ix_consent_signatures_patient", "patient_id", "document_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id")
    document_id: uuid.UUID = Field(foreign_key="consent_documents.id")
    document_sha256: str = Field(max_length=64)
    strokes: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    png: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signed_at: datetime = Field(sa_type=UTCDateTime)
    arrival_id: uuid.UUID | None = Field(default=None, foreign_key="arrivals.id")
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")


class LookupAttempt(SQLModel, table=True):
    """A kiosk's failed lookup, counted by the throttle. No PHI: who was sought is not kept."""

    __tablename__ = "lookup_attempts"
    __table_args__ = (Index("ix_lookup_attempts_device_at", "device_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="devices.id")
    at: datetime = Field(sa_type=UTCDateTime)


class StaffAlert(SQLModel, table=True):
    __tablename__ = "staff_alerts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=40)  # kiosk_throttled, unmatched_check_in
    message: str = Field(sa_column=Column(String(300), nullable=False))
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
    location_id: uuid.UUID | None = Field(default=None, foreign_key="locations.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=120)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
