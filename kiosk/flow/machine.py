"""The kiosk's check-in as one pure state machine.

Screens and the driver feed `CheckInFlow.handle` events; it returns effects for the driver to
carry out (look the patient up, load what a screen shows, submit, release a session). It does
no I/O and reads no clock: every event says when it happened, which is the only way time
enters, and how the idle timeout is decided. Every transition is filed in `TRANSITIONS`, at the
end of this module; an event the current step does not list raises `IllegalEvent`.

    WELCOME --Started--> LANGUAGE --LanguageChosen--> IDENTIFY --Identified: Lookup
                                                          |  |
                         LookupAnswered with matches      |  |  RequestFailed(unreachable) for
         +------------------------------------------------+  |  a name or a licence: offline,
         v                                                   |  which skips VERIFY,
      VERIFY --MatchChosen; for a QR code                    |  CONFIRM_DETAILS and COPAY
         |     BirthDateEntered, then BirthDateChecked(ok)   |
         v                                                   v
      CONFIRM_DETAILS --DetailsConfirmed--> INSURANCE_CARD --CardAccepted, SelfPayChosen,---+
                                            (CardCaptured, again to retake) CardOnFileKept |
         +---------------------------------------------------------------------------------+
         v
      CONSENT_FORMS --the last Signed--> COPAY --paid on the reader, PayAtDesk--> DONE: Submit
                                                                                  |
      WELCOME <--StartOver--------------------------------------------------------+

    At COPAY, PayByCard: StartPayment; each Tick while the reader waits: FollowPayment, or
    past rules.payment_timeout CancelPayment; CardPaymentCanceled: CancelPayment. A decline or
    a stop stays at COPAY saying why, for another card or the desk. Leaving the check-in while
    a payment runs cancels it. DONE --ReceiptRequested--> PrintReceipt.

    no match, a failed request, too many wrong dates of birth, an appointment already
    checked in --> ERROR
    ERROR --Retry--> IDENTIFY        ERROR --StartOver, StaffReset--> WELCOME
    (an ERROR that locks the kiosk, too many attempts, takes StaffReset only)
    Back: to the last step shown.    StartOver: to WELCOME from any other step.
    Touched: activity only.          LanguageChosen elsewhere: the language, nothing more.
    Idle for rules.idle_timeout (DONE: rules.done_timeout), on any event (Tick included):
    to WELCOME; `still_there_asked` tells the screens to ask first, rules.idle_warning before.

A step the clinic's rules turn off is skipped; CONSENT_FORMS with nothing to sign and COPAY
with nothing due are left as soon as that is known. Back skips both kinds. Going back to
LANGUAGE or IDENTIFY, to WELCOME, or into ERROR releases the patient's sessions and forgets them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from kiosk.flow.effects import (
    CancelPayment,
    CheckBirthDate,
    Effect,
    FollowPayment,
    LoadCachedConsents,
    LoadConsents,
    LoadCopay,
    LoadDetails,
    Lookup,
    PrintReceipt,
    ReleaseSession,
    Request,
    StartPayment,
    Submit,
)
from kiosk.flow.events import (
    Answer,
    Back,
    BirthDateChecked,
    BirthDateEntered,
    CardAccepted,
    CardCaptured,
    CardOnFileKept,
    CardPaymentCanceled,
    ConsentsLoaded,
    CopayLoaded,
    DetailsConfirmed,
    DetailsLoaded,
    Event,
    Identified,
    LanguageChosen,
    LookupAnswered,
    MatchChosen,
    PayAtDesk,
    PayByCard,
    PaymentUpdated,
    ReceiptRequested,
    RequestFailed,
    Retry,
    SelfPayChosen,
    Signed,
    StaffReset,
    Started,
    StartOver,
    Tick,
    Touched,
)
from kiosk.flow.rules import ClinicRules
from kiosk.flow.states import ErrorCode, FlowErrorCode, Step
from shared.contracts.kiosk import (
    AppointmentMatch,
    ByAppointmentCode,
    ByLicence,
    CheckInSubmission,
    ConsentDocument,
    CopayDue,
    DemographicChanges,
    Demographics,
    Identification,
    InsuranceCard,
    KioskErrorCode,
    PaymentFailure,
    PaymentReceipt,
    PaymentState,
    PaymentStatus,
    Signature,
)

PATH: Final = (
    Step.WELCOME,
    Step.LANGUAGE,
    Step.IDENTIFY,
    Step.VERIFY,
    Step.CONFIRM_DETAILS,
    Step.INSURANCE_CARD,
    Step.CONSENT_FORMS,
    Step.COPAY,
    Step.DONE,
)

LOCKED: Final = frozenset({KioskErrorCode.TOO_MANY_ATTEMPTS})  # only staff or the timeout clear


class IllegalEvent(Exception):
    """An event the current step does not accept: a fault of the screens or the driver.

    The flow is left as it was.
    """

    def __init__(self, step: Step, event: Event, reason: str = "not accepted here") -> None:
        super().__init__(f"{type(event).__name__} at {step}: {reason}")
        self.step = step
        self.event = event


@dataclass
class _Patient:
    """Everything about the patient being checked in, so that it is forgotten as one."""

    identification: Identification | None = None
    offline: bool = False
    matches: tuple[AppointmentMatch, ...] = ()
    appointment: AppointmentMatch | None = None  # the match chosen; its session is the one used
    birth_date_attempts: int = 0
    demographics: Demographics | None = None
    demographic_changes: DemographicChanges | None = None
    insurance_card: InsuranceCard | None = None
    self_pay: bool = False
    consents: tuple[ConsentDocument, ...] | None = None
    signatures: tuple[Signature, ...] = ()
    copay: CopayDue | None = None
    copay_paid_cents: int = 0
    paying_for: uuid.UUID | None = None  # the check-in whose payment was started
    payment: PaymentState | None = None  # as the back office last reported it
    payment_started_at: datetime | None = None
    payment_problem: PaymentFailure | ErrorCode | None = None  # what the copay screen says


class CheckInFlow:
    """One kiosk's check-in, from the welcome screen back to it."""

    def __init__(self, rules: ClinicRules | None = None) -> None:
        self._rules = rules or ClinicRules()
        self._step = Step.WELCOME
        self._history: tuple[Step, ...] = ()  # the steps shown before this one, for Back
        self._pending: Request | None = None
        self._now: datetime | None = None  # the time of the event being handled: the only clock
        self._last_activity: datetime | None = None
        self._check_in_id: uuid.UUID | None = None
        self._language = self._rules.languages[0]
        self._error_code: ErrorCode | None = None
        self._patient = _Patient()
        self._greeting: str | None = None
        self._receipt: PaymentReceipt | None = None  # no PHI: kept for the done screen

    def handle(self, event: Event) -> list[Effect]:
        """Apply one event and return what the driver should do, in order."""
        self._now = event.at
        effects: list[Effect] = []
        timed_out = self._is_idle_at(event.at)
        if timed_out:
            effects = self._enter(Step.WELCOME)
        if isinstance(event, Answer) and event.request != self._pending:
            return effects + _drop_stale(event)
        if timed_out:
            return effects  # the event was meant for a screen that is gone
        if isinstance(event, Tick):
            return self._on_tick()
        handler = TRANSITIONS[self._step].get(type(event))
        if handler is None:
            raise IllegalEvent(self._step, event)
        effects = handler(self, event)  # raises IllegalEvent before changing anything
        self._last_activity = event.at
        if isinstance(event, Answer) and self._pending == event.request:
            self._pending = None  # answered, and the handler asked nothing new
        return effects

    # --- what the screens show -------------------------------------------------------------

    @property
    def rules(self) -> ClinicRules:
        return self._rules

    @property
    def step(self) -> Step:
        return self._step

    @property
    def language(self) -> str:
        return self._language

    @property
    def waiting(self) -> bool:
        """A request is out: the screen shows that it is busy."""
        return self._pending is not None

    @property
    def can_go_back(self) -> bool:
        return Back in TRANSITIONS[self._step] and bool(self._history) and not self.paying

    def seconds_left(self, at: datetime) -> float | None:
        """Until the idle timeout sends the kiosk back to welcome; None where it never does."""
        if self._step is Step.WELCOME or self._last_activity is None:
            return None
        return (self._last_activity + self._timeout() - at).total_seconds()

    def still_there_asked(self, at: datetime) -> bool:
        """Whether the screens should ask "Still there?" (never on the done screen, which only
        thanks the patient, nor while the reader waits for a card)."""
        left = self.seconds_left(at)
        return (
            left is not None
            and self._step is not Step.DONE
            and not self.paying
            and left <= self._rules.idle_warning.total_seconds()
        )

    @property
    def error_code(self) -> ErrorCode | None:
        return self._error_code

    @property
    def is_locked(self) -> bool:
        """The error screen waits for staff: no retry, no start over."""
        return self._error_code in LOCKED

    @property
    def offline(self) -> bool:
        return self._patient.offline

    @property
    def matches(self) -> tuple[AppointmentMatch, ...]:
        """The appointments to choose from; none while a date of birth must be checked first."""
        return () if self.needs_birth_date else self._patient.matches

    @property
    def needs_birth_date(self) -> bool:
        matches = self._patient.matches
        return self._step is Step.VERIFY and bool(matches) and not matches[0].verified

    @property
    def birth_date_attempts_left(self) -> int:
        return self._rules.max_birth_date_attempts - self._patient.birth_date_attempts

    @property
    def appointment(self) -> AppointmentMatch | None:
        return self._patient.appointment

    @property
    def demographics(self) -> Demographics | None:
        return self._patient.demographics

    @property
    def demographic_changes(self) -> DemographicChanges | None:
        return self._patient.demographic_changes

    @property
    def insurance_card(self) -> InsuranceCard | None:
        return self._patient.insurance_card

    @property
    def consents(self) -> tuple[ConsentDocument, ...]:
        return self._patient.consents or ()

    @property
    def signatures(self) -> tuple[Signature, ...]:
        return self._patient.signatures

    @property
    def document_to_sign(self) -> ConsentDocument | None:
        signed = len(self._patient.signatures)
        return self.consents[signed] if signed < len(self.consents) else None

    @property
    def copay_due(self) -> CopayDue | None:
        return self._patient.copay

    @property
    def payment(self) -> PaymentState | None:
        return self._patient.payment

    @property
    def paying(self) -> bool:
        """A payment is on the reader (or being started): the copay screen shows it, with
        only a cancel button."""
        patient = self._patient
        return patient.paying_for is not None and (
            patient.payment is None or patient.payment.status.in_progress
        )

    @property
    def payment_problem(self) -> PaymentFailure | ErrorCode | None:
        """Why the last payment did not go through, for the copay screen's advice."""
        return self._patient.payment_problem

    @property
    def receipt(self) -> PaymentReceipt | None:
        return self._receipt

    @property
    def first_name(self) -> str | None:
        """What the done screen greets the patient by: kept alone once the rest is forgotten."""
        return self._greeting

    @property
    def holds_phi(self) -> bool:
        """Whether anything about a patient is held, the done screen's first name aside."""
        return self._patient != _Patient()

    # --- handlers, filed in TRANSITIONS ------------------------------------------------------

    def _start(self, event: Started) -> list[Effect]:
        self._check_in_id = event.check_in_id
        return self._advance(remember=False)

    def _choose_language(self, event: LanguageChosen) -> list[Effect]:
        self._require(event.code in self._rules.languages, event, "not a language of the clinic")
        self._language = event.code
        return self._advance()

    def _look_up(self, event: Identified) -> list[Effect]:
        self._patient.identification = event.identification
        return self._request(Lookup(event.identification))

    def _show_matches(self, event: LookupAnswered) -> list[Effect]:
        matches = tuple(event.result.matches)
        self._require(
            all(match.verified for match in matches) or len(matches) == 1,
            event,
            "an unverified lookup names one appointment",
        )
        if not matches:
            return self._fail(KioskErrorCode.NO_MATCH)
        self._patient.matches = matches
        return self._advance()

    def _choose_match(self, event: MatchChosen) -> list[Effect]:
        chosen = [match for match in self.matches if match.session_id == event.session_id]
        self._require(bool(chosen), event, "not one of the appointments shown")
        return self._choose(chosen[0])

    def _check_birth_date(self, event: BirthDateEntered) -> list[Effect]:
        self._require(self.needs_birth_date, event, "this session is verified")
        session_id = self._patient.matches[0].session_id
        return self._request(CheckBirthDate(session_id, event.date_of_birth))

    def _birth_date_checked(self, event: BirthDateChecked) -> list[Effect]:
        patient = self._patient
        if event.ok:
            verified = patient.matches[0].model_copy(update={"verified": True})
            patient.matches = (verified,)
            return self._choose(verified)
        patient.birth_date_attempts += 1
        if self.birth_date_attempts_left == 0:
            return self._fail(KioskErrorCode.WRONG_BIRTH_DATE)
        return []

    def _show_details(self, event: DetailsLoaded) -> list[Effect]:
        self._patient.demographics = event.demographics
        return []

    def _confirm_details(self, event: DetailsConfirmed) -> list[Effect]:
        self._require(self._patient.demographics is not None, event, "no details shown yet")
        changes = event.changes
        self._patient.demographic_changes = (
            None if changes is None or changes.is_empty() else changes
        )
        return self._advance()

    def _capture_card(self, event: CardCaptured) -> list[Effect]:
        self._patient.insurance_card = event.card
        return []

    def _accept_card(self, event: CardAccepted) -> list[Effect]:
        self._require(self._patient.insurance_card is not None, event, "no card captured")
        self._patient.self_pay = False
        return self._advance()

    def _keep_card_on_file(self, event: CardOnFileKept) -> list[Effect]:
        self._patient.insurance_card = None
        self._patient.self_pay = False
        return self._advance()

    def _choose_self_pay(self, event: SelfPayChosen) -> list[Effect]:
        self._patient.insurance_card = None
        self._patient.self_pay = True
        return self._advance()

    def _show_consents(self, event: ConsentsLoaded) -> list[Effect]:
        self._patient.consents = event.documents
        return [] if event.documents else self._advance(remember=False)

    def _sign(self, event: Signed) -> list[Effect]:
        document, signature = self.document_to_sign, event.signature
        self._require(
            document is not None
            and signature.document_id == document.document_id
            and signature.document_sha256 == document.sha256,
            event,
            "not a signature of the document shown",
        )
        self._patient.signatures += (signature,)
        return [] if self.document_to_sign else self._advance()

    def _show_copay(self, event: CopayLoaded) -> list[Effect]:
        self._patient.copay = event.copay
        return self._advance(remember=False) if event.copay.amount_cents == 0 else []

    def _pay_by_card(self, event: PayByCard) -> list[Effect]:
        patient = self._patient
        self._require(
            patient.copay is not None and patient.copay.amount_cents > 0 and not self.paying,
            event,
            "nothing to pay, or a payment is running",
        )
        assert self._check_in_id is not None
        patient.paying_for, patient.payment = self._check_in_id, None
        patient.payment_started_at, patient.payment_problem = event.at, None
        return self._request(StartPayment(self._session_id(), self._check_in_id))

    def _payment_updated(self, event: PaymentUpdated) -> list[Effect]:
        patient, payment = self._patient, event.payment
        patient.payment = payment
        if payment.status is PaymentStatus.SUCCEEDED:
            patient.copay_paid_cents = payment.amount_cents
            self._receipt = payment.receipt
            return self._advance()
        if not payment.status.in_progress:
            patient.payment_problem = payment.failure
        return []  # in progress: the next Tick asks again

    def _cancel_card_payment(self, event: CardPaymentCanceled) -> list[Effect]:
        self._require(self.paying, event, "no payment is running")
        assert self._patient.paying_for is not None
        return self._request(CancelPayment(self._patient.paying_for, PaymentFailure.ABANDONED))

    def _on_tick(self) -> list[Effect]:
        """While the reader waits, each Tick asks how the payment goes, until it times out."""
        patient = self._patient
        if self._step is not Step.COPAY or not self.paying or self._pending is not None:
            return []
        assert patient.paying_for is not None and patient.payment_started_at is not None
        assert self._now is not None
        if self._now - patient.payment_started_at >= self._rules.payment_timeout:
            return self._request(CancelPayment(patient.paying_for, PaymentFailure.TIMED_OUT))
        return self._request(FollowPayment(patient.paying_for))

    def _pay_at_desk(self, event: PayAtDesk) -> list[Effect]:
        self._require(self._patient.copay is not None, event, "no copay shown yet")
        self._require(not self.paying, event, "cancel the card payment first")
        effects = self._release_payment()
        # Cancelled here, before the submission: forgetting the patient must not cancel again.
        self._patient.paying_for, self._patient.copay_paid_cents = None, 0
        return effects + self._advance()

    def _ask_for_receipt(self, event: ReceiptRequested) -> list[Effect]:
        self._require(self._receipt is not None, event, "nothing was paid by card")
        assert self._receipt is not None
        return [PrintReceipt(self._receipt)]

    def _payment_request_failed(self, event: RequestFailed) -> list[Effect]:
        """The back office refused or did not answer about the payment. A lost poll is asked
        again at the next Tick; anything else leaves the patient the desk (or another try)."""
        patient, request = self._patient, event.request
        if isinstance(request, FollowPayment):
            return []
        if isinstance(request, StartPayment) and event.code == KioskErrorCode.NOTHING_DUE:
            patient.paying_for = None
            return self._advance()  # paid already, for this visit, in an earlier check-in
        # A start that failed made nothing to follow; a cancel that failed is finished by the
        # back office's own timeout, so the patient is not held at the kiosk for it.
        patient.paying_for, patient.payment, patient.payment_problem = None, None, event.code
        return []

    def _release_payment(self) -> list[Effect]:
        """A declined or running payment is cancelled without waiting for the answer."""
        patient = self._patient
        payment = patient.payment
        if patient.paying_for is None or (payment is not None and payment.status.is_final):
            return []
        return [CancelPayment(patient.paying_for, PaymentFailure.ABANDONED)]

    def _request_failed(self, event: RequestFailed) -> list[Effect]:
        request = event.request
        if isinstance(request, StartPayment | FollowPayment | CancelPayment):
            return self._payment_request_failed(event)
        if isinstance(request, Lookup) and event.code is FlowErrorCode.BACK_OFFICE_UNREACHABLE:
            if isinstance(request.identification, ByAppointmentCode):
                # Without the back office the date of birth cannot be checked against it.
                return self._fail(FlowErrorCode.OFFLINE_UNAVAILABLE)
            if self._rules.allow_offline:
                self._patient.offline = True
                return self._advance()
        return self._fail(event.code)

    def _touched(self, event: Touched) -> list[Effect]:
        return []  # `handle` notes the activity

    def _switch_language(self, event: LanguageChosen) -> list[Effect]:
        self._require(event.code in self._rules.languages, event, "not a language of the clinic")
        self._language = event.code
        return []

    def _back(self, event: Back) -> list[Effect]:
        self._require(bool(self._history), event, "nothing to go back to")
        self._require(not self.paying, event, "cancel the card payment first")
        return self._return_to(self._history[-1])

    def _retry(self, event: Retry) -> list[Effect]:
        self._require(not self.is_locked, event, "locked until staff clear it")
        return self._return_to(Step.IDENTIFY)

    def _start_over(self, event: StartOver) -> list[Effect]:
        self._require(not self.is_locked, event, "locked until staff clear it")
        return self._enter(Step.WELCOME)

    def _staff_reset(self, event: StaffReset) -> list[Effect]:
        return self._enter(Step.WELCOME)

    # --- moving between steps ----------------------------------------------------------------

    def _advance(self, *, remember: bool = True) -> list[Effect]:
        """Go on to the next step that applies; `remember` this one as where Back returns."""
        if remember:
            self._history += (self._step,)
        later = PATH[PATH.index(self._step) + 1 :]
        return self._enter(next(step for step in later if not self._is_skipped(step)))

    def _return_to(self, step: Step) -> list[Effect]:
        if step in self._history:
            self._history = self._history[: self._history.index(step)]
        return self._enter(step)

    def _is_skipped(self, step: Step) -> bool:
        rules, offline = self._rules, self._patient.offline
        skipped = {
            Step.LANGUAGE: not rules.ask_language,
            Step.VERIFY: offline,
            Step.CONFIRM_DETAILS: offline,
            Step.INSURANCE_CARD: not rules.collect_insurance_card,
            Step.CONSENT_FORMS: not rules.collect_consent,
            Step.COPAY: offline or not rules.collect_copay,
        }
        return skipped.get(step, False)

    def _enter(self, step: Step) -> list[Effect]:
        """Show `step`, asking the driver for what it needs that the flow does not hold yet."""
        self._step, self._pending, self._error_code = step, None, None
        patient = self._patient
        match step:
            case Step.WELCOME:
                self._history, self._check_in_id, self._greeting = (), None, None
                self._receipt = None
                self._language = self._rules.languages[0]
                return self._forget_patient()
            case Step.LANGUAGE | Step.IDENTIFY:
                return self._forget_patient()
            case Step.CONFIRM_DETAILS if patient.demographics is None:
                return self._request(LoadDetails(self._session_id()))
            case Step.CONSENT_FORMS:
                patient.signatures = ()  # a document is signed while it is on screen
                if patient.consents is None:
                    return self._request(
                        LoadCachedConsents()
                        if patient.offline
                        else LoadConsents(self._session_id())
                    )
            case Step.COPAY if patient.copay is None:
                return self._request(LoadCopay(self._session_id()))
            case Step.DONE:
                return self._finish()
        return []

    def _choose(self, match: AppointmentMatch) -> list[Effect]:
        """Go on with this appointment; what was collected for another one does not carry over."""
        if match.already_checked_in:
            return self._fail(KioskErrorCode.ALREADY_CHECKED_IN)
        patient = self._patient
        self._patient = _Patient(
            identification=patient.identification,
            matches=patient.matches,
            appointment=match,
        )
        return self._advance()

    def _fail(self, code: ErrorCode) -> list[Effect]:
        effects = self._forget_patient() + self._enter(Step.ERROR)
        self._error_code = code
        return effects

    def _finish(self) -> list[Effect]:
        patient, appointment = self._patient, self._patient.appointment
        assert self._check_in_id is not None and self._now is not None, "started before finished"
        submission = CheckInSubmission(
            check_in_id=self._check_in_id,
            session_id=appointment.session_id if appointment is not None else None,
            identification=patient.identification,
            language=self._language,
            demographic_changes=patient.demographic_changes,
            insurance_card=patient.insurance_card,
            self_pay=patient.self_pay,
            signatures=list(patient.signatures),
            copay_paid_cents=patient.copay_paid_cents,
            completed_at=self._now,
            offline=patient.offline,
        )
        identification = patient.identification
        if appointment is not None:
            self._greeting = appointment.first_name
        elif isinstance(identification, ByLicence):
            self._greeting = identification.first_name
        # The submission ends the chosen session; the others are released as it is forgotten.
        patient.matches = tuple(match for match in patient.matches if match != appointment)
        return [Submit(submission), *self._forget_patient()]

    def _forget_patient(self) -> list[Effect]:
        effects: list[Effect] = self._release_payment() + [
            ReleaseSession(match.session_id) for match in self._patient.matches
        ]
        self._patient = _Patient()
        return effects

    # --- small helpers -------------------------------------------------------------------------

    def _request(self, request: Request) -> list[Effect]:
        self._pending = request
        return [request]

    def _require(self, condition: bool, event: Event, reason: str) -> None:
        if not condition:
            raise IllegalEvent(self._step, event, reason)

    def _is_idle_at(self, at: datetime) -> bool:
        last = self._last_activity
        return self._step is not Step.WELCOME and last is not None and at - last >= self._timeout()

    def _timeout(self) -> timedelta:
        return self._rules.done_timeout if self._step is Step.DONE else self._rules.idle_timeout

    def _session_id(self) -> uuid.UUID:
        assert self._patient.appointment is not None, "online steps follow a chosen appointment"
        return self._patient.appointment.session_id


