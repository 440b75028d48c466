"""Copays on the kiosk's card reader, and what staff do with payments afterwards.

    start ──▶ STARTING ──intent made, reader asked──▶ WAITING_FOR_CARD ──approved──▶ AUTHORIZED
                 │                                     │    │                          │ capture
                 └─reader offline/busy──▶ FAILED       │    └─refused──▶ DECLINED      ▼
                                                       └─stopped──▶ CANCELED        SUCCEEDED

One payment per check-in (its id is the key). Every step is decided from the provider's own
state, read again each time (`_advance`), never from a webhook's body or the kiosk's word;
webhooks and the kiosk's polls only say "look again". Each call that changes something at
the provider carries an idempotency key built from the check-in and the payment's counters,
so a step repeated after a crash or a lost answer is recognised and not carried out twice:
the PaymentIntent made before a crash is found again, and a capture is made at most once.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backoffice.checkin import service as checkin_service
from backoffice.checkin.models import Arrival
from backoffice.checkin.service import KioskContext
from backoffice.clinic.models import Location
from backoffice.devices.models import Device
from backoffice.patients.models import Patient
from backoffice.payments import ledger
from backoffice.payments.copay import copay_due, left_to_pay
from backoffice.payments.models import HandledWebhookEvent, LedgerEntry, Payment
from backoffice.payments.provider import (
    BadWebhook,
    CardReaderProvider,
    Intent,
    ProviderRefused,
    ProviderUnreachable,
    ReaderUnavailable,
    failure_of,
)
from backoffice.payments.simulated import SimulatedReader
from backoffice.payments.stripe_terminal import StripeTerminal
from backoffice.scheduling.models import Appointment
from backoffice.security.actor import Actor
from backoffice.settings import Settings
from shared.contracts import kiosk as contract
from shared.contracts.kiosk import KioskErrorCode, PaymentFailure, PaymentStatus, QueueFlag
from shared.errors import AppError, BadRequest, Conflict, FieldError, InvalidInput, NotFound

IN_PROGRESS = [s for s in PaymentStatus if s.in_progress]
# Stripe's answers to asking a reader to take an intent that is no longer waiting for a card.
INTENT_MOVED_ON = ("intent_invalid_state", "payment_intent_unexpected_state")


class NoCardReader(Conflict):
    code = KioskErrorCode.NO_CARD_READER
    title = "No card reader"


class NothingDue(Conflict):
    code = KioskErrorCode.NOTHING_DUE
    title = "Nothing to pay"


class PaymentNotFound(NotFound):
    code = KioskErrorCode.PAYMENT_NOT_FOUND


class PaymentInProgress(Conflict):
    code = KioskErrorCode.PAYMENT_IN_PROGRESS
    title = "A payment is in progress"


class PaymentUnavailable(AppError):
    """The payment service did not answer. What was learnt before is kept: asking again
    carries on from there."""

    status = 503
    code = KioskErrorCode.PAYMENT_UNAVAILABLE
    title = "The payment service is unavailable"
    keeps_work = True


class InvalidWebhook(BadRequest):
    code = "invalid-webhook"
    title = "Webhook rejected"


@dataclass(frozen=True)
class Payments:
    """The provider and the clinic's payment settings, as the application holds them."""

    provider: CardReaderProvider | None
    currency: str
    reader_timeout: timedelta
    clinic_name: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Payments:
        provider: CardReaderProvider | None = None
        if settings.payments_provider == "simulated":
            provider = SimulatedReader()
        elif settings.payments_provider == "stripe":
            if settings.stripe_secret_key is None:
                raise ValueError("payments_provider is stripe but stripe_secret_key is unset")
            secret = settings.stripe_webhook_secret
            provider = StripeTerminal(
                secret_key=settings.stripe_secret_key.get_secret_value(),
                webhook_secret=None if secret is None else secret.get_secret_value(),
                api_base=settings.stripe_api_base,
            )
        return cls(
            provider=provider,
            currency=settings.payments_currency,
            reader_timeout=timedelta(seconds=settings.payment_reader_timeout_seconds),
            clinic_name=settings.clinic_name,
        )

    def require_provider(self) -> CardReaderProvider:
        if self.provider is None:
            raise NoCardReader("Card payments are turned off at this clinic.")
        return self.provider


