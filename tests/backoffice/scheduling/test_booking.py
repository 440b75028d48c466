"""Slot search and booking through the API, and booking races on both databases."""

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, col, func, select

from backoffice.db import make_engine
from backoffice.migrate import upgrade
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import Appointment
from backoffice.scheduling.schemas import AppointmentCreate
from backoffice.security.crypto import FieldCipher, Keyring
from shared.enums import Role
from tests.conftest import fresh_database_url
from tests.fixtures.builders import (
    TEST_ACTOR,
    create_appointment_type,
)
from tests.fixtures.scheduling import (
    FRIDAY_BEFORE,
    MONDAY_AFTER,
    NEW_YORK,
    at,
    booking,
    open_calendar,
)


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


def slot_starts(client, desk, calendar, first: date, last: date) -> list[str]:
    r = client.get(
        "/api/v1/slots",
        headers=desk,
        params={
            "appointment_type_id": str(calendar["kind"].id),
            "provider_id": str(calendar["provider"].id),
            "start": at(first, 0).isoformat(),
            "end": at(last + timedelta(days=1), 0).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    return [item["start"] for item in r.json()["items"]]


def test_slots_keep_local_hours_across_the_dst_change_with_the_right_offsets(
    client, desk, calendar
):
    starts = slot_starts(client, desk, calendar, FRIDAY_BEFORE, MONDAY_AFTER)
    friday = [s for s in starts if s.startswith("2027-03-12")]
    monday = [s for s in starts if s.startswith("2027-03-15")]
    assert friday[0] == "2027-03-12T09:00:00-05:00"  # 14:00 UTC
    assert monday[0] == "2027-03-15T09:00:00-04:00"  # 13:00 UTC
    assert len(friday) == len(monday) == 11  # 09:00 to 11:30 every 15 minutes
    assert not any(s.startswith(("2027-03-13", "2027-03-14")) for s in starts)  # weekend


def test_a_booked_time_disappears_from_the_slots(client, desk, calendar):
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    )
    assert r.status_code == 201, r.text
    local = [
        datetime.fromisoformat(s).astimezone(NEW_YORK).strftime("%H:%M")
        for s in slot_starts(client, desk, calendar, MONDAY_AFTER, MONDAY_AFTER)
    ]
    assert "09:30" in local and "10:30" in local
    assert not {"09:45", "10:00", "10:15"} & set(local)


def test_a_taken_time_is_409_with_the_three_nearest_alternatives(client, desk, calendar):
    first = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    )
    assert first.status_code == 201
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    )
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "slot-unavailable"
    assert "another appointment" in body["detail"]
    starts = [
        datetime.fromisoformat(a["start"]).astimezone(NEW_YORK).strftime("%H:%M")
        for a in body["alternatives"]
    ]
    # 30 minutes either side, then the earlier of the two 45 minutes away
    assert starts == ["09:15", "09:30", "10:30"]
    assert all(
        {"provider_id", "location_id", "start", "end"} <= a.keys() for a in body["alternatives"]
    )


def test_a_time_the_provider_does_not_work_is_409(client, desk, calendar):
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 14)), headers=desk
    )
    assert r.status_code == 409
    assert r.json()["reason"] == "the provider is not working then"
    assert len(r.json()["alternatives"]) == 3


def test_a_time_in_the_past_is_409(client, desk, calendar):
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(date(2026, 1, 5), 9)), headers=desk
    )
    assert r.status_code == 409
    assert r.json()["reason"] == "that time has passed"


def test_a_provider_who_does_not_offer_the_type_is_422(client, desk, calendar, session):
    other = create_appointment_type(session, code="PROC1", category="procedure")
    request = {**booking(calendar, at(MONDAY_AFTER, 10)), "appointment_type_id": str(other.id)}
    r = client.post("/api/v1/appointments", json=request, headers=desk)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["provider_id"]


def test_listing_by_day_and_reading_one(client, desk, calendar):
    created = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 9)), headers=desk
    ).json()
    day = client.get("/api/v1/appointments", params={"date": "2027-03-15"}, headers=desk)
    assert [a["id"] for a in day.json()["items"]] == [created["id"]]
    other_day = client.get("/api/v1/appointments", params={"date": "2027-03-16"}, headers=desk)
    assert other_day.json()["items"] == []
    one = client.get(f"/api/v1/appointments/{created['id']}", headers=desk)
    assert one.status_code == 200 and one.json()["status"] == "scheduled"


def test_booking_is_audited_against_the_patient(client, desk, calendar, principals):
    client.post("/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 9)), headers=desk)
    events = client.get(
        "/api/v1/audit-events",
        headers=principals.staff(Role.ADMIN),
        params={"action": "appointments.create"},
    ).json()["items"]
    assert events[0]["resource_id"] == str(calendar["patient"].id)


@pytest.mark.parametrize(("backend", "attempts"), [("postgresql", 50), ("sqlite", 20)])
def test_concurrent_attempts_at_one_slot_book_exactly_one(backend, attempts, tmp_path):
    """Each attempt in its own thread, session and connection, released together."""
    engine = make_engine(fresh_database_url(backend, tmp_path, "race"))
    upgrade(engine)
    cipher = FieldCipher(Keyring.generate())
    with Session(engine, expire_on_commit=False) as session:
        setup = open_calendar(session, cipher)
    request = AppointmentCreate(
        patient_id=setup["patient"].id,
        provider_id=setup["provider"].id,
        appointment_type_id=setup["kind"].id,
        start=at(MONDAY_AFTER, 10),
    )
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []

    def attempt() -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                scheduling_service.book_appointment(session, actor=TEST_ACTOR, data=request)
                session.commit()
                outcomes.append("booked")
            except scheduling_service.SlotUnavailable as exc:
                session.rollback()
                outcomes.append(f"409 with {len(exc.extensions['alternatives'])} alternatives")

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as session:
        booked = session.exec(
            select(func.count())
            .select_from(Appointment)
            .where(col(Appointment.provider_id) == setup["provider"].id)
        ).one()
    engine.dispose()
    assert booked == 1
    assert outcomes.count("booked") == 1
    assert outcomes.count("409 with 3 alternatives") == attempts - 1


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_daily_maximum_holds_when_many_book_different_times_at_once(backend, tmp_path):
    """No constraint spans rows, so the provider's row lock is what keeps the rule."""
    engine = make_engine(fresh_database_url(backend, tmp_path, "daily_max"))
    upgrade(engine)
    cipher = FieldCipher(Keyring.generate())
    with Session(engine, expire_on_commit=False) as session:
        setup = open_calendar(session, cipher)
        setup["provider"].max_per_day = 2
        session.add(setup["provider"])
        session.commit()
    starts = [at(MONDAY_AFTER, 9) + timedelta(minutes=30 * i) for i in range(6)]
    barrier = threading.Barrier(len(starts))
    outcomes: list[str] = []

    def attempt(start: datetime) -> None:
        request = AppointmentCreate(
            patient_id=setup["patient"].id,
            provider_id=setup["provider"].id,
            appointment_type_id=setup["kind"].id,
            start=start,
        )
        with Session(engine) as session:
            barrier.wait()
            try:
                scheduling_service.book_appointment(session, actor=TEST_ACTOR, data=request)
                session.commit()
                outcomes.append("booked")
            except scheduling_service.SlotUnavailable as exc:
                session.rollback()
                outcomes.append(exc.extensions["reason"])

    threads = [threading.Thread(target=attempt, args=(s,)) for s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert outcomes.count("booked") == 2
    assert outcomes.count("the provider's day is full") == 4
