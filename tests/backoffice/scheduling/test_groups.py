"""A family booked in adjacent slots, all or nothing."""

from datetime import datetime

import pytest

from shared.enums import Role
from tests.fixtures.builders import create_patient
from tests.fixtures.scheduling import MONDAY_AFTER, NEW_YORK, at, booking, open_calendar


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


@pytest.fixture
def family(session, cipher):
    return [create_patient(session, cipher, last_name="Okafor") for _ in range(3)]


def book_group(client, headers, calendar, patients, start):
    return client.post(
        "/api/v1/appointment-groups",
        headers=headers,
        json={
            "patient_ids": [str(p.id) for p in patients],
            "provider_id": str(calendar["provider"].id),
            "appointment_type_id": str(calendar["kind"].id),
            "start": start.isoformat(),
        },
    )


def local(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(NEW_YORK).strftime("%H:%M")


def test_a_family_is_booked_one_after_another(client, desk, calendar, family):
    r = book_group(client, desk, calendar, family, at(MONDAY_AFTER, 9))
    assert r.status_code == 201, r.text
    body = r.json()
    assert [local(a["start"]) for a in body["booked"]] == ["09:00", "09:30", "10:00"]
    assert [a["patient_id"] for a in body["booked"]] == [str(p.id) for p in family]


def test_when_one_does_not_fit_none_is_booked_and_group_starts_are_offered(
    client, desk, calendar, family
):
    client.post("/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk)
    r = book_group(client, desk, calendar, family, at(MONDAY_AFTER, 9))
    assert r.status_code == 409
    assert "patient 3" in r.json()["detail"]
    day = client.get("/api/v1/appointments", params={"date": "2027-03-15"}, headers=desk)
    assert len(day.json()["items"]) == 1  # only the one that was there
    starts = [datetime.fromisoformat(a["start"]) for a in r.json()["alternatives"]]
    assert at(MONDAY_AFTER, 10, 30) in starts  # 10:30, 11:00 and 11:30 are free
    assert at(MONDAY_AFTER, 9) not in starts  # the 10:00 is taken
    assert len(starts) == 3


def test_a_patient_listed_twice_is_422(client, desk, calendar, family):
    r = book_group(client, desk, calendar, [family[0], family[0]], at(MONDAY_AFTER, 9))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["patient_ids"]
