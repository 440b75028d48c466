"""The devices page (heartbeats, silent kiosks, adding a lobby display, revoking) and the
lobby display itself (its sign-in, what it shows and what it never shows), in-process on
both databases."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from backoffice.audit.models import AuditEvent
from backoffice.checkin.wait import WaitingVisit
from backoffice.console import auth
from backoffice.console.lobby import initials, wait_words, waits_from_now
from backoffice.devices import service as devices_service
from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.patients.models import Patient
from backoffice.security.tokens import digest
from shared.contracts.kiosk import KIOSK_API
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import TEST_ACTOR, create_location
from tests.fixtures.checkin import BIRTH_DATE, book_alongside, book_today, check_in_through_api
from tests.fixtures.console import ORIGIN, Console, console_as, text_of

HEARTBEAT = {
    "app_version": "2.3.1",
    "outbox_pending": 4,
    "outbox_held": 2,
    "peripherals": {
        "camera": {"state": "ok"},
        "printer": {"state": "error", "detail": "out of paper"},
    },
}


def row_of(html: str, device_id: object) -> str:
    """The words of one device's row on the devices page."""
    found = re.search(rf'<tr data-device="{device_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {device_id}"
    return text_of(found.group(1))


def kiosk_device(session, headers: dict[str, str]) -> Device:
    token = headers["Authorization"].removeprefix("Bearer ")
    return session.exec(select(Device).where(Device.token_hash == digest(token))).one()


def add_display(admin: Console, name: str, location_id: object) -> str:
    """Through the devices page, as an administrator; returns the code shown once."""
    r = admin.post("/staff/devices/displays", {"name": name, "location_id": str(location_id)})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    [token] = re.findall(r'value="(fdk_[^"]+)"', r.text)
    return token


def signed_in_display(app, token: str) -> Console:
    screen = Console(app)
    r = screen.http.post("/lobby/sign-in", data={"token": token}, headers={"Origin": ORIGIN})
    assert (r.status_code, r.headers.get("location")) == (303, "/lobby"), r.text
    return screen


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


# --- the devices page ---------------------------------------------------------------------------


def test_a_heartbeat_shows_on_the_devices_page(app, session, client, principals):
    kiosk = principals.kiosk()
    assert client.post(f"{KIOSK_API}/heartbeat", json=HEARTBEAT, headers=kiosk).status_code == 200
    device = kiosk_device(session, kiosk)
    desk = console_as(app, session, Role.FRONT_DESK)
    r = desk.get("/staff/devices")
    assert r.status_code == 200
    row = row_of(r.text, device.id)
    assert "2.3.1" in row and "4 pending" in row and "2 held" in row
    assert "printer: error (out of paper)" in row and "camera: ok" in row
    assert "Just now" in row and "Silent" not in row


def test_a_kiosk_not_heard_from_is_tagged_silent(app, session):
    quiet, _ = devices_service.add_kiosk(session, actor=TEST_ACTOR, name="quiet-kiosk")
    never, _ = devices_service.add_kiosk(session, actor=TEST_ACTOR, name="never-kiosk")
    quiet.last_seen_at = utcnow() - timedelta(minutes=12)
    session.add(quiet)
    session.commit()
    page = console_as(app, session, Role.NURSE).get("/staff/devices").text
    assert "12 min ago" in row_of(page, quiet.id) and "Silent" in row_of(page, quiet.id)
    assert "Never" in row_of(page, never.id) and "Silent" in row_of(page, never.id)


def test_front_desk_sees_the_devices_but_cannot_add_or_revoke(app, session, principals):
    device = kiosk_device(session, principals.kiosk())
    location = create_location(session)
    desk = console_as(app, session, Role.FRONT_DESK)
    page = desk.get("/staff/devices").text
    assert "Add a lobby display" not in page and "/revoke" not in page
    r = desk.post(
        "/staff/devices/displays", {"name": "lobby-screen", "location_id": str(location.id)}
    )
    assert r.status_code == 403
    assert desk.get(f"/staff/devices/{device.id}/revoke").status_code == 403
    assert desk.post(f"/staff/devices/{device.id}/revoke").status_code == 403
    session.expire_all()
    assert session.get(Device, device.id).revoked_at is None
    assert session.exec(select(Device).where(Device.kind == "display")).first() is None


def test_a_display_needs_a_good_name_and_a_location(app, session):
    location = create_location(session)
    admin = console_as(app, session, Role.ADMIN)
    r = admin.post("/staff/devices/displays", {"name": "<b>lobby</b>"})
    assert r.status_code == 422
    page = text_of(r.text)
    assert "Give a name of up to 80 letters" in page and "Choose the location" in page
    assert 'aria-invalid="true"' in r.text and "&lt;b&gt;lobby&lt;/b&gt;" in r.text
    add_display(admin, "Lobby screen", location.id)
    again = admin.post(
        "/staff/devices/displays", {"name": "Lobby screen", "location_id": str(location.id)}
    )
    assert again.status_code == 409 and "exists already" in text_of(again.text)


def test_revoking_asks_first_then_revokes(app, session, client, principals):
    device = kiosk_device(session, principals.kiosk())
    admin = console_as(app, session, Role.ADMIN)
    confirm = admin.get(f"/staff/devices/{device.id}/revoke")
    assert confirm.status_code == 200 and f"Revoke {device.name}" in text_of(confirm.text)
    session.expire_all()
    assert session.get(Device, device.id).revoked_at is None
    r = admin.post(f"/staff/devices/{device.id}/revoke")
    assert (r.status_code, r.headers["location"]) == (303, "/staff/devices")
    page = admin.get("/staff/devices").text
    assert 'id="revoked"' in page and device.name in page.split('id="revoked"')[1]
    assert client.get(f"{KIOSK_API}/me", headers=principals.kiosk()).status_code == 401


# --- the lobby display ----------------------------------------------------------------------------


@pytest.fixture
def waiting_room(session, cipher, client, principals):
    """Two patients checked in at one location: Harriet Quimby first, then Amelia Earhart."""
    visit = book_today(session, cipher, first_name="Harriet", last_name="Quimby")
    kiosk = principals.kiosk_in(visit["location"])
    first = check_in_through_api(client, kiosk, visit)
    later_start = visit["appointment"].starts_at + timedelta(minutes=30)
    second = book_alongside(session, cipher, visit, last_name="Earhart", starts_at=later_start)
    later = session.get(Patient, second.patient_id)
    check_in_through_api(client, kiosk, {**visit, "patient": later})
    return {**visit, "first_arrival_id": first["arrival_id"]}


def test_an_added_display_signs_the_lobby_in_and_shows_no_names(app, session, waiting_room):
    admin = console_as(app, session, Role.ADMIN)
    token = add_display(admin, "Waiting room 1", waiting_room["location"].id)
    assert token not in admin.get("/staff/devices").text  # shown that once only
    stranger = Console(app)
    assert stranger.get("/lobby").headers["location"] == "/lobby/sign-in"
    screen = signed_in_display(app, token)
    r = screen.get("/lobby")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "A1 H. Q." in page and "A2 A. E." in page
    shown = r.text.lower()
    for secret in ("Harriet", "Quimby", "Earhart", BIRTH_DATE.isoformat(), "1961"):
        assert secret.lower() not in shown
    assert waiting_room["provider"].last_name.lower() not in shown
    assert waiting_room["kind"].name.lower() not in shown
    assert 'data-board="/lobby/board"' in r.text and '<body class="lobby">' in r.text
    [read] = session.exec(select(AuditEvent).where(AuditEvent.action == "lobby.read")).all()
    assert (read.actor_kind, read.detail) == ("device", {"count": 2})


def test_someone_just_roomed_is_asked_in(app, session, waiting_room):
    desk = console_as(app, session, Role.FRONT_DESK)
    moved = desk.post(f"/staff/queue/{waiting_room['first_arrival_id']}/move", {"to": "roomed"})
    assert moved.status_code == 303
    _, token = devices_service.add_display(
        session, actor=TEST_ACTOR, name="lobby-2", location_id=waiting_room["location"].id
    )
    session.commit()
    board = text_of(signed_in_display(app, token).get("/lobby/board").text)
    assert board.index("A1 H. Q. Please come in") < board.index("A2 A. E.")


def test_a_wrong_code_is_refused_with_a_clear_message(app, session, principals):
    kiosk_token = principals.kiosk()["Authorization"].removeprefix("Bearer ")
    for token in ("fdk_not-a-real-code", kiosk_token):
        screen = Console(app)
        r = screen.http.post("/lobby/sign-in", data={"token": token}, headers={"Origin": ORIGIN})
        assert r.status_code == 401
        assert "does not sign in a lobby display" in text_of(r.text)
        assert auth.COOKIE not in screen.http.cookies


def test_a_revoked_display_is_signed_out_at_its_next_request(app, session):
    location = create_location(session)
    device, token = devices_service.add_display(
        session, actor=TEST_ACTOR, name="lobby-3", location_id=location.id
    )
    session.commit()
    screen = signed_in_display(app, token)
    assert screen.get("/lobby/board").status_code == 200
    devices_service.revoke(session, actor=TEST_ACTOR, device=device)
    session.commit()
    assert screen.get("/lobby").headers["location"] == "/lobby/sign-in"
    fetched = screen.http.get("/lobby/board", headers={"X-Requested-With": "fetch"})
    assert fetched.status_code == 401


def test_a_display_reaches_neither_the_kiosk_api_nor_staff_pages(app, session, client):
    location = create_location(session)
    _, token = devices_service.add_display(
        session, actor=TEST_ACTOR, name="lobby-4", location_id=location.id
    )
    session.commit()
    as_kiosk = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{KIOSK_API}/me", headers=as_kiosk).status_code == 403
    assert (
        client.post(f"{KIOSK_API}/heartbeat", json=HEARTBEAT, headers=as_kiosk).status_code == 403
    )
    screen = signed_in_display(app, token)
    for page in ("/staff/queue", "/staff/devices"):
        r = screen.get(page)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


# --- the estimate, as the screen words it --------------------------------------------------------

NOON = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
DR_A, DR_B = uuid.uuid4(), uuid.uuid4()


def visit(provider: uuid.UUID, start_in: int, arrived_ago: int, minutes: int = 20) -> WaitingVisit:
    return WaitingVisit(
        provider_id=provider,
        scheduled_start=NOON + timedelta(minutes=start_in),
        duration=timedelta(minutes=minutes),
        arrived_at=NOON - timedelta(minutes=arrived_ago),
    )


def test_waits_are_counted_from_now_with_whoever_is_ahead_still_ahead():
    waits = waits_from_now(
        {
            "first": visit(DR_A, start_in=-10, arrived_ago=30),
            "second": visit(DR_A, start_in=-10, arrived_ago=20),  # same start, came later
            "third": visit(DR_A, start_in=25, arrived_ago=5),
            "elsewhere": visit(DR_B, start_in=12, arrived_ago=1),
        },
        NOON,
    )
    assert waits == {"first": 0, "second": 20, "third": 40, "elsewhere": 15}


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(0, "Next"), (5, "Soon"), (10, "about 10 min"), (None, "Ask at the desk")],
)
def test_the_wait_is_worded_for_a_waiting_room(minutes, words):
    assert wait_words(minutes) == words


def test_initials_are_all_the_screen_shows_of_a_name():
    assert initials("harriet", "Quimby") == "H. Q."
    assert initials("Ana María", " de la Cruz") == "A. D."
