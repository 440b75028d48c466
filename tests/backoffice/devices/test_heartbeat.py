"""The kiosk's heartbeat: what it says (counts and states, never a patient), how the back
office keeps it, and that the delivery thread sends it about once a minute without a failed
heartbeat ever holding up a check-in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from backoffice.devices.models import Device
from backoffice.security.tokens import digest
from hardware.printer import SimulatedPrinter
from hardware.scanner import SimulatedScanner
from kiosk.client import BackOfficeClient
from kiosk.devices import Devices
from kiosk.outbox import Outbox, OutboxStatus, OutgoingRequest
from kiosk.ui.session import Delivery, build_heartbeat
from shared.contracts.kiosk import KIOSK_API, KioskHeartbeat, PeripheralState
from tests.conftest import bound_to
from tests.fixtures.builders import create_location
from tests.fixtures.checkin import book_today, by_name, late_morning_zone, submission

KEY = bytes(range(32))
HEARTBEAT = {
    "app_version": "1.4.2",
    "outbox_pending": 2,
    "outbox_held": 1,
    "peripherals": {
        "camera": {"state": "ok"},
        "printer": {"state": "error", "detail": "out of paper"},
    },
}


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


def device_of(session, headers: dict[str, str]) -> Device:
    token = headers["Authorization"].removeprefix("Bearer ")
    return session.exec(select(Device).where(Device.token_hash == digest(token))).one()


def through(
    client: TestClient, *, fail: str | None = None, failed: list[str] | None = None
) -> httpx.MockTransport:
    """The kiosk's HTTP client talking to the in-process back office; a call to the path
    `fail` blows up inside the transport (and is noted in `failed`), like nothing the back
    office itself would answer."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == fail:
            if failed is not None:
                failed.append(fail)
            raise RuntimeError("the heartbeat went wrong")
        answer = client.request(
            request.method, request.url.path, content=request.content, headers=request.headers
        )
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    return httpx.MockTransport(handler)


# --- the back office keeps it ---------------------------------------------------------------


def test_a_heartbeat_is_kept_on_the_device(client, principals, session):
    kiosk = principals.kiosk()
    response = client.post(f"{KIOSK_API}/heartbeat", json=HEARTBEAT, headers=kiosk)
    assert response.status_code == 200, response.text
    answer = response.json()
    config = client.get(f"{KIOSK_API}/config", headers=kiosk).json()
    assert answer["config_version"] == config["version"] and answer["rotate_credential"] is False
    session.expire_all()
    device = device_of(session, kiosk)
    assert device.status == HEARTBEAT
    assert device.status_at is not None and device.last_seen_at == device.status_at


def test_the_latest_heartbeat_replaces_the_one_before(client, principals, session):
    kiosk = principals.kiosk()
    client.post(f"{KIOSK_API}/heartbeat", json=HEARTBEAT, headers=kiosk)
    later = {"app_version": "1.4.3", "outbox_pending": 0, "outbox_held": 0}
    assert client.post(f"{KIOSK_API}/heartbeat", json=later, headers=kiosk).status_code == 200
    session.expire_all()
    assert device_of(session, kiosk).status == {**later, "peripherals": {}}


def test_a_heartbeat_with_anything_else_in_it_is_refused(client, principals, session):
    kiosk = principals.kiosk()
    body = {**HEARTBEAT, "last_patient": "Quimby"}
    response = client.post(f"{KIOSK_API}/heartbeat", json=body, headers=kiosk)
    assert response.status_code == 422
    session.expire_all()
    assert device_of(session, kiosk).status == {}


def test_the_kiosk_client_sends_it(client, principals, session):
    kiosk = principals.kiosk()
    token = kiosk["Authorization"].removeprefix("Bearer ")
    api = BackOfficeClient("http://testserver", token, transport=through(client))
    api.heartbeat(KioskHeartbeat.model_validate(HEARTBEAT))
    session.expire_all()
    assert device_of(session, kiosk).status["app_version"] == "1.4.2"


# --- what the kiosk says --------------------------------------------------------------------


STATUS = OutboxStatus(
    pending=3, held=1, oldest_pending_age=12.0, next_attempt_at=None, last_error=None, by_kind={}
)


def test_a_simulated_kiosk_says_every_peripheral_is_simulated():
    beat = build_heartbeat(STATUS, Devices.simulated_set(), app_version="0.1.0")
    assert (beat.outbox_pending, beat.outbox_held) == (3, 1)
    assert set(beat.peripherals) == {"camera", "scanner", "printer", "card_reader"}
    assert {p.state for p in beat.peripherals.values()} == {PeripheralState.SIMULATED}


