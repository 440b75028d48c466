"""The kiosk API: finding today's appointment with the least PHI, sessions, throttling,
and a check-in recorded exactly once."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import col, select

from backoffice.checkin.models import Arrival, LookupAttempt, StaffAlert
from backoffice.checkin.throttle import FAILURES_ALLOWED
from backoffice.kit.idempotency import IdempotentRequest
from backoffice.scheduling.models import Appointment
from shared.enums import Role
from tests.fixtures.checkin import (
    BIRTH_DATE,
    JPEG,
    book_alongside,
    book_today,
    by_name,
    consent_form,
    signature,
    submission,
    with_policy,
)

LOOKUP = "/api/v1/kiosk/lookups"
CHECK_IN = "/api/v1/kiosk/check-ins"


@pytest.fixture
def kiosk(principals):
    return principals.kiosk()


@pytest.fixture
def visit(session, cipher):
    return book_today(session, cipher, first_name="Harriet")


def look_up(client, kiosk, body):
    return client.post(LOOKUP, json=body, headers=kiosk)


def deliver(client, kiosk, body):
    return client.post(
        CHECK_IN, json=body, headers={**kiosk, "Idempotency-Key": body["check_in_id"]}
    )


def test_a_name_and_birth_date_find_today_with_the_least_phi(client, kiosk, visit):
    r = look_up(client, kiosk, by_name())
    assert r.status_code == 200, r.text
    [match] = r.json()["matches"]
    assert set(match) == {
        "session_id", "expires_at", "verified", "first_name", "last_initial", "start",
        "provider_name", "location_name", "already_checked_in",
    }  # fmt: skip
    assert (match["first_name"], match["last_initial"], match["verified"]) == ("Harriet", "Q", True)
    assert match["provider_name"].endswith(", MD")
    assert "Quimby" not in r.text and BIRTH_DATE.isoformat() not in r.text


@pytest.mark.parametrize(
    "body",
    [
        by_name(last_name="Quimbly"),
        by_name(born=BIRTH_DATE + timedelta(days=1)),
        by_name(last_name="Nobody"),
        {"method": "qr", "token": "FDQ1.not-a-real-token.at-all"},
    ],
    ids=["name-slip", "wrong-birth-date", "unknown", "forged-code"],
)
def test_anything_that_does_not_match_gets_the_same_answer(client, kiosk, visit, body):
    r = look_up(client, kiosk, body)
    assert (r.status_code, r.json()["code"]) == (404, "no-match")
    assert r.json()["detail"] == "We could not find an appointment today with those details."


def test_an_appointment_on_another_day_is_not_found(client, kiosk, session, visit):
    appointment = visit["appointment"]
    appointment.starts_at += timedelta(days=2)
    appointment.ends_at += timedelta(days=2)
    session.add(appointment)
    session.commit()
    assert look_up(client, kiosk, by_name()).status_code == 404


def test_repeated_failures_throttle_the_kiosk_and_alert_staff_once(client, kiosk, session, visit):
    for _ in range(FAILURES_ALLOWED):
        assert look_up(client, kiosk, by_name(last_name="Guess")).status_code == 404
    r = look_up(client, kiosk, by_name())  # even a right answer waits now
    assert (r.status_code, r.json()["code"]) == (429, "too-many-attempts")
    assert 0 < int(r.headers["Retry-After"]) <= 600
    alerts = session.exec(select(StaffAlert).where(StaffAlert.kind == "kiosk_throttled")).all()
    assert len(alerts) == 1
    assert "Guess" not in alerts[0].message
    assert len(session.exec(select(LookupAttempt)).all()) == FAILURES_ALLOWED


def test_failures_age_out_of_the_window(client, kiosk, session, visit):
    for _ in range(FAILURES_ALLOWED):
        look_up(client, kiosk, by_name(last_name="Guess"))
    for attempt in session.exec(select(LookupAttempt)).all():
        attempt.at -= timedelta(minutes=11)
        session.add(attempt)
    session.commit()
    assert look_up(client, kiosk, by_name()).status_code == 200


def test_a_check_in_code_needs_the_birth_date_before_anything_shows(
    client, kiosk, principals, visit
):
    desk = principals.staff(Role.FRONT_DESK)
    code = client.get(
        f"/api/v1/appointments/{visit['appointment'].id}/check-in-code", headers=desk
    ).json()
    [match] = look_up(client, kiosk, {"method": "qr", "token": code["token"]}).json()["matches"]
    assert match["verified"] is False
    session_url = f"/api/v1/kiosk/sessions/{match['session_id']}"
    r = client.get(f"{session_url}/demographics", headers=kiosk)
    assert (r.status_code, r.json()["code"]) == (403, "session-unverified")
    wrong = client.post(
        f"{session_url}/verify", json={"date_of_birth": "1961-04-03"}, headers=kiosk
    )
    assert (wrong.status_code, wrong.json()["attempts_left"]) == (422, 2)
    right = client.post(
        f"{session_url}/verify", json={"date_of_birth": "1961-04-02"}, headers=kiosk
    )
    assert (right.status_code, right.json()["verified"]) == (200, True)
    details = client.get(f"{session_url}/demographics", headers=kiosk).json()
    assert details["last_name"] == "Quimby"


def test_three_wrong_birth_dates_end_the_session(client, kiosk, principals, visit):
    desk = principals.staff(Role.FRONT_DESK)
    token = client.get(
        f"/api/v1/appointments/{visit['appointment'].id}/check-in-code", headers=desk
    ).json()["token"]
    [match] = look_up(client, kiosk, {"method": "qr", "token": token}).json()["matches"]
    url = f"/api/v1/kiosk/sessions/{match['session_id']}/verify"
    for left in (2, 1, 0):
        r = client.post(url, json={"date_of_birth": "2000-01-01"}, headers=kiosk)
        assert r.json()["attempts_left"] == left
    r = client.post(url, json={"date_of_birth": "1961-04-02"}, headers=kiosk)
    assert (r.status_code, r.json()["code"]) == (409, "session-expired")


def test_another_kiosk_cannot_use_the_session(client, kiosk, session, visit):
    from backoffice.devices import service as devices_service
    from tests.fixtures.builders import TEST_ACTOR

    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    _, token = devices_service.add_kiosk(session, actor=TEST_ACTOR, name="other-lobby")
    session.commit()
    r = client.get(
        f"/api/v1/kiosk/sessions/{match['session_id']}/demographics",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 409


def test_copay_and_consents_for_the_session(client, kiosk, session, visit):
    with_policy(session, visit, copay_cents=3500)
    form = consent_form(session)
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    url = f"/api/v1/kiosk/sessions/{match['session_id']}"
    assert client.get(f"{url}/copay", headers=kiosk).json() == {
        "amount_cents": 3500,
        "self_pay": False,
    }
    documents = client.get(f"{url}/consents", headers=kiosk).json()["documents"]
    assert [d["sha256"] for d in documents] == [form.sha256]


def test_a_whole_check_in_becomes_one_arrival_with_flags(client, kiosk, session, visit):
    with_policy(session, visit)
    form = consent_form(session)
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    body = submission(
        session_id=match["session_id"],
        demographic_changes={"phone": "+16175550199"},
        insurance_card={
            "front_image": JPEG,
            "fields": {"member_id": {"value": "W123", "confidence": 0.93}},
        },
        signatures=[signature(form)],
    )
    r = deliver(client, kiosk, body)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["first_name"] == "Harriet"
    assert sorted(receipt["flags"]) == [
        "copay_unpaid",
        "demographics_pending",
        "insurance_to_review",
    ]
    session.expire_all()
    assert session.get(Appointment, visit["appointment"].id).status == "arrived"
    # A signed form is not asked again.
    [again] = look_up(client, kiosk, by_name()).json()["matches"]
    assert again["already_checked_in"] is True
    assert client.get(
        f"/api/v1/kiosk/sessions/{again['session_id']}/consents", headers=kiosk
    ).json() == {"documents": []}


def test_the_receipt_estimates_the_wait_from_the_providers_queue(
    client, principals, session, cipher, visit
):
    kiosk = principals.kiosk_in(visit["location"])  # an hour ago is today there, at any hour
    start = visit["appointment"].starts_at  # about 20 minutes from now
    book_alongside(
        session,
        cipher,
        visit,
        last_name="Quill",
        starts_at=start - timedelta(minutes=45),
        minutes=40,
    )
    [earlier] = look_up(client, kiosk, by_name(last_name="Quill")).json()["matches"]
    first = deliver(client, kiosk, submission(session_id=earlier["session_id"]))
    assert first.json()["estimated_wait_minutes"] == 0  # late, nobody ahead
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    r = deliver(client, kiosk, submission(session_id=match["session_id"]))
    assert r.status_code == 201, r.text
    # Quill's 40 minutes, waiting ahead, outlast the 20 until Harriet's own start.
    assert r.json()["estimated_wait_minutes"] == 40


def test_an_offline_check_in_carries_no_wait_estimate(client, kiosk, visit):
    r = deliver(client, kiosk, submission(identification=by_name(), offline=True))
    assert r.status_code == 201, r.text
    assert r.json()["estimated_wait_minutes"] is None


def test_a_replayed_check_in_returns_the_first_answer_and_records_nothing_twice(
    client, kiosk, session, visit
):
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    body = submission(session_id=match["session_id"])
    first, second = deliver(client, kiosk, body), deliver(client, kiosk, body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(session.exec(select(Arrival)).all()) == 1


def test_the_same_key_with_another_body_is_refused(client, kiosk, visit):
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    body = submission(session_id=match["session_id"])
    deliver(client, kiosk, body)
    r = client.post(
        CHECK_IN,
        json={**body, "language": "es"},
        headers={**kiosk, "Idempotency-Key": body["check_in_id"]},
    )
    assert (r.status_code, r.json()["code"]) == (409, "idempotency-key-reused")


def test_an_offline_check_in_finds_its_appointment_by_name_and_birth_date(
    client, kiosk, session, visit
):
    body = submission(identification=by_name(), offline=True)
    r = deliver(client, kiosk, body)
    assert r.status_code == 201, r.text
    assert "offline_check_in" in r.json()["flags"]


def test_an_offline_check_in_that_matches_nothing_alerts_staff(client, kiosk, session, visit):
    body = submission(identification=by_name(last_name="Nobody"), offline=True)
    r = deliver(client, kiosk, body)
    assert (r.status_code, r.json()["code"]) == (404, "no-match")
    assert session.exec(select(IdempotentRequest)).all() == []  # not kept: may match later
    alerts = session.exec(
        select(StaffAlert).where(col(StaffAlert.kind) == "unmatched_check_in")
    ).all()
    assert len(alerts) == 1


def test_a_signature_for_an_old_version_is_refused_by_field(client, kiosk, session, visit):
    old = consent_form(session, version=1)
    consent_form(session, version=2)
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    r = deliver(
        client, kiosk, submission(session_id=match["session_id"], signatures=[signature(old)])
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "signatures.0.document_sha256")
    assert session.exec(select(Arrival)).all() == []


def test_an_image_that_is_not_what_it_claims_is_refused(client, kiosk, visit):
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    r = deliver(
        client,
        kiosk,
        submission(
            session_id=match["session_id"], insurance_card={"front_image": "aGVsbG8gd29ybGQ="}
        ),
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "insurance_card.front_image")


def test_staff_accept_a_proposed_phone_and_the_queue_flag_clears(
    client, kiosk, principals, session, visit
):
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    body = submission(
        session_id=match["session_id"], demographic_changes={"phone": "(617) 555-0199"}
    )
    arrival_id = deliver(client, kiosk, body).json()["arrival_id"]
    desk = principals.staff(Role.FRONT_DESK)
    [change] = client.get("/api/v1/demographic-changes", headers=desk).json()["items"]
    assert change["changes"] == {"phone": "(617) 555-0199"}
    r = client.post(f"/api/v1/demographic-changes/{change['id']}/accept", headers=desk)
    assert (r.status_code, r.json()["status"]) == (200, "accepted"), r.text
    patient = client.get(f"/api/v1/patients/{change['patient_id']}", headers=desk).json()
    assert patient["phone"] == "+16175550199"
    session.expire_all()
    assert "demographics_pending" not in session.get(Arrival, uuid.UUID(arrival_id)).flags
    again = client.post(f"/api/v1/demographic-changes/{change['id']}/reject", headers=desk)
    assert again.status_code == 409


def test_a_rejected_change_leaves_the_record_alone(client, kiosk, principals, visit):
    [match] = look_up(client, kiosk, by_name()).json()["matches"]
    deliver(
        client,
        kiosk,
        submission(session_id=match["session_id"], demographic_changes={"last_name": "Quimbey"}),
    )
    desk = principals.staff(Role.FRONT_DESK)
    [change] = client.get("/api/v1/demographic-changes", headers=desk).json()["items"]
    assert (
        client.post(f"/api/v1/demographic-changes/{change['id']}/reject", headers=desk).json()[
            "status"
        ]
        == "rejected"
    )
    patient = client.get(f"/api/v1/patients/{change['patient_id']}", headers=desk).json()
    assert patient["last_name"] == "Quimby"
