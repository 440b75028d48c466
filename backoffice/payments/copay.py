"""What a patient pays at check-in for one appointment.

In order: the amount staff set for this appointment (with their reason); else, with an
active primary policy, that policy's copay for the kind of visit; else the appointment
type's self-pay fee. Zero means the kiosk skips payment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from backoffice.patients.models import InsurancePolicy
from backoffice.payments import ledger
from backoffice.payments.models import CopayOverride
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.security.actor import Actor
from shared.enums import AppointmentCategory


class CopaySource(StrEnum):
    OVERRIDE = "override"  # set by staff
    POLICY = "policy"
    SELF_PAY_FEE = "self_pay_fee"


@dataclass(frozen=True)
class Copay:
    amount_cents: int
    self_pay: bool
    source: CopaySource
    reason: str | None = None  # staff's, for an override


def policy_copay(policy: InsurancePolicy, category: str) -> int:
    """The policy's copay for this kind of visit: specialists and procedures at the specialist
    rate, urgent care at its own, everything else at the primary-care rate."""
    if category == AppointmentCategory.URGENT_CARE:
        amount = policy.copay_urgent_care_cents
    elif category in (AppointmentCategory.SPECIALIST, AppointmentCategory.PROCEDURE):
        amount = policy.copay_specialist_cents
    else:
        amount = policy.copay_primary_care_cents
    return amount or 0


def copay_due(session: Session, *, appointment: Appointment) -> Copay:
    policy = session.exec(
        select(InsurancePolicy).where(
            InsurancePolicy.patient_id == appointment.patient_id,
            col(InsurancePolicy.active),
            InsurancePolicy.rank == "primary",
        )
    ).first()
    override = session.get(CopayOverride, appointment.id)
    if override is not None:
        return Copay(override.amount_cents, policy is None, CopaySource.OVERRIDE, override.reason)
    kind = session.get(AppointmentType, appointment.appointment_type_id)
    assert kind is not None
    if policy is None:
        return Copay(kind.self_pay_fee_cents or 0, True, CopaySource.SELF_PAY_FEE)
    return Copay(policy_copay(policy, kind.category), False, CopaySource.POLICY)


def left_to_pay(session: Session, *, appointment: Appointment) -> int:
    """The copay less what was already paid for this visit at a kiosk (a patient who started
    over after paying is not asked to pay again)."""
    due = copay_due(session, appointment=appointment).amount_cents
    return max(0, due - ledger.paid_for_appointment(session, appointment.id))


def override_copay(
    session: Session, *, actor: Actor, appointment_id: uuid.UUID, amount_cents: int, reason: str
) -> Copay:
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    override = session.get(CopayOverride, appointment.id) or CopayOverride(
        appointment_id=appointment.id, amount_cents=amount_cents, reason=reason
    )
    override.amount_cents, override.reason = amount_cents, reason
    override.set_by = actor.principal.id
    session.add(override)
    session.flush()
    actor.audit(
        session,
        "copay.override",
        resource_type="patient",
        resource_id=appointment.patient_id,
        detail={
            "appointment_id": str(appointment.id),
            "amount_cents": amount_cents,
            "reason": reason,
        },
    )
    return copay_due(session, appointment=appointment)


def clear_override(session: Session, *, actor: Actor, appointment_id: uuid.UUID) -> Copay:
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    override = session.get(CopayOverride, appointment.id)
    if override is not None:
        session.delete(override)
        session.flush()
        actor.audit(
            session,
            "copay.override_cleared",
            resource_type="patient",
            resource_id=appointment.patient_id,
            detail={"appointment_id": str(appointment.id)},
        )
    return copay_due(session, appointment=appointment)
