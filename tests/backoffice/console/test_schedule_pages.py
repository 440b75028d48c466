"""The schedule pages: a provider's week, booking, one appointment's steps, and the wait
list, in-process on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from backoffice.audit.models import AuditEvent
from backoffice.console.schedule import Block, lay_out
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import Appointment, WaitListEntry
from backoffice.scheduling.schemas import AppointmentCreate
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import TEST_ACTOR, create_patient
from tests.fixtures.checkin import book_today
from tests.fixtures.console import console_as, text_of
from tests.fixtures.scheduling import MONDAY_AFTER, NEW_YORK, at, open_calendar


@pytest.fixture
def app(module_app: FastAPI, connection) -> FastAPI:
    return bound_to(module_app, connection)


@pytest.fixture
def calendar(session, cipher):
    return open_calendar(session, cipher)


@pytest.fixture
def desk(app, session):
    return console_as(app, session, Role.FRONT_DESK)


def book(session, calendar, start, patient=None):
    appointment = scheduling_service.book_appointment(
        session,
        actor=TEST_ACTOR,
        data=AppointmentCreate(
            patient_id=(patient or calendar["patient"]).id,
            provider_id=calendar["provider"].id,
            appointment_type_id=calendar["kind"].id,
            start=start,
        ),
    )
    session.commit()
    return appointment


def week_of(console, calendar, **extra):
    return console.get(
        "/staff/schedule",
        provider_id=str(calendar["provider"].id),
        date=MONDAY_AFTER.isoformat(),
        view="week",
        **extra,
    )


def book_link(calendar, start) -> str:
    return "starts_at=" + quote(start.isoformat())


def audited(session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def live_appointments(session, calendar) -> list[Appointment]:
    session.expire_all()
    return list(
        session.exec(
            select(Appointment)
            .where(
                Appointment.provider_id == calendar["provider"].id,
                col(Appointment.status).in_(("scheduled", "confirmed")),
            )
            .order_by(col(Appointment.starts_at))
        )
    )


# --- the grid -------------------------------------------------------------------------------


def test_the_week_shows_the_booked_appointment_and_the_open_times(session, calendar, desk):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    r = week_of(desk, calendar)
    assert r.status_code == 200, r.text
    page = text_of(r.text)
    patient = calendar["patient"]
    assert f"10:00\N{EN DASH}10:30 {patient.first_name} {patient.last_name}" in page
    assert f"/staff/appointments/{booked.id}" in r.text
    assert "open" in page
    # 09:00 is open; 09:45 and 10:15 would overlap the 10:00 visit.
    assert book_link(calendar, at(MONDAY_AFTER, 9)) in r.text
    assert book_link(calendar, at(MONDAY_AFTER + timedelta(days=4), 11, 30)) in r.text
    for taken in (at(MONDAY_AFTER, 9, 45), at(MONDAY_AFTER, 10), at(MONDAY_AFTER, 10, 15)):
        assert book_link(calendar, taken) not in r.text
    [read] = audited(session, "providers.calendar")
    assert read.detail["patient_ids"] == [str(calendar["patient"].id)]


def test_the_day_view_and_its_neighbours(session, calendar, desk):
    r = desk.get(
        "/staff/schedule",
        provider_id=str(calendar["provider"].id),
        date=MONDAY_AFTER.isoformat(),
        view="day",
    )
    assert r.status_code == 200
    assert "Monday 15 March 2027" in text_of(r.text)
    assert "date=2027-03-14" in r.text and "date=2027-03-16" in r.text
    assert book_link(calendar, at(MONDAY_AFTER + timedelta(days=1), 9)) not in r.text


def test_billing_sees_the_week_without_booking_links_and_cannot_book(session, app, calendar):
    book(session, calendar, at(MONDAY_AFTER, 10))
    billing = console_as(app, session, Role.BILLING)
    r = week_of(billing, calendar)
    assert r.status_code == 200 and calendar["patient"].last_name in r.text
    assert "/staff/appointments/new" not in r.text and "open" in text_of(r.text)
    other = create_patient(session, billing.app.state.cipher)
    r = billing.post(
        "/staff/appointments/new",
        {
            "patient_id": str(other.id),
            "provider_id": str(calendar["provider"].id),
            "appointment_type_id": str(calendar["kind"].id),
            "start": at(MONDAY_AFTER, 9).isoformat(),
        },
    )
    assert r.status_code == 403
    assert len(live_appointments(session, calendar)) == 1


def test_the_grid_keeps_wall_clock_rows_and_marks_what_a_visit_covers():
    monday = at(MONDAY_AFTER, 9)
    block = Block(
        uuid.uuid4(),
        monday,
        monday + timedelta(minutes=45),
        uuid.uuid4(),
        "A B",
        "FU",
        "scheduled",
        False,
    )
    grid = lay_out(
        days=[MONDAY_AFTER],
        working=[(monday, at(MONDAY_AFTER, 12))],
        blocks=[block],
        open_starts=[at(MONDAY_AFTER, 11, 30)],
        zone=NEW_YORK,
    )
    assert [r.strftime("%H:%M") for r in (grid.rows[0], grid.rows[-1])] == ["09:00", "11:45"]
    cells = [grid.cell(MONDAY_AFTER, r) for r in grid.rows]
    assert cells[0].blocks == [block] and [c.busy for c in cells[:4]] == [False, True, True, False]
    assert cells[-2].open_start == at(MONDAY_AFTER, 11, 30) and all(c.working for c in cells)


# --- booking ----------------------------------------------------------------------------------


def test_booking_from_the_page_creates_the_appointment(session, calendar, desk):
    patient = calendar["patient"]
    start = at(MONDAY_AFTER, 9, 30)
    form = desk.get(
        "/staff/appointments/new",
        provider_id=str(calendar["provider"].id),
        starts_at=start.isoformat(),
        type_id=str(calendar["kind"].id),
        q=patient.last_name,
    )
    assert form.status_code == 200, form.text
    assert f'value="{patient.id}"' in form.text
    assert f'value="{start.isoformat()}" selected' in form.text
    [search] = audited(session, "patients.search")
    assert search.detail["result_ids"] == [str(patient.id)]
    r = desk.post(
        "/staff/appointments/new",
        {
            "patient_id": str(patient.id),
            "provider_id": str(calendar["provider"].id),
            "appointment_type_id": str(calendar["kind"].id),
            "start": start.isoformat(),
        },
    )
    assert r.status_code == 303, r.text
    [booked] = live_appointments(session, calendar)
    assert r.headers["location"] == f"/staff/appointments/{booked.id}"
    assert (booked.patient_id, booked.starts_at) == (patient.id, start)
    assert "Appointment booked." in text_of(desk.get(r.headers["location"]).text)


def test_booking_a_taken_time_says_why_on_the_form_and_books_nothing(
    session, cipher, calendar, desk
):
    book(session, calendar, at(MONDAY_AFTER, 10))
    other = create_patient(session, cipher, last_name="Lovelace")
    r = desk.post(
        "/staff/appointments/new",
        {
            "patient_id": str(other.id),
            "provider_id": str(calendar["provider"].id),
            "appointment_type_id": str(calendar["kind"].id),
            "start": at(MONDAY_AFTER, 10).isoformat(),
        },
    )
    assert r.status_code == 409
    assert "That time cannot be booked: the provider has another appointment then." in text_of(
        r.text
    )
    assert 'role="alert"' in r.text
    assert f'value="{other.id}"' in r.text  # the patient stays chosen
    assert "Nearest open times" in r.text
    assert [a.patient_id for a in live_appointments(session, calendar)] == [calendar["patient"].id]


def test_booking_without_a_patient_or_time_asks_for_them(session, calendar, desk):
    r = desk.post(
        "/staff/appointments/new",
        {
            "provider_id": str(calendar["provider"].id),
            "appointment_type_id": str(calendar["kind"].id),
        },
    )
    assert r.status_code == 422
    assert 'id="patient_id-error">Choose a patient.' in r.text
    assert 'id="start-error">Choose a time.' in r.text
    assert live_appointments(session, calendar) == []


# --- one appointment ---------------------------------------------------------------------------


def test_cancelling_needs_a_reason(session, calendar, desk):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    path = f"/staff/appointments/{booked.id}/cancel"
    r = desk.post(path, {"version": str(booked.version), "reason": "  "})
    assert r.status_code == 422
    assert 'aria-describedby="reason-error"' in r.text
    assert 'id="reason-error">required to cancel' in r.text
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "scheduled"
    r = desk.post(path, {"version": str(booked.version), "reason": "Patient is travelling"})
    assert r.status_code == 303
    session.expire_all()
    cancelled = session.get(Appointment, booked.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Patient is travelling")
    page = text_of(desk.get(f"/staff/appointments/{booked.id}").text)
    assert "Undo: cancelled" in page and "Patient is travelling" in page


def test_a_stale_page_cannot_overwrite_a_newer_change(session, calendar, desk):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    path = f"/staff/appointments/{booked.id}/cancel"
    r = desk.post(path, {"version": str(booked.version + 5), "reason": "Double entry"})
    assert r.status_code == 412 and "someone changed it" in text_of(r.text)
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "scheduled"


def test_rescheduling_moves_the_appointment(session, calendar, desk):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    later = at(MONDAY_AFTER + timedelta(days=1), 11)
    page = desk.get(
        f"/staff/appointments/{booked.id}",
        **{"from": MONDAY_AFTER.isoformat(), "to": (MONDAY_AFTER + timedelta(days=2)).isoformat()},
    )
    assert page.status_code == 200 and f'value="{later.isoformat()}"' in page.text
    r = desk.post(
        f"/staff/appointments/{booked.id}/reschedule",
        {"version": str(booked.version), "start": later.isoformat(), "reason": "Clash at work"},
    )
    assert r.status_code == 303, r.text
    [moved] = live_appointments(session, calendar)
    assert r.headers["location"] == f"/staff/appointments/{moved.id}"
    assert moved.starts_at == later
    old = session.get(Appointment, booked.id)
    assert (old.status, old.rescheduled_to_id) == ("rescheduled", moved.id)
    assert "the earlier booking" in desk.get(r.headers["location"]).text


def test_rescheduling_into_a_taken_time_changes_nothing(session, cipher, calendar, desk):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    book(session, calendar, at(MONDAY_AFTER, 11), create_patient(session, cipher))
    r = desk.post(
        f"/staff/appointments/{booked.id}/reschedule",
        {"version": str(booked.version), "start": at(MONDAY_AFTER, 11).isoformat()},
    )
    assert r.status_code == 409 and "another appointment then" in text_of(r.text)
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "scheduled"
    assert len(live_appointments(session, calendar)) == 2


def test_a_patient_who_did_not_come_is_marked_a_no_show_and_that_can_be_undone(
    session, cipher, desk
):
    visit = book_today(session, cipher, minutes_from_now=-40)
    appointment = visit["appointment"]
    path = f"/staff/appointments/{appointment.id}"
    assert "Mark as a no-show" in desk.get(path).text
    r = desk.post(f"{path}/no-show", {"version": str(appointment.version)})
    assert r.status_code == 303
    session.expire_all()
    marked = session.get(Appointment, appointment.id)
    assert marked.status == "no_show"
    assert "Undo: marked a no-show" in text_of(desk.get(path).text)
    assert desk.post(f"{path}/undo", {"version": str(marked.version)}).status_code == 303
    session.expire_all()
    assert session.get(Appointment, appointment.id).status == "scheduled"


def test_a_future_appointment_offers_no_no_show(session, calendar, desk):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    page = desk.get(f"/staff/appointments/{booked.id}").text
    assert "Mark as a no-show" not in page and "Cancel the appointment" in page


def test_billing_sees_an_appointment_but_not_its_actions(session, app, calendar):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    billing = console_as(app, session, Role.BILLING)
    page = billing.get(f"/staff/appointments/{booked.id}")
    assert page.status_code == 200 and "Cancel the appointment" not in page.text
    r = billing.post(
        f"/staff/appointments/{booked.id}/cancel", {"version": "1", "reason": "Not allowed"}
    )
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "scheduled"


# --- the wait list --------------------------------------------------------------------------


def wish(calendar, **overrides):
    return {
        "patient_id": str(calendar["patient"].id),
        "appointment_type_id": str(calendar["kind"].id),
        "provider_id": "",
        "earliest": MONDAY_AFTER.isoformat(),
        "latest": (MONDAY_AFTER + timedelta(days=4)).isoformat(),
    } | overrides


def test_a_patient_added_to_the_wait_list_is_listed(session, calendar, desk):
    r = desk.post("/staff/wait-list", wish(calendar))
    assert r.status_code == 303, r.text
    [entry] = session.exec(select(WaitListEntry)).all()
    assert entry.earliest == at(MONDAY_AFTER, 0)
    assert entry.latest == at(MONDAY_AFTER + timedelta(days=5), 0)
    page = text_of(desk.get("/staff/wait-list").text)
    patient = calendar["patient"]
    assert f"{patient.first_name} {patient.last_name}" in page
    assert "Any provider" in page and "waiting" in page
    assert "Mon 15 Mar to Fri 19 Mar 2027" in page


def test_a_wait_list_window_that_ends_first_is_refused_by_field(session, calendar, desk):
    r = desk.post("/staff/wait-list", wish(calendar, latest="2027-03-01"))
    assert r.status_code == 422
    assert 'id="latest-error">must be after earliest and in the future' in r.text
    assert session.exec(select(WaitListEntry)).all() == []


def test_a_freed_time_is_offered_and_the_offer_accepted_from_the_list(
    session, cipher, calendar, desk
):
    booked = book(session, calendar, at(MONDAY_AFTER, 10))
    waiting = create_patient(session, cipher, last_name="Hopper")
    assert (
        desk.post("/staff/wait-list", wish(calendar, patient_id=str(waiting.id))).status_code == 303
    )
    desk.post(
        f"/staff/appointments/{booked.id}/cancel",
        {"version": str(booked.version), "reason": "Feeling better"},
    )
    page = desk.get("/staff/wait-list", status="offered")
    assert "Mon 15 Mar 10:00" in text_of(page.text) and "Accept offer" in page.text
    [entry] = session.exec(select(WaitListEntry)).all()
    r = desk.post(f"/staff/wait-list/{entry.id}/accept")
    assert r.status_code == 303
    [now_booked] = live_appointments(session, calendar)
    assert (now_booked.patient_id, now_booked.starts_at) == (waiting.id, at(MONDAY_AFTER, 10))
    assert r.headers["location"] == f"/staff/appointments/{now_booked.id}"
