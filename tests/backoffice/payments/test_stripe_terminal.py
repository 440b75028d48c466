"""Copays through Stripe Terminal: the product's own `stripe` library against a loopback fake
of Stripe's API (tests/fixtures/stripe_fake.py), with its reader state machine, test cards
and signed webhooks."""

import dataclasses
import json
import time
import uuid

import pytest
import stripe
from sqlmodel import func, select

from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.payments.models import HandledWebhookEvent, Payment
from backoffice.payments.service import reconcile
from backoffice.payments.stripe_terminal import StripeTerminal
from backoffice.security.tokens import digest
from backoffice.settings import Settings
from tests.fixtures.checkin import book_today, by_name, with_policy
from tests.fixtures.servers import free_port
from tests.fixtures.stripe_fake import FakeStripe

KIOSK = "/api/v1/kiosk"
WEBHOOK = "/api/v1/payments/webhooks/stripe"


@pytest.fixture(scope="module")
def fake():
    with FakeStripe() as running:
        yield running


@pytest.fixture(autouse=True)
def _requests_of_this_test_only(fake) -> None:
    """The fake lives for the module: each test reads only the requests it made."""
    fake.requests.clear()


@pytest.fixture
def settings(fake) -> Settings:
    return Settings(
        payments_provider="stripe",
        stripe_secret_key=fake.api_key,
        stripe_webhook_secret=fake.webhook_secret,
        stripe_api_base=fake.url,
    )


@pytest.fixture
def reader(fake, principals, session) -> str:
    """The matrix kiosk, paired with a reader of its own."""
    headers = principals.kiosk()
    token = headers["Authorization"].removeprefix("Bearer ")
    device = session.exec(select(Device).where(Device.token_hash == digest(token))).one()
    device.payment_reader_id = fake.add_reader()
    session.add(device)
    session.commit()
    return device.payment_reader_id


@pytest.fixture
def kiosk(principals, reader):
    return principals.kiosk()


@pytest.fixture
def visit(session, cipher):
    visit = book_today(session, cipher)
    with_policy(session, visit, copay_cents=3000)
    return visit


@pytest.fixture
def started(client, kiosk, visit):
    r = client.post(f"{KIOSK}/lookups", json=by_name(), headers=kiosk)
    session_id, check_in_id = r.json()["matches"][0]["session_id"], uuid.uuid4()
    r = client.post(
        f"{KIOSK}/sessions/{session_id}/payment",
        json={"check_in_id": str(check_in_id)},
        headers=kiosk,
    )
    assert (r.status_code, r.json()["status"]) == (200, "waiting_for_card"), r.text
    return {"session_id": session_id, "check_in_id": check_in_id}


def payment_of(session, started) -> Payment:
    session.expire_all()
    return session.exec(select(Payment).where(Payment.check_in_id == started["check_in_id"])).one()


def tap(client, kiosk, started, number="4242424242424242"):
    return client.post(
        f"{KIOSK}/payments/{started['check_in_id']}/test-card",
        json={"number": number},
        headers=kiosk,
    )


def test_the_intent_is_card_present_manual_capture_keyed_by_the_check_in(
    fake, started, session, reader
) -> None:
    payment = payment_of(session, started)
    intent = fake.payment_intents[payment.intent_id]
    assert (intent["amount"], intent["capture_method"], intent["payment_method_types"]) == (
        3000,
        "manual",
        ["card_present"],
    )
    assert intent["metadata"] == {"check_in_id": str(started["check_in_id"])}
    assert (
        fake.readers[reader]["action"]["process_payment_intent"]["payment_intent"] == intent["id"]
    )
    keys = [key for method, path, key in fake.requests if method == "POST"]
    assert all(key and key.startswith(f"frontdesk-{started['check_in_id']}") for key in keys)


def test_a_paid_copay_is_captured_exactly_once(client, kiosk, fake, started, session) -> None:
    r = tap(client, kiosk, started)
    assert (r.json()["status"], r.json()["receipt"]["card_last4"]) == ("succeeded", "4242")
    payment = payment_of(session, started)
    for _ in range(3):  # the kiosk keeps polling; nothing is captured again
        client.get(f"{KIOSK}/payments/{started['check_in_id']}", headers=kiosk)
    assert fake.captures.count(payment.intent_id) == 1
    assert fake.payment_intents[payment.intent_id]["status"] == "succeeded"


def test_a_decline_then_another_card_uses_one_intent(client, kiosk, fake, started, session) -> None:
    r = tap(client, kiosk, started, "4000000000000002")
    assert (r.json()["status"], r.json()["failure"]) == ("declined", "card_declined")
    again = client.post(
        f"{KIOSK}/sessions/{started['session_id']}/payment",
        json={"check_in_id": str(started["check_in_id"])},
        headers=kiosk,
    )
    assert again.json()["status"] == "waiting_for_card"
    assert tap(client, kiosk, started).json()["status"] == "succeeded"
    made = [
        i
        for i in fake.payment_intents.values()
        if i["metadata"].get("check_in_id") == str(started["check_in_id"])
    ]
    assert [i["status"] for i in made] == ["succeeded"]


def test_abandoning_cancels_the_reader_and_the_intent(
    client, kiosk, fake, started, session, reader
) -> None:
    r = client.post(
        f"{KIOSK}/payments/{started['check_in_id']}/cancel",
        json={"reason": "abandoned"},
        headers=kiosk,
    )
    assert (r.json()["status"], r.json()["failure"]) == ("canceled", "abandoned")
    payment = payment_of(session, started)
    assert fake.readers[reader]["action"] is None
    assert fake.payment_intents[payment.intent_id]["status"] == "canceled"
    assert payment.intent_id not in fake.captures


