"""Carries out what the check-in flow asks: the only place the flow meets the network, the
outbox and the clock. The Kivy screens and the headless `frontdesk kiosk check-in` both
drive the flow through `FlowDriver.send`.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hardware.ports import ReceiptPrinter
from hardware.printer import PrinterError
from kiosk.client import BackOfficeClient, BackOfficeUnreachable, HttpTransport, KioskApiError
from kiosk.flow import (
    BirthDateChecked,
    CancelPayment,
    CheckBirthDate,
    CheckInFlow,
    ConsentsLoaded,
    CopayLoaded,
    DetailsLoaded,
    Effect,
    Event,
    FlowErrorCode,
    FollowPayment,
    LoadCachedConsents,
    LoadConsents,
    LoadCopay,
    LoadDetails,
    Lookup,
    LookupAnswered,
    PaymentUpdated,
    PrintReceipt,
    ReleaseSession,
    Request,
    RequestFailed,
    StartPayment,
    Submit,
)
from kiosk.outbox import DeliveryReport, Outbox, OutgoingRequest
from kiosk.receipts import printed_receipt
from shared.contracts.kiosk import (
    KIOSK_API,
    ConsentDocument,
    ConsentsNeeded,
    KioskErrorCode,
    PaymentState,
)

log = logging.getLogger("frontdesk.kiosk")


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConsentCache:
    """The clinic's current forms, kept so patients can sign while the back office is down.
    Forms hold no PHI."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def save(self, documents: list[ConsentDocument]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = ConsentsNeeded(documents=documents).model_dump_json()
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(payload)
        temporary.replace(self._path)

    def load(self) -> tuple[ConsentDocument, ...]:
        try:
            return tuple(ConsentsNeeded.model_validate_json(self._path.read_text()).documents)
        except (OSError, ValueError):
            return ()


class FlowDriver:
    def __init__(
        self,
        flow: CheckInFlow,
        *,
        client: BackOfficeClient,
        outbox: Outbox,
        consent_cache: ConsentCache,
        printer: ReceiptPrinter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.flow = flow
        self._client = client
        self._outbox = outbox
        self._consents = consent_cache
        self._printer = printer
        self._clock = clock
        self.last_delivery: DeliveryReport | None = None
        self.printer_problem: str | None = None  # why the last receipt did not print

    def now(self) -> datetime:
        return self._clock()

    def send(self, event: Event) -> None:
        """Hand the flow an event, then do what it asks until it asks for nothing more."""
        effects = self.flow.handle(event)
        while effects:
            effect, *effects = effects
            answer = self._carry_out(effect)
            if answer is not None:
                effects = [*effects, *self.flow.handle(answer)]

    def _carry_out(self, effect: Effect) -> Event | None:
        if isinstance(effect, Submit):
            self._submit(effect)
            return None
        if isinstance(effect, ReleaseSession):
            with contextlib.suppress(BackOfficeUnreachable, KioskApiError):
                self._client.end_session(effect.session_id)  # else it lapses in minutes
            return None
        if isinstance(effect, PrintReceipt):
            self._print(effect)
            return None
        assert isinstance(effect, Request)
        return self._answer(effect)

    def _answer(self, request: Request) -> Event:
        at = self.now()
        try:
            if isinstance(request, Lookup):
                return LookupAnswered(
                    at=at, request=request, result=self._client.lookup(request.identification)
                )
            if isinstance(request, CheckBirthDate):
                return self._check_birth_date(request)
            if isinstance(request, LoadDetails):
                details = self._client.demographics(request.session_id)
                return DetailsLoaded(at=at, request=request, demographics=details)
            if isinstance(request, LoadConsents):
                documents = tuple(self._client.consents(request.session_id).documents)
                return ConsentsLoaded(at=at, request=request, documents=documents)
            if isinstance(request, LoadCachedConsents):
                return ConsentsLoaded(at=at, request=request, documents=self._consents.load())
            if isinstance(request, LoadCopay):
                return CopayLoaded(
                    at=at, request=request, copay=self._client.copay(request.session_id)
                )
            if isinstance(request, StartPayment | FollowPayment | CancelPayment):
                return PaymentUpdated(at=self.now(), request=request, payment=self._pay(request))
        except BackOfficeUnreachable:
            return RequestFailed(
                at=self.now(), request=request, code=FlowErrorCode.BACK_OFFICE_UNREACHABLE
            )
        except KioskApiError as exc:
            return RequestFailed(at=self.now(), request=request, code=_flow_code(exc.code))
        raise TypeError(f"no way to answer {type(request).__name__}")

    def _pay(self, request: StartPayment | FollowPayment | CancelPayment) -> PaymentState:
        client = self._client
        if isinstance(request, StartPayment):
            return client.start_payment(request.session_id, request.check_in_id)
        if isinstance(request, FollowPayment):
            return client.payment(request.check_in_id)
        return client.cancel_payment(request.check_in_id, request.reason)

    def _print(self, effect: PrintReceipt) -> None:
        self.printer_problem = None
        if self._printer is None:
            self.printer_problem = "this kiosk has no receipt printer"
            return
        try:
            self._printer.print_receipt(printed_receipt(effect.receipt))
        except PrinterError as exc:  # paper out, unplugged: the desk can print one
            self.printer_problem = str(exc) or type(exc).__name__
            log.warning("receipt not printed (%s)", type(exc).__name__)

    def _check_birth_date(self, request: CheckBirthDate) -> Event:
        try:
            self._client.check_birth_date(request.session_id, request.date_of_birth)
        except KioskApiError as exc:
            if exc.code != KioskErrorCode.WRONG_BIRTH_DATE:
                raise
            return BirthDateChecked(at=self.now(), request=request, ok=False)
        return BirthDateChecked(at=self.now(), request=request, ok=True)

    def _submit(self, effect: Submit) -> None:
        submission = effect.submission
        self._outbox.put(
            OutgoingRequest(
                method="POST",
                path=f"{KIOSK_API}/check-ins",
                body=submission.model_dump(mode="json"),
                idempotency_key=str(submission.check_in_id),
                kind="check-in",
            )
        )
        # Try at once; if the back office is away, the outbox keeps it for later.
        self.last_delivery = self._outbox.deliver_due(HttpTransport(self._client))

    def present_test_card(self, check_in_id: uuid.UUID, number: str) -> bool:
        """Test mode only (the simulated reader): a test card tapped. False when the back
        office does not take test cards (a live reader): a real card is then awaited."""
        try:
            self._client.present_test_card(check_in_id, number)
        except (BackOfficeUnreachable, KioskApiError) as exc:
            log.info("no test card presented (%s)", type(exc).__name__)
            return False
        return True

    def refresh_consent_cache(self) -> None:
        try:
            self._consents.save(self._client.consent_documents().documents)
        except (BackOfficeUnreachable, KioskApiError) as exc:
            log.info("consent forms not refreshed (%s)", type(exc).__name__)


def _flow_code(code: str) -> KioskErrorCode | FlowErrorCode:
    try:
        return KioskErrorCode(code)
    except ValueError:
        return FlowErrorCode.BACK_OFFICE_ERROR
