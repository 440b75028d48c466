"""The patient ledger: every charge, payment, refund and adjustment of one patient's account,
in cents, with the balance after each line. A positive balance is what the patient owes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from backoffice.payments.models import LedgerEntry, Payment
from shared.contracts.kiosk import PaymentStatus


class EntryKind(StrEnum):
    CHARGE = "charge"  # adds to what the patient owes
    PAYMENT = "payment"  # takes from it
    REFUND = "refund"  # money given back: adds to it again
    ADJUSTMENT = "adjustment"  # staff's correction either way, with a reason


@dataclass(frozen=True)
class LedgerLine:
    entry: LedgerEntry
    balance_cents: int  # after this line


def post(
    session: Session,
    *,
    patient_id: uuid.UUID,
    kind: EntryKind,
    amount_cents: int,
    description: str,
    entry_key: str | None = None,
    appointment_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    reason: str | None = None,
    provider_refund_id: str | None = None,
    created_by: uuid.UUID | None = None,
    posted_at: datetime | None = None,
) -> LedgerEntry | None:
    """Post one line; with an `entry_key` already posted, nothing is posted (None)."""
    if entry_key is not None and _posted(session, entry_key):
        return None
    entry = LedgerEntry(
        patient_id=patient_id,
        kind=kind,
        amount_cents=amount_cents,
        description=description,
        entry_key=entry_key,
        appointment_id=appointment_id,
        payment_id=payment_id,
        reason=reason,
        provider_refund_id=provider_refund_id,
        created_by=created_by,
    )
    if posted_at is not None:
        entry.posted_at = posted_at
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:  # the same key, posted at this moment by another request
        return None
    return entry


def _posted(session: Session, entry_key: str) -> bool:
    found = session.exec(select(LedgerEntry.id).where(LedgerEntry.entry_key == entry_key)).first()
    return found is not None


def lines(session: Session, *, patient_id: uuid.UUID) -> list[LedgerLine]:
    entries = session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.patient_id == patient_id)
        .order_by(col(LedgerEntry.posted_at), col(LedgerEntry.id))
    ).all()
    balance, out = 0, []
    for entry in entries:
        balance += entry.amount_cents
        out.append(LedgerLine(entry, balance))
    return out


def balance(session: Session, *, patient_id: uuid.UUID) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.patient_id == patient_id
        )
    ).one()
    return int(total)


def paid_for_appointment(session: Session, appointment_id: uuid.UUID) -> int:
    """What card readers took for this visit, net of refunds."""
    paid = session.exec(
        select(Payment).where(
            Payment.appointment_id == appointment_id, Payment.status == PaymentStatus.SUCCEEDED
        )
    ).all()
    return sum(p.amount_cents - p.amount_refunded_cents for p in paid)
