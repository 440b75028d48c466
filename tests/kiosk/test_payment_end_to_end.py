"""Copays end to end: `frontdesk kiosk check-in --pay` against a real back office on the demo's
simulated reader, and the back office on Stripe (its loopback fake) killed mid-payment and
restarted, with the kiosk asking again: exactly one capture."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid

import httpx
import pytest
import stripe

from kiosk.client import BackOfficeClient, BackOfficeUnreachable
from shared.contracts.kiosk import ByNameAndBirthDate
from tests.fixtures.servers import BackOffice, Clinic, kiosk_env, seeded_clinic
from tests.fixtures.stripe_fake import FakeStripe

COPAY = 2500


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Clinic:
    var = tmp_path_factory.mktemp("pay")
    return seeded_clinic(var / "var", f"sqlite:///{var / 'frontdesk.db'}")


def appointment_of(clinic: Clinic, patient_id: str) -> str:
    database = clinic.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        [(appointment_id,)] = conn.execute(
            "SELECT id FROM appointments WHERE patient_id = ? AND lane = 1",
            (uuid.UUID(patient_id).hex,),
        ).fetchall()
    return str(uuid.UUID(appointment_id))


def set_copay(server: BackOffice, appointment_id: str) -> None:
    """Whatever the demo's policy says, this visit's copay is $25 (set as staff would)."""
    r = httpx.put(
        f"{server.url}/api/v1/appointments/{appointment_id}/copay",
        json={"amount_cents": COPAY, "reason": "end-to-end test"},
        headers=server.staff_headers(),
    )
    r.raise_for_status()


def ledger(server: BackOffice, patient_id: str) -> dict:
    return server.get(f"/patients/{patient_id}/ledger", server.staff_headers())


# --- the demo: the simulated reader ----------------------------------------------------------


@pytest.fixture
def backoffice(clinic):
    server = BackOffice(clinic).start()
    yield server
    server.stop()


def test_a_copay_is_paid_at_the_kiosk_and_staff_see_it_paid(clinic, backoffice, tmp_path):
    last_name, dob, patient_id = clinic.due_soon()[0]
    set_copay(backoffice, appointment_of(clinic, patient_id))
    env = kiosk_env(clinic, backoffice.url, tmp_path / "kiosk")
    result = clinic.run(
        "kiosk", "check-in", "--last-name", last_name, "--dob", dob, "--sign", "--pay",
        "--receipt", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "copay paid: $25.00" in result.stdout
    assert "receipt was not printed" not in result.stderr
    lines = ledger(backoffice, patient_id)
    assert [(i["kind"], i["amount_cents"]) for i in lines["items"]] == [
        ("payment", -COPAY),
        ("charge", COPAY),
    ]
    assert lines["balance_cents"] == 0


def test_a_declined_card_sends_the_patient_to_the_desk(clinic, backoffice, tmp_path):
    last_name, dob, patient_id = clinic.due_soon()[1]
    set_copay(backoffice, appointment_of(clinic, patient_id))
    env = kiosk_env(clinic, backoffice.url, tmp_path / "kiosk")
    result = clinic.run(
        "kiosk", "check-in", "--last-name", last_name, "--dob", dob, "--sign", "--pay",
        "--card", "4000000000000002", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the card payment did not go through (card_declined): pay at the desk" in result.stderr
    assert "copay paid" not in result.stdout
    assert ledger(backoffice, patient_id)["balance_cents"] == COPAY  # owed, at the desk


# --- Stripe: the back office killed mid-payment ------------------------------------------------


@pytest.fixture
def fake():
    with FakeStripe() as running:
        yield running


@pytest.fixture
def stripe_backoffice(clinic, fake):
    reader = fake.add_reader()
    result = clinic.run("devices", "set-reader", "Downtown lobby", reader)
    assert result.returncode == 0, result.stderr
    server = BackOffice(
        clinic,
        env={
            "FRONTDESK_PAYMENTS_PROVIDER": "stripe",
            "FRONTDESK_STRIPE_SECRET_KEY": fake.api_key,
            "FRONTDESK_STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
            "FRONTDESK_STRIPE_API_BASE": fake.url,
        },
    ).start()
    fake.webhook_url = f"{server.url}/api/v1/payments/webhooks/stripe"
    yield server, reader
    server.stop()


def intents_for(fake: FakeStripe, check_in_id: uuid.UUID) -> list[dict]:
    return [
        i for i in fake.payment_intents.values()
        if i["metadata"].get("check_in_id") == str(check_in_id)
    ]  # fmt: skip


def kiosk_client(clinic: Clinic, server: BackOffice) -> BackOfficeClient:
    return BackOfficeClient(server.url, clinic.kiosk_token, timeout=10)


def in_background(call) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(BackOfficeUnreachable):
            call()  # the back office may die under it: the kiosk would ask again

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def open_session(client: BackOfficeClient, clinic: Clinic, index: int):
    last_name, dob, patient_id = clinic.due_soon()[index]
    found = client.lookup(ByNameAndBirthDate(last_name=last_name, date_of_birth=dob))
    return found.matches[0].session_id, patient_id


def test_killed_after_the_intent_was_made_the_retry_finds_it(clinic, fake, stripe_backoffice):
    server, _reader = stripe_backoffice
    client = kiosk_client(clinic, server)
    session_id, patient_id = open_session(client, clinic, 2)
    set_copay(server, appointment_of(clinic, patient_id))
    check_in_id = uuid.uuid4()

    fake.hold("POST", "/v1/payment_intents")
    request = in_background(lambda: client.start_payment(session_id, check_in_id))
    fake.wait_until_held()
    server.kill()  # Stripe made the intent; the back office never recorded it
    fake.release()
    request.join(timeout=10)
    assert len(intents_for(fake, check_in_id)) == 1

    server.start()
    client = kiosk_client(clinic, server)
    state = client.start_payment(session_id, check_in_id)  # the kiosk asks again
    assert state.status == "waiting_for_card"
    assert client.present_test_card(check_in_id, "4242424242424242").status == "succeeded"
    [intent] = intents_for(fake, check_in_id)
    assert fake.captures.count(intent["id"]) == 1


def test_killed_while_capturing_the_retry_captures_nothing_more(clinic, fake, stripe_backoffice):
    server, reader = stripe_backoffice
    client = kiosk_client(clinic, server)
    session_id, patient_id = open_session(client, clinic, 3)
    set_copay(server, appointment_of(clinic, patient_id))
    check_in_id = uuid.uuid4()
    assert client.start_payment(session_id, check_in_id).status == "waiting_for_card"
    [intent] = intents_for(fake, check_in_id)

    fake.webhook_url = None  # the capture below is the kiosk's poll, not a webhook
    fake.hold("POST", f"/v1/payment_intents/{intent['id']}/capture")
    api = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})
    api.v1.test_helpers.terminal.readers.present_payment_method(reader)
    request = in_background(lambda: client.payment(check_in_id))
    fake.wait_until_held()
    server.kill()  # Stripe captured; the back office never heard
    fake.release()
    request.join(timeout=10)
    assert fake.captures.count(intent["id"]) == 1

    server.start()
    state = kiosk_client(clinic, server).payment(check_in_id)
    assert (state.status, state.amount_cents) == ("succeeded", COPAY)
    assert fake.captures.count(intent["id"]) == 1
    payments = [i for i in ledger(server, patient_id)["items"] if i["kind"] == "payment"]
    assert [p["amount_cents"] for p in payments] == [-COPAY]
