"""Providers' iCalendar feeds: issued once, read by token, initials only, revocable."""

from datetime import datetime

import pytest
from icalendar import Calendar

from shared.enums import Role
from tests.fixtures.scheduling import MONDAY_AFTER, NEW_YORK, at, booking, open_calendar


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def admin(principals):
    return principals.staff(Role.ADMIN)


@pytest.fixture
def feed(client, admin, calendar):
    r = client.post(f"/api/v1/providers/{calendar['provider'].id}/calendar-feeds", headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def fetch(client, feed):
    path = feed["url"].removeprefix("http://testserver")
    return client.get(path)


def test_the_feed_shows_the_providers_appointments_at_the_right_times(
    client, principals, calendar, feed
):
    desk = principals.staff(Role.FRONT_DESK)
    created = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    ).json()
    r = fetch(client, feed)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(r.content).walk("VEVENT")]
    assert [str(e["UID"]) for e in events] == [f"{created['id']}@frontdesk"]
    start = events[0].decoded("DTSTART")
    assert start == datetime.fromisoformat(created["start"])
    assert start.astimezone(NEW_YORK).hour == 10


def test_the_feed_names_patients_by_initials_only(client, principals, calendar, feed):
    desk = principals.staff(Role.FRONT_DESK)
    client.post("/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk)
    patient = calendar["patient"]
    text = fetch(client, feed).text
    assert patient.last_name not in text and patient.first_name not in text
    assert f"({patient.first_name[0]}.{patient.last_name[0]}.)" in text


def test_a_cancelled_appointment_shows_as_cancelled(client, principals, calendar, feed):
    desk = principals.staff(Role.FRONT_DESK)
    created = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    ).json()
    client.post(
        f"/api/v1/appointments/{created['id']}/events",
        json={"event": "cancel", "reason": "sick"},
        headers={**desk, "If-Match": '"1"'},
    )
    [event] = Calendar.from_ical(fetch(client, feed).content).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1


def test_a_revoked_feed_is_gone(client, admin, feed):
    r = client.post(f"/api/v1/calendar-feeds/{feed['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert fetch(client, feed).status_code == 404


def test_an_unknown_token_is_404_and_a_malformed_one_422(client):
    assert client.get("/api/v1/calendar-feeds/fdc_" + "x" * 43 + ".ics").status_code == 404
    assert client.get("/api/v1/calendar-feeds/not-a-token.ics").status_code == 422


def test_reading_the_feed_is_audited(client, admin, feed):
    fetch(client, feed)
    events = client.get(
        "/api/v1/audit-events", params={"action": "calendar_feeds.read"}, headers=admin
    ).json()["items"]
    assert events[0]["actor_kind"] == "calendar_feed"
    assert events[0]["actor_id"] == feed["id"]
