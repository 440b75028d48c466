"""Check-out in the console: marking the visit done, booking the follow-up, and the visit
summary, printed and emailed through a real SMTP server on loopback, on both databases."""

from __future__ import annotations

import html
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from backoffice.audit.models import AuditEvent
from backoffice.kit.columns import utcnow
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import Appointment
from backoffice.scheduling.schemas import AppointmentCreate
from backoffice.settings import Settings
from shared.enums import Role
from tests.fixtures.builders import TEST_ACTOR, create_patient, create_policy
from tests.fixtures.checkin import BIRTH_DATE, check_in_through_api, late_morning_zone
from tests.fixtures.console import console_as, text_of
from tests.fixtures.scheduling import open_calendar

EMAIL = "harriet.quimby@example.com"
SSN = "457-55-5462"
MEMBER_ID = "W998877665"


# --- a mail server on loopback ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler keeping what it accepts; `answer` can make it refuse instead."""

    def __init__(self) -> None:
        self.port = free_port()
        self.envelopes: list = []
        self.answer = "250 Message accepted for delivery"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.answer


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_port(request: pytest.FixtureRequest) -> int | None:
    """No mail server unless the test asks: "running", "refusing" (5xx), or "closed"."""
    mode = getattr(request, "param", None)
    if mode is None:
        return None
    if mode == "closed":
        return free_port()  # nothing listens there: the connection is refused
    box = request.getfixturevalue("mailbox")
    if mode == "refusing":
        box.answer = "554 5.7.1 Message rejected"
    return box.port


@pytest.fixture
def settings(smtp_port: int | None) -> Settings:
    """The conftest's app is built with these: email to loopback when a test has a server."""
    if smtp_port is None:
        return Settings()
    return Settings(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=False)


def with_mail(mode: str):  # type: ignore[no-untyped-def]
    return pytest.mark.parametrize("smtp_port", [mode], indirect=True)


# --- a visit today, with a provider whose weekday mornings are open ------------------------


@pytest.fixture
def visit(session, cipher):
    calendar = open_calendar(session, cipher, timezone=late_morning_zone())
    patient = create_patient(
        session,
        cipher,
        first_name="Harriet",
        last_name="Quimby",
        date_of_birth=BIRTH_DATE,
        email=EMAIL,
        ssn=SSN,
    )
    create_policy(session, patient, member_id=MEMBER_ID, copay_primary_care_cents=2500)
    start = (utcnow() + timedelta(minutes=20)).replace(second=0, microsecond=0)
    appointment = Appointment(
        patient_id=patient.id,
        provider_id=calendar["provider"].id,
        location_id=calendar["location"].id,
        appointment_type_id=calendar["kind"].id,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=30),
        created_by="test",
    )
    session.add(appointment)
    session.commit()
    return calendar | {"patient": patient, "appointment": appointment}


@pytest.fixture
def arrival(client, principals, visit):
    return check_in_through_api(client, principals.kiosk(), visit)


def words(response) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    return html.unescape(text_of(response.text))


def checkout_path(arrival) -> str:
    return f"/staff/arrivals/{arrival['arrival_id']}/checkout"


def status_of(session, visit) -> str:
    session.expire_all()
    return session.get(Appointment, visit["appointment"].id).status


def later_appointments(session, visit) -> list[Appointment]:
    session.expire_all()
    return list(
        session.exec(
            select(Appointment).where(
                Appointment.patient_id == visit["patient"].id,
                Appointment.id != visit["appointment"].id,
            )
        )
    )


def audits(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.seq))
        )
    )


def book_directly(session, visit, start) -> Appointment:
    appointment = scheduling_service.book_appointment(
        session,
        actor=TEST_ACTOR,
        data=AppointmentCreate(
            patient_id=visit["patient"].id,
            provider_id=visit["provider"].id,
            appointment_type_id=visit["kind"].id,
            start=start,
        ),
    )
    session.commit()
    return appointment


