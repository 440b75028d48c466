"""The kiosk API's wire contract, shared by the kiosk and the back office.

A kiosk identifies a patient against today's appointments (`Identification`), gets back the
least PHI that lets the patient recognise themselves (`AppointmentMatch`) with a short-lived
check-in session, reads what the flow needs within that session, and delivers the finished
check-in as one self-contained `CheckInSubmission` through its outbox. The submission carries
its own identification too, so a check-in recorded while the back office was unreachable can
still be matched to its appointment when it arrives.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

KIOSK_API = "/api/v1/kiosk"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IMAGE_BASE64 = 6_000_000  # a 4 MB photo, base64-encoded

NamePart = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Base64Image = Annotated[str, StringConstraints(min_length=8, max_length=MAX_IMAGE_BASE64)]


class KioskErrorCode(StrEnum):
    """The `code` of a kiosk API problem, which the kiosk turns into words for the patient."""

    NO_MATCH = "no-match"  # the same answer whatever did not match: nothing leaks
    TOO_MANY_ATTEMPTS = "too-many-attempts"  # this kiosk is throttled; staff were alerted
    SESSION_EXPIRED = "session-expired"
    SESSION_UNVERIFIED = "session-unverified"  # a QR session needs the date of birth first
    WRONG_BIRTH_DATE = "wrong-date-of-birth"
    ALREADY_CHECKED_IN = "already-checked-in"
    IDEMPOTENCY_KEY_REUSED = "idempotency-key-reused"  # same key, different request
    NO_CARD_READER = "no-card-reader"  # this kiosk has no reader assigned: pay at the desk
    PAYMENT_NOT_FOUND = "payment-not-found"
    PAYMENT_IN_PROGRESS = "payment-in-progress"  # cancel the running payment first
    PAYMENT_UNAVAILABLE = "payment-unavailable"  # the payment service did not answer
    NOTHING_DUE = "nothing-due"


class ArrivalState(StrEnum):
    WAITING = "waiting"
    ROOMED = "roomed"
    WITH_PROVIDER = "with_provider"
    CHECKED_OUT = "checked_out"
    SENT_HOME = "sent_home"


class QueueFlag(StrEnum):
    """What staff should look at for an arrival."""

    INSURANCE_TO_REVIEW = "insurance_to_review"
    COPAY_UNPAID = "copay_unpaid"
    CONSENT_PENDING = "consent_pending"
    DEMOGRAPHICS_PENDING = "demographics_pending"
    OFFLINE_CHECK_IN = "offline_check_in"  # recorded while the back office was unreachable
    LATE = "late"  # arrived after the appointment's start
    CARD_READ_UNSURE = "card_read_unsure"  # a field read off the card is below CARD_SURE


# A card field read with less confidence than this is highlighted for staff to check.
CARD_SURE = 0.80


# --- identifying the patient --------------------------------------------------------------


class ByNameAndBirthDate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["name_dob"] = "name_dob"
    last_name: NamePart
    date_of_birth: date


class ByAppointmentCode(BaseModel):
    """The signed token of the QR code sent with an appointment confirmation. It names the
    appointment, so the session it opens needs the date of birth before it shows anything."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["qr"] = "qr"
    token: Annotated[str, StringConstraints(min_length=16, max_length=512)]


class ByLicence(BaseModel):
    """Name and date of birth read from the PDF417 barcode of a driver's licence."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["licence"] = "licence"
    first_name: NamePart
    last_name: NamePart
    date_of_birth: date


Identification = Annotated[
    ByNameAndBirthDate | ByAppointmentCode | ByLicence, Field(discriminator="method")
]


class AppointmentMatch(BaseModel):
    """One of today's appointments, as little as lets a patient say "that's me"."""

    session_id: uuid.UUID
    expires_at: datetime
    verified: bool  # false until the date of birth is confirmed (QR code lookups)
    first_name: str
    last_initial: str
    start: datetime  # in the clinic's offset
    provider_name: str
    location_name: str
    already_checked_in: bool = False  # the kiosk says so instead of checking in twice


