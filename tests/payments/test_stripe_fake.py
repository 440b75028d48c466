"""The Stripe fake, driven through the real `stripe` library as the product drives it."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from tests.fixtures.stripe_fake import FakeStripe, parse_form

VISA, MASTERCARD = "4242424242424242", "5555555555554444"


class WebhookReceiver(ThreadingHTTPServer):
    """A tiny endpoint that keeps what Stripe sends and answers with the statuses it is given."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.received: list[tuple[bytes, str]] = []
        self.statuses: list[int] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/webhooks/stripe"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, self.headers["Stripe-Signature"]))
        self.send_response(self.server.statuses.pop(0) if self.server.statuses else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})


@pytest.fixture
def receiver(fake: FakeStripe) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    fake.webhook_url = server.url
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def reader(fake: FakeStripe) -> str:
    return fake.add_reader()


def create_intent(
    client: stripe.StripeClient,
    *,
    manual: bool = True,
    options: stripe.RequestOptions | None = None,
    **params: object,
) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method_types": ["card_present"],
            "capture_method": "manual" if manual else "automatic",
            "metadata": {"check_in_id": "chk-1"},
            **params,
        },
        options=options,
    )


def pay(client: stripe.StripeClient, reader: str, pi_id: str, number: str = VISA):
    """The reader takes the PaymentIntent, then a card is tapped on it."""
    client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": pi_id})
    return client.v1.test_helpers.terminal.readers.present_payment_method(
        reader, params={"type": "card_present", "card_present": {"number": number}}
    )


# -- wire basics -------------------------------------------------------------------------------


def test_bracket_notation_becomes_dicts_and_lists() -> None:
    form = "metadata[check_in_id]=c1&payment_method_types[0]=card_present&expand[]=x&expand[]=y"
    form += "&card_present[number]=4242&created[gte]=10"
    assert parse_form(form) == {
        "metadata": {"check_in_id": "c1"},
        "payment_method_types": ["card_present"],
        "expand": ["x", "y"],
        "card_present": {"number": "4242"},
        "created": {"gte": "10"},
    }


def test_a_wrong_api_key_is_refused(fake: FakeStripe) -> None:
    client = stripe.StripeClient("sk_test_wrong", base_addresses={"api": fake.url})
    with pytest.raises(stripe.AuthenticationError) as caught:
        client.v1.payment_intents.retrieve("pi_123")
    assert caught.value.http_status == 401


