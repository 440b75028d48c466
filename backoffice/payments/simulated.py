"""A card reader in memory, for the demo and for a clinic trying Frontdesk before it has a
Stripe account. It behaves like a Stripe Terminal reader in test mode: the outcome of a
presented card follows Stripe's test card numbers, so a demo can show a decline.

It keeps its state in this process: one back-office process only, and a restart forgets
payments in flight (the reconciler then marks them failed; nothing real was charged).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, replace
from typing import Any

from backoffice.payments.provider import (
    BadWebhook,
    Intent,
    ProviderRefused,
    ReaderAction,
    WebhookEvent,
)

# Stripe's documented test cards: (brand, the refusal code, or None when approved).
TEST_CARDS: dict[str, tuple[str, str | None]] = {
    "4242424242424242": ("visa", None),
    "5555555555554444": ("mastercard", None),
    "378282246310005": ("amex", None),
    "4000000000000002": ("visa", "card_declined"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000069": ("visa", "expired_card"),
    "4000000000000119": ("visa", "processing_error"),
}


@dataclass
class _Intent:
    intent: Intent
    check_in_id: str


class SimulatedReader:
    name = "simulated"
    test_mode = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._intents: dict[str, _Intent] = {}
        self._actions: dict[str, ReaderAction] = {}
        self._replies: dict[str, Any] = {}  # idempotency key -> the first reply

    def _once(self, key: str, make: Any) -> Any:
        with self._lock:
            if key not in self._replies:
                self._replies[key] = make()
            return self._replies[key]

    def _get(self, intent_id: str) -> _Intent:
        try:
            return self._intents[intent_id]
        except KeyError:
            raise ProviderRefused("resource_missing", intent_id) from None

    def _set(self, intent_id: str, **changes: Any) -> Intent:
        held = self._get(intent_id)
        held.intent = replace(held.intent, **changes)
        return held.intent

    def create_intent(
        self, *, amount_cents: int, currency: str, check_in_id: str, idempotency_key: str
    ) -> Intent:
        def make() -> Intent:
            intent = Intent(
                id=f"pi_sim_{uuid.uuid4().hex[:20]}",  # unique past a restart
                status="requires_payment_method",
                amount_cents=amount_cents,
            )
            self._intents[intent.id] = _Intent(intent, check_in_id)
            return intent

        return self._once(idempotency_key, make)

    def get_intent(self, intent_id: str) -> Intent:
        with self._lock:
            return self._get(intent_id).intent

    def find_intents(self, check_in_id: str) -> list[Intent]:
        with self._lock:
            found = [h.intent for h in self._intents.values() if h.check_in_id == check_in_id]
        return found[::-1]

    def process_on_reader(
        self, *, reader_id: str, intent_id: str, idempotency_key: str
    ) -> ReaderAction:
        def make() -> ReaderAction:
            if self._get(intent_id).intent.status != "requires_payment_method":
                raise ProviderRefused("intent_invalid_state")
            current = self._actions.get(reader_id)
            if current is not None and current.status == "in_progress":
                raise ProviderRefused("terminal_reader_busy")
            action = ReaderAction(reader_id, "in_progress", intent_id)
            self._actions[reader_id] = action
            return action

        return self._once(idempotency_key, make)

    def get_reader_action(self, reader_id: str) -> ReaderAction:
        with self._lock:
            return self._actions.get(reader_id, ReaderAction(reader_id, None))

    def cancel_reader_action(self, reader_id: str, *, idempotency_key: str) -> ReaderAction:
        def make() -> ReaderAction:
            current = self._actions.get(reader_id)
            if current is None or current.status != "in_progress":
                raise ProviderRefused("terminal_reader_action_not_allowed")
            self._actions[reader_id] = ReaderAction(reader_id, None)
            return self._actions[reader_id]

        return self._once(idempotency_key, make)

    def capture(self, intent_id: str, *, idempotency_key: str) -> Intent:
        def make() -> Intent:
            intent = self._get(intent_id).intent
            if intent.status != "requires_capture":
                raise ProviderRefused("payment_intent_unexpected_state")
            return self._set(
                intent_id, status="succeeded", amount_received_cents=intent.amount_cents
            )

        return self._once(idempotency_key, make)

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        def make() -> Intent:
            if self._get(intent_id).intent.status in ("succeeded", "canceled"):
                raise ProviderRefused("payment_intent_unexpected_state")
            return self._set(intent_id, status="canceled")

        return self._once(idempotency_key, make)

    def refund(
        self, intent_id: str, *, amount_cents: int, idempotency_key: str, reason: str
    ) -> str:
        def make() -> str:
            if self._get(intent_id).intent.status != "succeeded":
                raise ProviderRefused("charge_not_captured")
            return f"re_sim_{uuid.uuid4().hex[:20]}"

        return self._once(idempotency_key, make)

    def present_test_card(self, reader_id: str, number: str) -> ReaderAction:
        brand, refusal = TEST_CARDS.get(number, ("visa", "card_declined"))
        with self._lock:
            action = self._actions.get(reader_id)
            if action is None or action.status != "in_progress" or action.intent_id is None:
                raise ProviderRefused("terminal_reader_action_not_allowed")
            if refusal is None:
                self._set(
                    action.intent_id,
                    status="requires_capture",
                    error_code=None,
                    card_brand=brand,
                    card_last4=number[-4:],
                )
                done = ReaderAction(reader_id, "succeeded", action.intent_id)
            else:
                self._set(action.intent_id, error_code=refusal)
                done = ReaderAction(reader_id, "failed", action.intent_id, refusal)
            self._actions[reader_id] = done
            return done

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise BadWebhook("the simulated reader sends no webhooks")