class LookupResult(BaseModel):
    matches: list[AppointmentMatch]


class VerifyBirthDate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_of_birth: date


# --- within a session ---------------------------------------------------------------------


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    city: NamePart
    state: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2)]
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)]


class Demographics(BaseModel):
    """What the patient confirms on screen: no SSN, no insurance numbers."""

    first_name: str
    last_name: str
    date_of_birth: date
    phone: str | None
    email: str | None
    address: Address | None
    preferred_language: str


class DemographicChanges(BaseModel):
    """Corrections the patient proposes; staff accept or reject them, nothing is overwritten."""

    model_config = ConfigDict(extra="forbid")

    first_name: NamePart | None = None
    last_name: NamePart | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    address: Address | None = None
    preferred_language: (
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None
    ) = None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class CardFieldName(StrEnum):
    MEMBER_ID = "member_id"
    GROUP_NUMBER = "group_number"
    PAYER_NAME = "payer_name"
    PAYER_ID = "payer_id"
    PLAN_NAME = "plan_name"
    MEMBER_NAME = "member_name"
    RX_BIN = "rx_bin"
    RX_PCN = "rx_pcn"
    RX_GRP = "rx_grp"
    COPAY_PRIMARY_CARE = "copay_primary_care"
    COPAY_SPECIALIST = "copay_specialist"
    COPAY_URGENT_CARE = "copay_urgent_care"
    COPAY_EMERGENCY = "copay_emergency"


class CardField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]


class InsuranceCard(BaseModel):
    """Both sides of the card as captured, and the fields read from them on the kiosk."""

    model_config = ConfigDict(extra="forbid")

    front_image: Base64Image
    back_image: Base64Image | None = None
    media_type: Literal["image/jpeg", "image/png"] = "image/jpeg"
    fields: dict[CardFieldName, CardField] = {}


class ConsentDocument(BaseModel):
    document_id: uuid.UUID
    code: str
    title: str
    version: int
    body: str
    sha256: str  # of the body as shown; a signature names it


class ConsentsNeeded(BaseModel):
    documents: list[ConsentDocument]


Point = tuple[int, int, int]  # x, y in pixels on the pad; milliseconds since the first touch


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: uuid.UUID
    document_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    strokes: Annotated[
        list[Annotated[list[Point], Field(min_length=1, max_length=5000)]],
        Field(min_length=1, max_length=200),
    ]
    png: Base64Image
    signed_at: AwareDatetime


class CopayDue(BaseModel):
    amount_cents: Annotated[int, Field(ge=0)]
    self_pay: bool  # no active insurance on file: the visit is billed to the patient


# --- paying the copay on the card reader ----------------------------------------------------
#
# The kiosk never touches card data or a payment key: it asks the back office to start a
# payment for its check-in on the reader assigned to it, follows it, and cancels it when the
# patient gives up. Everything is keyed by the check-in id, so asking again never charges twice.


class PaymentStatus(StrEnum):
    STARTING = "starting"  # recorded; the reader has not been asked yet
    WAITING_FOR_CARD = "waiting_for_card"  # the reader shows the amount: tap, insert or swipe
    AUTHORIZED = "authorized"  # the card was approved; the back office is capturing
    SUCCEEDED = "succeeded"  # paid
    DECLINED = "declined"  # the card was refused: another card, or pay at the desk
    CANCELED = "canceled"  # given up (see `failure`); nothing was charged
    FAILED = "failed"  # the reader could not take it (offline, busy): pay at the desk

    @property
    def is_final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED, PaymentStatus.FAILED)

    @property
    def in_progress(self) -> bool:
        return self in (
            PaymentStatus.STARTING,
            PaymentStatus.WAITING_FOR_CARD,
            PaymentStatus.AUTHORIZED,
        )


