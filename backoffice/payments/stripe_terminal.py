"""Stripe Terminal, server-driven (a smart reader such as the WisePOS E or S700), through
Stripe's own library. The secret key and the webhook secret come from settings and never
leave the back office.

Intents are made with `capture_method=manual`: the card is authorised on the reader, and the
back office captures only once it has recorded the payment as its own, so an authorisation
the back office never heard of is released rather than charged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import stripe

from backoffice.payments.provider import (
    BadWebhook,
    Intent,
    ProviderRefused,
    ProviderUnreachable,
    ReaderAction,
    ReaderUnavailable,
    WebhookEvent,
    failure_of,
)

T = TypeVar("T")
WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's own default: older signed events are replays
READER_REFUSALS = ("terminal_reader_offline", "terminal_reader_busy", "terminal_reader_timeout")


class StripeTerminal:
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str | None,
        api_base: str | None = None,
        timeout_seconds: float = 15.0,
    ) -> None:
        self.test_mode = secret_key.startswith(("sk_test_", "rk_test_"))
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
            max_network_retries=2,  # Stripe's library retries with the same idempotency key
        )
        self._v1 = self._client.v1

    def create_intent(
        self, *, amount_cents: int, currency: str, check_in_id: str, idempotency_key: str
    ) -> Intent:
        params: Any = {
            "amount": amount_cents,
            "currency": currency,
            "payment_method_types": ["card_present"],
            "capture_method": "manual",
            "description": "Copay",
            "metadata": {"check_in_id": check_in_id},
        }
        return _intent(
            _call(
                lambda: self._v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key}
                )
            )
        )

    def get_intent(self, intent_id: str) -> Intent:
        params: Any = {"expand": ["latest_charge"]}
        return _intent(_call(lambda: self._v1.payment_intents.retrieve(intent_id, params)))

    def find_intents(self, check_in_id: str) -> list[Intent]:
        params: Any = {"query": f"metadata['check_in_id']:'{check_in_id}'", "limit": 20}
        found = _call(lambda: self._v1.payment_intents.search(params))
        intents = sorted(found.data, key=lambda pi: pi.created, reverse=True)
        return [self.get_intent(pi.id) for pi in intents]

    def process_on_reader(
        self, *, reader_id: str, intent_id: str, idempotency_key: str
    ) -> ReaderAction:
        params: Any = {"payment_intent": intent_id}
        reader = _call(
            lambda: self._v1.terminal.readers.process_payment_intent(
                reader_id, params, {"idempotency_key": idempotency_key}
            )
        )
        return _action(reader)

    def get_reader_action(self, reader_id: str) -> ReaderAction:
        return _action(_call(lambda: self._v1.terminal.readers.retrieve(reader_id)))

    def cancel_reader_action(self, reader_id: str, *, idempotency_key: str) -> ReaderAction:
        reader = _call(
            lambda: self._v1.terminal.readers.cancel_action(
                reader_id, None, {"idempotency_key": idempotency_key}
            )
        )
        return _action(reader)

    def capture(self, intent_id: str, *, idempotency_key: str) -> Intent:
        params: Any = {"expand": ["latest_charge"]}
        return _intent(
            _call(
                lambda: self._v1.payment_intents.capture(
                    intent_id, params, {"idempotency_key": idempotency_key}
                )
            )
        )

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        params: Any = {"cancellation_reason": "abandoned"}
        return _intent(
            _call(
                lambda: self._v1.payment_intents.cancel(
                    intent_id, params, {"idempotency_key": idempotency_key}
                )
            )
        )

    def refund(
        self, intent_id: str, *, amount_cents: int, idempotency_key: str, reason: str
    ) -> str:
        params: Any = {
            "payment_intent": intent_id,
            "amount": amount_cents,
            "reason": "requested_by_customer",
            "metadata": {"reason": reason[:500]},
        }
        refund = _call(
            lambda: self._v1.refunds.create(params, {"idempotency_key": idempotency_key})
        )
        return str(refund.id)

    def present_test_card(self, reader_id: str, number: str) -> ReaderAction:
        if not self.test_mode:
            raise ProviderRefused("livemode", "test cards need a test-mode key")
        params: Any = {"type": "card_present", "card_present": {"number": number}}
        return _action(
            _call(
                lambda: self._v1.test_helpers.terminal.readers.present_payment_method(
                    reader_id, params
                )
            )
        )

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        if not self._webhook_secret:
            raise BadWebhook("no webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            raise BadWebhook("the signature does not verify, or the event is too old") from exc
        except ValueError as exc:
            raise BadWebhook("the body is not an event") from exc
        return WebhookEvent(id=event.id, type=event.type, intent_id=_intent_named(event))


def _call(request: Callable[[], T]) -> T:
    """Stripe's errors, as the payments service's."""
    try:
        return request()
    except stripe.APIConnectionError as exc:
        raise ProviderUnreachable("stripe did not answer") from exc
    except stripe.StripeError as exc:
        code = getattr(exc, "code", None) or ""
        if code in READER_REFUSALS:
            raise ReaderUnavailable(failure_of(code), code) from exc
        if exc.http_status is None or exc.http_status >= 500 or exc.http_status == 429:
            raise ProviderUnreachable(f"stripe answered {exc.http_status}") from exc
        raise ProviderRefused(code or type(exc).__name__, exc.user_message or "") from exc


def _intent(found: Any) -> Intent:
    pi = found.to_dict()  # plain dicts: Stripe's objects are not mappings
    error = pi.get("last_payment_error")
    charge = pi.get("latest_charge")
    card = None
    if isinstance(charge, dict):
        details = charge.get("payment_method_details") or {}
        card = details.get("card_present") or details.get("card")
    return Intent(
        id=pi["id"],
        status=pi["status"],
        amount_cents=int(pi["amount"]),
        amount_received_cents=int(pi.get("amount_received") or 0),
        error_code=(error.get("decline_code") or error.get("code")) if error else None,
        card_brand=card.get("brand") if card else None,
        card_last4=card.get("last4") if card else None,
    )


def _action(found: Any) -> ReaderAction:
    reader = found if isinstance(found, dict) else found.to_dict()
    action = reader.get("action")
    if not action:
        return ReaderAction(reader["id"], None)
    intent = (action.get("process_payment_intent") or {}).get("payment_intent")
    return ReaderAction(
        reader_id=reader["id"],
        status=action.get("status"),
        intent_id=intent.get("id") if isinstance(intent, dict) else intent,
        failure_code=action.get("failure_code"),
    )


def _intent_named(event: Any) -> str | None:
    thing = event.to_dict()["data"]["object"]
    kind = thing.get("object")
    if kind == "payment_intent":
        return str(thing["id"])
    if kind in ("charge", "refund"):
        intent = thing.get("payment_intent")
        return intent.get("id") if isinstance(intent, dict) else intent
    if kind == "terminal.reader":
        return _action(thing).intent_id
    return None