# --- the kiosk -------------------------------------------------------------------------------


def start(
    session: Session,
    ctx: KioskContext,
    payments: Payments,
    *,
    session_id: uuid.UUID,
    check_in_id: uuid.UUID,
) -> contract.PaymentState:
    """Take the copay for the appointment of this check-in session on the kiosk's reader.

    Asked again for the same check-in, it carries on with the payment already made: one in
    progress is followed, a paid one is reported paid, a declined one is offered to the reader
    again (another card), and a stopped one starts over with a new PaymentIntent.
    """
    provider = payments.require_provider()
    held = checkin_service.held_session(session, ctx, session_id=session_id)
    appointment = session.get(Appointment, held.appointment_id)
    assert appointment is not None
    payment = _locked(session, check_in_id)
    if payment is None:
        _no_other_payment_running(session, appointment.id)
        due = left_to_pay(session, appointment=appointment)
        if due == 0:
            raise NothingDue("Nothing is due for this visit.")
        payment = Payment(
            check_in_id=check_in_id,
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            device_id=ctx.device.id,
            provider=provider.name,
            reader_id=_reader_of(ctx.device, provider),
            amount_cents=due,
            currency=payments.currency,
            status=PaymentStatus.STARTING,
        )
        try:
            with session.begin_nested():
                session.add(payment)
                session.flush()
        except IntegrityError:  # the same check-in, started at this moment by a second request
            payment = _locked(session, check_in_id)
            assert payment is not None
    elif payment.device_id != ctx.device.id or payment.appointment_id != appointment.id:
        raise PaymentNotFound("No such payment for this check-in.")
    elif payment.status == PaymentStatus.DECLINED:
        payment.status, payment.failure, payment.tries = (
            PaymentStatus.STARTING,
            None,
            payment.tries + 1,
        )
    elif payment.status in (PaymentStatus.CANCELED, PaymentStatus.FAILED):
        payment.amount_cents = left_to_pay(session, appointment=appointment)
        if payment.amount_cents == 0:
            raise NothingDue("Nothing is due for this visit.")
        payment.status, payment.failure, payment.intent_id = PaymentStatus.STARTING, None, None
        payment.intents_made, payment.tries = payment.intents_made + 1, payment.tries + 1
        payment.reader_id = _reader_of(ctx.device, provider)
    with _provider_errors(session, payment):
        _advance(session, payments, payment, now=ctx.now)
    ctx.actor.audit(
        session,
        "payments.start",
        resource_type="patient",
        resource_id=payment.patient_id,
        detail={"payment_id": str(payment.id), "status": payment.status},
    )
    return _state(session, payments, payment, ctx.zone)


def _no_other_payment_running(session: Session, appointment_id: uuid.UUID) -> None:
    running = session.exec(
        select(Payment.id).where(
            Payment.appointment_id == appointment_id,
            col(Payment.status).in_(IN_PROGRESS),
        )
    ).first()
    if running is not None:
        raise PaymentInProgress("A payment for this visit is already on a card reader.")


def follow(
    session: Session, ctx: KioskContext, payments: Payments, *, check_in_id: uuid.UUID
) -> contract.PaymentState:
    payment = _kiosk_payment(session, ctx, check_in_id)
    with _provider_errors(session, payment):
        _advance(session, payments, payment, now=ctx.now)
    return _state(session, payments, payment, ctx.zone)


def cancel(
    session: Session,
    ctx: KioskContext,
    payments: Payments,
    *,
    check_in_id: uuid.UUID,
    reason: PaymentFailure,
) -> contract.PaymentState:
    """The patient gave up, or the kiosk's wait ran out: stop the reader and release the
    PaymentIntent. A card approved at the last moment is not charged; one already captured
    stays paid and is reported so."""
    payment = _kiosk_payment(session, ctx, check_in_id)
    with _provider_errors(session, payment):
        if not PaymentStatus(payment.status).is_final:
            _stop(session, payments, payment, reason, now=ctx.now)
    ctx.actor.audit(
        session,
        "payments.cancel",
        resource_type="patient",
        resource_id=payment.patient_id,
        detail={"payment_id": str(payment.id), "reason": reason, "status": payment.status},
    )
    return _state(session, payments, payment, ctx.zone)


