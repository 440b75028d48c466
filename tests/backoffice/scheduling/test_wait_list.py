"""The wait list: a freed time goes to the right patient, offers lapse and move on."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import DomainEvent, WaitListEntry
from shared.enums import Role
from shared.errors import Conflict
from tests.fixtures.builders import TEST_ACTOR, create_patient
from tests.fixtures.scheduling import MONDAY_AFTER, at, booking, open_calendar

WINDOW = {
    "earliest": at(MONDAY_AFTER, 0).isoformat(),
    "latest": at(MONDAY_AFTER + timedelta(days=5), 0).isoformat(),
}


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


def wait(client, headers, calendar, patient, *, any_provider=False, **window):
    body = {
        "patient_id": str(patient.id),
        "appointment_type_id": str(calendar["kind"].id),
        **WINDOW,
        **{k: v.isoformat() for k, v in window.items()},
    }
    if not any_provider:
        body["provider_id"] = str(calendar["provider"].id)
    r = client.post("/api/v1/wait-list", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def free_the_10_oclock(client, headers, calendar):
    booked = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=headers
    ).json()
    r = client.post(
        f"/api/v1/appointments/{booked['id']}/events",
        json={"event": "cancel", "reason": "patient called"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200
    return booked


def entry(client, headers, entry_id):
    entries = client.get("/api/v1/wait-list", headers=headers).json()["items"]
    return next(e for e in entries if e["id"] == entry_id)


def test_a_patient_who_asked_for_this_provider_comes_before_one_who_takes_anyone(
    client, desk, calendar, session, cipher
):
    anyone = wait(client, desk, calendar, create_patient(session, cipher), any_provider=True)
    this_one = wait(client, desk, calendar, create_patient(session, cipher))
    free_the_10_oclock(client, desk, calendar)
    assert entry(client, desk, this_one["id"])["status"] == "offered"
    assert entry(client, desk, anyone["id"])["status"] == "waiting"


def test_among_equals_the_longest_waiting_is_offered_first(client, desk, calendar, session, cipher):
    first = wait(client, desk, calendar, create_patient(session, cipher))
    second = wait(client, desk, calendar, create_patient(session, cipher))
    free_the_10_oclock(client, desk, calendar)
    offered = entry(client, desk, first["id"])
    assert offered["status"] == "offered"
    assert offered["offered_start"].startswith("2027-03-15T14:00:00")
    assert entry(client, desk, second["id"])["status"] == "waiting"


def test_a_window_that_misses_the_time_is_passed_by(client, desk, calendar, session, cipher):
    later = wait(
        client,
        desk,
        calendar,
        create_patient(session, cipher),
        earliest=at(MONDAY_AFTER, 11),
        latest=at(MONDAY_AFTER + timedelta(days=1), 0),
    )
    free_the_10_oclock(client, desk, calendar)
    assert entry(client, desk, later["id"])["status"] == "waiting"


def test_the_patient_who_cancelled_is_not_offered_their_own_time(client, desk, calendar):
    own = wait(client, desk, calendar, calendar["patient"])
    free_the_10_oclock(client, desk, calendar)
    assert entry(client, desk, own["id"])["status"] == "waiting"


def test_the_offer_is_an_event_for_messaging(client, desk, calendar, session, cipher):
    patient = create_patient(session, cipher)
    wait(client, desk, calendar, patient)
    free_the_10_oclock(client, desk, calendar)
    events = session.exec(select(DomainEvent).where(DomainEvent.kind == "wait_list.offered")).all()
    assert [e.payload["patient_id"] for e in events] == [str(patient.id)]


def test_accepting_books_the_offered_time(client, desk, calendar, session, cipher):
    patient = create_patient(session, cipher)
    waiting = wait(client, desk, calendar, patient)
    free_the_10_oclock(client, desk, calendar)
    r = client.post(f"/api/v1/wait-list/{waiting['id']}/accept", headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["patient_id"] == str(patient.id)
    assert r.json()["start"].startswith("2027-03-15T14:00:00")
    assert entry(client, desk, waiting["id"])["status"] == "booked"


def test_declining_passes_the_time_to_the_next_in_line(client, desk, calendar, session, cipher):
    first = wait(client, desk, calendar, create_patient(session, cipher))
    second = wait(client, desk, calendar, create_patient(session, cipher))
    free_the_10_oclock(client, desk, calendar)
    assert client.post(f"/api/v1/wait-list/{first['id']}/decline", headers=desk).status_code == 200
    assert entry(client, desk, second["id"])["status"] == "offered"
    assert entry(client, desk, first["id"])["status"] == "waiting"


def test_a_lapsed_offer_moves_on_and_cannot_be_accepted(client, desk, calendar, session, cipher):
    first = wait(client, desk, calendar, create_patient(session, cipher))
    second = wait(client, desk, calendar, create_patient(session, cipher))
    free_the_10_oclock(client, desk, calendar)
    expires = session.get(WaitListEntry, uuid.UUID(first["id"])).offer_expires_at
    lapsed = scheduling_service.expire_wait_list_offers(session, now=expires + timedelta(minutes=1))
    session.commit()
    assert lapsed == 1
    assert session.get(WaitListEntry, uuid.UUID(second["id"])).status == "offered"
    with pytest.raises(Conflict):
        scheduling_service.accept_wait_list_offer(
            session, actor=TEST_ACTOR, entry_id=uuid.UUID(first["id"])
        )


def test_undoing_the_cancellation_retracts_the_offer_without_holding_it_against_anyone(
    client, desk, calendar, session, cipher
):
    patient = create_patient(session, cipher)
    waiting = wait(client, desk, calendar, patient)
    booked = free_the_10_oclock(client, desk, calendar)
    assert entry(client, desk, waiting["id"])["status"] == "offered"
    r = client.post(
        f"/api/v1/appointments/{booked['id']}/events",
        json={"event": "undo"},
        headers={**desk, "If-Match": '"2"'},
    )
    assert (r.status_code, r.json()["status"]) == (200, "scheduled"), r.text
    assert entry(client, desk, waiting["id"])["status"] == "waiting"
    retracted = session.exec(
        select(DomainEvent).where(DomainEvent.kind == "wait_list.offer_retracted")
    ).all()
    assert [e.payload["entry_id"] for e in retracted] == [waiting["id"]]
    # Cancelled again, the same time is offered to the same patient again.
    r = client.post(
        f"/api/v1/appointments/{booked['id']}/events",
        json={"event": "cancel", "reason": "called again"},
        headers={**desk, "If-Match": '"3"'},
    )
    assert r.status_code == 200, r.text
    assert entry(client, desk, waiting["id"])["status"] == "offered"