def first_open_time(session, visit, weeks: int = 4):
    day = visit["appointment"].starts_at + timedelta(weeks=weeks)
    [slot, *_] = scheduling_service.search_slots(
        session,
        appointment_type_id=visit["kind"].id,
        provider_id=visit["provider"].id,
        start=day - timedelta(days=3),
        end=day + timedelta(days=4),
    )
    return slot.start


# --- marking the visit done ----------------------------------------------------------------


def test_marking_the_visit_done_completes_the_appointment(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    room = console.post(f"/staff/queue/{arrival['arrival_id']}/move", {"to": "roomed"})
    assert room.status_code == 303
    r = console.post(checkout_path(arrival) + "/done")
    assert (r.status_code, r.headers["location"]) == (303, checkout_path(arrival))
    assert status_of(session, visit) == "completed"
    page = console.get(checkout_path(arrival))
    assert page.status_code == 200
    assert "Visit marked done." in page.text
    assert "Mark visit done" not in page.text


def test_a_waiting_patient_cannot_be_checked_out_directly(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.post(checkout_path(arrival) + "/done")
    assert r.status_code == 409
    assert "An appointment whose patient has arrived cannot be completed." in words(r)
    assert status_of(session, visit) == "arrived"


def test_billing_sees_the_visit_but_cannot_mark_it_done(app, session, visit, arrival):
    console = console_as(app, session, Role.BILLING)
    page = console.get(checkout_path(arrival))
    assert page.status_code == 200 and "Harriet Quimby" in page.text
    assert "Mark visit done" not in page.text
    r = console.post(checkout_path(arrival) + "/done")
    assert r.status_code == 403
    assert status_of(session, visit) == "arrived"


# --- the follow-up -------------------------------------------------------------------------


def test_the_follow_up_is_booked_with_the_same_provider_weeks_later(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    page = console.get(checkout_path(arrival), interval="4")
    assert page.status_code == 200
    [first, *_] = re.findall(r'name="slot" id="[^"]+" value="([^"]+)"', page.text)
    r = console.post(
        checkout_path(arrival) + "/follow-up",
        {
            "slot": first,
            "provider_id": str(visit["provider"].id),
            "appointment_type_id": str(visit["kind"].id),
            "interval": "4",
        },
    )
    assert r.status_code == 303, words(r)
    [follow_up] = later_appointments(session, visit)
    assert follow_up.provider_id == visit["provider"].id
    assert follow_up.appointment_type_id == visit["kind"].id
    gap = follow_up.starts_at - visit["appointment"].starts_at
    assert timedelta(days=24) < gap < timedelta(days=33)
    assert "Next appointment booked" in console.get(checkout_path(arrival)).text


def test_a_follow_up_on_a_date_needs_the_date(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.get(checkout_path(arrival), interval="date")
    assert r.status_code == 422
    assert 'aria-describedby="on-error"' in r.text and "choose a date" in words(r)


def test_a_time_taken_meanwhile_is_refused_on_the_form(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    start = first_open_time(session, visit)
    book_directly(session, visit, start)  # someone at another desk was quicker
    r = console.post(
        checkout_path(arrival) + "/follow-up",
        {
            "slot": f"{start.isoformat()}|{visit['location'].id}",
            "provider_id": str(visit["provider"].id),
            "appointment_type_id": str(visit["kind"].id),
            "interval": "4",
        },
    )
    assert r.status_code == 409
    assert "That time cannot be booked" in words(r)
    assert 'name="slot"' in r.text  # other open times to choose from
    assert len(later_appointments(session, visit)) == 1


# --- the summary ---------------------------------------------------------------------------


def test_the_summary_shows_the_follow_up_and_nothing_it_should_not(app, session, visit, arrival):
    follow_up = book_directly(session, visit, first_open_time(session, visit, weeks=6))
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.get(f"/staff/appointments/{visit['appointment'].id}/summary")
    assert r.status_code == 200
    page = words(r)
    local = follow_up.starts_at.astimezone(ZoneInfo(visit["location"].timezone))
    for expected in (
        "Harriet Quimby",
        "Office visit",
        visit["location"].name,
        local.strftime("%A, %B %-d, %Y"),
        local.strftime("%-I:%M %p"),
        visit["provider"].last_name,
        "Copay paid",
        "Use your browser's Print",
    ):
        assert expected in page, expected
    patient = visit["patient"]
    for secret in (
        patient.mrn,
        BIRTH_DATE.isoformat(),
        BIRTH_DATE.strftime("%m/%d/%Y"),
        SSN,
        SSN[-4:],
        MEMBER_ID,
        patient.phone,
        EMAIL,
    ):
        assert secret not in page, secret


# --- emailing it ---------------------------------------------------------------------------


@with_mail("running")
def test_the_summary_is_emailed_to_the_patient(app, session, visit, arrival, mailbox, caplog):
    book_directly(session, visit, first_open_time(session, visit))
    console = console_as(app, session, Role.FRONT_DESK)
    path = f"/staff/appointments/{visit['appointment'].id}/summary/email"
    r = console.post(path)
    assert (r.status_code, r.headers["location"]) == (303, checkout_path(arrival))
    assert "Visit summary emailed." in console.get(checkout_path(arrival)).text
    [envelope] = mailbox.envelopes
    assert envelope.rcpt_tos == [EMAIL]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["To"] == EMAIL
    assert "Harriet" not in message["Subject"]
    body = message.get_content()
    assert "Patient: Harriet Quimby" in body
    assert "Your next appointment:" in body and visit["provider"].last_name in body
    assert SSN not in body and MEMBER_ID not in body and visit["patient"].mrn not in body
    [event] = audits(session, "visit_summary.emailed")
    assert event.outcome == "success"
    assert event.detail == {"appointment_id": str(visit["appointment"].id)}
    assert event.resource_id == str(visit["patient"].id)
    assert EMAIL not in caplog.text


@with_mail("running")
def test_no_email_on_file_is_a_clear_refusal(app, session, visit, arrival, mailbox):
    visit["patient"].email = None
    session.add(visit["patient"])
    session.commit()
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.post(f"/staff/appointments/{visit['appointment'].id}/summary/email")
    assert r.status_code == 409
    assert "no email address on this patient's record" in words(r)
    assert "Visit summary emailed." not in r.text
    assert mailbox.envelopes == []


def test_email_without_a_mail_server_set_up_is_a_clear_refusal(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.post(f"/staff/appointments/{visit['appointment'].id}/summary/email")
    assert r.status_code == 409
    assert "Email is not set up" in words(r)
    assert [e.outcome for e in audits(session, "visit_summary.emailed")] == ["failure"]


@pytest.mark.parametrize(
    ("smtp_port", "said"),
    [
        ("closed", "The mail server could not be reached; nothing was sent."),
        ("refusing", "The mail server refused the message (554); nothing was sent."),
    ],
    indirect=["smtp_port"],
)
def test_a_mail_server_failure_is_shown_and_nothing_claims_success(
    app, session, visit, arrival, smtp_port, said, caplog
):
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.post(f"/staff/appointments/{visit['appointment'].id}/summary/email")
    assert r.status_code == 502
    page = words(r)
    assert said in page
    assert "Visit summary emailed." not in page
    assert [e.outcome for e in audits(session, "visit_summary.emailed")] == ["failure"]
    assert EMAIL not in caplog.text


def test_billing_cannot_email_the_summary(app, session, visit, arrival):
    console = console_as(app, session, Role.BILLING)
    r = console.post(f"/staff/appointments/{visit['appointment'].id}/summary/email")
    assert r.status_code == 403
    assert audits(session, "visit_summary.emailed") == []


def test_an_unknown_arrival_is_not_found(app, session):
    console = console_as(app, session, Role.FRONT_DESK)
    assert console.get(f"/staff/arrivals/{uuid.uuid4()}/checkout").status_code == 404