def present_test_card(
    session: Session,
    ctx: KioskContext,
    payments: Payments,
    *,
    check_in_id: uuid.UUID,
    number: str,
) -> contract.PaymentState:
    """Test mode only: what a patient tapping this test card on the reader would do."""
    provider = payments.require_provider()
    if not provider.test_mode:
        raise NotFound("Test cards are only accepted in test mode.")
    payment = _kiosk_payment(session, ctx, check_in_id)
    if payment.status != PaymentStatus.WAITING_FOR_CARD:
        raise PaymentInProgress("The reader is not waiting for a card.")
    with _provider_errors(session, payment):
        provider.present_test_card(payment.reader_id, number)
        _advance(session, payments, payment, now=ctx.now)
    return _state(session, payments, payment, ctx.zone)


def _kiosk_payment(session: Session, ctx: KioskContext, check_in_id: uuid.UUID) -> Payment:
    payment = _locked(session, check_in_id)
    if payment is None or payment.device_id != ctx.device.id:
        raise PaymentNotFound("No payment was started for this check-in.")
    return payment


def _reader_of(device: Device, provider: CardReaderProvider) -> str:
    if device.payment_reader_id:
        return device.payment_reader_id
    if provider.test_mode and provider.name == "simulated":
        return f"sim_{device.id.hex[:12]}"  # the simulated reader stands beside every kiosk
    raise NoCardReader("This kiosk has no card reader; please pay at the front desk.")


def _locked(session: Session, check_in_id: uuid.UUID) -> Payment | None:
    """The payment, locked until commit on PostgreSQL (SQLite's write lock is taken already):
    two requests about one payment take turns, so their steps cannot interleave."""
    return session.exec(
        select(Payment).where(Payment.check_in_id == check_in_id).with_for_update()
    ).first()


@contextlib.contextmanager
def _provider_errors(session: Session, payment: Payment) -> Iterator[None]:
    try:
        yield
    except ProviderUnreachable as exc:
        session.add(payment)
        raise PaymentUnavailable(
            "The payment service did not answer; ask again in a moment."
        ) from exc


# --- moving a payment along ------------------------------------------------------------------


def _key(payment: Payment, step: str, counter: object) -> str:
    return f"frontdesk-{payment.check_in_id}-{step}-{counter}"


def _advance(session: Session, payments: Payments, payment: Payment, *, now: datetime) -> None:
    """Bring the payment as far along as the provider's state allows right now."""
    provider = payments.require_provider()
    if payment.status == PaymentStatus.STARTING:
        if payment.intent_id is None:
            intent = provider.create_intent(
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                check_in_id=str(payment.check_in_id),
                idempotency_key=_key(payment, "intent", payment.intents_made),
            )
            payment.intent_id = intent.id
        try:
            provider.process_on_reader(
                reader_id=payment.reader_id,
                intent_id=payment.intent_id,
                idempotency_key=_key(payment, "process", payment.tries),
            )
        except ReaderUnavailable as exc:
            _release_intent(provider, payment)
            _set(session, payment, PaymentStatus.FAILED, exc.failure, now=now)
            return
        except ProviderRefused as exc:
            if exc.code not in INTENT_MOVED_ON:
                raise
            # The intent moved on without us (approved before a crash): follow it below.
        _set(session, payment, PaymentStatus.WAITING_FOR_CARD, now=now)
        payment.waiting_since = now
    if payment.status in (PaymentStatus.WAITING_FOR_CARD, PaymentStatus.AUTHORIZED):
        _follow(session, payments, payment, now=now)