def test_a_kiosk_says_what_it_knows_of_its_devices_without_asking_them():
    scanner = SimulatedScanner()
    devices = Devices(camera=lambda: None, scanner=scanner, printer=None)  # type: ignore[arg-type,return-value]
    beat = build_heartbeat(STATUS, devices, app_version="0.1.0")
    states = {name: (p.state.value, p.detail) for name, p in beat.peripherals.items()}
    assert states == {
        "camera": ("ok", None),
        "scanner": ("ok", None),
        "printer": ("missing", "not set up"),
    }
    printing = Devices(camera=lambda: None, scanner=None, printer=SimulatedPrinter())  # type: ignore[arg-type,return-value]
    beat = build_heartbeat(
        STATUS, printing, app_version="0.1.0", printer_problem="the printer is out of paper"
    )
    assert beat.peripherals["printer"].state is PeripheralState.ERROR
    assert beat.peripherals["scanner"].state is PeripheralState.MISSING


def test_an_unplugged_camera_is_reported_missing(tmp_path):
    devices = Devices(
        camera=lambda: None, scanner=None, printer=None, camera_path=tmp_path / "video0"
    )  # type: ignore[arg-type,return-value]
    beat = build_heartbeat(STATUS, devices, app_version="0.1.0")
    assert beat.peripherals["camera"].state is PeripheralState.MISSING
    (tmp_path / "video0").touch()
    beat = build_heartbeat(STATUS, devices, app_version="0.1.0")
    assert beat.peripherals["camera"].state is PeripheralState.OK


# --- the delivery thread sends it -------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def check_in_for(session, cipher, last_name: str, location) -> OutgoingRequest:
    """A check-in the back office will take: a patient due today at the kiosk's location,
    named at the kiosk."""
    book_today(session, cipher, last_name=last_name, location=location)
    body = submission(identification=by_name(last_name))
    return OutgoingRequest(
        method="POST",
        path=f"{KIOSK_API}/check-ins",
        body=body,
        idempotency_key=body["check_in_id"],
        kind="check-in",
    )


@pytest.fixture
def outbox(tmp_path: Path):
    with Outbox(tmp_path / "outbox.db", KEY) as box:
        yield box


def test_delivery_sends_a_heartbeat_about_once_a_minute(client, principals, session, outbox):
    kiosk = principals.kiosk()
    token = kiosk["Authorization"].removeprefix("Bearer ")
    clock = Clock()
    delivery = Delivery(
        BackOfficeClient("http://testserver", token, transport=through(client)),
        outbox,
        devices=Devices.simulated_set(),
        clock=clock,
    )
    delivery.check_now()
    session.expire_all()
    device = device_of(session, kiosk)
    first = device.status_at
    assert device.status["peripherals"]["printer"] == {"state": "simulated"}
    assert (device.status["outbox_pending"], device.status["outbox_held"]) == (0, 0)
    clock.now += 30
    delivery.check_now()
    session.expire_all()
    assert device_of(session, kiosk).status_at == first  # not yet: once a minute
    clock.now += 31
    delivery.check_now()
    session.expire_all()
    assert device_of(session, kiosk).status_at > first


def test_a_failing_heartbeat_does_not_stop_delivery(client, principals, session, cipher, outbox):
    lobby = create_location(session, timezone=late_morning_zone())
    kiosk = principals.kiosk_in(lobby)
    token = kiosk["Authorization"].removeprefix("Bearer ")
    failed: list[str] = []
    failing = through(client, fail=f"{KIOSK_API}/heartbeat", failed=failed)
    clock = Clock()
    delivery = Delivery(
        BackOfficeClient("http://testserver", token, transport=failing), outbox, clock=clock
    )
    outbox.put(check_in_for(session, cipher, "Quimby", lobby))
    delivery.check_now()  # delivers, then the heartbeat blows up: nothing comes of it
    assert (delivery.online, delivery.delivered) == (True, 1)
    outbox.put(check_in_for(session, cipher, "Earhart", lobby))
    clock.now += 61  # the heartbeat is due again, and fails again
    delivery.check_now()
    assert delivery.delivered == 2
    assert (outbox.status().pending, outbox.status().held) == (0, 0)
    assert len(failed) == 2
    session.expire_all()
    assert device_of(session, kiosk).status == {}
