"""Credential rotation from the kiosk's side, against the real back office: an admin asks, the
next heartbeat's answer says so, and the delivery thread renews the token with a signature
by the kiosk's current key, saves the new credential before using it and switches every
client over, while check-ins keep flowing; a kiosk on a bare token cannot, and says so once."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from kiosk.outbox import Outbox
from kiosk.remote_config import ConfigCache, RemoteConfig
from kiosk.ui.session import Delivery, Fleet
from shared.contracts.kiosk import KIOSK_API
from shared.contracts.provisioning import CREDENTIAL_API
from shared.device_credential import DeviceCredential
from shared.enums import Role
from tests.conftest import bound_to
from tests.kiosk.fleet import (
    DEVICES,
    ON_SQLITE,
    Clock,
    Link,
    bearer,
    book_at_a_lobby,
    check_in_by_name,
    device,
    enrol,
)

KEY = bytes(range(32))
CHALLENGE = f"{CREDENTIAL_API}/challenge"


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def admin(principals):
    return principals.staff(Role.ADMIN)


@pytest.fixture
def kiosk(client, admin, session, cipher, tmp_path):
    return enrol(client, admin, book_at_a_lobby(session, cipher, "Quimby"), tmp_path)


@pytest.fixture
def outbox(tmp_path: Path):
    with Outbox(tmp_path / "outbox.db", KEY) as box:
        yield box


class Running:
    """The kiosk's two clients (the flow's and the delivery thread's) and its delivery."""

    def __init__(self, kiosk, link: Link, outbox: Outbox, tmp_path: Path, *, bare_token=False):
        self.flow_client = link.kiosk_client(kiosk.token)
        self.delivery_client = link.kiosk_client(kiosk.token)
        self.clock = Clock()
        self.fleet = Fleet(
            RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json")),
            None if bare_token else kiosk.credential,
            None if bare_token else kiosk.credential_dir,
            clients=(self.flow_client, self.delivery_client),
        )
        self.delivery = Delivery(self.delivery_client, outbox, clock=self.clock, fleet=self.fleet)

    def heartbeat_again(self) -> None:
        self.clock.now += 61
        self.delivery.check_now()


def ask_for_rotation(client, admin, kiosk) -> None:
    r = client.post(f"{DEVICES}/{kiosk.device_id}/rotate-credential", headers=admin)
    assert r.status_code == 202, r.text


@ON_SQLITE
def test_rotation_asked_by_an_admin_keeps_the_kiosk_working(
    client, admin, kiosk, outbox, session, tmp_path
):
    running = Running(kiosk, Link(client), outbox, tmp_path)
    running.delivery.check_now()
    assert running.delivery.rotations == 0
    ask_for_rotation(client, admin, kiosk)

    running.heartbeat_again()
    assert running.delivery.rotations == 1
    saved = DeviceCredential.load(kiosk.credential_dir)  # still private enough to load
    assert saved.device_id == kiosk.device_id
    assert saved.token != kiosk.token and saved.public_key != kiosk.credential.public_key
    assert device(session, kiosk.device_id).public_key == saved.public_key
    # Both clients carry the new token now; the back office takes it, and the old one no more.
    assert running.flow_client.config().device_id == kiosk.device_id
    outbox.put(check_in_by_name("Quimby"))
    running.delivery.check_now()
    assert running.delivery.delivered == 1
    assert client.get(f"{KIOSK_API}/me", headers=bearer(kiosk.token)).status_code == 401
    # Done: the next answer no longer asks.
    running.heartbeat_again()
    assert running.delivery.rotations == 1


@ON_SQLITE
def test_the_new_credential_is_on_disk_before_anything_uses_it(
    client, admin, kiosk, outbox, tmp_path
):
    on_disk_when_used: list[bool] = []

    def look(request: httpx.Request) -> None:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if token != kiosk.token:
            on_disk_when_used.append(DeviceCredential.load(kiosk.credential_dir).token == token)

    link = Link(client, on_request=look)
    running = Running(kiosk, link, outbox, tmp_path)
    ask_for_rotation(client, admin, kiosk)
    running.delivery.check_now()
    running.flow_client.config()
    assert running.delivery.rotations == 1
    assert on_disk_when_used and all(on_disk_when_used)


@ON_SQLITE
def test_a_rotation_that_fails_holds_up_nothing_and_is_tried_again(
    client, admin, kiosk, outbox, tmp_path
):
    link = Link(client, fail=CREDENTIAL_API)  # the challenge is had, the new token is not
    running = Running(kiosk, link, outbox, tmp_path)
    ask_for_rotation(client, admin, kiosk)
    outbox.put(check_in_by_name("Quimby"))
    running.delivery.check_now()
    assert (running.delivery.delivered, running.delivery.rotations) == (1, 0)
    assert DeviceCredential.load(kiosk.credential_dir).token == kiosk.token
    assert running.flow_client.config().device_id == kiosk.device_id  # the old token works

    link.fail = None
    running.heartbeat_again()  # the back office still asks: this time it goes through
    assert running.delivery.rotations == 1
    assert DeviceCredential.load(kiosk.credential_dir).token != kiosk.token


@ON_SQLITE
def test_a_kiosk_on_a_token_from_the_environment_does_not_rotate_and_says_so_once(
    client, admin, kiosk, outbox, session, tmp_path, caplog
):
    seen: list[tuple[str, str]] = []
    running = Running(kiosk, Link(client, seen=seen), outbox, tmp_path, bare_token=True)
    ask_for_rotation(client, admin, kiosk)
    outbox.put(check_in_by_name("Quimby"))
    with caplog.at_level(logging.INFO, logger="frontdesk.kiosk"):
        running.delivery.check_now()
        running.heartbeat_again()
    assert running.delivery.delivered == 1
    assert running.delivery.rotations == 0
    assert not any(path.startswith(CREDENTIAL_API) for path, _ in seen)
    said = [r.getMessage() for r in caplog.records if "new credential" in r.getMessage()]
    assert len(said) == 1 and "FRONTDESK_KIOSK_TOKEN" in said[0]
    assert device(session, kiosk.device_id).status["outbox_pending"] == 0  # heartbeats went on
    assert client.get(f"{KIOSK_API}/me", headers=bearer(kiosk.token)).status_code == 200


@ON_SQLITE
def test_an_answer_lost_on_the_way_leaves_the_kiosk_on_its_old_credential(
    client, admin, kiosk, outbox, tmp_path
):
    link = Link(client, lose_answer=CREDENTIAL_API)  # issued by the back office, never heard
    running = Running(kiosk, link, outbox, tmp_path)
    ask_for_rotation(client, admin, kiosk)
    outbox.put(check_in_by_name("Quimby"))
    running.delivery.check_now()
    assert (running.delivery.delivered, running.delivery.rotations) == (1, 0)
    saved = DeviceCredential.load(kiosk.credential_dir)
    assert (saved.token, saved.public_key) == (kiosk.token, kiosk.credential.public_key)
    assert running.flow_client.config().device_id == kiosk.device_id  # the old token works


@ON_SQLITE
def test_after_a_lost_answer_the_kiosk_can_rotate_when_asked_again(
    client, admin, kiosk, outbox, tmp_path
):
    link = Link(client, lose_answer=CREDENTIAL_API)
    running = Running(kiosk, link, outbox, tmp_path)
    ask_for_rotation(client, admin, kiosk)
    running.delivery.check_now()
    assert running.delivery.rotations == 0
    ask_for_rotation(client, admin, kiosk)
    running.heartbeat_again()
    assert running.delivery.rotations == 1
