"""What the heartbeat now tells the fleet page (uptime, disk, clock offset, the configuration
applied) and what the kiosk makes of the answer, from the current back office and from one
that predates answers (204, nothing to say)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.client import BackOfficeClient
from kiosk.outbox import Outbox, OutboxStatus
from kiosk.remote_config import ConfigCache, RemoteConfig
from kiosk.ui.session import Delivery, Fleet, build_heartbeat
from shared.contracts.kiosk import KIOSK_API, KioskHeartbeat
from shared.enums import Role
from tests.conftest import bound_to
from tests.kiosk.fleet import ON_SQLITE, Clock, Link, book_at_a_lobby, device, enrol

KEY = bytes(range(32))
STATUS = OutboxStatus(
    pending=0, held=0, oldest_pending_age=None, next_attempt_at=None, last_error=None, by_kind={}
)


@pytest.fixture
def outbox(tmp_path: Path):
    with Outbox(tmp_path / "outbox.db", KEY) as box:
        yield box


def test_the_heartbeat_carries_uptime_disk_clock_offset_and_configuration():
    disk = shutil.disk_usage(Path.cwd())
    beat = build_heartbeat(
        STATUS,
        None,
        app_version="1.0",
        uptime_seconds=3600.7,
        disk=disk,
        clock_offset_ms=-250,
        config_version=12,
    )
    assert (beat.uptime_seconds, beat.clock_offset_ms, beat.config_version) == (3600, -250, 12)
    assert (beat.disk_free_bytes, beat.disk_total_bytes) == (disk.free, disk.total)


def test_what_the_kiosk_does_not_know_is_left_out_for_an_older_back_office():
    beat = build_heartbeat(STATUS, None, app_version="1.0")
    sent = beat.model_dump(mode="json", exclude_none=True)
    assert set(sent) == {"app_version", "outbox_pending", "outbox_held", "peripherals"}


# --- against the real back office --------------------------------------------------------------


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def kiosk(client, principals, session, cipher, tmp_path):
    admin = principals.staff(Role.ADMIN)
    return enrol(client, admin, book_at_a_lobby(session, cipher, "Quimby"), tmp_path)


@ON_SQLITE
def test_the_back_office_keeps_what_the_kiosk_says_of_itself(
    client, kiosk, outbox, session, tmp_path
):
    ahead = timedelta(seconds=5)  # this kiosk's clock runs 5 s ahead of the back office's
    clock = Clock()
    api = Link(client).kiosk_client(kiosk.token)
    delivery = Delivery(
        api,
        outbox,
        clock=clock,
        fleet=Fleet(RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json"))),
        var_dir=tmp_path,
        utcnow=lambda: datetime.now(UTC) + ahead,
    )
    delivery.check_now()
    first = device(session, kiosk.device_id).status
    assert first["uptime_seconds"] == 0
    assert "clock_offset_ms" not in first  # not measured before the first answer
    assert 4_000 <= (delivery.clock_offset_ms or 0) <= 5_500

    clock.now += 61
    delivery.check_now()
    status = device(session, kiosk.device_id).status
    assert status["uptime_seconds"] == 61
    assert status["clock_offset_ms"] == pytest.approx(5_000, abs=1_000)
    disk = shutil.disk_usage(tmp_path)
    assert 0 < status["disk_free_bytes"] <= status["disk_total_bytes"] == disk.total


def test_a_back_office_that_answers_204_is_still_heartbeaten(outbox, tmp_path):
    """One from before answers: nothing to follow, no offset, no configuration; no harm."""
    beats: list[dict] = []

    def older(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/health":
            return httpx.Response(200, json={"status": "ok"})
        if request.url.path == f"{KIOSK_API}/heartbeat":
            beats.append(KioskHeartbeat.model_validate_json(request.content).model_dump())
            return httpx.Response(204)
        return httpx.Response(404, json={"code": "not-found", "detail": "Not Found"})

    api = BackOfficeClient("http://old", "token", transport=httpx.MockTransport(older))
    assert api.heartbeat(KioskHeartbeat(app_version="1.0", outbox_pending=0, outbox_held=0)) is None
    remote = RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json"))
    clock = Clock()
    delivery = Delivery(api, outbox, clock=clock, fleet=Fleet(remote))
    delivery.check_now()
    clock.now += 61
    delivery.check_now()
    assert len(beats) == 3 and delivery.online is True
    assert delivery.clock_offset_ms is None and remote.pending is None
