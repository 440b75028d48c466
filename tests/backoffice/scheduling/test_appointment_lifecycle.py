"""Moving appointments along, undoing mistakes, cancelling and rescheduling, over the API."""

import pytest

from shared.enums import Role
from tests.fixtures.scheduling import MONDAY_AFTER, at, booking, open_calendar


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


@pytest.fixture
def booked(client, desk, calendar):
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    )
    assert r.status_code == 201
    return r.json()


def step(client, headers, appointment, event, reason=None, version=None):
    body = {"event": event} | ({"reason": reason} if reason else {})
    return client.post(
        f"/api/v1/appointments/{appointment['id']}/events",
        json=body,
        headers={**headers, "If-Match": f'"{version or appointment["version"]}"'},
    )


def walk(client, headers, appointment, *events):
    for event in events:
        r = step(client, headers, appointment, event)
        assert r.status_code == 200, r.text
        appointment = r.json()
    return appointment


def history(client, headers, appointment):
    r = client.get(f"/api/v1/appointments/{appointment['id']}/history", headers=headers)
    assert r.status_code == 200
    return r.json()


def test_a_visit_runs_from_confirmed_to_completed(client, desk, booked):
    done = walk(client, desk, booked, "confirm", "arrive", "room", "start", "complete")
    assert done["status"] == "completed"
    assert [c["to_state"] for c in history(client, desk, done)] == [
        "confirmed",
        "arrived",
        "roomed",
        "in_progress",
        "completed",
    ]


def test_a_wrong_no_show_is_undone_and_both_steps_are_kept(client, desk, booked):
    no_show = walk(client, desk, booked, "mark_no_show")
    restored = walk(client, desk, no_show, "undo")
    assert restored["status"] == "scheduled"
    changes = history(client, desk, restored)
    assert [(c["event"], c["to_state"], c["undoes"]) for c in changes] == [
        ("mark_no_show", "no_show", None),
        ("undo", "scheduled", 1),
    ]
    assert all(c["actor"] and c["at"] for c in changes)


def test_an_early_check_out_is_undone(client, desk, booked):
    done = walk(client, desk, booked, "arrive", "room", "start", "complete")
    assert walk(client, desk, done, "undo")["status"] == "in_progress"


def test_a_step_not_possible_now_is_409_with_what_is_possible(client, desk, booked):
    r = step(client, desk, booked, "complete")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "invalid-transition"
    assert "arrive" in body["allowed_events"] and "complete" not in body["allowed_events"]


def test_cancelling_needs_a_reason(client, desk, booked):
    r = step(client, desk, booked, "cancel")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["reason"]


def test_a_cancelled_time_can_be_booked_again(client, desk, calendar, booked):
    cancelled = step(client, desk, booked, "cancel", reason="patient called").json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "patient called"
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk
    )
    assert r.status_code == 201


def test_undoing_a_cancel_fails_when_the_time_was_taken_meanwhile(client, desk, calendar, booked):
    cancelled = step(client, desk, booked, "cancel", reason="patient called").json()
    client.post("/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 10)), headers=desk)
    r = step(client, desk, cancelled, "undo")
    assert r.status_code == 409
    assert "booked for someone else" in r.json()["detail"]


def test_a_stale_version_is_412(client, desk, booked):
    walk(client, desk, booked, "confirm")
    assert step(client, desk, booked, "arrive", version=booked["version"]).status_code == 412


def reschedule(client, headers, appointment, start):
    return client.post(
        f"/api/v1/appointments/{appointment['id']}/reschedule",
        json={"start": start.isoformat(), "reason": "clash at work"},
        headers={**headers, "If-Match": f'"{appointment["version"]}"'},
    )


def test_rescheduling_books_the_new_time_and_links_the_old(client, desk, booked):
    r = reschedule(client, desk, booked, at(MONDAY_AFTER, 11))
    assert r.status_code == 201, r.text
    new = r.json()
    old = client.get(f"/api/v1/appointments/{booked['id']}", headers=desk).json()
    assert old["status"] == "rescheduled" and old["rescheduled_to_id"] == new["id"]
    assert history(client, desk, old)[-1]["new_appointment_id"] == new["id"]


def test_moving_fifteen_minutes_may_overlap_the_old_time(client, desk, booked):
    assert reschedule(client, desk, booked, at(MONDAY_AFTER, 10, 15)).status_code == 201


def test_a_reschedule_to_a_taken_time_changes_nothing(client, desk, calendar, booked):
    client.post("/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 11)), headers=desk)
    r = reschedule(client, desk, booked, at(MONDAY_AFTER, 11))
    assert r.status_code == 409 and len(r.json()["alternatives"]) == 3
    old = client.get(f"/api/v1/appointments/{booked['id']}", headers=desk).json()
    assert old["status"] == "scheduled" and old["rescheduled_to_id"] is None
    assert history(client, desk, old) == []