def _follow(session: Session, payments: Payments, payment: Payment, *, now: datetime) -> None:
    provider = payments.require_provider()
    assert payment.intent_id is not None
    intent = provider.get_intent(payment.intent_id)
    if intent.status == "requires_capture":
        _set(session, payment, PaymentStatus.AUTHORIZED, now=now)
        try:
            intent = provider.capture(
                intent.id, idempotency_key=_key(payment, "capture", intent.id)
            )
        except ProviderRefused:
            intent = provider.get_intent(intent.id)  # captured or released meanwhile
    if intent.status == "succeeded":
        _record_paid(session, payment, intent, now=now)
    elif intent.status == "canceled":
        _set(
            session,
            payment,
            PaymentStatus.CANCELED,
            payment.failure or PaymentFailure.ABANDONED,
            now=now,
        )
    elif (
        intent.status == "requires_payment_method"
        and payment.status == PaymentStatus.WAITING_FOR_CARD
    ):
        action = provider.get_reader_action(payment.reader_id)
        on_this = action.intent_id == intent.id
        if on_this and action.status == "failed":
            failure = failure_of(intent.error_code or action.failure_code)
            _set(session, payment, PaymentStatus.DECLINED, failure, now=now)
        elif not on_this or action.status is None:
            # The reader let go of it (canceled on the reader, or restarted): nothing was taken.
            _stop(session, payments, payment, PaymentFailure.ABANDONED, now=now)
        elif payment.waiting_since and now - payment.waiting_since > payments.reader_timeout:
            _stop(session, payments, payment, PaymentFailure.TIMED_OUT, now=now)


def _stop(
    session: Session,
    payments: Payments,
    payment: Payment,
    reason: PaymentFailure,
    *,
    now: datetime,
) -> None:
    provider = payments.require_provider()
    if payment.intent_id is None:
        _set(session, payment, PaymentStatus.CANCELED, reason, now=now)
        return
    action = provider.get_reader_action(payment.reader_id)
    if action.intent_id == payment.intent_id and action.status == "in_progress":
        with contextlib.suppress(ProviderRefused):  # it finished meanwhile: decided below
            provider.cancel_reader_action(
                payment.reader_id, idempotency_key=_key(payment, "cancel-action", payment.tries)
            )
    intent = _release_intent(provider, payment)
    if intent.status == "succeeded":  # captured before we stopped: it is paid
        _record_paid(session, payment, intent, now=now)
    else:
        _set(session, payment, PaymentStatus.CANCELED, reason, now=now)


def _release_intent(provider: CardReaderProvider, payment: Payment) -> Intent:
    assert payment.intent_id is not None
    try:
        return provider.cancel_intent(
            payment.intent_id, idempotency_key=_key(payment, "cancel", payment.intent_id)
        )
    except ProviderRefused:
        return provider.get_intent(payment.intent_id)


def _set(
    session: Session,
    payment: Payment,
    status: PaymentStatus,
    failure: PaymentFailure | None = None,
    *,
    now: datetime,
) -> None:
    payment.status, payment.failure, payment.updated_at = status, failure, now
    session.add(payment)
    session.flush()


def _record_paid(session: Session, payment: Payment, intent: Intent, *, now: datetime) -> None:
    first_time = payment.status != PaymentStatus.SUCCEEDED
    payment.card_brand = intent.card_brand or payment.card_brand
    payment.card_last4 = intent.card_last4 or payment.card_last4
    payment.amount_cents = intent.amount_received_cents or payment.amount_cents
    payment.paid_at = payment.paid_at or now
    _set(session, payment, PaymentStatus.SUCCEEDED, now=now)
    if not first_time:
        return
    brand = f"{(payment.card_brand or 'card').title()} ending {payment.card_last4 or '????'}"
    ledger.post(
        session,
        patient_id=payment.patient_id,
        kind=ledger.EntryKind.PAYMENT,
        amount_cents=-payment.amount_cents,
        description=f"Copay paid at the kiosk, {brand}",
        appointment_id=payment.appointment_id,
        payment_id=payment.id,
        entry_key=f"payment:{payment.id}",
    )
    _mark_arrival_paid(session, payment)


def _mark_arrival_paid(session: Session, payment: Payment) -> None:
    """A payment finished after its check-in arrived (the reconciler, a late webhook): the
    queue stops showing the copay as unpaid."""
    arrival = session.exec(
        select(Arrival).where(Arrival.appointment_id == payment.appointment_id)
    ).first()
    if arrival is None:
        return
    arrival.copay_paid_cents = ledger.paid_for_appointment(session, payment.appointment_id)
    appointment = session.get(Appointment, payment.appointment_id)
    assert appointment is not None
    if arrival.copay_paid_cents >= copay_due(session, appointment=appointment).amount_cents:
        arrival.flags = [f for f in arrival.flags if f != QueueFlag.COPAY_UNPAID]
    session.add(arrival)


