from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool

from backoffice.checkin.router import KioskCtx
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.payments import copay as copay_service
from backoffice.payments import ledger
from backoffice.payments import service as payments_service
from backoffice.payments.copay import Copay
from backoffice.payments.schemas import (
    AdjustmentCreate,
    CopayOverrideSet,
    CopayPublic,
    Ledger,
    LedgerLinePublic,
    PaymentPublic,
    RefundCreate,
)
from backoffice.scheduling import service as scheduling_service
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from shared.contracts import kiosk as contract

kiosk_payments_router = APIRouter(prefix="/kiosk", tags=["kiosk"])
payments_router = APIRouter(tags=["payments"])
webhooks_router = APIRouter(prefix="/payments/webhooks", tags=["payments"])

PaymentReader = Annotated[Actor, Depends(require(Permission.PAYMENTS_READ))]
CopaySetter = Annotated[Actor, Depends(require(Permission.COPAY_OVERRIDE))]
Adjuster = Annotated[Actor, Depends(require(Permission.PAYMENTS_ADJUST))]


def _payments(request: Request) -> payments_service.Payments:
    payments: payments_service.Payments = request.app.state.payments
    return payments


PaymentsDep = Annotated[payments_service.Payments, Depends(_payments)]


# --- the kiosk -----------------------------------------------------------------------------


@kiosk_payments_router.post(
    "/sessions/{session_id}/payment",
    name="kiosk.payment_start",
    response_model=contract.PaymentState,
)
def start_payment(
    session: SessionDep,
    ctx: KioskCtx,
    payments: PaymentsDep,
    session_id: uuid.UUID,
    body: contract.PaymentStart,
) -> contract.PaymentState:
    """Show the copay on this kiosk's card reader. Asked again for the same check-in, it
    carries on with that payment: it never makes a second one."""
    return payments_service.start(
        session, ctx, payments, session_id=session_id, check_in_id=body.check_in_id
    )


@kiosk_payments_router.get(
    "/payments/{check_in_id}", name="kiosk.payment", response_model=contract.PaymentState
)
def follow_payment(
    session: SessionDep, ctx: KioskCtx, payments: PaymentsDep, check_in_id: uuid.UUID
) -> contract.PaymentState:
    """Where the payment is now; an approved card is captured here if nothing else did."""
    return payments_service.follow(session, ctx, payments, check_in_id=check_in_id)


@kiosk_payments_router.post(
    "/payments/{check_in_id}/cancel",
    name="kiosk.payment_cancel",
    response_model=contract.PaymentState,
)
def cancel_payment(
    session: SessionDep,
    ctx: KioskCtx,
    payments: PaymentsDep,
    check_in_id: uuid.UUID,
    body: contract.PaymentCancel,
) -> contract.PaymentState:
    return payments_service.cancel(
        session, ctx, payments, check_in_id=check_in_id, reason=body.reason
    )


@kiosk_payments_router.post(
    "/payments/{check_in_id}/test-card",
    name="kiosk.payment_test_card",
    response_model=contract.PaymentState,
)
def present_test_card(
    session: SessionDep,
    ctx: KioskCtx,
    payments: PaymentsDep,
    check_in_id: uuid.UUID,
    body: contract.SimulatedCard,
) -> contract.PaymentState:
    """Test mode only (the simulated reader, or a Stripe test key): a test card tapped."""
    return payments_service.present_test_card(
        session, ctx, payments, check_in_id=check_in_id, number=body.number
    )


# --- staff ---------------------------------------------------------------------------------


def _copay(copay: Copay) -> CopayPublic:
    return CopayPublic(
        amount_cents=copay.amount_cents,
        self_pay=copay.self_pay,
        source=copay.source,
        reason=copay.reason,
    )


@payments_router.get(
    "/appointments/{appointment_id}/copay", name="copay.read", response_model=CopayPublic
)
def read_copay(session: SessionDep, actor: PaymentReader, appointment_id: uuid.UUID) -> CopayPublic:
    """What the patient pays at check-in, and where the amount comes from."""
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    return _copay(copay_service.copay_due(session, appointment=appointment))


@payments_router.put(
    "/appointments/{appointment_id}/copay", name="copay.override", response_model=CopayPublic
)
def override_copay(
    session: SessionDep, actor: CopaySetter, appointment_id: uuid.UUID, body: CopayOverrideSet
) -> CopayPublic:
    """Set the copay of one appointment by hand, with a reason (0 waives it); audited."""
    return _copay(
        copay_service.override_copay(
            session,
            actor=actor,
            appointment_id=appointment_id,
            amount_cents=body.amount_cents,
            reason=body.reason,
        )
    )


