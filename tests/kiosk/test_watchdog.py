"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for a Type=notify unit
with WatchdogSec=: what is sent, to a path or an abstract socket, the ping interval, silence
outside systemd, and pings that come only while the UI thread's clock ticks."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.watchdog import Watchdog, watch_over_ui

SOMEONE_ELSE = next(pid for pid in (1, 2, 3) if pid not in (os.getpid(), os.getppid()))


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A notify socket at a path, as $NOTIFY_SOCKET names it."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(2)
        yield listener, str(path)


def received(listener: socket.socket) -> list[str]:
    """Every datagram waiting, without blocking."""
    messages = []
    listener.setblocking(False)
    try:
        while True:
            messages.append(listener.recv(4096).decode())
    except BlockingIOError:
        return messages
    finally:
        listener.settimeout(2)


def test_ready_ping_status_and_stopping_reach_systemd(systemd):
    listener, path = systemd
    watchdog = Watchdog({"NOTIFY_SOCKET": path})
    assert watchdog.active
    assert watchdog.ready() and watchdog.ping()
    assert watchdog.status("back office unreachable:\n3 check-ins waiting")
    assert watchdog.stopping()
    assert [listener.recv(4096) for _ in range(4)] == [
        b"READY=1",
        b"WATCHDOG=1",
        b"STATUS=back office unreachable: 3 check-ins waiting",
        b"STOPPING=1",
    ]


def test_an_abstract_socket_is_reached_through_its_leading_at():
    name = f"frontdesk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(b"\0" + name.encode())
        listener.settimeout(2)
        assert Watchdog({"NOTIFY_SOCKET": f"@{name}"}).ready()
        assert listener.recv(4096) == b"READY=1"


@pytest.mark.parametrize(
    ("environment", "interval"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 10.0),  # WatchdogSec=20: a ping every 10 s
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}, 10.0),
        # The unit's main process is cage, and the app its child: the pings are for cage.
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getppid())}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(SOMEONE_ELSE)}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_the_ping_interval_is_half_the_watchdog_timeout(systemd, environment, interval):
    _, path = systemd
    assert Watchdog({"NOTIFY_SOCKET": path, **environment}).interval == interval


def test_outside_systemd_nothing_is_sent_and_nothing_fails():
    watchdog = Watchdog({})
    assert not watchdog.active
    assert (watchdog.ready(), watchdog.ping(), watchdog.status("x")) == (False, False, False)


def test_a_socket_that_is_gone_is_logged_not_raised(tmp_path, caplog):
    watchdog = Watchdog({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert watchdog.ping() is False
    assert "systemd was not told WATCHDOG" in caplog.text


def test_a_listener_that_does_not_read_never_holds_up_the_ui_thread(systemd):
    """Its queue fills (net.unix.max_dgram_qlen, 10 by default): the next ping is dropped and
    logged, where a blocking send would freeze the screen it is meant to watch over."""
    _, path = systemd
    watchdog = Watchdog({"NOTIFY_SOCKET": path})
    started = time.monotonic()
    sent = [watchdog.ping() for _ in range(2000)]
    assert time.monotonic() - started < 2
    assert sent[0] is True and sent[-1] is False


def test_pings_come_from_the_ui_clock_and_stop_when_it_stops(systemd, tmp_path):
    """Kivy's own Clock, ticked by hand as the UI thread's loop ticks it: READY=1 at the first
    frame, then a WATCHDOG=1 every interval; a UI that stops ticking stops the pings."""
    from kiosk.ui.launch import prepare_kivy

    prepare_kivy(tmp_path / "var", fullscreen=False)  # before Kivy is first imported
    from kivy.clock import Clock

    listener, path = systemd
    watchdog = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"})  # every 0.02 s
    event = watch_over_ui(watchdog, Clock)
    try:
        assert received(listener) == []  # nothing before the first frame
        messages: list[str] = []
        deadline = time.monotonic() + 0.25
        while time.monotonic() < deadline:
            Clock.tick()
            messages += received(listener)
            time.sleep(0.01)
        assert messages[0] == "READY=1"
        assert messages.count("WATCHDOG=1") >= 4
        time.sleep(0.15)  # the UI is frozen: no tick, no ping
        assert received(listener) == []
    finally:
        event.cancel()
