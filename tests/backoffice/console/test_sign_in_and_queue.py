"""The console's sign-in (cookie, CSRF, idle time-out) and the arrival board's actions,
in-process on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from backoffice.checkin.models import Arrival
from backoffice.console import auth
from backoffice.console.board import FLAG_LABELS
from backoffice.console.models import ConsoleSession
from backoffice.scheduling.models import Appointment
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import create_user
from tests.fixtures.checkin import JPEG, book_today, check_in_through_api
from tests.fixtures.console import ORIGIN, Console, console_as, text_of


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def visit(session, cipher):
    return book_today(session, cipher, first_name="Harriet", last_name="Quimby")


@pytest.fixture
def arrival(client, principals, visit):
    return check_in_through_api(client, principals.kiosk(), visit)


def test_pages_send_a_stranger_to_sign_in_and_back(app, session):
    console = Console(app)
    r = console.get("/staff/queue")
    assert r.status_code == 303
    assert r.headers["location"] == "/staff/login?next=/staff/queue"
    user = create_user(session, Role.FRONT_DESK)
    r = console.http.post(
        "/staff/login",
        data={
            "username": user.username,
            "password": "correct-horse-battery",
            "next": "/staff/patients",
        },
        headers={"Origin": ORIGIN},
    )
    assert (r.status_code, r.headers["location"]) == (303, "/staff/patients")
    cookie = r.headers["set-cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=strict"):
        assert attribute.lower() in cookie.lower()


def test_a_wrong_password_is_one_clear_line_and_no_cookie(app, session):
    user = create_user(session, Role.NURSE)
    console = Console(app)
    r = console.sign_in(user.username, "not-the-password")
    assert r.status_code == 401
    assert "Wrong username or password." in text_of(r.text)
    assert auth.COOKIE not in console.http.cookies


def test_sign_in_goes_only_to_console_pages(app, session):
    user = create_user(session, Role.NURSE)
    console = Console(app)
    r = console.http.post(
        "/staff/login",
        data={
            "username": user.username,
            "password": "correct-horse-battery",
            "next": "//evil.example/x",
        },
        headers={"Origin": ORIGIN},
    )
    assert r.headers["location"] == "/staff/queue"


def test_a_form_from_another_site_or_without_the_token_is_refused(app, session, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    path = f"/staff/queue/{arrival['arrival_id']}/move"
    # Another site's page: the browser sends the cookie, but not our Origin.
    r = console.http.post(
        path,
        data={"to": "roomed", "csrf_token": console.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    r = console.http.post(
        path, data={"to": "roomed", "csrf_token": "0" * 64}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 403 and "reload" in text_of(r.text)
    assert console.post(path, {"to": "roomed"}).status_code == 303


def test_signing_out_ends_the_session_on_the_server(app, session):
    console = console_as(app, session, Role.FRONT_DESK)
    token = console.http.cookies.get(auth.COOKIE)
    assert console.post("/staff/logout").status_code == 303
    stale = Console(app)
    stale.http.cookies.set(auth.COOKIE, token)
    assert stale.get("/staff/queue").status_code == 303


def test_a_browser_left_alone_is_signed_out(app, session):
    console = console_as(app, session, Role.FRONT_DESK)
    [row] = session.exec(select(ConsoleSession)).all()
    row.last_seen_at -= timedelta(minutes=app.state.settings.console_idle_minutes + 1)
    session.add(row)
    session.commit()
    assert console.get("/staff/queue").status_code == 303


def test_a_password_change_ends_older_sign_ins(app, session):
    user = create_user(session, Role.FRONT_DESK)
    console = Console(app)
    console.sign_in(user.username)
    user.token_version += 1
    session.add(user)
    session.commit()
    assert console.get("/staff/queue").status_code == 303


def test_the_board_shows_the_arrival_with_its_flags(app, session, client, principals, visit):
    card = {
        "front_image": JPEG,
        "fields": {
            "member_id": {"value": "W123", "confidence": 0.93},
            "payer_name": {"value": "Aetna", "confidence": 0.41},
        },
    }
    arrival = check_in_through_api(client, principals.kiosk(), visit, insurance_card=card)
    assert {"insurance_to_review", "card_read_unsure"} <= set(arrival["flags"])
    console = console_as(app, session, Role.FRONT_DESK)
    r = console.get("/staff/queue", location_id=str(visit["location"].id))
    assert r.status_code == 200
    page = text_of(r.text)
    assert "Harriet Quimby" in page
    for flag in arrival["flags"]:
        assert FLAG_LABELS[flag] in page
    assert f"/staff/queue/{arrival['arrival_id']}/move" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_rooming_and_checking_out_move_the_appointment(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    path = f"/staff/queue/{arrival['arrival_id']}/move"
    assert console.post(path, {"to": "roomed"}, fetch=True).status_code == 204
    assert console.post(path, {"to": "checked_out"}).status_code == 303
    session.expire_all()
    assert session.get(Appointment, visit["appointment"].id).status == "completed"
    board = console.get("/staff/queue/board", location_id=str(visit["location"].id))
    assert "Follow-up &amp; summary" in board.text


def test_a_step_that_is_not_allowed_now_says_why(app, session, visit, arrival):
    console = console_as(app, session, Role.FRONT_DESK)
    path = f"/staff/queue/{arrival['arrival_id']}/move"
    assert console.post(path, {"to": "roomed"}).status_code == 303
    r = console.post(path, {"to": "roomed"}, fetch=True)
    assert r.status_code == 409 and r.text  # the script shows the reason as it came
    page = console.post(path, {"to": "roomed"})
    assert page.status_code == 409 and "<h1>" in page.text


@pytest.mark.parametrize("role", [Role.BILLING])
def test_billing_sees_the_board_but_not_its_actions(app, session, visit, arrival, role):
    console = console_as(app, session, role)
    r = console.get("/staff/queue", location_id=str(visit["location"].id))
    assert r.status_code == 200 and "Harriet Quimby" in r.text
    assert "/move" not in r.text
    path = f"/staff/queue/{arrival['arrival_id']}/move"
    r = console.post(path, {"to": "roomed"})
    assert r.status_code == 403
    session.expire_all()
    moved = session.get(Arrival, uuid.UUID(arrival["arrival_id"]))
    assert session.get(Appointment, moved.appointment_id).status == "arrived"


def test_overdue_expected_patients_can_be_marked_no_show(app, session, cipher, visit):
    visit["appointment"].starts_at -= timedelta(hours=1)
    session.add(visit["appointment"])
    session.commit()
    console = console_as(app, session, Role.FRONT_DESK)
    board = console.get("/staff/queue/board", location_id=str(visit["location"].id)).text
    assert "past start" in board
    path = f"/staff/queue/expected/{visit['appointment'].id}/no-show"
    r = console.post(path, {"version": str(visit["appointment"].version)})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Appointment, visit["appointment"].id).status == "no_show"


def test_a_patient_who_skips_the_kiosk_is_checked_in_at_the_desk(app, session, visit):
    console = console_as(app, session, Role.FRONT_DESK)
    path = f"/staff/queue/expected/{visit['appointment'].id}/check-in"
    version = str(visit["appointment"].version)
    assert console.post(path, {"version": version}, fetch=True).status_code == 204
    session.expire_all()
    assert session.get(Appointment, visit["appointment"].id).status == "arrived"
    [arrival] = session.exec(
        select(Arrival).where(Arrival.appointment_id == visit["appointment"].id)
    ).all()
    assert arrival.device_id is None
    board = console.get("/staff/queue/board", location_id=str(visit["location"].id)).text
    assert f'data-arrival="{arrival.id}"' in board
    # Twice is refused with the reason, and still one arrival.
    again = console.post(path, {"version": str(visit["appointment"].version)}, fetch=True)
    assert again.status_code == 409 and "already checked in" in again.text
