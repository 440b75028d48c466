"""What the check-in flow asks its driver to do.

A `Request` is answered by an event that names it (`kiosk.flow.events.Answer`); the other
effects are done without an answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shared.contracts.kiosk import (
    CheckInSubmission,
    Identification,
    PaymentFailure,
    PaymentReceipt,
)


@dataclass(frozen=True)
class Effect:
    """Something for the driver to do."""


@dataclass(frozen=True)
class Request(Effect):
    """An effect the driver answers with an event carrying this request, or `RequestFailed`."""


@dataclass(frozen=True)
class Lookup(Request):
    """Find today's appointments for the patient: answered by `LookupAnswered`."""

    identification: Identification


@dataclass(frozen=True)
class CheckBirthDate(Request):
    """Check the date of birth a QR-code session needs: answered by `BirthDateChecked`."""

    session_id: uuid.UUID
    date_of_birth: date


@dataclass(frozen=True)
class LoadDetails(Request):
    """Fetch the demographics to confirm: answered by `DetailsLoaded`."""

    session_id: uuid.UUID


@dataclass(frozen=True)
class LoadConsents(Request):
    """Fetch the consent documents still to sign: answered by `ConsentsLoaded`."""

    session_id: uuid.UUID


@dataclass(frozen=True)
class LoadCachedConsents(Request):
    """Offline: the clinic's consent documents the kiosk keeps, answered by `ConsentsLoaded`."""


@dataclass(frozen=True)
class LoadCopay(Request):
    """Fetch what the patient owes today: answered by `CopayLoaded`."""

    session_id: uuid.UUID


@dataclass(frozen=True)
class StartPayment(Request):
    """Show the copay on the card reader: answered by `PaymentUpdated`."""

    session_id: uuid.UUID
    check_in_id: uuid.UUID


@dataclass(frozen=True)
class FollowPayment(Request):
    """Ask where the payment is: answered by `PaymentUpdated`."""

    check_in_id: uuid.UUID


@dataclass(frozen=True)
class CancelPayment(Request):
    """Stop the reader and release the payment: answered by `PaymentUpdated`. Sent without
    waiting for the answer when the patient walks away mid-payment."""

    check_in_id: uuid.UUID
    reason: PaymentFailure


@dataclass(frozen=True)
class PrintReceipt(Effect):
    """Print the receipt of the copay paid, on the kiosk's receipt printer."""

    receipt: PaymentReceipt


@dataclass(frozen=True)
class Submit(Effect):
    """Hand the finished check-in to the outbox, which delivers it once."""

    submission: CheckInSubmission


@dataclass(frozen=True)
class ReleaseSession(Effect):
    """Tell the back office this kiosk no longer needs a session, so it ends now."""

    session_id: uuid.UUID