def _state(
    session: Session, payments: Payments, payment: Payment, zone: ZoneInfo
) -> contract.PaymentState:
    receipt = None
    if payment.status == PaymentStatus.SUCCEEDED:
        receipt = receipt_of(session, payments, payment, zone)
    return contract.PaymentState(
        check_in_id=payment.check_in_id,
        status=PaymentStatus(payment.status),
        amount_cents=payment.amount_cents,
        failure=None if payment.failure is None else PaymentFailure(payment.failure),
        receipt=receipt,
    )


def receipt_of(
    session: Session, payments: Payments, payment: Payment, zone: ZoneInfo
) -> contract.PaymentReceipt:
    appointment = session.get(Appointment, payment.appointment_id)
    location = appointment and session.get(Location, appointment.location_id)
    assert payment.paid_at is not None
    return contract.PaymentReceipt(
        clinic_name=payments.clinic_name,
        location_name=location.name if location else None,
        paid_at=payment.paid_at,
        timezone=zone.key,
        amount_cents=payment.amount_cents,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        reference=payment.id.hex[:10].upper(),
    )


# --- webhooks and the reconciler -----------------------------------------------------------


def handle_webhook(
    session: Session,
    payments: Payments,
    *,
    payload: bytes,
    signature: str | None,
    now: datetime,
) -> bool:
    """A signed event from the provider: it only says which payment to look at again.
    Returns False for an event seen before (a replay), which changes nothing."""
    provider = payments.require_provider()
    try:
        event = provider.verify_webhook(payload, signature)
    except BadWebhook as exc:
        raise InvalidWebhook(str(exc)) from exc
    try:
        with session.begin_nested():
            session.add(HandledWebhookEvent(event_id=event.id, type=event.type))
            session.flush()
    except IntegrityError:
        return False
    payment = None
    if event.intent_id is not None:
        payment = session.exec(
            select(Payment).where(Payment.intent_id == event.intent_id).with_for_update()
        ).first()
    if payment is not None:
        handled = session.get(HandledWebhookEvent, event.id)
        assert handled is not None
        handled.payment_id = payment.id
        with _provider_errors(session, payment):
            _advance(session, payments, payment, now=now)
    return True


@dataclass(frozen=True)
class Reconciled:
    looked_at: int
    changed: dict[str, str]  # payment id -> the status it ended in
    complete: bool  # False: the provider stopped answering part way


def reconcile(
    session: Session, payments: Payments, *, now: datetime, older_than: timedelta = timedelta(0)
) -> Reconciled:
    """After an outage, bring every unfinished payment in line with the provider: find the
    intent a crash left unrecorded, capture what was approved, mark declines, and stop
    readers that have waited too long. Runs from `frontdesk payments reconcile`."""
    provider = payments.require_provider()
    unfinished = session.exec(
        select(Payment.check_in_id)
        .where(
            col(Payment.status).in_(IN_PROGRESS),
            Payment.updated_at <= now - older_than,
        )
        .order_by(col(Payment.created_at))
    ).all()
    changed: dict[str, str] = {}
    complete = True
    for check_in_id in unfinished:
        payment = _locked(session, check_in_id)
        assert payment is not None
        before = payment.status
        try:
            if payment.intent_id is None:
                _recover_intent(provider, payment)
            if payment.status == PaymentStatus.STARTING and payment.intent_id is None:
                _set(session, payment, PaymentStatus.CANCELED, PaymentFailure.ABANDONED, now=now)
            elif payment.status == PaymentStatus.STARTING:
                # The kiosk has long gone; the reader is not asked again.
                _stop(session, payments, payment, PaymentFailure.ABANDONED, now=now)
            else:
                _follow(session, payments, payment, now=now)
        except ProviderUnreachable:
            session.rollback()
            complete = False
            break  # the provider is still away: the next run carries on
        except ProviderRefused:
            continue
        session.commit()
        if payment.status != before:
            changed[str(payment.id)] = payment.status
    return Reconciled(looked_at=len(unfinished), changed=changed, complete=complete)