class PaymentFailure(StrEnum):
    """Why a payment did not go through, in words the kiosk can turn into advice."""

    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    PROCESSING_ERROR = "processing_error"  # try the card again
    TIMED_OUT = "timed_out"  # no card was presented in time
    ABANDONED = "abandoned"  # the patient chose not to pay here
    READER_OFFLINE = "reader_offline"
    READER_BUSY = "reader_busy"


class PaymentStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_in_id: uuid.UUID


class PaymentCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal[PaymentFailure.ABANDONED, PaymentFailure.TIMED_OUT] = PaymentFailure.ABANDONED


class SimulatedCard(BaseModel):
    """Test mode only (the simulated reader, or Stripe with a test key): present a card."""

    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, StringConstraints(pattern=r"^[0-9]{12,19}$")] = "4242424242424242"


class PaymentReceipt(BaseModel):
    """What a receipt shows: no name, no appointment, nothing a stranger should read if it is
    left at the kiosk."""

    clinic_name: str
    location_name: str | None
    paid_at: datetime
    timezone: str  # the clinic's, for the time printed
    amount_cents: int
    card_brand: str | None
    card_last4: str | None
    reference: str  # the payment's short reference, for the desk and the bank statement


class PaymentState(BaseModel):
    check_in_id: uuid.UUID
    status: PaymentStatus
    amount_cents: int
    failure: PaymentFailure | None = None
    receipt: PaymentReceipt | None = None


class CheckInSubmission(BaseModel):
    """A finished check-in, delivered once through the kiosk's outbox (its id is the
    idempotency key). `session_id` names the session the kiosk held when it was online;
    `identification` lets the back office match a check-in recorded offline."""

    model_config = ConfigDict(extra="forbid")

    check_in_id: uuid.UUID
    session_id: uuid.UUID | None = None
    identification: Identification | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "en"
    demographic_changes: DemographicChanges | None = None
    insurance_card: InsuranceCard | None = None
    self_pay: bool = False
    signatures: Annotated[list[Signature], Field(max_length=10)] = []
    copay_paid_cents: Annotated[int, Field(ge=0)] = 0
    completed_at: AwareDatetime
    offline: bool = False


class CheckInReceipt(BaseModel):
    arrival_id: uuid.UUID
    appointment_id: uuid.UUID
    arrived_at: datetime
    first_name: str
    flags: list[QueueFlag]
    # Rounded up to 5 minutes; None when no honest estimate is possible.
    estimated_wait_minutes: int | None = None


# --- the kiosk's heartbeat ------------------------------------------------------------------


class PeripheralState(StrEnum):
    OK = "ok"
    MISSING = "missing"  # not set up, or not plugged in
    ERROR = "error"  # there, but its last use failed
    SIMULATED = "simulated"  # a demonstration kiosk (`--simulate`)


PeripheralName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
MAX_PERIPHERALS = 10


class PeripheralStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: PeripheralState
    detail: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None


class KioskHeartbeat(BaseModel):
    """What a kiosk says of itself about once a minute, for the devices page: its version,
    its outbox's backlog and its peripherals. Never PHI. Fields added later are optional, so
    an older kiosk's heartbeat stays valid; the kiosk leaves out what it has nothing for."""

    model_config = ConfigDict(extra="forbid")

    app_version: Annotated[
        str,
        StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"),
    ]
    outbox_pending: Annotated[int, Field(ge=0, le=1_000_000)]
    outbox_held: Annotated[int, Field(ge=0, le=1_000_000)]
    peripherals: Annotated[
        dict[PeripheralName, PeripheralStatus], Field(max_length=MAX_PERIPHERALS)
    ] = {}
    uptime_seconds: Annotated[int, Field(ge=0)] | None = None  # since the app started
    disk_free_bytes: Annotated[int, Field(ge=0)] | None = None  # where the outbox is kept
    disk_total_bytes: Annotated[int, Field(ge=0)] | None = None
    # The kiosk's clock minus the back office's, from the last heartbeat's answer.
    clock_offset_ms: int | None = None
    config_version: Annotated[int, Field(ge=0)] | None = None  # the configuration applied
