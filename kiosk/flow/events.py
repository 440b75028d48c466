"""What the screens and the driver tell the check-in flow.

Every event says when it happened (`at`, timezone-aware): the flow reads no clock, so this is
the only way time enters it, and `Tick` exists only to let time pass on an idle screen. An
`Answer` names the `Request` it answers, so one arriving after the flow has moved on (the
patient went back, the kiosk timed out) is recognised as stale and cannot leak into the next
patient's check-in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from kiosk.flow.effects import (
    CancelPayment,
    CheckBirthDate,
    FollowPayment,
    LoadCachedConsents,
    LoadConsents,
    LoadCopay,
    LoadDetails,
    Lookup,
    Request,
    StartPayment,
)
from kiosk.flow.states import ErrorCode
from shared.contracts.kiosk import (
    ConsentDocument,
    CopayDue,
    DemographicChanges,
    Demographics,
    Identification,
    InsuranceCard,
    LookupResult,
    PaymentState,
    Signature,
)


@dataclass(frozen=True, kw_only=True)
class Event:
    at: datetime

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("an event's time must be timezone-aware")


# --- from the screens ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """The welcome screen was touched; the driver names the check-in to come."""

    check_in_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class LanguageChosen(Event):
    code: str


@dataclass(frozen=True, kw_only=True)
class Identified(Event):
    """Name and date of birth typed, an appointment QR code scanned, or a licence read."""

    identification: Identification


@dataclass(frozen=True, kw_only=True)
class MatchChosen(Event):
    """The patient picked one of the appointments shown: that's me."""

    session_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class BirthDateEntered(Event):
    date_of_birth: date


@dataclass(frozen=True, kw_only=True)
class DetailsConfirmed(Event):
    """The details are right, or here are corrections (none or empty: no corrections)."""

    changes: DemographicChanges | None = None


@dataclass(frozen=True, kw_only=True)
class CardCaptured(Event):
    """A photo of the card was taken; it is shown for the patient to accept or retake."""

    card: InsuranceCard


@dataclass(frozen=True, kw_only=True)
class CardAccepted(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class CardOnFileKept(Event):
    """The insurance on file has not changed: no new card is taken."""


@dataclass(frozen=True, kw_only=True)
class SelfPayChosen(Event):
    """No insurance: the visit is billed to the patient, and no card is taken."""


@dataclass(frozen=True, kw_only=True)
class Signed(Event):
    """The document on screen was signed."""

    signature: Signature


@dataclass(frozen=True, kw_only=True)
class PayByCard(Event):
    """The patient chose to pay the copay on the card reader now (again, after a decline)."""


@dataclass(frozen=True, kw_only=True)
class CardPaymentCanceled(Event):
    """The patient pressed cancel while the reader waited for their card."""


@dataclass(frozen=True, kw_only=True)
class PayAtDesk(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class ReceiptRequested(Event):
    """On the done screen: print the receipt of the copay paid."""


@dataclass(frozen=True, kw_only=True)
class Back(Event):
    """Return to the last screen shown; from verify this is "that's not me"."""


@dataclass(frozen=True, kw_only=True)
class Retry(Event):
    """From the error screen, identify again."""


@dataclass(frozen=True, kw_only=True)
class StartOver(Event):
    """Back to welcome: the cancel button, the error screen's way out, the done screen touched."""


@dataclass(frozen=True, kw_only=True)
class StaffReset(Event):
    """Staff cleared the kiosk, the only way out of a locked error besides the idle timeout."""


@dataclass(frozen=True, kw_only=True)
class Touched(Event):
    """The patient is busy on a screen without finishing it (typing, scrolling, signing):
    activity that holds off the idle timeout, and the answer to "Still there?"."""


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """Time passed with nobody touching the kiosk; it is never counted as activity."""


# --- answers from the driver ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Answer(Event):
    request: Request


@dataclass(frozen=True, kw_only=True)
class LookupAnswered(Answer):
    request: Lookup
    result: LookupResult


@dataclass(frozen=True, kw_only=True)
class BirthDateChecked(Answer):
    """The back office's verdict; its "wrong-date-of-birth" problem is `ok=False`."""

    request: CheckBirthDate
    ok: bool


@dataclass(frozen=True, kw_only=True)
class DetailsLoaded(Answer):
    request: LoadDetails
    demographics: Demographics


@dataclass(frozen=True, kw_only=True)
class ConsentsLoaded(Answer):
    """The documents still to sign, from the back office or, offline, from the kiosk's cache."""

    request: LoadConsents | LoadCachedConsents
    documents: tuple[ConsentDocument, ...]


@dataclass(frozen=True, kw_only=True)
class CopayLoaded(Answer):
    request: LoadCopay
    copay: CopayDue


@dataclass(frozen=True, kw_only=True)
class PaymentUpdated(Answer):
    request: StartPayment | FollowPayment | CancelPayment
    payment: PaymentState


@dataclass(frozen=True, kw_only=True)
class RequestFailed(Answer):
    """The request got a problem (its code) or no answer (`BACK_OFFICE_UNREACHABLE`)."""

    code: ErrorCode