def _recover_intent(provider: CardReaderProvider, payment: Payment) -> None:
    """A crash after the intent was made but before it was recorded: find it by the check-in
    it was made for, past the 24 hours an idempotency key is remembered."""
    live = [i for i in provider.find_intents(str(payment.check_in_id)) if i.status != "canceled"]
    if live:
        payment.intent_id = live[0].id
        payment.status = PaymentStatus.WAITING_FOR_CARD


# --- staff --------------------------------------------------------------------------------


def get_payment(session: Session, *, payment_id: uuid.UUID) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def refund(
    session: Session,
    payments: Payments,
    *,
    actor: Actor,
    payment_id: uuid.UUID,
    amount_cents: int | None,
    reason: str,
    now: datetime,
) -> LedgerEntry:
    """Give back part or all of a paid copay on the card it came from, with staff's reason."""
    provider = payments.require_provider()
    payment = session.exec(
        select(Payment).where(Payment.id == payment_id).with_for_update()
    ).first()
    if payment is None:
        raise NotFound("No such payment.")
    if payment.status != PaymentStatus.SUCCEEDED or payment.provider != provider.name:
        raise Conflict("Only a paid card payment can be refunded here.")
    left = payment.amount_cents - payment.amount_refunded_cents
    amount = left if amount_cents is None else amount_cents
    if not 0 < amount <= left:
        raise InvalidInput(
            "That is more than is left to refund.",
            [FieldError("amount_cents", f"at most {left} cents are left to refund")],
        )
    assert payment.intent_id is not None
    count = session.exec(
        select(LedgerEntry.id).where(
            LedgerEntry.payment_id == payment.id, LedgerEntry.kind == ledger.EntryKind.REFUND
        )
    ).all()
    try:
        refund_id = provider.refund(
            payment.intent_id,
            amount_cents=amount,
            idempotency_key=_key(payment, "refund", f"{len(count)}-{amount}"),
            reason=reason,
        )
    except ProviderUnreachable as exc:
        raise PaymentUnavailable("The payment service did not answer; try again.") from exc
    except ProviderRefused as exc:
        raise Conflict(f"The payment service refused the refund ({exc.code}).") from exc
    payment.amount_refunded_cents += amount
    payment.updated_at = now
    session.add(payment)
    entry = ledger.post(
        session,
        patient_id=payment.patient_id,
        kind=ledger.EntryKind.REFUND,
        amount_cents=amount,
        description="Refund to the card",
        reason=reason,
        appointment_id=payment.appointment_id,
        payment_id=payment.id,
        provider_refund_id=refund_id,
        entry_key=f"refund:{refund_id}",
        created_by=actor.principal.id,
    )
    assert entry is not None
    actor.audit(
        session,
        "payments.refund",
        resource_type="patient",
        resource_id=payment.patient_id,
        detail={"payment_id": str(payment.id), "amount_cents": amount, "reason": reason},
    )
    return entry


def read_ledger(
    session: Session, *, actor: Actor, patient_id: uuid.UUID
) -> list[ledger.LedgerLine]:
    if session.get(Patient, patient_id) is None:
        raise NotFound("No such patient.")
    actor.audit(session, "patients.ledger_read", resource_type="patient", resource_id=patient_id)
    return ledger.lines(session, patient_id=patient_id)


def adjust(
    session: Session, *, actor: Actor, patient_id: uuid.UUID, amount_cents: int, reason: str
) -> LedgerEntry:
    """Staff's correction of a balance (a write-off, a courtesy discount, a charge missed)."""
    if session.get(Patient, patient_id) is None:
        raise NotFound("No such patient.")
    entry = ledger.post(
        session,
        patient_id=patient_id,
        kind=ledger.EntryKind.ADJUSTMENT,
        amount_cents=amount_cents,
        description="Adjustment",
        reason=reason,
        created_by=actor.principal.id,
    )
    assert entry is not None
    actor.audit(
        session,
        "patients.ledger_adjust",
        resource_type="patient",
        resource_id=patient_id,
        detail={"amount_cents": amount_cents, "reason": reason},
    )
    return entry
