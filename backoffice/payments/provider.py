"""What the payments service needs from a card-payment provider, whatever it is.

The shape is Stripe Terminal's server-driven integration: a PaymentIntent for the amount is
handed to a reader, the reader's action is followed until the card is approved or refused,
and an approved intent is captured. Every call that changes something takes an idempotency
key, so repeating it after a crash returns the first result instead of doing it again.

    StripeTerminal    the real service, through Stripe's own library (payments/stripe_terminal)
    SimulatedReader   for the demo: a reader in memory whose outcomes follow the test cards
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.contracts.kiosk import PaymentFailure


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as the provider has it; `status` uses Stripe's words
    (requires_payment_method, requires_capture, processing, succeeded, canceled)."""

    id: str
    status: str
    amount_cents: int
    amount_received_cents: int = 0
    error_code: str | None = None  # the last attempt's refusal: card_declined, expired_card…
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True)
class ReaderAction:
    """What the reader is doing: `status` is in_progress, succeeded, failed, or None when it
    is idle. `failure_code` is set when it failed."""

    reader_id: str
    status: str | None
    intent_id: str | None = None
    failure_code: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    intent_id: str | None  # the PaymentIntent the event is about, where it names one


class ProviderError(Exception):
    """The provider refused or could not be asked; `failure` says what to tell the patient."""

    failure: PaymentFailure | None = None


class ProviderUnreachable(ProviderError):
    """No answer (network, outage): nothing is known to have changed; ask again later."""


class ReaderUnavailable(ProviderError):
    def __init__(self, failure: PaymentFailure, message: str = "") -> None:
        super().__init__(message or failure.value)
        self.failure = failure


class ProviderRefused(ProviderError):
    """An answer that says no: the request does not fit the object's state, or is malformed.
    `code` is the provider's own."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class BadWebhook(ProviderError):
    """A webhook whose signature does not verify, or that is too old to trust."""


class CardReaderProvider(Protocol):
    name: str
    test_mode: bool  # test cards may be presented through `present_test_card`

    def create_intent(
        self, *, amount_cents: int, currency: str, check_in_id: str, idempotency_key: str
    ) -> Intent: ...

    def get_intent(self, intent_id: str) -> Intent: ...

    def find_intents(self, check_in_id: str) -> list[Intent]:
        """Every intent made for a check-in, for the reconciler; newest first."""
        ...

    def process_on_reader(
        self, *, reader_id: str, intent_id: str, idempotency_key: str
    ) -> ReaderAction: ...

    def get_reader_action(self, reader_id: str) -> ReaderAction: ...

    def cancel_reader_action(self, reader_id: str, *, idempotency_key: str) -> ReaderAction: ...

    def capture(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def refund(
        self, intent_id: str, *, amount_cents: int, idempotency_key: str, reason: str
    ) -> str:
        """Refund part or all of a captured intent; returns the provider's refund id."""
        ...

    def present_test_card(self, reader_id: str, number: str) -> ReaderAction: ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent: ...


# What a refused card means for the patient, by the provider's decline or failure code.
FAILURES_BY_CODE: dict[str, PaymentFailure] = {
    "card_declined": PaymentFailure.CARD_DECLINED,
    "generic_decline": PaymentFailure.CARD_DECLINED,
    "insufficient_funds": PaymentFailure.INSUFFICIENT_FUNDS,
    "expired_card": PaymentFailure.EXPIRED_CARD,
    "processing_error": PaymentFailure.PROCESSING_ERROR,
    "terminal_reader_timeout": PaymentFailure.TIMED_OUT,
    "terminal_reader_offline": PaymentFailure.READER_OFFLINE,
    "terminal_reader_busy": PaymentFailure.READER_BUSY,
}


def failure_of(code: str | None) -> PaymentFailure:
    return FAILURES_BY_CODE.get(code or "", PaymentFailure.CARD_DECLINED)
