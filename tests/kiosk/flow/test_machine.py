"""The check-in flow, driven as the kiosk's driver would drive it: events in, effects out."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kiosk.flow import (
    TRANSITIONS,
    Answer,
    Back,
    BirthDateChecked,
    BirthDateEntered,
    CancelPayment,
    CardAccepted,
    CardCaptured,
    CardOnFileKept,
    CardPaymentCanceled,
    CheckBirthDate,
    CheckInFlow,
    ClinicRules,
    ConsentsLoaded,
    CopayLoaded,
    DetailsConfirmed,
    DetailsLoaded,
    Effect,
    Event,
    FlowErrorCode,
    FollowPayment,
    Identified,
    IllegalEvent,
    LanguageChosen,
    LoadCachedConsents,
    LoadConsents,
    LoadCopay,
    LoadDetails,
    Lookup,
    LookupAnswered,
    MatchChosen,
    PayAtDesk,
    PayByCard,
    PaymentUpdated,
    PrintReceipt,
    ReceiptRequested,
    ReleaseSession,
    Request,
    RequestFailed,
    Retry,
    SelfPayChosen,
    Signed,
    StaffReset,
    Started,
    StartOver,
    StartPayment,
    Step,
    Submit,
    Tick,
    Touched,
)
from kiosk.flow.machine import PATH
from shared.contracts.kiosk import (
    AppointmentMatch,
    ByAppointmentCode,
    ByLicence,
    ByNameAndBirthDate,
    CheckInSubmission,
    ConsentDocument,
    CopayDue,
    DemographicChanges,
    Demographics,
    Identification,
    InsuranceCard,
    KioskErrorCode,
    LookupResult,
    PaymentFailure,
    PaymentReceipt,
    PaymentState,
    PaymentStatus,
    Signature,
)

# --- sample data ---------------------------------------------------------------------------

# Long past on purpose: were the flow to read the real clock, every test would time out.
T0 = datetime(2001, 2, 3, 9, 0, tzinfo=UTC)
IDLE = ClinicRules().idle_timeout
PAYMENT_TIMEOUT = ClinicRules().payment_timeout
CHECK_IN_ID = uuid.UUID(int=1)
SESSION_A = uuid.UUID(int=0xA)
SESSION_B = uuid.UUID(int=0xB)
BIRTH_DATE = date(1980, 5, 17)

BY_NAME = ByNameAndBirthDate(last_name="Rivera", date_of_birth=BIRTH_DATE)
BY_QR = ByAppointmentCode(token="signed-appointment-token-0123456789")
BY_LICENCE = ByLicence(first_name="Ana", last_name="Rivera", date_of_birth=BIRTH_DATE)


def appointment(
    session_id: uuid.UUID, *, hour: int = 10, verified: bool = True
) -> AppointmentMatch:
    return AppointmentMatch(
        session_id=session_id,
        expires_at=T0 + timedelta(minutes=15),
        verified=verified,
        first_name="Ana",
        last_initial="R",
        start=T0.replace(hour=hour),
        provider_name="Dr. Okafor",
        location_name="Main Street",
    )


MATCH_A = appointment(SESSION_A)
MATCH_B = appointment(SESSION_B, hour=14)
QR_MATCH = appointment(SESSION_A, verified=False)

DEMOGRAPHICS = Demographics(
    first_name="Ana",
    last_name="Rivera",
    date_of_birth=BIRTH_DATE,
    phone="+15555550100",
    email=None,
    address=None,
    preferred_language="es",
)
CHANGES = DemographicChanges(phone="+15555550199")
CARD = InsuranceCard(front_image="ZnJvbnQtb2YtY2FyZA==")
CARD_RETAKEN = InsuranceCard(front_image="YSBzaGFycGVyIHBob3Rv")


def consent(number: int, title: str) -> ConsentDocument:
    body = f"{title}: I agree."
    return ConsentDocument(
        document_id=uuid.UUID(int=0xD0 + number),
        code=f"consent-{number}",
        title=title,
        version=1,
        body=body,
        sha256=hashlib.sha256(body.encode()).hexdigest(),
    )


PRIVACY = consent(1, "Notice of privacy practices")
TREATMENT = consent(2, "Consent to treatment")


def signature_for(
    document: ConsentDocument, *, document_id: uuid.UUID | None = None, sha256: str | None = None
) -> Signature:
    return Signature(
        document_id=document_id or document.document_id,
        document_sha256=sha256 or document.sha256,
        strokes=[[(10, 10, 0), (40, 25, 120)]],
        png="c2lnbmF0dXJlLXBuZw==",
        signed_at=T0,
    )


COPAY = CopayDue(amount_cents=2500, self_pay=False)
RECEIPT = PaymentReceipt(
    clinic_name="Main Street Family Practice",
    location_name="Main Street",
    paid_at=T0,
    timezone="America/New_York",
    amount_cents=2500,
    card_brand="visa",
    card_last4="4242",
    reference="PAY-7Q2K",
)


def payment_state(
    status: PaymentStatus,
    failure: PaymentFailure | None = None,
    *,
    amount_cents: int = COPAY.amount_cents,
) -> PaymentState:
    """The back office's answer about this check-in's payment; a paid one carries its receipt."""
    paid = status is PaymentStatus.SUCCEEDED
    return PaymentState(
        check_in_id=CHECK_IN_ID,
        status=status,
        amount_cents=amount_cents,
        failure=failure,
        receipt=RECEIPT.model_copy(update={"amount_cents": amount_cents}) if paid else None,
    )


WAITING_FOR_CARD = payment_state(PaymentStatus.WAITING_FOR_CARD)
PAID = payment_state(PaymentStatus.SUCCEEDED)
DECLINED = payment_state(PaymentStatus.DECLINED, PaymentFailure.CARD_DECLINED)


# --- a driver for the tests ------------------------------------------------------------------


class Kiosk:
    """Drives a flow as the real driver would, one second per event, with the sample answers."""

    def __init__(
        self,
        rules: ClinicRules | None = None,
        *,
        identification: Identification = BY_NAME,
        matches: tuple[AppointmentMatch, ...] = (MATCH_A,),
        consents: tuple[ConsentDocument, ...] = (PRIVACY, TREATMENT),
        copay: CopayDue = COPAY,
    ) -> None:
        self.flow = CheckInFlow(rules or ClinicRules())
        self.identification = identification
        self.matches = matches
        self.consents = consents
        self.copay = copay
        self.now = T0
        self.effects: list[Effect] = []  # what the last event asked for
        self.all_effects: list[Effect] = []
        self.last_request: Request | None = None
        self.steps_seen = [self.flow.step]

    def send(
        self, event_type: type[Event], *, after: timedelta = timedelta(seconds=1), **fields: Any
    ) -> list[Effect]:
        self.now += after
        self.effects = self.flow.handle(event_type(at=self.now, **fields))
        self.all_effects += self.effects
        self.last_request = next(
            (e for e in self.effects if isinstance(e, Request)), self.last_request
        )
        if self.flow.step is not self.steps_seen[-1]:
            self.steps_seen.append(self.flow.step)
        return self.effects

    def answer(self, answer_type: type[Answer], **fields: Any) -> list[Effect]:
        return self.send(answer_type, request=self.last_request, **fields)

    def walk(self, to: Step, *, answered: bool = True) -> None:
        """Take the happy path until `to` is shown, with what it loads unless not `answered`."""
        while self.flow.step is not to or (answered and self.flow.waiting):
            assert self.flow.step is not Step.DONE, f"the path does not pass {to}"
            self.take_next_step()

    def take_next_step(self) -> None:
        flow = self.flow
        if flow.waiting:
            match self.last_request:
                case Lookup():
                    self.answer(LookupAnswered, result=LookupResult(matches=list(self.matches)))
                case CheckBirthDate():
                    self.answer(BirthDateChecked, ok=True)
                case LoadDetails():
                    self.answer(DetailsLoaded, demographics=DEMOGRAPHICS)
                case LoadConsents() | LoadCachedConsents():
                    self.answer(ConsentsLoaded, documents=self.consents)
                case LoadCopay():
                    self.answer(CopayLoaded, copay=self.copay)
                case StartPayment():
                    paid = payment_state(
                        PaymentStatus.SUCCEEDED, amount_cents=self.copay.amount_cents
                    )
                    self.answer(PaymentUpdated, payment=paid)
            return
        match flow.step:
            case Step.WELCOME:
                self.send(Started, check_in_id=CHECK_IN_ID)
            case Step.LANGUAGE:
                self.send(LanguageChosen, code="es")
            case Step.IDENTIFY:
                self.send(Identified, identification=self.identification)
            case Step.VERIFY if flow.needs_birth_date:
                self.send(BirthDateEntered, date_of_birth=BIRTH_DATE)
            case Step.VERIFY:
                self.send(MatchChosen, session_id=flow.matches[0].session_id)
            case Step.CONFIRM_DETAILS:
                self.send(DetailsConfirmed)
            case Step.INSURANCE_CARD if flow.insurance_card is None:
                self.send(CardCaptured, card=CARD)
            case Step.INSURANCE_CARD:
                self.send(CardAccepted)
            case Step.CONSENT_FORMS:
                assert flow.document_to_sign is not None
                self.send(Signed, signature=signature_for(flow.document_to_sign))
            case Step.COPAY:
                self.send(PayByCard)
            case _:
                raise AssertionError(f"no way on from {flow.step}")

    def go_offline(self) -> list[Effect]:
        self.walk(to=Step.IDENTIFY)
        self.send(Identified, identification=self.identification)
        return self.answer(RequestFailed, code=FlowErrorCode.BACK_OFFICE_UNREACHABLE)


def kiosk_at(step: Step, **kiosk_options: Any) -> Kiosk:
    """A kiosk showing `step`; the error step is reached through a lookup with no match."""
    if step is not Step.ERROR:
        kiosk = Kiosk(**kiosk_options)
        kiosk.walk(to=step)
        return kiosk
    kiosk = Kiosk(matches=())
    kiosk.walk(to=Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)
    kiosk.answer(LookupAnswered, result=LookupResult(matches=[]))
    return kiosk


def submitted(effects: list[Effect]) -> CheckInSubmission:
    (submission,) = [effect.submission for effect in effects if isinstance(effect, Submit)]
    return submission


# --- rules and events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"languages": ()},
        {"max_birth_date_attempts": 0},
        {"idle_timeout": timedelta(0)},
        {"payment_timeout": timedelta(0)},
    ],
    ids=["no-language", "no-attempt", "no-idle-timeout", "no-payment-timeout"],
)
def test_rules_refuse_what_cannot_work(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ClinicRules(**options)


def test_an_event_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Tick(at=datetime(2001, 2, 3, 9, 0))


# --- welcome and language --------------------------------------------------------------------


def test_a_new_flow_shows_welcome_and_holds_nothing() -> None:
    flow = CheckInFlow()

    assert (flow.step, flow.holds_phi, flow.waiting) == (Step.WELCOME, False, False)


def test_starting_asks_for_the_language() -> None:
    kiosk = Kiosk()

    effects = kiosk.send(Started, check_in_id=CHECK_IN_ID)

    assert (kiosk.flow.step, effects) == (Step.LANGUAGE, [])


def test_without_the_language_question_the_clinics_first_language_is_used() -> None:
    kiosk = Kiosk(ClinicRules(ask_language=False, languages=("fr", "en")))

    kiosk.send(Started, check_in_id=CHECK_IN_ID)

    assert (kiosk.flow.step, kiosk.flow.language) == (Step.IDENTIFY, "fr")


def test_choosing_a_language_goes_on_to_identify() -> None:
    kiosk = kiosk_at(Step.LANGUAGE)

    kiosk.send(LanguageChosen, code="es")

    assert (kiosk.flow.step, kiosk.flow.language) == (Step.IDENTIFY, "es")


def test_a_language_the_clinic_does_not_offer_is_illegal() -> None:
    kiosk = kiosk_at(Step.LANGUAGE)

    with pytest.raises(IllegalEvent, match="not a language of the clinic"):
        kiosk.send(LanguageChosen, code="de")
    assert (kiosk.flow.step, kiosk.flow.language) == (Step.LANGUAGE, "en")


# --- identify ------------------------------------------------------------------------------


@pytest.mark.parametrize("identification", [BY_NAME, BY_QR, BY_LICENCE], ids=lambda i: i.method)
def test_identifying_asks_for_a_lookup(identification: Identification) -> None:
    kiosk = kiosk_at(Step.IDENTIFY)

    effects = kiosk.send(Identified, identification=identification)

    assert effects == [Lookup(identification)]
    assert (kiosk.flow.step, kiosk.flow.waiting, kiosk.flow.holds_phi) == (
        Step.IDENTIFY,
        True,
        True,
    )


def test_a_lookup_with_matches_shows_them_to_verify() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)

    effects = kiosk.answer(LookupAnswered, result=LookupResult(matches=[MATCH_A, MATCH_B]))

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.matches) == (Step.VERIFY, (MATCH_A, MATCH_B))


def test_a_lookup_without_a_match_is_a_no_match_error_that_forgets_the_patient() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)

    effects = kiosk.answer(LookupAnswered, result=LookupResult(matches=[]))

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.error_code) == (Step.ERROR, KioskErrorCode.NO_MATCH)
    assert not kiosk.flow.holds_phi


def test_a_lookup_naming_several_unverified_appointments_is_illegal() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_QR)
    unverified = [QR_MATCH, appointment(SESSION_B, verified=False)]

    with pytest.raises(IllegalEvent, match="unverified lookup names one appointment"):
        kiosk.answer(LookupAnswered, result=LookupResult(matches=unverified))
    assert (kiosk.flow.step, kiosk.flow.waiting) == (Step.IDENTIFY, True)


def test_a_second_identification_makes_the_first_lookups_answer_stale() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_QR)
    first_lookup = kiosk.last_request
    kiosk.send(Identified, identification=BY_NAME)

    effects = kiosk.send(
        LookupAnswered, request=first_lookup, result=LookupResult(matches=[MATCH_B])
    )

    assert effects == [ReleaseSession(SESSION_B)]
    assert (kiosk.flow.step, kiosk.flow.waiting) == (Step.IDENTIFY, True)


def test_too_many_lookups_lock_the_kiosk() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)

    kiosk.answer(RequestFailed, code=KioskErrorCode.TOO_MANY_ATTEMPTS)

    assert (kiosk.flow.step, kiosk.flow.is_locked) == (Step.ERROR, True)


@pytest.mark.parametrize("event_type", [Retry, StartOver])
def test_the_patient_cannot_leave_a_locked_error(event_type: type[Event]) -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)
    kiosk.answer(RequestFailed, code=KioskErrorCode.TOO_MANY_ATTEMPTS)

    with pytest.raises(IllegalEvent, match="locked"):
        kiosk.send(event_type)
    assert kiosk.flow.step is Step.ERROR


def test_staff_clear_a_locked_error() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)
    kiosk.answer(RequestFailed, code=KioskErrorCode.TOO_MANY_ATTEMPTS)

    kiosk.send(StaffReset)

    assert (kiosk.flow.step, kiosk.flow.error_code) == (Step.WELCOME, None)


# --- verify ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chosen", [MATCH_A, MATCH_B], ids=["first", "second"])
def test_choosing_an_appointment_loads_its_details(chosen: AppointmentMatch) -> None:
    kiosk = kiosk_at(Step.VERIFY, matches=(MATCH_A, MATCH_B))

    effects = kiosk.send(MatchChosen, session_id=chosen.session_id)

    assert effects == [LoadDetails(chosen.session_id)]
    assert (kiosk.flow.step, kiosk.flow.appointment) == (Step.CONFIRM_DETAILS, chosen)


def test_choosing_an_appointment_not_shown_is_illegal() -> None:
    kiosk = kiosk_at(Step.VERIFY)

    with pytest.raises(IllegalEvent, match="not one of the appointments shown"):
        kiosk.send(MatchChosen, session_id=SESSION_B)


def test_not_me_returns_to_identify_and_releases_every_session() -> None:
    kiosk = kiosk_at(Step.VERIFY, matches=(MATCH_A, MATCH_B))

    effects = kiosk.send(Back)

    assert effects == [ReleaseSession(SESSION_A), ReleaseSession(SESSION_B)]
    assert (kiosk.flow.step, kiosk.flow.holds_phi) == (Step.IDENTIFY, False)


def test_a_qr_code_session_shows_nothing_before_the_date_of_birth() -> None:
    kiosk = kiosk_at(Step.VERIFY, identification=BY_QR, matches=(QR_MATCH,))

    assert (kiosk.flow.needs_birth_date, kiosk.flow.matches) == (True, ())
    with pytest.raises(IllegalEvent):
        kiosk.send(MatchChosen, session_id=SESSION_A)


def test_a_date_of_birth_entered_is_checked_against_the_session() -> None:
    kiosk = kiosk_at(Step.VERIFY, identification=BY_QR, matches=(QR_MATCH,))

    effects = kiosk.send(BirthDateEntered, date_of_birth=BIRTH_DATE)

    assert effects == [CheckBirthDate(SESSION_A, BIRTH_DATE)]
    assert kiosk.flow.waiting


def test_the_right_date_of_birth_goes_on_to_the_details() -> None:
    kiosk = kiosk_at(Step.VERIFY, identification=BY_QR, matches=(QR_MATCH,))
    kiosk.send(BirthDateEntered, date_of_birth=BIRTH_DATE)

    effects = kiosk.answer(BirthDateChecked, ok=True)

    assert effects == [LoadDetails(SESSION_A)]
    assert kiosk.flow.step is Step.CONFIRM_DETAILS


def test_a_wrong_date_of_birth_asks_again() -> None:
    kiosk = kiosk_at(Step.VERIFY, identification=BY_QR, matches=(QR_MATCH,))
    kiosk.send(BirthDateEntered, date_of_birth=date(1981, 5, 17))

    effects = kiosk.answer(BirthDateChecked, ok=False)

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.needs_birth_date, kiosk.flow.waiting) == (
        Step.VERIFY,
        True,
        False,
    )
    assert kiosk.flow.birth_date_attempts_left == 2


@pytest.mark.parametrize("attempts", [1, 3])
def test_the_last_wrong_date_of_birth_releases_the_session_and_forgets_the_patient(
    attempts: int,
) -> None:
    kiosk = Kiosk(
        ClinicRules(max_birth_date_attempts=attempts), identification=BY_QR, matches=(QR_MATCH,)
    )
    kiosk.walk(to=Step.VERIFY)
    for _ in range(attempts - 1):
        kiosk.send(BirthDateEntered, date_of_birth=date(1981, 5, 17))
        kiosk.answer(BirthDateChecked, ok=False)
    kiosk.send(BirthDateEntered, date_of_birth=date(1981, 5, 17))

    effects = kiosk.answer(BirthDateChecked, ok=False)

    assert effects == [ReleaseSession(SESSION_A)]
    assert (kiosk.flow.step, kiosk.flow.error_code) == (Step.ERROR, KioskErrorCode.WRONG_BIRTH_DATE)
    assert not kiosk.flow.holds_phi


@pytest.mark.parametrize(
    ("identification", "match"),
    [
        (BY_NAME, MATCH_A.model_copy(update={"already_checked_in": True})),
        (BY_QR, QR_MATCH.model_copy(update={"already_checked_in": True})),
    ],
    ids=["chosen", "after-the-date-of-birth"],
)
def test_an_appointment_already_checked_in_is_not_checked_in_again(
    identification: Identification, match: AppointmentMatch
) -> None:
    kiosk = Kiosk(identification=identification, matches=(match,))

    kiosk.walk(to=Step.ERROR)

    assert kiosk.flow.error_code is KioskErrorCode.ALREADY_CHECKED_IN
    assert kiosk.effects == [ReleaseSession(SESSION_A)]
    assert not kiosk.flow.holds_phi


def test_a_verified_session_is_not_asked_for_a_date_of_birth() -> None:
    kiosk = kiosk_at(Step.VERIFY)

    with pytest.raises(IllegalEvent, match="verified"):
        kiosk.send(BirthDateEntered, date_of_birth=BIRTH_DATE)


def test_back_to_verify_after_the_date_of_birth_shows_the_appointment_without_asking_again() -> (
    None
):
    kiosk = kiosk_at(Step.CONFIRM_DETAILS, identification=BY_QR, matches=(QR_MATCH,))

    kiosk.send(Back)

    assert (kiosk.flow.step, kiosk.flow.needs_birth_date) == (Step.VERIFY, False)
    assert kiosk.flow.matches == (QR_MATCH.model_copy(update={"verified": True}),)


# --- confirm details -------------------------------------------------------------------------


def test_the_details_loaded_are_shown() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)  # walk answers the load

    assert (kiosk.flow.demographics, kiosk.flow.waiting) == (DEMOGRAPHICS, False)


def test_details_cannot_be_confirmed_before_they_are_shown() -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.CONFIRM_DETAILS, answered=False)

    with pytest.raises(IllegalEvent, match="no details shown yet"):
        kiosk.send(DetailsConfirmed)


@pytest.mark.parametrize(
    ("changes", "kept"),
    [(None, None), (DemographicChanges(), None), (CHANGES, CHANGES)],
    ids=["none", "empty", "a-new-phone"],
)
def test_confirming_the_details_keeps_only_real_changes(
    changes: DemographicChanges | None, kept: DemographicChanges | None
) -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)

    kiosk.send(DetailsConfirmed, changes=changes)

    assert (kiosk.flow.step, kiosk.flow.demographic_changes) == (Step.INSURANCE_CARD, kept)


# --- insurance card --------------------------------------------------------------------------


def test_a_captured_card_is_shown_for_the_patient_to_accept() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)

    kiosk.send(CardCaptured, card=CARD)

    assert (kiosk.flow.step, kiosk.flow.insurance_card) == (Step.INSURANCE_CARD, CARD)


def test_a_retaken_card_replaces_the_first() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)
    kiosk.send(CardCaptured, card=CARD)

    kiosk.send(CardCaptured, card=CARD_RETAKEN)

    assert kiosk.flow.insurance_card == CARD_RETAKEN


def test_accepting_the_card_goes_on_to_the_consent_forms() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)
    kiosk.send(CardCaptured, card=CARD)

    effects = kiosk.send(CardAccepted)

    assert (kiosk.flow.step, effects) == (Step.CONSENT_FORMS, [LoadConsents(SESSION_A)])


def test_a_card_cannot_be_accepted_before_it_is_captured() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)

    with pytest.raises(IllegalEvent, match="no card captured"):
        kiosk.send(CardAccepted)


def test_self_pay_goes_on_without_the_card_already_captured() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)
    kiosk.send(CardCaptured, card=CARD)

    kiosk.send(SelfPayChosen)
    kiosk.walk(to=Step.DONE)

    submission = submitted(kiosk.all_effects)
    assert (submission.self_pay, submission.insurance_card) == (True, None)


def test_keeping_the_card_on_file_goes_on_insured_without_a_new_card() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)
    kiosk.send(CardCaptured, card=CARD)

    kiosk.send(CardOnFileKept)
    kiosk.walk(to=Step.DONE)

    submission = submitted(kiosk.all_effects)
    assert (submission.self_pay, submission.insurance_card) == (False, None)


# --- consent forms ---------------------------------------------------------------------------


def test_the_first_consent_loaded_is_shown_to_sign() -> None:
    kiosk = kiosk_at(Step.CONSENT_FORMS)

    assert (kiosk.flow.consents, kiosk.flow.document_to_sign) == ((PRIVACY, TREATMENT), PRIVACY)


def test_signing_a_document_shows_the_next() -> None:
    kiosk = kiosk_at(Step.CONSENT_FORMS)

    effects = kiosk.send(Signed, signature=signature_for(PRIVACY))

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.document_to_sign) == (Step.CONSENT_FORMS, TREATMENT)


def test_signing_the_last_document_goes_on_to_the_copay() -> None:
    kiosk = kiosk_at(Step.CONSENT_FORMS)
    kiosk.send(Signed, signature=signature_for(PRIVACY))

    effects = kiosk.send(Signed, signature=signature_for(TREATMENT))

    assert (kiosk.flow.step, effects) == (Step.COPAY, [LoadCopay(SESSION_A)])
    assert kiosk.flow.signatures == (signature_for(PRIVACY), signature_for(TREATMENT))


@pytest.mark.parametrize(
    "signature",
    [
        signature_for(TREATMENT),
        signature_for(PRIVACY, sha256=TREATMENT.sha256),
        signature_for(PRIVACY, document_id=TREATMENT.document_id),
    ],
    ids=["another-document", "another-text", "another-id"],
)
def test_a_signature_for_anything_but_the_document_shown_is_illegal(signature: Signature) -> None:
    kiosk = kiosk_at(Step.CONSENT_FORMS)

    with pytest.raises(IllegalEvent, match="not a signature of the document shown"):
        kiosk.send(Signed, signature=signature)
    assert (kiosk.flow.signatures, kiosk.flow.document_to_sign) == ((), PRIVACY)


def test_nothing_can_be_signed_before_the_documents_load() -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.CONSENT_FORMS, answered=False)

    with pytest.raises(IllegalEvent):
        kiosk.send(Signed, signature=signature_for(PRIVACY))


def test_no_consent_needed_goes_straight_on_to_the_copay() -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.CONSENT_FORMS, answered=False)

    effects = kiosk.answer(ConsentsLoaded, documents=())

    assert (kiosk.flow.step, effects) == (Step.COPAY, [LoadCopay(SESSION_A)])


# --- copay ---------------------------------------------------------------------------------


def test_the_copay_due_is_shown() -> None:
    kiosk = kiosk_at(Step.COPAY)

    assert (kiosk.flow.copay_due, kiosk.flow.waiting) == (COPAY, False)


@pytest.mark.parametrize("amount_cents", [2500, 1000], ids=["in-full", "what-was-left"])
def test_the_copay_paid_by_card_is_submitted(amount_cents: int) -> None:
    kiosk = kiosk_at(Step.COPAY)
    kiosk.send(PayByCard)

    effects = kiosk.answer(
        PaymentUpdated, payment=payment_state(PaymentStatus.SUCCEEDED, amount_cents=amount_cents)
    )

    assert kiosk.flow.step is Step.DONE
    assert submitted(effects).copay_paid_cents == amount_cents


def test_paying_at_the_desk_submits_nothing_paid_and_asks_nothing_of_the_reader() -> None:
    kiosk = kiosk_at(Step.COPAY)

    effects = kiosk.send(PayAtDesk)

    assert kiosk.flow.step is Step.DONE
    assert effects == [Submit(submitted(effects))]
    assert submitted(effects).copay_paid_cents == 0


@pytest.mark.parametrize(
    ("event_type", "reason"),
    [(PayByCard, "nothing to pay"), (PayAtDesk, "no copay shown yet")],
    ids=["by-card", "at-the-desk"],
)
def test_nothing_can_be_paid_before_the_copay_loads(event_type: type[Event], reason: str) -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.COPAY, answered=False)

    with pytest.raises(IllegalEvent, match=reason):
        kiosk.send(event_type)
    assert (kiosk.flow.step, kiosk.flow.waiting) == (Step.COPAY, True)


def test_no_copay_due_finishes_the_check_in_when_it_loads() -> None:
    kiosk = Kiosk(copay=CopayDue(amount_cents=0, self_pay=False))
    kiosk.walk(to=Step.COPAY, answered=False)

    effects = kiosk.answer(CopayLoaded, copay=CopayDue(amount_cents=0, self_pay=False))

    assert kiosk.flow.step is Step.DONE
    assert submitted(effects).completed_at == kiosk.now


# --- paying the copay on the card reader -----------------------------------------------------


def paying_by_card(answered: PaymentState | None = WAITING_FOR_CARD, **kiosk_options: Any) -> Kiosk:
    """A kiosk at the copay whose patient chose the card; the StartPayment is `answered` with
    this state, or left unanswered."""
    kiosk = kiosk_at(Step.COPAY, **kiosk_options)
    kiosk.send(PayByCard)
    if answered is not None:
        kiosk.answer(PaymentUpdated, payment=answered)
    return kiosk


def test_paying_by_card_starts_the_payment_on_the_reader() -> None:
    kiosk = kiosk_at(Step.COPAY)

    effects = kiosk.send(PayByCard)

    assert effects == [StartPayment(SESSION_A, CHECK_IN_ID)]
    assert (kiosk.flow.step, kiosk.flow.paying, kiosk.flow.waiting) == (Step.COPAY, True, True)


@pytest.mark.parametrize(
    "status",
    [PaymentStatus.STARTING, PaymentStatus.WAITING_FOR_CARD, PaymentStatus.AUTHORIZED],
    ids=str,
)
def test_a_payment_in_progress_is_shown_and_asks_nothing(status: PaymentStatus) -> None:
    kiosk = paying_by_card(answered=None)
    state = payment_state(status)

    effects = kiosk.answer(PaymentUpdated, payment=state)

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.payment, kiosk.flow.paying, kiosk.flow.waiting) == (
        Step.COPAY,
        state,
        True,
        False,
    )


def test_each_tick_while_the_reader_waits_follows_the_payment() -> None:
    kiosk = paying_by_card()

    effects = kiosk.send(Tick)

    assert effects == [FollowPayment(CHECK_IN_ID)]
    assert kiosk.flow.waiting


@pytest.mark.parametrize("ticks_before", [0, 1], ids=["start-out", "follow-out"])
def test_a_tick_while_the_back_office_is_asked_about_the_payment_asks_nothing_more(
    ticks_before: int,
) -> None:
    kiosk = paying_by_card(answered=None if ticks_before == 0 else WAITING_FOR_CARD)
    for _ in range(ticks_before):
        kiosk.send(Tick)

    effects = kiosk.send(Tick)

    assert (effects, kiosk.flow.waiting) == ([], True)


def test_a_payment_followed_to_success_submits_the_check_in_and_keeps_the_receipt() -> None:
    kiosk = paying_by_card()
    kiosk.send(Tick)

    effects = kiosk.answer(PaymentUpdated, payment=PAID)

    assert effects == [Submit(submitted(effects))]
    assert submitted(effects).copay_paid_cents == COPAY.amount_cents
    assert (kiosk.flow.step, kiosk.flow.receipt, kiosk.flow.paying) == (Step.DONE, RECEIPT, False)


NOT_PAID = [
    DECLINED,
    payment_state(PaymentStatus.DECLINED, PaymentFailure.INSUFFICIENT_FUNDS),
    payment_state(PaymentStatus.FAILED, PaymentFailure.READER_OFFLINE),
    payment_state(PaymentStatus.FAILED, PaymentFailure.READER_BUSY),
    payment_state(PaymentStatus.CANCELED, PaymentFailure.TIMED_OUT),
]


@pytest.mark.parametrize("state", NOT_PAID, ids=lambda state: f"{state.status}-{state.failure}")
def test_a_payment_that_does_not_go_through_stays_at_the_copay_saying_why(
    state: PaymentState,
) -> None:
    kiosk = paying_by_card()
    kiosk.send(Tick)

    effects = kiosk.answer(PaymentUpdated, payment=state)

    assert effects == []
    assert (
        kiosk.flow.step,
        kiosk.flow.paying,
        kiosk.flow.waiting,
        kiosk.flow.payment_problem,
    ) == (Step.COPAY, False, False, state.failure)


def test_after_a_decline_ticks_ask_nothing() -> None:
    kiosk = paying_by_card(DECLINED)

    effects = kiosk.send(Tick)

    assert (effects, kiosk.flow.waiting) == ([], False)


def test_another_card_after_a_decline_starts_the_payment_again_afresh() -> None:
    kiosk = paying_by_card(DECLINED)

    effects = kiosk.send(PayByCard)

    assert effects == [StartPayment(SESSION_A, CHECK_IN_ID)]
    assert (kiosk.flow.paying, kiosk.flow.payment, kiosk.flow.payment_problem) == (
        True,
        None,
        None,
    )


def test_another_card_after_a_decline_can_pay_the_copay() -> None:
    kiosk = paying_by_card(DECLINED)
    kiosk.send(PayByCard)

    effects = kiosk.answer(PaymentUpdated, payment=PAID)

    assert (kiosk.flow.step, submitted(effects).copay_paid_cents) == (Step.DONE, 2500)


@pytest.mark.parametrize(
    ("elapsed", "asked"),
    [
        (PAYMENT_TIMEOUT - timedelta(microseconds=1), FollowPayment(CHECK_IN_ID)),
        (PAYMENT_TIMEOUT, CancelPayment(CHECK_IN_ID, PaymentFailure.TIMED_OUT)),
    ],
    ids=["just-before", "at-the-timeout"],
)
def test_a_tick_stops_the_reader_once_the_payment_timeout_has_passed(
    elapsed: timedelta, asked: Effect
) -> None:
    kiosk = kiosk_at(Step.COPAY)
    kiosk.send(PayByCard)
    started = kiosk.now
    kiosk.answer(PaymentUpdated, payment=WAITING_FOR_CARD)

    effects = kiosk.send(Tick, after=started + elapsed - kiosk.now)

    assert effects == [asked]


def test_following_the_payment_keeps_the_kiosk_awake_but_does_not_put_the_timeout_off() -> None:
    rules = ClinicRules(payment_timeout=IDLE * 2)  # longer than the idle timeout
    poll = timedelta(seconds=10)
    kiosk = kiosk_at(Step.COPAY, rules=rules)
    kiosk.send(PayByCard)
    started = kiosk.now
    kiosk.answer(PaymentUpdated, payment=WAITING_FOR_CARD)
    asked: list[Effect] = []
    while started + rules.payment_timeout - kiosk.now > poll:
        asked += kiosk.send(Tick, after=poll)
        kiosk.answer(PaymentUpdated, after=timedelta(0), payment=WAITING_FOR_CARD)

    effects = kiosk.send(Tick, after=started + rules.payment_timeout - kiosk.now)

    assert set(asked) == {FollowPayment(CHECK_IN_ID)}
    assert effects == [CancelPayment(CHECK_IN_ID, PaymentFailure.TIMED_OUT)]


def test_a_payment_stopped_for_time_stays_at_the_copay_saying_so() -> None:
    kiosk = paying_by_card()
    kiosk.send(Tick, after=PAYMENT_TIMEOUT)

    kiosk.answer(
        PaymentUpdated, payment=payment_state(PaymentStatus.CANCELED, PaymentFailure.TIMED_OUT)
    )

    assert (kiosk.flow.step, kiosk.flow.paying, kiosk.flow.payment_problem) == (
        Step.COPAY,
        False,
        PaymentFailure.TIMED_OUT,
    )


def test_another_card_gets_the_whole_payment_timeout_again() -> None:
    kiosk = kiosk_at(Step.COPAY)
    kiosk.send(PayByCard)
    kiosk.answer(PaymentUpdated, after=PAYMENT_TIMEOUT / 2, payment=DECLINED)
    kiosk.send(PayByCard)
    kiosk.answer(PaymentUpdated, payment=WAITING_FOR_CARD)

    effects = kiosk.send(Tick, after=PAYMENT_TIMEOUT * 3 / 4)  # past the first card's timeout

    assert effects == [FollowPayment(CHECK_IN_ID)]


def test_the_patient_can_stop_the_reader() -> None:
    kiosk = paying_by_card()

    effects = kiosk.send(CardPaymentCanceled)

    assert effects == [CancelPayment(CHECK_IN_ID, PaymentFailure.ABANDONED)]
    assert (kiosk.flow.step, kiosk.flow.paying, kiosk.flow.waiting) == (Step.COPAY, True, True)


def test_a_payment_the_patient_stopped_stays_at_the_copay_for_the_desk() -> None:
    kiosk = paying_by_card()
    kiosk.send(CardPaymentCanceled)

    kiosk.answer(
        PaymentUpdated, payment=payment_state(PaymentStatus.CANCELED, PaymentFailure.ABANDONED)
    )

    assert (kiosk.flow.step, kiosk.flow.paying, kiosk.flow.payment_problem) == (
        Step.COPAY,
        False,
        PaymentFailure.ABANDONED,
    )


def test_a_card_paid_as_the_patient_stopped_the_reader_is_kept() -> None:
    kiosk = paying_by_card()
    kiosk.send(CardPaymentCanceled)

    effects = kiosk.answer(PaymentUpdated, payment=PAID)

    assert (kiosk.flow.step, submitted(effects).copay_paid_cents) == (Step.DONE, 2500)


def test_stopping_the_reader_before_it_started_makes_the_starts_answer_stale() -> None:
    kiosk = paying_by_card(answered=None)
    start = kiosk.last_request
    kiosk.send(CardPaymentCanceled)

    effects = kiosk.send(PaymentUpdated, request=start, payment=WAITING_FOR_CARD)

    assert (effects, kiosk.flow.payment, kiosk.flow.waiting) == ([], None, True)


@pytest.mark.parametrize(
    "make_kiosk",
    [lambda: kiosk_at(Step.COPAY), lambda: paying_by_card(DECLINED)],
    ids=["before-paying", "after-a-decline"],
)
def test_stopping_the_reader_when_no_card_payment_runs_is_illegal(make_kiosk: Any) -> None:
    kiosk: Kiosk = make_kiosk()

    with pytest.raises(IllegalEvent, match="no payment is running"):
        kiosk.send(CardPaymentCanceled)
    assert (kiosk.flow.step, kiosk.flow.waiting) == (Step.COPAY, False)


@pytest.mark.parametrize(
    ("event_type", "reason"),
    [
        (PayByCard, "a payment is running"),
        (PayAtDesk, "cancel the card payment first"),
        (Back, "cancel the card payment first"),
    ],
    ids=["PayByCard", "PayAtDesk", "Back"],
)
@pytest.mark.parametrize("answered", [None, WAITING_FOR_CARD], ids=["starting", "reader-waits"])
def test_paying_again_or_at_the_desk_or_going_back_is_illegal_while_the_card_pays(
    event_type: type[Event], reason: str, answered: PaymentState | None
) -> None:
    kiosk = paying_by_card(answered)

    with pytest.raises(IllegalEvent, match=reason):
        kiosk.send(event_type)
    assert (kiosk.flow.step, kiosk.flow.paying) == (Step.COPAY, True)


@pytest.mark.parametrize(
    ("answered", "can_go_back"),
    [(WAITING_FOR_CARD, False), (DECLINED, True)],
    ids=["reader-waits", "declined"],
)
def test_back_is_offered_only_while_no_card_payment_runs(
    answered: PaymentState, can_go_back: bool
) -> None:
    kiosk = paying_by_card(answered)

    assert kiosk.flow.can_go_back is can_go_back


@pytest.mark.parametrize(
    ("answered", "cancelled"),
    [
        (DECLINED, [CancelPayment(CHECK_IN_ID, PaymentFailure.ABANDONED)]),
        (payment_state(PaymentStatus.CANCELED, PaymentFailure.TIMED_OUT), []),
        (payment_state(PaymentStatus.FAILED, PaymentFailure.READER_OFFLINE), []),
    ],
    ids=["declined", "canceled", "failed"],
)
def test_paying_at_the_desk_after_the_card_cancels_a_payment_still_open_once_first(
    answered: PaymentState, cancelled: list[Effect]
) -> None:
    kiosk = paying_by_card(answered)

    effects = kiosk.send(PayAtDesk)

    assert effects == [*cancelled, Submit(submitted(effects))]
    assert submitted(effects).copay_paid_cents == 0


# --- leaving while the card pays -----------------------------------------------------------


@pytest.mark.parametrize(
    "answered", [None, WAITING_FOR_CARD, DECLINED], ids=["starting", "reader-waits", "declined"]
)
def test_starting_over_mid_payment_cancels_it_without_waiting(
    answered: PaymentState | None,
) -> None:
    kiosk = paying_by_card(answered)

    effects = kiosk.send(StartOver)

    assert effects == [
        CancelPayment(CHECK_IN_ID, PaymentFailure.ABANDONED),
        ReleaseSession(SESSION_A),
    ]
    assert (kiosk.flow.step, kiosk.flow.waiting, kiosk.flow.holds_phi) == (
        Step.WELCOME,
        False,
        False,
    )


def unanswered_poll() -> Kiosk:
    kiosk = paying_by_card()
    kiosk.send(Tick)  # FollowPayment, never answered
    return kiosk


@pytest.mark.parametrize(
    "make_kiosk",
    [unanswered_poll, lambda: paying_by_card(DECLINED)],
    ids=["unanswered-poll", "declined"],
)
def test_idling_mid_payment_cancels_it_without_waiting(make_kiosk: Any) -> None:
    kiosk: Kiosk = make_kiosk()

    effects = kiosk.send(Tick, after=IDLE)

    assert effects == [
        CancelPayment(CHECK_IN_ID, PaymentFailure.ABANDONED),
        ReleaseSession(SESSION_A),
    ]
    assert (kiosk.flow.step, kiosk.flow.waiting, kiosk.flow.holds_phi) == (
        Step.WELCOME,
        False,
        False,
    )


def test_going_back_to_identify_after_a_decline_cancels_the_payment() -> None:
    kiosk = paying_by_card(DECLINED)
    while kiosk.flow.step is not Step.VERIFY:
        kiosk.send(Back)

    effects = kiosk.send(Back)

    assert effects == [
        CancelPayment(CHECK_IN_ID, PaymentFailure.ABANDONED),
        ReleaseSession(SESSION_A),
    ]
    assert (kiosk.flow.step, kiosk.flow.holds_phi) == (Step.IDENTIFY, False)


@pytest.mark.parametrize("late", [WAITING_FOR_CARD, PAID], ids=["waiting", "paid"])
def test_the_starts_answer_after_starting_over_is_dropped(late: PaymentState) -> None:
    kiosk = paying_by_card(answered=None)
    start = kiosk.last_request
    kiosk.send(StartOver)

    effects = kiosk.send(PaymentUpdated, request=start, payment=late)

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.payment, kiosk.flow.receipt) == (Step.WELCOME, None, None)


def test_the_answer_to_the_cancel_sent_on_leaving_is_dropped() -> None:
    kiosk = paying_by_card()
    kiosk.send(StartOver)  # its CancelPayment is the last request

    effects = kiosk.answer(
        PaymentUpdated, payment=payment_state(PaymentStatus.CANCELED, PaymentFailure.ABANDONED)
    )

    assert (effects, kiosk.flow.step, kiosk.flow.payment) == ([], Step.WELCOME, None)


# --- the back office failing to answer about the payment -----------------------------------


@pytest.mark.parametrize(
    "code",
    [FlowErrorCode.BACK_OFFICE_UNREACHABLE, KioskErrorCode.PAYMENT_UNAVAILABLE],
    ids=str,
)
def test_a_lost_poll_is_asked_again_at_the_next_tick(code: KioskErrorCode | FlowErrorCode) -> None:
    kiosk = paying_by_card()
    kiosk.send(Tick)
    kiosk.answer(RequestFailed, code=code)

    effects = kiosk.send(Tick)

    assert effects == [FollowPayment(CHECK_IN_ID)]
    assert (kiosk.flow.step, kiosk.flow.paying, kiosk.flow.payment_problem) == (
        Step.COPAY,
        True,
        None,
    )


def test_a_start_refused_as_nothing_due_finishes_the_check_in_with_nothing_paid() -> None:
    kiosk = paying_by_card(answered=None)

    effects = kiosk.answer(RequestFailed, code=KioskErrorCode.NOTHING_DUE)

    assert effects == [Submit(submitted(effects))]
    assert (kiosk.flow.step, submitted(effects).copay_paid_cents, kiosk.flow.receipt) == (
        Step.DONE,
        0,
        None,
    )


START_FAILURES = [
    KioskErrorCode.NO_CARD_READER,
    KioskErrorCode.PAYMENT_UNAVAILABLE,
    KioskErrorCode.PAYMENT_IN_PROGRESS,
    FlowErrorCode.BACK_OFFICE_UNREACHABLE,
]


@pytest.mark.parametrize("code", START_FAILURES, ids=str)
def test_a_start_that_fails_stays_at_the_copay_saying_why(
    code: KioskErrorCode | FlowErrorCode,
) -> None:
    kiosk = paying_by_card(answered=None)

    effects = kiosk.answer(RequestFailed, code=code)

    assert effects == []
    assert (
        kiosk.flow.step,
        kiosk.flow.paying,
        kiosk.flow.waiting,
        kiosk.flow.payment_problem,
    ) == (Step.COPAY, False, False, code)


def test_the_card_can_be_tried_again_after_a_failed_start() -> None:
    kiosk = paying_by_card(answered=None)
    kiosk.answer(RequestFailed, code=KioskErrorCode.PAYMENT_UNAVAILABLE)

    effects = kiosk.send(PayByCard)

    assert effects == [StartPayment(SESSION_A, CHECK_IN_ID)]
    assert (kiosk.flow.paying, kiosk.flow.payment_problem) == (True, None)


def stopped_by_the_patient() -> Kiosk:
    kiosk = paying_by_card()
    kiosk.send(CardPaymentCanceled)
    return kiosk


def stopped_for_time() -> Kiosk:
    kiosk = paying_by_card()
    kiosk.send(Tick, after=PAYMENT_TIMEOUT)
    return kiosk


CANCELLING = {"by-the-patient": stopped_by_the_patient, "for-time": stopped_for_time}


@pytest.mark.parametrize("make_kiosk", CANCELLING.values(), ids=CANCELLING.keys())
def test_a_cancel_that_fails_stays_at_the_copay_saying_why(make_kiosk: Any) -> None:
    kiosk: Kiosk = make_kiosk()
    assert isinstance(kiosk.last_request, CancelPayment)

    effects = kiosk.answer(RequestFailed, code=KioskErrorCode.PAYMENT_UNAVAILABLE)

    assert effects == []
    assert (
        kiosk.flow.step,
        kiosk.flow.paying,
        kiosk.flow.waiting,
        kiosk.flow.payment_problem,
    ) == (Step.COPAY, False, False, KioskErrorCode.PAYMENT_UNAVAILABLE)


@pytest.mark.parametrize("make_kiosk", CANCELLING.values(), ids=CANCELLING.keys())
def test_after_a_cancel_that_failed_the_desk_leaves_the_payment_to_the_back_office(
    make_kiosk: Any,
) -> None:
    kiosk: Kiosk = make_kiosk()
    kiosk.answer(RequestFailed, code=KioskErrorCode.PAYMENT_UNAVAILABLE)

    effects = kiosk.send(PayAtDesk)

    assert effects == [Submit(submitted(effects))]


# --- the receipt ---------------------------------------------------------------------------


def test_the_receipt_of_the_card_payment_is_printed_on_request() -> None:
    kiosk = kiosk_at(Step.DONE)

    effects = kiosk.send(ReceiptRequested)

    assert (kiosk.flow.step, effects) == (Step.DONE, [PrintReceipt(RECEIPT)])


def paid_at_the_desk() -> Kiosk:
    kiosk = kiosk_at(Step.COPAY)
    kiosk.send(PayAtDesk)
    return kiosk


def nothing_due_after_all() -> Kiosk:
    kiosk = paying_by_card(answered=None)
    kiosk.answer(RequestFailed, code=KioskErrorCode.NOTHING_DUE)
    return kiosk


def declined_then_paid_at_the_desk() -> Kiosk:
    kiosk = paying_by_card(DECLINED)
    kiosk.send(PayAtDesk)
    return kiosk


NOT_PAID_BY_CARD = {
    "at-the-desk": paid_at_the_desk,
    "declined-then-at-the-desk": declined_then_paid_at_the_desk,
    "nothing-due-after-all": nothing_due_after_all,
    "no-copay": lambda: kiosk_at(Step.DONE, copay=CopayDue(amount_cents=0, self_pay=False)),
    "copay-off": lambda: kiosk_at(Step.DONE, rules=ClinicRules(collect_copay=False)),
}


@pytest.mark.parametrize("make_kiosk", NOT_PAID_BY_CARD.values(), ids=NOT_PAID_BY_CARD.keys())
def test_there_is_no_receipt_to_print_without_a_card_payment(make_kiosk: Any) -> None:
    kiosk: Kiosk = make_kiosk()

    with pytest.raises(IllegalEvent, match="nothing was paid by card"):
        kiosk.send(ReceiptRequested)
    assert (kiosk.flow.step, kiosk.flow.receipt) == (Step.DONE, None)


@pytest.mark.parametrize(
    ("event_type", "after"),
    [(StartOver, timedelta(seconds=1)), (Tick, IDLE)],
    ids=["touched", "idle"],
)
def test_the_receipt_is_forgotten_back_at_welcome(
    event_type: type[Event], after: timedelta
) -> None:
    kiosk = kiosk_at(Step.DONE)

    kiosk.send(event_type, after=after)

    assert (kiosk.flow.step, kiosk.flow.receipt) == (Step.WELCOME, None)


# --- done ----------------------------------------------------------------------------------


def test_the_check_in_submitted_holds_everything_collected() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)
    kiosk.send(DetailsConfirmed, changes=CHANGES)
    kiosk.walk(to=Step.COPAY)

    kiosk.send(PayByCard)

    effects = kiosk.answer(PaymentUpdated, payment=PAID)

    assert effects == [
        Submit(
            CheckInSubmission(
                check_in_id=CHECK_IN_ID,
                session_id=SESSION_A,
                identification=BY_NAME,
                language="es",
                demographic_changes=CHANGES,
                insurance_card=CARD,
                self_pay=False,
                signatures=[signature_for(PRIVACY), signature_for(TREATMENT)],
                copay_paid_cents=2500,
                completed_at=kiosk.now,
                offline=False,
            )
        )
    ]


def test_done_forgets_the_patient_but_their_first_name() -> None:
    kiosk = kiosk_at(Step.DONE)

    assert (kiosk.flow.holds_phi, kiosk.flow.first_name) == (False, "Ana")
    assert (kiosk.flow.appointment, kiosk.flow.demographics, kiosk.flow.signatures) == (
        None,
        None,
        (),
    )


def test_submitting_releases_the_appointments_not_chosen() -> None:
    kiosk = kiosk_at(Step.COPAY, matches=(MATCH_A, MATCH_B))

    effects = kiosk.send(PayAtDesk)

    assert effects[1:] == [ReleaseSession(SESSION_B)]


def test_touching_the_done_screen_returns_to_welcome_without_the_name() -> None:
    kiosk = kiosk_at(Step.DONE)

    effects = kiosk.send(StartOver)

    assert (kiosk.flow.step, kiosk.flow.first_name, effects) == (Step.WELCOME, None, [])


# --- skipped steps -------------------------------------------------------------------------


def test_the_whole_path_is_shown_by_default() -> None:
    kiosk = Kiosk()

    kiosk.walk(to=Step.DONE)

    assert kiosk.steps_seen == list(PATH)


@pytest.mark.parametrize(
    ("rules", "skipped"),
    [
        (ClinicRules(ask_language=False), Step.LANGUAGE),
        (ClinicRules(collect_insurance_card=False), Step.INSURANCE_CARD),
        (ClinicRules(collect_consent=False), Step.CONSENT_FORMS),
        (ClinicRules(collect_copay=False), Step.COPAY),
    ],
    ids=["language", "card", "consent", "copay"],
)
def test_a_step_the_rules_turn_off_is_never_shown(rules: ClinicRules, skipped: Step) -> None:
    kiosk = Kiosk(rules)

    kiosk.walk(to=Step.DONE)

    assert kiosk.steps_seen == [step for step in PATH if step is not skipped]


@pytest.mark.parametrize(
    ("rules", "never_asked"),
    [
        (ClinicRules(collect_consent=False), LoadConsents),
        (ClinicRules(collect_copay=False), LoadCopay),
    ],
    ids=["consent", "copay"],
)
def test_a_step_the_rules_turn_off_loads_nothing(
    rules: ClinicRules, never_asked: type[Request]
) -> None:
    kiosk = Kiosk(rules)

    kiosk.walk(to=Step.DONE)

    assert not [effect for effect in kiosk.all_effects if isinstance(effect, never_asked)]


@pytest.mark.parametrize(
    ("rules", "field", "left_out"),
    [
        (ClinicRules(collect_insurance_card=False), "insurance_card", None),
        (ClinicRules(collect_consent=False), "signatures", []),
        (ClinicRules(collect_copay=False), "copay_paid_cents", 0),
    ],
    ids=["card", "consent", "copay"],
)
def test_a_step_the_rules_turn_off_leaves_its_part_out_of_the_submission(
    rules: ClinicRules, field: str, left_out: object
) -> None:
    kiosk = Kiosk(rules)

    kiosk.walk(to=Step.DONE)

    assert getattr(submitted(kiosk.all_effects), field) == left_out


# --- back ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "options", "start", "previous"),
    [
        (ClinicRules(), {}, Step.IDENTIFY, Step.LANGUAGE),
        (ClinicRules(), {}, Step.VERIFY, Step.IDENTIFY),
        (ClinicRules(), {}, Step.CONFIRM_DETAILS, Step.VERIFY),
        (ClinicRules(), {}, Step.INSURANCE_CARD, Step.CONFIRM_DETAILS),
        (ClinicRules(), {}, Step.CONSENT_FORMS, Step.INSURANCE_CARD),
        (ClinicRules(), {}, Step.COPAY, Step.CONSENT_FORMS),
        (ClinicRules(collect_insurance_card=False), {}, Step.CONSENT_FORMS, Step.CONFIRM_DETAILS),
        (ClinicRules(collect_consent=False), {}, Step.COPAY, Step.INSURANCE_CARD),
        (ClinicRules(), {"consents": ()}, Step.COPAY, Step.INSURANCE_CARD),
        (
            ClinicRules(collect_insurance_card=False, collect_consent=False),
            {},
            Step.COPAY,
            Step.CONFIRM_DETAILS,
        ),
    ],
    ids=[
        "identify",
        "verify",
        "confirm-details",
        "insurance-card",
        "consent-forms",
        "copay",
        "card-off",
        "consent-off",
        "no-consent-needed",
        "card-and-consent-off",
    ],
)
def test_back_returns_to_the_last_step_shown(
    rules: ClinicRules, options: dict[str, Any], start: Step, previous: Step
) -> None:
    kiosk = Kiosk(rules, **options)
    kiosk.walk(to=start)

    kiosk.send(Back)

    assert kiosk.flow.step is previous


def test_there_is_no_back_from_identify_when_the_language_was_not_asked() -> None:
    kiosk = Kiosk(ClinicRules(ask_language=False))
    kiosk.walk(to=Step.IDENTIFY)

    assert not kiosk.flow.can_go_back
    with pytest.raises(IllegalEvent, match="nothing to go back to"):
        kiosk.send(Back)


def test_back_to_the_language_forgets_the_identification() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)

    kiosk.send(Back)

    assert (kiosk.flow.step, kiosk.flow.holds_phi, kiosk.flow.waiting) == (
        Step.LANGUAGE,
        False,
        False,
    )


def test_back_to_the_details_keeps_them_and_the_changes_without_loading_again() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)
    kiosk.send(DetailsConfirmed, changes=CHANGES)

    effects = kiosk.send(Back)

    assert effects == []
    assert (kiosk.flow.demographics, kiosk.flow.demographic_changes) == (DEMOGRAPHICS, CHANGES)


def test_back_to_the_consent_forms_asks_for_every_signature_again() -> None:
    kiosk = kiosk_at(Step.COPAY)

    effects = kiosk.send(Back)

    assert effects == []
    assert (kiosk.flow.signatures, kiosk.flow.document_to_sign) == ((), PRIVACY)


def test_choosing_the_appointment_again_starts_the_rest_afresh() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)
    kiosk.send(DetailsConfirmed, changes=CHANGES)
    kiosk.send(Back)
    kiosk.send(Back)

    effects = kiosk.send(MatchChosen, session_id=SESSION_A)

    assert effects == [LoadDetails(SESSION_A)]
    assert (kiosk.flow.demographics, kiosk.flow.demographic_changes) == (None, None)


def test_an_answer_arriving_after_back_is_ignored() -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.CONFIRM_DETAILS, answered=False)
    kiosk.send(Back)

    effects = kiosk.answer(DetailsLoaded, demographics=DEMOGRAPHICS)

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.demographics) == (Step.VERIFY, None)


# --- leaving early -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "released"),
    [
        (Step.LANGUAGE, []),
        (Step.IDENTIFY, []),
        (Step.VERIFY, [ReleaseSession(SESSION_A)]),
        (Step.CONFIRM_DETAILS, [ReleaseSession(SESSION_A)]),
        (Step.INSURANCE_CARD, [ReleaseSession(SESSION_A)]),
        (Step.CONSENT_FORMS, [ReleaseSession(SESSION_A)]),
        (Step.COPAY, [ReleaseSession(SESSION_A)]),
    ],
    ids=str,
)
def test_starting_over_mid_way_releases_the_session_and_forgets_the_patient(
    step: Step, released: list[Effect]
) -> None:
    kiosk = kiosk_at(step)

    effects = kiosk.send(StartOver)

    assert effects == released
    assert (kiosk.flow.step, kiosk.flow.holds_phi) == (Step.WELCOME, False)


@pytest.mark.parametrize("step", [Step.CONFIRM_DETAILS, Step.CONSENT_FORMS, Step.COPAY], ids=str)
def test_a_failed_request_in_a_session_releases_it_and_shows_the_error(step: Step) -> None:
    kiosk = Kiosk()
    kiosk.walk(to=step, answered=False)

    effects = kiosk.answer(RequestFailed, code=KioskErrorCode.SESSION_EXPIRED)

    assert effects == [ReleaseSession(SESSION_A)]
    assert (kiosk.flow.step, kiosk.flow.error_code) == (Step.ERROR, KioskErrorCode.SESSION_EXPIRED)
    assert not kiosk.flow.holds_phi


def test_too_many_dates_of_birth_across_sessions_lock_the_kiosk() -> None:
    kiosk = kiosk_at(Step.VERIFY, identification=BY_QR, matches=(QR_MATCH,))
    kiosk.send(BirthDateEntered, date_of_birth=BIRTH_DATE)

    effects = kiosk.answer(RequestFailed, code=KioskErrorCode.TOO_MANY_ATTEMPTS)

    assert effects == [ReleaseSession(SESSION_A)]
    assert (kiosk.flow.step, kiosk.flow.is_locked, kiosk.flow.holds_phi) == (
        Step.ERROR,
        True,
        False,
    )


def test_retrying_after_an_error_identifies_again_in_the_same_language() -> None:
    kiosk = kiosk_at(Step.ERROR)

    kiosk.send(Retry)

    assert (kiosk.flow.step, kiosk.flow.language, kiosk.flow.error_code) == (
        Step.IDENTIFY,
        "es",
        None,
    )


def test_back_after_a_retry_returns_to_the_language() -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.CONFIRM_DETAILS, answered=False)
    kiosk.answer(RequestFailed, code=KioskErrorCode.SESSION_EXPIRED)
    kiosk.send(Retry)

    kiosk.send(Back)

    assert kiosk.flow.step is Step.LANGUAGE


def test_starting_over_after_an_error_returns_to_welcome() -> None:
    kiosk = kiosk_at(Step.ERROR)

    kiosk.send(StartOver)

    assert (kiosk.flow.step, kiosk.flow.language, kiosk.flow.error_code) == (
        Step.WELCOME,
        "en",
        None,
    )


# --- idle timeout ----------------------------------------------------------------------------


def locked_error() -> Kiosk:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)
    kiosk.answer(RequestFailed, code=KioskErrorCode.TOO_MANY_ATTEMPTS)
    return kiosk


def identifying() -> Kiosk:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Identified, identification=BY_NAME)
    return kiosk


IDLE_SCREENS = {
    "language": (lambda: kiosk_at(Step.LANGUAGE), []),
    "identify": (lambda: kiosk_at(Step.IDENTIFY), []),
    "identify-waiting": (identifying, []),
    "verify": (lambda: kiosk_at(Step.VERIFY, matches=(MATCH_A, MATCH_B)), [SESSION_A, SESSION_B]),
    "verify-birth-date": (
        lambda: kiosk_at(Step.VERIFY, identification=BY_QR, matches=(QR_MATCH,)),
        [SESSION_A],
    ),
    "confirm-details": (lambda: kiosk_at(Step.CONFIRM_DETAILS), [SESSION_A]),
    "insurance-card": (lambda: kiosk_at(Step.INSURANCE_CARD), [SESSION_A]),
    "consent-forms": (lambda: kiosk_at(Step.CONSENT_FORMS), [SESSION_A]),
    "copay": (lambda: kiosk_at(Step.COPAY), [SESSION_A]),
    "done": (lambda: kiosk_at(Step.DONE), []),
    "error": (lambda: kiosk_at(Step.ERROR), []),
    "error-locked": (locked_error, []),
}


@pytest.mark.parametrize(("make_kiosk", "released"), IDLE_SCREENS.values(), ids=IDLE_SCREENS.keys())
def test_idling_returns_to_welcome_releasing_and_forgetting_everything(
    make_kiosk: Any, released: list[uuid.UUID]
) -> None:
    kiosk: Kiosk = make_kiosk()

    effects = kiosk.send(Tick, after=IDLE)

    assert effects == [ReleaseSession(session_id) for session_id in released]
    assert (kiosk.flow.step, kiosk.flow.holds_phi, kiosk.flow.first_name, kiosk.flow.waiting) == (
        Step.WELCOME,
        False,
        None,
        False,
    )


def test_a_tick_before_the_idle_timeout_changes_nothing() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)

    effects = kiosk.send(Tick, after=IDLE - timedelta(microseconds=1))

    assert (kiosk.flow.step, kiosk.flow.demographics, effects) == (
        Step.CONFIRM_DETAILS,
        DEMOGRAPHICS,
        [],
    )


def test_a_tick_is_not_activity() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)
    kiosk.send(Tick, after=IDLE / 2)

    kiosk.send(Tick, after=IDLE / 2)

    assert kiosk.flow.step is Step.WELCOME


def test_any_event_can_end_an_idle_check_in_and_is_then_dropped() -> None:
    kiosk = kiosk_at(Step.VERIFY)

    effects = kiosk.send(MatchChosen, after=IDLE, session_id=SESSION_A)

    assert (kiosk.flow.step, effects) == (Step.WELCOME, [ReleaseSession(SESSION_A)])


def test_touching_a_screen_holds_off_the_idle_timeout() -> None:
    kiosk = kiosk_at(Step.IDENTIFY)  # typing a long name on the keypad
    kiosk.send(Touched, after=IDLE - timedelta(seconds=1))

    effects = kiosk.send(Tick, after=IDLE - timedelta(seconds=1))

    assert (kiosk.flow.step, effects) == (Step.IDENTIFY, [])


def test_still_there_is_asked_the_warning_before_the_timeout_and_a_touch_answers_it() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)
    warning = ClinicRules().idle_warning
    quiet_until = kiosk.now + IDLE - warning - timedelta(seconds=1)

    asked_early = kiosk.flow.still_there_asked(quiet_until)
    asked = kiosk.flow.still_there_asked(quiet_until + timedelta(seconds=1))
    left = kiosk.flow.seconds_left(quiet_until + timedelta(seconds=1))
    kiosk.send(Touched, after=IDLE - warning)

    assert (asked_early, asked, left) == (False, True, warning.total_seconds())
    assert kiosk.flow.still_there_asked(kiosk.now) is False
    assert kiosk.flow.step is Step.CONFIRM_DETAILS and kiosk.flow.demographics == DEMOGRAPHICS


def test_the_done_screen_clears_itself_sooner_and_asks_nothing() -> None:
    kiosk = kiosk_at(Step.DONE)
    done_timeout = ClinicRules().done_timeout

    asked = kiosk.flow.still_there_asked(kiosk.now + done_timeout - timedelta(seconds=1))
    kiosk.send(Tick, after=done_timeout)

    assert (asked, kiosk.flow.step, kiosk.flow.first_name) == (False, Step.WELCOME, None)


def test_no_still_there_while_the_reader_waits_for_a_card() -> None:
    kiosk = kiosk_at(Step.COPAY)
    kiosk.send(PayByCard)

    assert kiosk.flow.paying
    assert kiosk.flow.still_there_asked(kiosk.now + IDLE - timedelta(seconds=1)) is False


def test_the_language_can_be_switched_on_a_later_screen_without_moving() -> None:
    kiosk = kiosk_at(Step.CONFIRM_DETAILS)

    effects = kiosk.send(LanguageChosen, code="es")

    assert (kiosk.flow.step, kiosk.flow.language, effects) == (Step.CONFIRM_DETAILS, "es", [])
    with pytest.raises(IllegalEvent):
        kiosk.send(LanguageChosen, code="fr")


def test_nothing_times_out_on_the_welcome_screen_so_nothing_is_asked() -> None:
    kiosk = Kiosk()

    assert kiosk.flow.seconds_left(kiosk.now + IDLE * 10) is None
    assert kiosk.flow.still_there_asked(kiosk.now + IDLE * 10) is False


def test_the_welcome_screen_never_times_out() -> None:
    kiosk = Kiosk()
    kiosk.walk(to=Step.DONE)
    kiosk.send(StartOver)

    effects = kiosk.send(Tick, after=IDLE * 100)

    assert (kiosk.flow.step, effects) == (Step.WELCOME, [])


def test_time_is_only_what_the_events_say() -> None:
    kiosk = Kiosk()  # events dated 2001, one second apart

    kiosk.walk(to=Step.DONE)

    assert kiosk.flow.step is Step.DONE
    assert submitted(kiosk.all_effects).completed_at == kiosk.now


def test_a_lookup_answered_after_the_timeout_has_its_sessions_released() -> None:
    kiosk = identifying()

    effects = kiosk.answer(LookupAnswered, after=IDLE, result=LookupResult(matches=[MATCH_A]))

    assert (kiosk.flow.step, effects) == (Step.WELCOME, [ReleaseSession(SESSION_A)])


# --- offline ---------------------------------------------------------------------------------


@pytest.mark.parametrize("identification", [BY_NAME, BY_LICENCE], ids=lambda i: i.method)
def test_an_unreachable_back_office_goes_on_offline_to_the_card(
    identification: Identification,
) -> None:
    kiosk = Kiosk(identification=identification)

    effects = kiosk.go_offline()

    assert effects == []
    assert (kiosk.flow.step, kiosk.flow.offline) == (Step.INSURANCE_CARD, True)


def test_offline_the_consent_forms_come_from_the_kiosks_cache() -> None:
    kiosk = Kiosk()
    kiosk.go_offline()
    kiosk.send(SelfPayChosen)

    assert kiosk.effects == [LoadCachedConsents()]


def test_offline_skips_what_the_back_office_must_check() -> None:
    kiosk = Kiosk()
    kiosk.go_offline()

    kiosk.walk(to=Step.DONE)

    assert kiosk.steps_seen == [
        Step.WELCOME,
        Step.LANGUAGE,
        Step.IDENTIFY,
        Step.INSURANCE_CARD,
        Step.CONSENT_FORMS,
        Step.DONE,
    ]


def test_offline_without_cached_consent_forms_finishes_after_the_card() -> None:
    kiosk = Kiosk(consents=())
    kiosk.go_offline()
    kiosk.walk(to=Step.CONSENT_FORMS, answered=False)

    kiosk.answer(ConsentsLoaded, documents=())

    assert kiosk.flow.step is Step.DONE


def test_an_offline_check_in_is_submitted_with_its_identification_and_no_session() -> None:
    kiosk = Kiosk(identification=BY_LICENCE)
    kiosk.go_offline()
    kiosk.walk(to=Step.CONSENT_FORMS)
    kiosk.send(Signed, signature=signature_for(PRIVACY))

    effects = kiosk.send(Signed, signature=signature_for(TREATMENT))

    assert effects == [
        Submit(
            CheckInSubmission(
                check_in_id=CHECK_IN_ID,
                session_id=None,
                identification=BY_LICENCE,
                language="es",
                demographic_changes=None,
                insurance_card=CARD,
                self_pay=False,
                signatures=[signature_for(PRIVACY), signature_for(TREATMENT)],
                copay_paid_cents=0,
                completed_at=kiosk.now,
                offline=True,
            )
        )
    ]


@pytest.mark.parametrize(
    ("identification", "first_name"),
    [(BY_LICENCE, "Ana"), (BY_NAME, None)],
    ids=["licence", "name-and-birth-date"],
)
def test_offline_the_done_screen_greets_by_the_name_on_the_licence_only(
    identification: Identification, first_name: str | None
) -> None:
    kiosk = Kiosk(identification=identification)
    kiosk.go_offline()

    kiosk.walk(to=Step.DONE)

    assert (kiosk.flow.first_name, kiosk.flow.holds_phi) == (first_name, False)


def test_back_from_offline_identifies_again_online() -> None:
    kiosk = Kiosk()
    kiosk.go_offline()

    kiosk.send(Back)

    assert (kiosk.flow.step, kiosk.flow.offline, kiosk.flow.holds_phi) == (
        Step.IDENTIFY,
        False,
        False,
    )


def test_a_qr_code_cannot_be_checked_in_offline() -> None:
    kiosk = Kiosk(identification=BY_QR)

    kiosk.go_offline()

    assert (kiosk.flow.step, kiosk.flow.error_code) == (
        Step.ERROR,
        FlowErrorCode.OFFLINE_UNAVAILABLE,
    )
    assert (kiosk.flow.holds_phi, kiosk.flow.is_locked) == (False, False)


def test_a_clinic_that_does_not_allow_offline_shows_the_back_office_unreachable() -> None:
    kiosk = Kiosk(ClinicRules(allow_offline=False))

    kiosk.go_offline()

    assert (kiosk.flow.step, kiosk.flow.error_code) == (
        Step.ERROR,
        FlowErrorCode.BACK_OFFICE_UNREACHABLE,
    )


# --- the table -------------------------------------------------------------------------------

EVERYWHERE_BUT_WELCOME = {StartOver, Touched, LanguageChosen}

ACCEPTED_FROM_THE_SCREENS: dict[Step, set[type[Event]]] = {
    Step.WELCOME: {Started},
    Step.LANGUAGE: {*EVERYWHERE_BUT_WELCOME},
    Step.IDENTIFY: {Identified, Back, *EVERYWHERE_BUT_WELCOME},
    Step.VERIFY: {MatchChosen, BirthDateEntered, Back, *EVERYWHERE_BUT_WELCOME},
    Step.CONFIRM_DETAILS: {DetailsConfirmed, Back, *EVERYWHERE_BUT_WELCOME},
    Step.INSURANCE_CARD: {
        CardCaptured,
        CardAccepted,
        CardOnFileKept,
        SelfPayChosen,
        Back,
        *EVERYWHERE_BUT_WELCOME,
    },
    Step.CONSENT_FORMS: {Signed, Back, *EVERYWHERE_BUT_WELCOME},
    Step.COPAY: {PayByCard, CardPaymentCanceled, PayAtDesk, Back, *EVERYWHERE_BUT_WELCOME},
    Step.DONE: {ReceiptRequested, *EVERYWHERE_BUT_WELCOME},
    Step.ERROR: {Retry, StaffReset, *EVERYWHERE_BUT_WELCOME},
}

SCREEN_EVENTS: dict[type[Event], dict[str, Any]] = {
    Started: {"check_in_id": CHECK_IN_ID},
    LanguageChosen: {"code": "en"},
    Identified: {"identification": BY_NAME},
    MatchChosen: {"session_id": SESSION_A},
    BirthDateEntered: {"date_of_birth": BIRTH_DATE},
    DetailsConfirmed: {},
    CardCaptured: {"card": CARD},
    CardAccepted: {},
    CardOnFileKept: {},
    SelfPayChosen: {},
    Signed: {"signature": signature_for(PRIVACY)},
    PayByCard: {},
    CardPaymentCanceled: {},
    PayAtDesk: {},
    ReceiptRequested: {},
    Back: {},
    Retry: {},
    StartOver: {},
    StaffReset: {},
    Touched: {},
}


def test_the_table_files_what_each_screen_accepts() -> None:
    from_the_screens = {
        step: {event for event in handlers if not issubclass(event, Answer)}
        for step, handlers in TRANSITIONS.items()
    }

    assert from_the_screens == ACCEPTED_FROM_THE_SCREENS


@pytest.mark.parametrize(
    ("step", "event_type"),
    [
        (step, event_type)
        for step, accepted in ACCEPTED_FROM_THE_SCREENS.items()
        for event_type in SCREEN_EVENTS
        if event_type not in accepted
    ],
    ids=lambda value: value if isinstance(value, Step) else value.__name__,
)
def test_an_event_a_step_does_not_accept_is_illegal_and_changes_nothing(
    step: Step, event_type: type[Event]
) -> None:
    kiosk = kiosk_at(step)

    with pytest.raises(IllegalEvent):
        kiosk.send(event_type, **SCREEN_EVENTS[event_type])
    assert (kiosk.flow.step, kiosk.flow.waiting) == (step, False)


def test_an_illegal_event_is_not_activity() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)
    with pytest.raises(IllegalEvent):
        kiosk.send(PayAtDesk, after=IDLE / 2)

    kiosk.send(Tick, after=IDLE / 2)

    assert kiosk.flow.step is Step.WELCOME


def test_an_answer_to_nothing_asked_is_ignored() -> None:
    kiosk = kiosk_at(Step.INSURANCE_CARD)

    effects = kiosk.send(DetailsLoaded, request=LoadDetails(SESSION_A), demographics=DEMOGRAPHICS)

    assert (kiosk.flow.step, effects) == (Step.INSURANCE_CARD, [])