@payments_router.delete(
    "/appointments/{appointment_id}/copay", name="copay.clear_override", response_model=CopayPublic
)
def clear_copay_override(
    session: SessionDep, actor: CopaySetter, appointment_id: uuid.UUID
) -> CopayPublic:
    return _copay(copay_service.clear_override(session, actor=actor, appointment_id=appointment_id))


@payments_router.get("/patients/{patient_id}/ledger", name="ledger.read", response_model=Ledger)
def read_ledger(session: SessionDep, actor: PaymentReader, patient_id: uuid.UUID) -> Ledger:
    """Every charge, payment, refund and adjustment, oldest first, with the running balance
    in cents (positive: the patient owes)."""
    lines = payments_service.read_ledger(session, actor=actor, patient_id=patient_id)
    items = [_public(line) for line in lines]
    return Ledger(
        patient_id=patient_id, balance_cents=lines[-1].balance_cents if lines else 0, items=items
    )


@payments_router.post(
    "/patients/{patient_id}/ledger/adjustments",
    name="ledger.adjust",
    response_model=LedgerLinePublic,
    status_code=status.HTTP_201_CREATED,
)
def adjust_ledger(
    session: SessionDep, actor: Adjuster, patient_id: uuid.UUID, body: AdjustmentCreate
) -> LedgerLinePublic:
    entry = payments_service.adjust(
        session,
        actor=actor,
        patient_id=patient_id,
        amount_cents=body.amount_cents,
        reason=body.reason,
    )
    return _line(session, entry.patient_id, entry.id)


@payments_router.get("/payments/{payment_id}", name="payments.read", response_model=PaymentPublic)
def read_payment(session: SessionDep, actor: PaymentReader, payment_id: uuid.UUID) -> PaymentPublic:
    payment = payments_service.get_payment(session, payment_id=payment_id)
    actor.audit(session, "payments.read", resource_type="patient", resource_id=payment.patient_id)
    return PaymentPublic.model_validate(payment)


@payments_router.post(
    "/payments/{payment_id}/refunds",
    name="payments.refund",
    response_model=LedgerLinePublic,
    status_code=status.HTTP_201_CREATED,
)
def refund_payment(
    session: SessionDep,
    actor: Adjuster,
    payments: PaymentsDep,
    payment_id: uuid.UUID,
    body: RefundCreate,
) -> LedgerLinePublic:
    """Give back part (or, without an amount, all that is left) of a card payment, with a
    reason; the refund goes to the card it came from and onto the ledger, audited."""
    entry = payments_service.refund(
        session,
        payments,
        actor=actor,
        payment_id=payment_id,
        amount_cents=body.amount_cents,
        reason=body.reason,
        now=utcnow(),
    )
    return _line(session, entry.patient_id, entry.id)


def _line(session: SessionDep, patient_id: uuid.UUID, entry_id: uuid.UUID) -> LedgerLinePublic:
    """The new line as the ledger shows it, with the balance after it."""
    lines = ledger.lines(session, patient_id=patient_id)
    return _public(next(line for line in lines if line.entry.id == entry_id))


def _public(line: ledger.LedgerLine) -> LedgerLinePublic:
    entry = line.entry
    return LedgerLinePublic(
        id=entry.id,
        posted_at=entry.posted_at,
        kind=entry.kind,
        description=entry.description,
        amount_cents=entry.amount_cents,
        balance_cents=line.balance_cents,
        reason=entry.reason,
        appointment_id=entry.appointment_id,
        payment_id=entry.payment_id,
    )


# --- the payment service ---------------------------------------------------------------------


@webhooks_router.post("/stripe", name="payments.stripe_webhook", status_code=status.HTTP_200_OK)
async def stripe_webhook(
    request: Request, session: SessionDep, payments: PaymentsDep
) -> dict[str, bool]:
    """Stripe's events, verified by their signature (no sign-in): each only prompts the back
    office to read the payment again from Stripe. A replayed event answers `handled: false`."""
    payload = await request.body()
    handled = await run_in_threadpool(
        payments_service.handle_webhook,
        session,
        payments,
        payload=payload,
        signature=request.headers.get("stripe-signature"),
        now=utcnow(),
    )
    return {"handled": handled}