def test_an_offline_reader_fails_cleanly_and_releases_the_intent(
    client, kiosk, fake, visit, reader
) -> None:
    fake.set_reader_online(reader, False)
    try:
        r = client.post(f"{KIOSK}/lookups", json=by_name(), headers=kiosk)
        session_id, check_in_id = r.json()["matches"][0]["session_id"], uuid.uuid4()
        body = {"check_in_id": str(check_in_id)}
        r = client.post(f"{KIOSK}/sessions/{session_id}/payment", json=body, headers=kiosk)
        assert (r.json()["status"], r.json()["failure"]) == ("failed", "reader_offline")
        made = [
            i
            for i in fake.payment_intents.values()
            if i["metadata"].get("check_in_id") == str(check_in_id)
        ]
        assert [i["status"] for i in made] == ["canceled"]
    finally:
        fake.set_reader_online(reader, True)
    r = client.post(f"{KIOSK}/sessions/{session_id}/payment", json=body, headers=kiosk)
    assert r.json()["status"] == "waiting_for_card"  # a new intent, on the reader back online


def test_stripe_unreachable_answers_503_and_keeps_what_was_learnt(
    app, client, kiosk, fake, started, session
) -> None:
    working = app.state.payments
    nobody = StripeTerminal(
        secret_key=fake.api_key, webhook_secret=None, api_base=f"http://127.0.0.1:{free_port()}"
    )
    app.state.payments = dataclasses.replace(working, provider=nobody)
    r = client.get(f"{KIOSK}/payments/{started['check_in_id']}", headers=kiosk)
    assert (r.status_code, r.json()["code"]) == (503, "payment-unavailable")
    app.state.payments = working
    assert payment_of(session, started).status == "waiting_for_card"
    assert tap(client, kiosk, started).json()["status"] == "succeeded"  # and carries on


# --- webhooks ---------------------------------------------------------------------------------


def approved_at_the_reader(client, kiosk, fake, started, session, reader) -> dict:
    """A card tapped at the reader, with nobody polling: the event is what says so."""
    before = len(fake.events)
    tap_at_the_reader(fake, reader)
    return next(e for e in fake.events[before:] if e["type"] == "terminal.reader.action_succeeded")


def tap_at_the_reader(fake, reader: str) -> None:
    client = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})
    client.v1.test_helpers.terminal.readers.present_payment_method(reader)


def post_event(client, fake, event: dict, **signing):
    payload = json.dumps(event).encode()
    return client.post(
        WEBHOOK,
        content=payload,
        headers={
            "Stripe-Signature": fake.sign(payload, **signing),
            "Content-Type": "application/json",
        },
    )


def test_a_signed_event_makes_the_back_office_capture(
    client, kiosk, fake, started, session, reader
) -> None:
    event = approved_at_the_reader(client, kiosk, fake, started, session, reader)
    r = post_event(client, fake, event)
    assert (r.status_code, r.json()) == (200, {"handled": True})
    payment = payment_of(session, started)
    assert (payment.status, fake.captures.count(payment.intent_id)) == ("succeeded", 1)


def test_a_replayed_event_changes_nothing(client, kiosk, fake, started, session, reader) -> None:
    event = approved_at_the_reader(client, kiosk, fake, started, session, reader)
    post_event(client, fake, event)
    requests_before = len(fake.requests)
    r = post_event(client, fake, event)
    assert (r.status_code, r.json()) == (200, {"handled": False})
    assert len(fake.requests) == requests_before  # Stripe was not even asked
    handled = session.exec(select(func.count()).select_from(HandledWebhookEvent)).one()
    assert handled == 1


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "whsec_someone_else"},
        {"timestamp": int(time.time()) - 301},
    ],
    ids=["forged", "stale"],
)
def test_a_forged_or_stale_event_is_rejected(
    client, kiosk, fake, started, session, reader, signing
) -> None:
    event = approved_at_the_reader(client, kiosk, fake, started, session, reader)
    requests_before = len(fake.requests)
    r = post_event(client, fake, event, **signing)
    assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (
        400,
        "application/problem+json",
        "invalid-webhook",
    )
    assert len(fake.requests) == requests_before
    assert payment_of(session, started).status == "waiting_for_card"


def test_an_unsigned_body_is_rejected(client, started) -> None:
    r = client.post(WEBHOOK, content=b'{"id": "evt_1", "type": "payment_intent.succeeded"}')
    assert (r.status_code, r.json()["code"]) == (400, "invalid-webhook")


# --- the reconciler ---------------------------------------------------------------------------


def test_the_reconciler_finds_an_intent_a_crash_left_unrecorded(
    app, fake, started, session, reader
) -> None:
    """The back office died after Stripe made the intent and before it was recorded, and the
    idempotency key has long expired: the intent is found by its check-in and followed."""
    payment = payment_of(session, started)
    lost = payment.intent_id
    payment.intent_id, payment.status = None, "starting"
    session.add(payment)
    session.commit()
    tap_at_the_reader(fake, reader)
    result = reconcile(session, app.state.payments, now=utcnow())
    session.expire_all()
    payment = payment_of(session, started)
    assert (payment.intent_id, payment.status) == (lost, "succeeded")
    assert result.changed == {str(payment.id): "succeeded"}
    assert fake.captures.count(lost) == 1
