"""Recurring series from an RRULE: book all, report conflicts, cancel the rest."""

from datetime import datetime, timedelta

import pytest

from shared.enums import Role
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


def series(client, headers, calendar, start, rrule, **extra):
    body = {**booking(calendar, start), "rrule": rrule, **extra}
    return client.post("/api/v1/appointment-series", json=body, headers=headers)


def local_times(appointments) -> list[str]:
    return [
        datetime.fromisoformat(a["start"]).astimezone(NEW_YORK).strftime("%a %d %H:%M")
        for a in appointments
    ]


def test_a_weekly_series_books_every_week_in_one_series(client, desk, calendar):
    r = series(client, desk, calendar, at(MONDAY_AFTER, 10), "FREQ=WEEKLY;COUNT=4")
    assert r.status_code == 201, r.text
    body = r.json()
    assert local_times(body["booked"]) == [
        "Mon 15 10:00",
        "Mon 22 10:00",
        "Mon 29 10:00",
        "Mon 05 10:00",
    ]
    assert {a["series_id"] for a in body["booked"]} == {body["series_id"]}
    assert body["conflicts"] == []


def test_a_series_across_the_dst_change_keeps_its_local_hour(client, desk, calendar):
    r = series(client, desk, calendar, at(FRIDAY_BEFORE, 9), "FREQ=WEEKLY;COUNT=2")
    first, second = r.json()["booked"]
    assert local_times([first, second]) == ["Fri 12 09:00", "Fri 19 09:00"]
    assert datetime.fromisoformat(second["start"]) - datetime.fromisoformat(
        first["start"]
    ) == timedelta(days=7) - timedelta(hours=1)


def test_a_conflicting_date_is_reported_and_the_rest_booked(client, desk, calendar):
    taken = client.post(
        "/api/v1/appointments",
        json=booking(calendar, at(MONDAY_AFTER + timedelta(days=14), 10)),
        headers=desk,
    )
    assert taken.status_code == 201
    body = series(client, desk, calendar, at(MONDAY_AFTER, 10), "FREQ=WEEKLY;COUNT=4").json()
    assert len(body["booked"]) == 3
    [conflict] = body["conflicts"]
    assert datetime.fromisoformat(conflict["start"]).astimezone(NEW_YORK).day == 29
    assert conflict["reason"] == "the provider has another appointment then"
    assert len(conflict["alternatives"]) == 3


def test_all_or_nothing_books_nothing_when_one_date_conflicts(client, desk, calendar):
    client.post(
        "/api/v1/appointments",
        json=booking(calendar, at(MONDAY_AFTER + timedelta(days=7), 10)),
        headers=desk,
    )
    r = series(
        client, desk, calendar, at(MONDAY_AFTER, 10), "FREQ=WEEKLY;COUNT=3", all_or_nothing=True
    )
    assert r.status_code == 409
    assert len(r.json()["conflicts"]) == 1
    day = client.get("/api/v1/appointments", params={"date": "2027-03-15"}, headers=desk)
    assert day.json()["items"] == []


@pytest.mark.parametrize(
    "rrule", ["FREQ=WEEKLY", "FREQ=HOURLY;COUNT=3", "FREQ=DAILY;COUNT=500", "not a rule"]
)
def test_an_unbookable_rule_is_422_on_rrule(client, desk, calendar, rrule):
    r = series(client, desk, calendar, at(MONDAY_AFTER, 10), rrule)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["rrule"]


def test_cancelling_the_rest_of_a_series_keeps_the_earlier_ones(client, desk, calendar):
    body = series(client, desk, calendar, at(MONDAY_AFTER, 10), "FREQ=WEEKLY;COUNT=4").json()
    second = body["booked"][1]
    r = client.post(
        f"/api/v1/appointment-series/{body['series_id']}/cancel",
        json={"reason": "course of treatment ended", "from_start": second["start"]},
        headers=desk,
    )
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [a["id"] for a in body["booked"][1:]]
    assert {a["status"] for a in r.json()} == {"cancelled"}
    first = client.get(f"/api/v1/appointments/{body['booked'][0]['id']}", headers=desk)
    assert first.json()["status"] == "scheduled"


def test_cancelling_an_unknown_series_is_404(client, desk):
    r = client.post(
        "/api/v1/appointment-series/8d0c2b5e-3f6a-4a8e-9a51-0f3c1e2d4b7a/cancel",
        json={"reason": "x"},
        headers=desk,
    )
    assert r.status_code == 404