def _drop_stale(answer: Answer) -> list[Effect]:
    """A late answer changes nothing, but sessions a late lookup opened are released."""
    if isinstance(answer, LookupAnswered):
        return [ReleaseSession(match.session_id) for match in answer.result.matches]
    return []


_Handler = Callable[[CheckInFlow, Any], list[Effect]]  # each takes the event it is filed under
_ON_EVERY_SCREEN: Final[Mapping[type[Event], _Handler]] = {
    StartOver: CheckInFlow._start_over,
    Touched: CheckInFlow._touched,
    LanguageChosen: CheckInFlow._switch_language,  # the language button on the top bar
}
_ON_LATER_SCREENS: Final[Mapping[type[Event], _Handler]] = {
    **_ON_EVERY_SCREEN,
    Back: CheckInFlow._back,
}

TRANSITIONS: Final[Mapping[Step, Mapping[type[Event], _Handler]]] = {
    Step.WELCOME: {Started: CheckInFlow._start},
    Step.LANGUAGE: {
        **_ON_EVERY_SCREEN,
        LanguageChosen: CheckInFlow._choose_language,  # here the choice moves on
    },
    Step.IDENTIFY: {
        Identified: CheckInFlow._look_up,
        LookupAnswered: CheckInFlow._show_matches,
        RequestFailed: CheckInFlow._request_failed,
        **_ON_LATER_SCREENS,
    },
    Step.VERIFY: {
        MatchChosen: CheckInFlow._choose_match,
        BirthDateEntered: CheckInFlow._check_birth_date,
        BirthDateChecked: CheckInFlow._birth_date_checked,
        RequestFailed: CheckInFlow._request_failed,
        **_ON_LATER_SCREENS,
    },
    Step.CONFIRM_DETAILS: {
        DetailsLoaded: CheckInFlow._show_details,
        DetailsConfirmed: CheckInFlow._confirm_details,
        RequestFailed: CheckInFlow._request_failed,
        **_ON_LATER_SCREENS,
    },
    Step.INSURANCE_CARD: {
        CardCaptured: CheckInFlow._capture_card,
        CardAccepted: CheckInFlow._accept_card,
        CardOnFileKept: CheckInFlow._keep_card_on_file,
        SelfPayChosen: CheckInFlow._choose_self_pay,
        **_ON_LATER_SCREENS,
    },
    Step.CONSENT_FORMS: {
        ConsentsLoaded: CheckInFlow._show_consents,
        Signed: CheckInFlow._sign,
        RequestFailed: CheckInFlow._request_failed,
        **_ON_LATER_SCREENS,
    },
    Step.COPAY: {
        CopayLoaded: CheckInFlow._show_copay,
        PayByCard: CheckInFlow._pay_by_card,
        PaymentUpdated: CheckInFlow._payment_updated,
        CardPaymentCanceled: CheckInFlow._cancel_card_payment,
        PayAtDesk: CheckInFlow._pay_at_desk,
        RequestFailed: CheckInFlow._request_failed,
        **_ON_LATER_SCREENS,
    },
    Step.DONE: {ReceiptRequested: CheckInFlow._ask_for_receipt, **_ON_EVERY_SCREEN},
    Step.ERROR: {
        Retry: CheckInFlow._retry,
        StaffReset: CheckInFlow._staff_reset,
        **_ON_EVERY_SCREEN,
    },
}
