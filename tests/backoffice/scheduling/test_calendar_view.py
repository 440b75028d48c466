"""A provider's day and week as staff see them."""

from datetime import datetime

import pytest

from shared.enums import Role
from tests.fixtures.scheduling import MONDAY_AFTER, NEW_YORK, at, booking, open_calendar


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


def view(client, headers, calendar, day, kind):
    r = client.get(
        f"/api/v1/providers/{calendar['provider'].id}/calendar",
        params={"date": day.isoformat(), "view": kind},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_day_shows_working_hours_and_appointments(client, desk, calendar):
    created = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    ).json()
    day = view(client, desk, calendar, MONDAY_AFTER, "day")
    assert [(w["start"], w["end"]) for w in day["working"]] == [
        ("2027-03-15T09:00:00-04:00", "2027-03-15T12:00:00-04:00")
    ]
    assert [a["id"] for a in day["appointments"]] == [created["id"]]


def test_a_week_runs_monday_to_sunday_across_the_dst_change(client, desk, calendar):
    # The week of Wednesday 2027-03-10 holds the change on Sunday the 14th.
    week = view(client, desk, calendar, MONDAY_AFTER.replace(day=10), "week")
    starts = [datetime.fromisoformat(w["start"]) for w in week["working"]]
    assert len(starts) == 5
    assert {s.astimezone(NEW_YORK).hour for s in starts} == {9}
    assert week["start"] == "2027-03-08T00:00:00-05:00"
    assert week["end"] == "2027-03-15T00:00:00-04:00"


def test_an_unknown_provider_is_404(client, desk):
    r = client.get(
        "/api/v1/providers/8d0c2b5e-3f6a-4a8e-9a51-0f3c1e2d4b7a/calendar",
        params={"date": "2027-03-15"},
        headers=desk,
    )
    assert r.status_code == 404