def test_an_unknown_url_is_an_invalid_request(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_123")
    assert caught.value.http_status == 404


def test_every_request_is_recorded_with_its_idempotency_key(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = create_intent(client, options={"idempotency_key": "checkin-1"})
    client.v1.payment_intents.retrieve(pi.id)
    assert fake.requests == [
        ("POST", "/v1/payment_intents", "checkin-1"),
        ("GET", f"/v1/payment_intents/{pi.id}", None),
    ]


# -- PaymentIntents ----------------------------------------------------------------------------


def test_create_gives_a_payment_intent_awaiting_a_card(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    pi = create_intent(client, description="Copay")
    assert pi.id.startswith("pi_") and pi.object == "payment_intent"
    assert (pi.status, pi.amount, pi.currency) == ("requires_payment_method", 2500, "usd")
    assert (pi.capture_method, pi.payment_method_types) == ("manual", ["card_present"])
    assert pi.metadata["check_in_id"] == "chk-1" and pi.description == "Copay"
    assert pi.livemode is False and pi.latest_charge is None and pi.amount_capturable == 0
    assert fake.payment_intents[pi.id]["status"] == "requires_payment_method"


def test_capture_method_defaults_to_automatic_async(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    assert pi.capture_method == "automatic_async"


def test_a_missing_amount_names_the_param(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params={"currency": "usd"})
    assert (caught.value.param, caught.value.code) == ("amount", "parameter_missing")


def test_an_unknown_payment_intent_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.retrieve("pi_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")


def test_a_repeated_key_replays_the_first_answer(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    first = create_intent(client, options={"idempotency_key": "checkin-1"})
    again = create_intent(client, options={"idempotency_key": "checkin-1"})
    assert again.id == first.id
    assert len(fake.payment_intents) == 1
    assert [e["type"] for e in fake.events] == ["payment_intent.created"]
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.body == first.last_response.body


def test_a_key_reused_with_other_params_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    create_intent(client, options={"idempotency_key": "checkin-1"})
    with pytest.raises(stripe.IdempotencyError):
        create_intent(client, amount=9900, options={"idempotency_key": "checkin-1"})


def test_search_finds_by_metadata(client: stripe.StripeClient) -> None:
    wanted = create_intent(client)
    create_intent(client, metadata={"check_in_id": "chk-2"})
    found = client.v1.payment_intents.search(params={"query": "metadata['check_in_id']:'chk-1'"})
    assert found.object == "search_result"
    assert [pi.id for pi in found.data] == [wanted.id]


def test_list_gives_newest_first_within_limit_and_created_bounds(
    client: stripe.StripeClient,
) -> None:
    older, newer = create_intent(client), create_intent(client)
    page = client.v1.payment_intents.list(params={"limit": 1, "created": {"gte": older.created}})
    assert ([pi.id for pi in page.data], page.has_more) == ([newer.id], True)
    later = client.v1.payment_intents.list(params={"created": {"gt": newer.created}})
    assert later.data == []


def test_an_approved_card_on_manual_capture_waits_for_capture(
    fake: FakeStripe, client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    shown = pay(client, reader, pi.id)
    assert shown.action.status == "succeeded"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.amount_capturable, pi.amount_received) == ("requires_capture", 2500, 0)
    assert pi.payment_method.startswith("pm_") and pi.latest_charge.startswith("ch_")
    assert fake.captures == []


def test_capture_settles_the_payment(fake: FakeStripe, client: stripe.StripeClient, reader: str):
    pi = create_intent(client)
    pay(client, reader, pi.id)
    pi = client.v1.payment_intents.capture(pi.id)
    assert (pi.status, pi.amount_received, pi.amount_capturable) == ("succeeded", 2500, 0)
    assert fake.captures == [pi.id]


def test_a_partial_capture_receives_only_that_amount(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    pay(client, reader, pi.id)
    pi = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1500})
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (pi.amount_received, charge.amount_captured, charge.captured) == (1500, 1500, True)


def test_a_replayed_capture_counts_once(
    fake: FakeStripe, client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    pay(client, reader, pi.id)
    for _ in range(2):
        client.v1.payment_intents.capture(pi.id, options={"idempotency_key": "capture-1"})
    assert fake.captures == [pi.id]


def test_capture_before_the_card_is_an_unexpected_state(client: stripe.StripeClient) -> None:
    pi = create_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.capture(pi.id)
    assert caught.value.code == "payment_intent_unexpected_state"
    assert caught.value.error.payment_intent.id == pi.id


def test_an_approved_card_on_automatic_capture_succeeds_at_once(
    fake: FakeStripe, client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client, manual=False)
    pay(client, reader, pi.id, MASTERCARD)
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert (pi.status, pi.amount_received) == ("succeeded", 2500)
    card = pi.latest_charge.payment_method_details.card_present
    assert (card.brand, card.last4, card.read_method) == ("mastercard", "4444", "contactless_emv")
    assert pi.latest_charge.captured is True and pi.latest_charge.payment_intent == pi.id
    assert fake.captures == []


def test_the_charge_carries_the_card_present_details(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    pay(client, reader, pi.id)
    charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(pi.id).latest_charge)
    assert (charge.object, charge.amount, charge.captured) == ("charge", 2500, False)
    assert charge.payment_method_details.type == "card_present"
    assert charge.payment_method_details.card_present.brand == "visa"
    assert len(charge.payment_method_details.card_present.receipt.authorization_code) == 6


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4000000000000119", "processing_error", "processing_error"),
    ],
)
def test_a_declined_card_fails_the_action_and_keeps_the_intent(
    client: stripe.StripeClient, reader: str, number: str, code: str, decline_code: str
) -> None:
    pi = create_intent(client)
    shown = pay(client, reader, pi.id, number)
    assert (shown.action.status, shown.action.failure_code) == ("failed", code)
    assert shown.action.failure_message
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "requires_payment_method"
    error = pi.last_payment_error
    assert (error.type, error.code, error.decline_code) == ("card_error", code, decline_code)


def test_after_a_decline_another_card_pays_the_same_intent(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    pay(client, reader, pi.id, "4000000000009995")
    shown = pay(client, reader, pi.id, VISA)
    assert shown.action.status == "succeeded"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.last_payment_error) == ("requires_capture", None)


def test_cancel_ends_an_intent_awaiting_a_card(client: stripe.StripeClient) -> None:
    pi = create_intent(client)
    pi = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert (pi.status, pi.cancellation_reason) == ("canceled", "abandoned")


def test_cancel_releases_an_authorized_intent(client: stripe.StripeClient, reader: str) -> None:
    pi = create_intent(client)
    pay(client, reader, pi.id)
    pi = client.v1.payment_intents.cancel(pi.id)
    assert (pi.status, pi.amount_capturable) == ("canceled", 0)


def test_a_succeeded_intent_cannot_be_canceled(client: stripe.StripeClient, reader: str) -> None:
    pi = create_intent(client, manual=False)
    pay(client, reader, pi.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.cancel(pi.id)
    assert caught.value.code == "payment_intent_unexpected_state"


# -- Terminal readers --------------------------------------------------------------------------


def test_a_reader_is_online_and_idle(client: stripe.StripeClient, reader: str) -> None:
    shown = client.v1.terminal.readers.retrieve(reader)
    assert shown.id.startswith("tmr_") and shown.object == "terminal.reader"
    assert (shown.status, shown.device_type, shown.action) == ("online", "bbpos_wisepos_e", None)


def test_process_puts_an_action_in_progress(client: stripe.StripeClient, reader: str) -> None:
    pi = create_intent(client)
    shown = client.v1.terminal.readers.process_payment_intent(
        reader, params={"payment_intent": pi.id}
    )
    assert (shown.action.type, shown.action.status) == ("process_payment_intent", "in_progress")
    assert shown.action.process_payment_intent.payment_intent == pi.id


def test_a_reader_with_an_action_in_progress_is_busy(
    client: stripe.StripeClient, reader: str
) -> None:
    first, second = create_intent(client), create_intent(client)
    client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": first.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.terminal.readers.process_payment_intent(
            reader, params={"payment_intent": second.id}
        )
    assert caught.value.code == "terminal_reader_busy"


def test_an_offline_reader_refuses_actions(
    fake: FakeStripe, client: stripe.StripeClient, reader: str
) -> None:
    fake.set_reader_online(reader, False)
    pi = create_intent(client)
    assert client.v1.terminal.readers.retrieve(reader).status == "offline"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": pi.id})
    assert caught.value.code == "terminal_reader_offline"


def test_an_offline_refusal_is_not_replayed_once_the_reader_is_back(
    fake: FakeStripe, client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    fake.set_reader_online(reader, False)
    options = {"idempotency_key": "process-1"}
    params = {"payment_intent": pi.id}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.terminal.readers.process_payment_intent(reader, params, options)
    fake.set_reader_online(reader, True)
    shown = client.v1.terminal.readers.process_payment_intent(reader, params, options)
    assert shown.action.status == "in_progress"


def test_only_an_intent_awaiting_a_card_can_be_processed(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    client.v1.payment_intents.cancel(pi.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": pi.id})
    assert caught.value.code == "intent_invalid_state"


def test_cancel_action_clears_the_reader_and_keeps_the_intent(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": pi.id})
    shown = client.v1.terminal.readers.cancel_action(reader)
    assert shown.action is None
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"
    shown = pay(client, reader, pi.id)  # the same intent can go to the reader again
    assert shown.action.status == "succeeded"


def test_cancel_action_with_nothing_in_progress_is_refused(
    client: stripe.StripeClient, reader: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.terminal.readers.cancel_action(reader)
    assert caught.value.code == "terminal_reader_action_not_allowed"


def test_a_card_needs_a_payment_in_progress(client: stripe.StripeClient, reader: str) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.test_helpers.terminal.readers.present_payment_method(reader)


def test_a_card_presented_without_a_number_is_the_visa_test_card(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": pi.id})
    client.v1.test_helpers.terminal.readers.present_payment_method(reader)
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.latest_charge.payment_method_details.card_present.last4 == "4242"


def test_an_intent_canceled_while_the_reader_waits_fails_the_action(
    client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    client.v1.terminal.readers.process_payment_intent(reader, params={"payment_intent": pi.id})
    client.v1.payment_intents.cancel(pi.id)
    shown = client.v1.test_helpers.terminal.readers.present_payment_method(reader)
    assert (shown.action.status, shown.action.failure_code) == ("failed", "intent_invalid_state")
    assert client.v1.payment_intents.retrieve(pi.id).status == "canceled"


# -- Refunds -----------------------------------------------------------------------------------


@pytest.fixture
def paid(client: stripe.StripeClient, reader: str) -> stripe.PaymentIntent:
    pi = create_intent(client, manual=False)
    pay(client, reader, pi.id)
    return client.v1.payment_intents.retrieve(pi.id)


def test_a_refund_by_intent_returns_the_rest_of_the_charge(
    fake: FakeStripe, client: stripe.StripeClient, paid: stripe.PaymentIntent
) -> None:
    refund = client.v1.refunds.create(
        params={"payment_intent": paid.id, "reason": "requested_by_customer"}
    )
    assert refund.id.startswith("re_") and refund.object == "refund"
    assert (refund.status, refund.amount, refund.charge) == ("succeeded", 2500, paid.latest_charge)
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (2500, True)
    assert client.v1.refunds.retrieve(refund.id).payment_intent == paid.id
    assert fake.refunds[refund.id]["reason"] == "requested_by_customer"


def test_partial_refunds_add_up(client: stripe.StripeClient, paid: stripe.PaymentIntent) -> None:
    client.v1.refunds.create(params={"charge": paid.latest_charge, "amount": 1000})
    rest = client.v1.refunds.create(params={"charge": paid.latest_charge})
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (rest.amount, charge.amount_refunded, charge.refunded) == (1500, 2500, True)


def test_refunding_more_than_is_left_names_the_amount(
    client: stripe.StripeClient, paid: stripe.PaymentIntent
) -> None:
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 2000})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1000})
    assert caught.value.param == "amount"


def test_refunding_a_refunded_charge_is_charge_already_refunded(
    client: stripe.StripeClient, paid: stripe.PaymentIntent
) -> None:
    client.v1.refunds.create(params={"payment_intent": paid.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": paid.id})
    assert caught.value.code == "charge_already_refunded"


def test_an_intent_without_a_successful_charge_cannot_be_refunded(
    client: stripe.StripeClient,
) -> None:
    pi = create_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert caught.value.param == "payment_intent"


# -- Events and webhooks -----------------------------------------------------------------------


def test_events_follow_the_payment(
    fake: FakeStripe, client: stripe.StripeClient, reader: str
) -> None:
    pi = create_intent(client)
    pay(client, reader, pi.id, "4000000000000002")
    pay(client, reader, pi.id)
    client.v1.payment_intents.capture(pi.id)
    client.v1.refunds.create(params={"payment_intent": pi.id})
    assert [e["type"] for e in fake.events] == [
        "payment_intent.created",
        "payment_intent.payment_failed",
        "terminal.reader.action_failed",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "terminal.reader.action_succeeded",
        "charge.captured",
        "payment_intent.succeeded",
        "refund.created",
        "charge.refunded",
    ]
    event = fake.events[0]
    assert event["id"].startswith("evt_") and event["object"] == "event"
    assert event["api_version"] == stripe.api_version and event["livemode"] is False
    assert event["data"]["object"]["id"] == pi.id
    assert fake.deliveries == []  # no webhook_url: recorded only


def test_an_event_keeps_the_object_as_it_was(fake: FakeStripe, client: stripe.StripeClient) -> None:
    pi = create_intent(client)
    client.v1.payment_intents.cancel(pi.id)
    assert fake.events[0]["data"]["object"]["status"] == "requires_payment_method"
    assert fake.events[1]["data"]["object"]["status"] == "canceled"


def test_webhooks_are_signed_for_construct_event(
    fake: FakeStripe, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    pi = create_intent(client, options={"idempotency_key": "checkin-1"})
    fake.flush_webhooks()
    [(body, signature)] = receiver.received
    event = stripe.Webhook.construct_event(body, signature, fake.webhook_secret)
    assert (event.type, event.data.object.id) == ("payment_intent.created", pi.id)
    assert event.request.idempotency_key == "checkin-1"
    assert fake.deliveries == [(event.id, 200)]


def test_a_webhook_under_another_secret_is_rejected(
    fake: FakeStripe, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    create_intent(client)
    fake.flush_webhooks()
    [(body, signature)] = receiver.received
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_someone_else")


def test_sign_matches_what_the_library_expects(fake: FakeStripe) -> None:
    payload = b'{"id": "evt_1", "object": "event"}'
    header = fake.sign(payload, timestamp=1_700_000_000)
    stripe.WebhookSignature.verify_header(payload, header, fake.webhook_secret, tolerance=None)


def test_a_failed_delivery_is_sent_again_when_asked(
    fake: FakeStripe, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    receiver.statuses = [500]
    create_intent(client)
    fake.flush_webhooks()
    fake.redeliver_failed()
    fake.flush_webhooks()
    event_id = fake.events[0]["id"]
    assert fake.deliveries == [(event_id, 500), (event_id, 200)]
    assert len(receiver.received) == 2
    fake.redeliver_failed()  # nothing left to send
    fake.flush_webhooks()
    assert len(fake.deliveries) == 2


def test_an_unreachable_endpoint_is_recorded_as_none(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with WebhookReceiver() as closed:
        fake.webhook_url = closed.url  # bound, never serving, closed on leaving
    create_intent(client)
    fake.flush_webhooks()
    assert fake.deliveries == [(fake.events[0]["id"], None)]


# -- hold and release --------------------------------------------------------------------------


def test_a_held_request_has_its_effect_before_its_answer(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    fake.hold("POST", "/v1/payment_intents")
    answers: list[stripe.PaymentIntent] = []
    caller = threading.Thread(target=lambda: answers.append(create_intent(client)))
    caller.start()
    fake.wait_until_held()
    assert len(fake.payment_intents) == 1 and answers == []
    fake.release()
    caller.join(timeout=5)
    assert [pi.id for pi in answers] == list(fake.payment_intents)


def test_a_held_answer_to_a_client_that_left_is_dropped(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    fake.hold("POST", "/v1/payment_intents")
    host, port = fake.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request(
        "POST",
        "/v1/payment_intents",
        body="amount=2500&currency=usd",
        headers={
            "Authorization": f"Bearer {fake.api_key}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": "checkin-1",
        },
    )
    fake.wait_until_held()
    conn.close()  # the client dies waiting
    fake.release()
    retried = client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "usd"}, options={"idempotency_key": "checkin-1"}
    )
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert list(fake.payment_intents) == [retried.id]
