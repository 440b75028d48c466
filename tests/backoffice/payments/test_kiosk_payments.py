"""Copays on the kiosk's card reader, through the kiosk API, with the simulated reader the demo
uses: paying, declines, giving up, the reader's timeout, one payment per check-in and per
visit, and what staff then see on the queue and the ledger."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from backoffice.audit.models import AuditEvent
from backoffice.checkin.models import Arrival
from backoffice.payments.models import LedgerEntry, Payment
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.checkin import book_today, by_name, submission, with_policy

KIOSK = "/api/v1/kiosk"
APPROVED, DECLINED, NO_FUNDS = "4242424242424242", "4000000000000002", "4000000000009995"


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def kiosk(principals):
    return principals.kiosk()


@pytest.fixture
def visit(session, cipher):
    visit = book_today(session, cipher, first_name="Harriet")
    with_policy(session, visit, copay_cents=2500)
    return visit


def open_session(client, kiosk) -> str:
    r = client.post(f"{KIOSK}/lookups", json=by_name(), headers=kiosk)
    assert r.status_code == 200, r.text
    return r.json()["matches"][0]["session_id"]


def start(client, kiosk, session_id, check_in_id):
    return client.post(
        f"{KIOSK}/sessions/{session_id}/payment",
        json={"check_in_id": str(check_in_id)},
        headers=kiosk,
    )


def tap(client, kiosk, check_in_id, number=APPROVED):
    return client.post(
        f"{KIOSK}/payments/{check_in_id}/test-card", json={"number": number}, headers=kiosk
    )


def cancel(client, kiosk, check_in_id, reason="abandoned"):
    return client.post(
        f"{KIOSK}/payments/{check_in_id}/cancel", json={"reason": reason}, headers=kiosk
    )


def test_a_copay_paid_on_the_reader_is_captured_once_and_shown_as_paid(
    client, kiosk, visit, session
) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    r = start(client, kiosk, session_id, check_in_id)
    assert (r.status_code, r.json()["status"], r.json()["amount_cents"]) == (
        200,
        "waiting_for_card",
        2500,
    )
    r = tap(client, kiosk, check_in_id)
    state = r.json()
    assert (state["status"], state["failure"]) == ("succeeded", None)
    receipt = state["receipt"]
    assert (receipt["amount_cents"], receipt["card_brand"], receipt["card_last4"]) == (
        2500,
        "visa",
        "4242",
    )
    assert "Harriet" not in r.text and "Quimby" not in r.text  # a receipt names no one
    # Asking again changes nothing: it is the same payment, still paid.
    again = start(client, kiosk, session_id, check_in_id).json()
    assert again["status"] == "succeeded"
    assert client.get(f"{KIOSK}/payments/{check_in_id}", headers=kiosk).json() == again

    r = client.post(
        f"{KIOSK}/check-ins",
        json=submission(session_id=session_id, check_in_id=str(check_in_id)),
        headers={**kiosk, "Idempotency-Key": str(check_in_id)},
    )
    assert r.status_code == 201, r.text
    assert "copay_unpaid" not in r.json()["flags"]
    arrival = session.exec(select(Arrival).where(Arrival.check_in_id == check_in_id)).one()
    assert arrival.copay_paid_cents == 2500
    lines = session.exec(
        select(LedgerEntry).where(LedgerEntry.patient_id == visit["patient"].id)
    ).all()
    assert sorted((e.kind, e.amount_cents) for e in lines) == [
        ("charge", 2500),
        ("payment", -2500),
    ]
    [payment] = session.exec(select(Payment).where(Payment.check_in_id == check_in_id)).all()
    assert (payment.intents_made, payment.tries) == (0, 0)


def test_a_declined_card_can_be_followed_by_another(client, kiosk, visit, app) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    r = tap(client, kiosk, check_in_id, DECLINED)
    assert (r.json()["status"], r.json()["failure"]) == ("declined", "card_declined")
    assert start(client, kiosk, session_id, check_in_id).json()["status"] == "waiting_for_card"
    r = tap(client, kiosk, check_in_id, NO_FUNDS)
    assert (r.json()["status"], r.json()["failure"]) == ("declined", "insufficient_funds")
    start(client, kiosk, session_id, check_in_id)
    assert tap(client, kiosk, check_in_id, "5555555555554444").json()["status"] == "succeeded"
    # Three cards, one PaymentIntent: the declines did not leave others behind.
    intents = app.state.payments.provider.find_intents(str(check_in_id))
    assert [i.status for i in intents] == ["succeeded"]


def test_giving_up_releases_the_payment_and_a_new_try_starts_afresh(
    client, kiosk, visit, app
) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    r = cancel(client, kiosk, check_in_id)
    assert (r.json()["status"], r.json()["failure"]) == ("canceled", "abandoned")
    # The reader is free again and nothing can be taken on the old intent.
    assert tap(client, kiosk, check_in_id).status_code == 409
    assert start(client, kiosk, session_id, check_in_id).json()["status"] == "waiting_for_card"
    assert tap(client, kiosk, check_in_id).json()["status"] == "succeeded"
    intents = app.state.payments.provider.find_intents(str(check_in_id))
    assert sorted(i.status for i in intents) == ["canceled", "succeeded"]


def test_a_reader_left_waiting_is_stopped_after_the_clinic_timeout(
    client, kiosk, visit, session, app
) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    payment = session.exec(select(Payment).where(Payment.check_in_id == check_in_id)).one()
    payment.waiting_since -= app.state.payments.reader_timeout + timedelta(seconds=1)
    session.add(payment)
    session.commit()
    r = client.get(f"{KIOSK}/payments/{check_in_id}", headers=kiosk)
    assert (r.json()["status"], r.json()["failure"]) == ("canceled", "timed_out")
    reader = app.state.payments.provider.get_reader_action(payment.reader_id)
    assert reader.status is None  # the reader was told to stop


def test_the_kiosks_own_timeout_is_recorded_as_such(client, kiosk, visit) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    r = cancel(client, kiosk, check_in_id, "timed_out")
    assert (r.json()["status"], r.json()["failure"]) == ("canceled", "timed_out")


def test_a_visit_paid_in_an_earlier_check_in_is_not_charged_again(client, kiosk, visit) -> None:
    session_id, first = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, first)
    tap(client, kiosk, first)
    # The patient started over on the kiosk: a new check-in, the same visit.
    session_id = open_session(client, kiosk)
    copay = client.get(f"{KIOSK}/sessions/{session_id}/copay", headers=kiosk).json()
    assert copay["amount_cents"] == 0
    r = start(client, kiosk, session_id, uuid.uuid4())
    assert (r.status_code, r.json()["code"]) == (409, "nothing-due")


def test_one_payment_at_a_time_per_visit(client, kiosk, visit) -> None:
    session_id = open_session(client, kiosk)
    start(client, kiosk, session_id, uuid.uuid4())
    r = start(client, kiosk, session_id, uuid.uuid4())
    assert (r.status_code, r.json()["code"]) == (409, "payment-in-progress")


def test_nothing_due_is_not_sent_to_the_reader(client, kiosk, session, cipher) -> None:
    book_today(session, cipher)  # no policy and no self-pay fee: nothing at the kiosk
    r = start(client, kiosk, open_session(client, kiosk), uuid.uuid4())
    assert (r.status_code, r.json()["code"]) == (409, "nothing-due")


def test_another_kiosk_cannot_see_or_stop_a_payment(client, kiosk, visit, principals) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    from backoffice.devices import service as devices_service
    from tests.fixtures.builders import TEST_ACTOR

    _, token = devices_service.add_kiosk(principals.session, actor=TEST_ACTOR, name="other")
    principals.session.commit()
    other = {"Authorization": f"Bearer {token}"}
    for r in (
        client.get(f"{KIOSK}/payments/{check_in_id}", headers=other),
        cancel(client, other, check_in_id),
    ):
        assert (r.status_code, r.json()["code"]) == (404, "payment-not-found")


def test_starting_is_audited_without_card_data(client, kiosk, visit, session) -> None:
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    tap(client, kiosk, check_in_id)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "payments.start")).all()
    assert [e.resource_id for e in events] == [str(visit["patient"].id)]
    assert "4242" not in str(events[0].detail)


# --- staff: refunds, adjustments, the ledger -------------------------------------------------


@pytest.fixture
def paid(client, kiosk, visit, session):
    session_id, check_in_id = open_session(client, kiosk), uuid.uuid4()
    start(client, kiosk, session_id, check_in_id)
    tap(client, kiosk, check_in_id)
    client.post(
        f"{KIOSK}/check-ins",
        json=submission(session_id=session_id, check_in_id=str(check_in_id)),
        headers={**kiosk, "Idempotency-Key": str(check_in_id)},
    )
    return session.exec(select(Payment).where(Payment.check_in_id == check_in_id)).one()


def test_the_ledger_shows_each_line_with_the_running_balance(client, principals, paid) -> None:
    billing = principals.staff(Role.BILLING)
    r = client.post(
        f"/api/v1/payments/{paid.id}/refunds",
        json={"amount_cents": 1000, "reason": "copay waived by the provider"},
        headers=billing,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["amount_cents"], r.json()["balance_cents"]) == (
        "refund",
        1000,
        1000,
    )
    r = client.post(
        f"/api/v1/patients/{paid.patient_id}/ledger/adjustments",
        json={"amount_cents": -1000, "reason": "courtesy write-off"},
        headers=billing,
    )
    assert r.status_code == 201, r.text
    ledger = client.get(
        f"/api/v1/patients/{paid.patient_id}/ledger", headers=principals.staff(Role.FRONT_DESK)
    ).json()
    assert [(i["kind"], i["amount_cents"], i["balance_cents"]) for i in ledger["items"]] == [
        ("payment", -2500, -2500),
        ("charge", 2500, 0),
        ("refund", 1000, 1000),
        ("adjustment", -1000, 0),
    ]  # paid on the reader before the check-in (and its charge) arrived
    assert ledger["balance_cents"] == 0
    refund = next(i for i in ledger["items"] if i["kind"] == "refund")
    assert refund["reason"] == "copay waived by the provider"


def test_a_refund_is_audited_with_its_reason(client, principals, paid, session) -> None:
    client.post(
        f"/api/v1/payments/{paid.id}/refunds",
        json={"reason": "double charge at the desk"},
        headers=principals.staff(Role.BILLING),
    )
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "payments.refund")).all()
    assert event.detail == {
        "payment_id": str(paid.id),
        "amount_cents": 2500,
        "reason": "double charge at the desk",
    }


def test_no_more_than_was_paid_can_be_refunded(client, principals, paid) -> None:
    billing = principals.staff(Role.BILLING)
    url = f"/api/v1/payments/{paid.id}/refunds"
    assert client.post(
        url, json={"amount_cents": 2000, "reason": "part"}, headers=billing
    ).is_success
    r = client.post(url, json={"amount_cents": 501, "reason": "too much"}, headers=billing)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "amount_cents")
    assert (
        client.post(url, json={"reason": "the rest"}, headers=billing).json()["amount_cents"] == 500
    )
    r = client.post(url, json={"reason": "again"}, headers=billing)
    assert r.status_code == 422


def test_staff_can_override_the_copay_with_a_reason(
    client, principals, kiosk, visit, session
) -> None:
    url = f"/api/v1/appointments/{visit['appointment'].id}/copay"
    desk = principals.staff(Role.FRONT_DESK)
    assert client.get(url, headers=desk).json() == {
        "amount_cents": 2500,
        "self_pay": False,
        "source": "policy",
        "reason": None,
    }
    r = client.put(url, json={"amount_cents": 0, "reason": "hardship waiver"}, headers=desk)
    assert (r.json()["amount_cents"], r.json()["source"]) == (0, "override")
    session_id = open_session(client, kiosk)
    assert client.get(f"{KIOSK}/sessions/{session_id}/copay", headers=kiosk).json() == {
        "amount_cents": 0,
        "self_pay": False,
    }
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "copay.override")).all()
    assert event.detail["reason"] == "hardship waiver"
    assert client.delete(url, headers=desk).json()["source"] == "policy"


def test_an_override_needs_a_reason(client, principals, visit) -> None:
    r = client.put(
        f"/api/v1/appointments/{visit['appointment'].id}/copay",
        json={"amount_cents": 0},
        headers=principals.staff(Role.FRONT_DESK),
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "reason")
