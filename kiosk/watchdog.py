"""Telling systemd how the kiosk app is doing (the sd_notify protocol, without libsystemd):
one datagram per message to the socket in $NOTIFY_SOCKET.

    READY=1      the window is up (the unit is Type=notify: until then it is "activating")
    WATCHDOG=1   the UI thread is alive; sent from Kivy's clock every WatchdogSec/2, so a
                 frozen UI stops the pings and systemd restarts the app
    STATUS=…     one line for `systemctl status`
    STOPPING=1   the app is closing on purpose

Outside systemd ($NOTIFY_SOCKET unset) every call does nothing, and a failed send is
logged, never raised: the watchdog must not be what stops a kiosk.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger("frontdesk.kiosk.watchdog")


class Watchdog:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.address = _address(environ.get("NOTIFY_SOCKET", ""))
        self.interval = _interval(environ)

    @property
    def active(self) -> bool:
        """Whether systemd is listening (the app runs as a Type=notify service)."""
        return self.address is not None

    def ready(self) -> bool:
        return self.notify("READY=1")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={' '.join(text.split())}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def notify(self, message: str) -> bool:
        """Send one message; True when it went out."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # Never wait: a listener whose queue is full would otherwise stop the UI thread.
                sock.setblocking(False)
                sock.sendto(message.encode(), self.address)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            log.warning("systemd was not told %s (%s)", message.split("=")[0], reason)
            return False
        return True


class UiClock(Protocol):
    """What of Kivy's `Clock` the pings need (its callbacks run on the UI thread)."""

    def schedule_once(self, callback: Callable[[float], Any], timeout: float = 0) -> Any: ...

    def schedule_interval(self, callback: Callable[[float], Any], timeout: float) -> Any: ...


def watch_over_ui(watchdog: Watchdog, clock: UiClock) -> Any:
    """READY=1 at the first frame (the window is up and drawn), then WATCHDOG=1 from the UI
    thread's own clock: if the UI freezes the pings stop, and systemd restarts the app.
    Returns the pings' clock event (None without a watchdog), to cancel on the way out."""
    clock.schedule_once(lambda _dt: watchdog.ready(), 0)
    if watchdog.interval is None:
        return None
    return clock.schedule_interval(lambda _dt: watchdog.ping(), watchdog.interval)


def _address(socket_path: str) -> str | bytes | None:
    """A path, or '@name' for a socket in the abstract namespace (a leading NUL byte)."""
    if socket_path.startswith("@"):
        return b"\0" + socket_path[1:].encode()
    if socket_path.startswith("/"):
        return socket_path
    return None  # unset, or nothing systemd would hand out


def _interval(environ: Mapping[str, str]) -> float | None:
    """Seconds between pings: half of WatchdogSec, as sd_watchdog_enabled(3) advises; None
    when there is no watchdog, or it watches a process that is neither this one nor its
    parent. On the Pi the unit's main process is cage, the compositor, and the app its child:
    systemd names cage in WATCHDOG_PID, and NotifyAccess=all lets the child's pings count."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid not in (str(os.getpid()), str(os.getppid())):
        return None
    return int(usec) / 2 / 1_000_000
