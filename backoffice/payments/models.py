"""Tables of payments: card payments taken at a kiosk, the patient ledger, the copays staff
set by hand, and the payment service's webhook events already handled."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Uuid
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow


class Payment(SQLModel, table=True):
    """A copay taken on a card reader, one per kiosk check-in (its id is the key), so asking
    again, after a crash or a timeout, finds this payment instead of starting another.

    `intents_made` and `tries` number the PaymentIntents made and the times the reader was
    asked; the payment service's idempotency keys are built from them, so a request repeated
    after a crash is recognised by the service and not carried out twice.
    """

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_status", "status", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    check_in_id: uuid.UUID = Field(sa_column=Column(Uuid, unique=True, nullable=False))
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointments.id", index=True)
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
    provider: str = Field(max_length=20)  # stripe, simulated
    reader_id: str = Field(max_length=80)
    amount_cents: int
    currency: str = Field(default="usd", max_length=3)
    status: str = Field(max_length=20)  # shared.contracts.kiosk.PaymentStatus
    failure: str | None = Field(default=None, max_length=30)  # PaymentFailure
    intent_id: str | None = Field(
        default=None, sa_column=Column(String(80), unique=True, nullable=True)
    )
    intents_made: int = 0
    tries: int = 0
    card_brand: str | None = Field(default=None, max_length=20)
    card_last4: str | None = Field(default=None, max_length=4)
    amount_refunded_cents: int = 0
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """One line of a patient's account. `amount_cents` is what it adds to the balance the
    patient owes: charges and refunds are positive, payments negative, adjustments either.

    `entry_key` makes a posting that may be attempted twice (a payment recorded by a webhook
    and by the kiosk's poll at once) land once.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_patient", "patient_id", "posted_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id")
    kind: str = Field(max_length=12)  # charge, payment, refund, adjustment
    amount_cents: int
    description: str = Field(max_length=120)
    reason: str | None = Field(default=None, max_length=200)  # refunds and adjustments
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointments.id")
    payment_id: uuid.UUID | None = Field(default=None, foreign_key="payments.id")
    provider_refund_id: str | None = Field(default=None, max_length=80)
    entry_key: str | None = Field(
        default=None, sa_column=Column(String(120), unique=True, nullable=True)
    )
    created_by: uuid.UUID | None = None  # the staff user or device; None: the system
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CopayOverride(SQLModel, table=True):
    """The copay staff set for one appointment, with their reason: it wins over the policy."""

    __tablename__ = "copay_overrides"

    appointment_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("appointments.id"), primary_key=True)
    )
    amount_cents: int
    reason: str = Field(max_length=200)
    set_by: uuid.UUID | None = None
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HandledWebhookEvent(SQLModel, table=True):
    """A payment-service event already acted on: a replay of it changes nothing."""

    __tablename__ = "handled_webhook_events"

    event_id: str = Field(sa_column=Column(String(80), primary_key=True))
    type: str = Field(max_length=80)
    payment_id: uuid.UUID | None = None
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
