"""The serial driver against a scanner played on the master side of a real pseudo-terminal.

Unplugging closes the master; replugging opens a new pair and re-points the symlink the
driver was given, as a USB scanner comes back under the same device path.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.scanner.driver import SerialBarcodeScanner
from hardware.scanner.simulator import SimulatedScanner

WAIT = 1.0  # upper bound for a scan that is already on its way; returns as soon as it lands


class PtyScanner:
    """A scanner on a pty master; the slave stays open, as a device node would."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        self.path = os.ttyname(self._slave)

    def send(self, data: bytes) -> None:
        os.write(self._master, data)

    def unplug(self) -> None:
        os.close(self._master)
        os.close(self._slave)


class PtyPlug:
    """The stable device path (a symlink) and whichever scanner is plugged in behind it."""

    def __init__(self, port: Path) -> None:
        self.port = port
        self.scanner: PtyScanner | None = None

    def plug_in(self) -> PtyScanner:
        self.scanner = PtyScanner()
        staged = self.port.with_name(self.port.name + ".new")
        os.symlink(self.scanner.path, staged)
        os.replace(staged, self.port)
        return self.scanner

    def unplug(self) -> None:
        # The node goes with the device, as udev removes it; a stale link could otherwise
        # reach a pty another test (or xdist worker) opened under the reused pts number.
        self.port.unlink(missing_ok=True)
        if self.scanner is not None:
            self.scanner.unplug()
            self.scanner = None


@pytest.fixture
def plug(tmp_path: Path) -> Iterator[PtyPlug]:
    plug = PtyPlug(tmp_path / "ttySCANNER")
    yield plug
    plug.unplug()


@pytest.fixture
def driver(plug: PtyPlug) -> Iterator[SerialBarcodeScanner]:
    with SerialBarcodeScanner(str(plug.port), reopen_interval=0.02) as driver:
        yield driver


def connect(plug: PtyPlug, driver: SerialBarcodeScanner) -> PtyScanner:
    """Plugs a scanner in and lets the driver open it, so nothing sent is flushed by open."""
    scanner = plug.plug_in()
    deadline = time.monotonic() + WAIT
    while not driver.connected and time.monotonic() < deadline:
        driver.read_scans(0.01)  # reopening waits out `reopen_interval` after a failure
    assert driver.connected
    return scanner


def test_scan_ended_by_cr_is_read(plug: PtyPlug, driver: SerialBarcodeScanner) -> None:
    connect(plug, driver).send(b"APT-20240611-0042\r")
    assert driver.read_scans(WAIT) == ["APT-20240611-0042"]


def test_crlf_gives_one_scan_each(plug: PtyPlug, driver: SerialBarcodeScanner) -> None:
    connect(plug, driver).send(b"APT-1\r\n")
    assert driver.read_scans(WAIT) == ["APT-1"]


def test_two_scans_in_one_chunk_come_out_in_order(
    plug: PtyPlug, driver: SerialBarcodeScanner
) -> None:
    connect(plug, driver).send(b"APT-1\r\nAPT-2\r\n")
    assert driver.read_scans(WAIT) == ["APT-1", "APT-2"]


def test_scan_split_across_chunks_is_joined(plug: PtyPlug, driver: SerialBarcodeScanner) -> None:
    scanner = connect(plug, driver)
    scanner.send(b"APT-2024")
    assert driver.read_scans(0.05) == []
    scanner.send(b"0611\r\n")
    assert driver.read_scans(WAIT) == ["APT-20240611"]


def test_scan_sent_while_waiting_is_returned_when_it_lands(
    plug: PtyPlug, driver: SerialBarcodeScanner
) -> None:
    scanner = connect(plug, driver)
    timer = threading.Timer(0.05, scanner.send, args=(b"APT-1\r",))
    timer.start()
    try:
        assert driver.read_scans(WAIT) == ["APT-1"]
    finally:
        timer.join()


def test_no_scan_returns_empty_after_the_timeout(
    plug: PtyPlug, driver: SerialBarcodeScanner
) -> None:
    connect(plug, driver)
    started = time.monotonic()
    assert driver.read_scans(0.05) == []
    assert time.monotonic() - started >= 0.05


def test_missing_port_reports_disconnected(driver: SerialBarcodeScanner) -> None:
    assert driver.read_scans(0.05) == []
    assert not driver.connected


def test_unplug_reports_disconnected_without_raising(
    plug: PtyPlug, driver: SerialBarcodeScanner
) -> None:
    connect(plug, driver)
    plug.unplug()
    assert driver.read_scans(0.05) == []
    assert not driver.connected


def test_scanner_plugged_in_later_is_found(plug: PtyPlug, driver: SerialBarcodeScanner) -> None:
    driver.read_scans(0)
    scanner = plug.plug_in()
    driver.read_scans(0.05)
    scanner.send(b"APT-1\r")
    assert driver.read_scans(WAIT) == ["APT-1"]


def test_replugged_scanner_reads_again(plug: PtyPlug, driver: SerialBarcodeScanner) -> None:
    connect(plug, driver)
    plug.unplug()
    driver.read_scans(0.05)
    connect(plug, driver).send(b"APT-2\r\n")
    assert driver.read_scans(WAIT) == ["APT-2"]


def test_replug_unnoticed_by_the_driver_reconnects_within_one_read(
    plug: PtyPlug, driver: SerialBarcodeScanner
) -> None:
    connect(plug, driver)
    plug.unplug()
    replugged = plug.plug_in()
    timer = threading.Timer(0.1, replugged.send, args=(b"APT-2\r",))
    timer.start()
    try:
        assert driver.read_scans(WAIT) == ["APT-2"]
    finally:
        timer.join()
    assert driver.connected


def test_half_scan_before_unplug_is_not_glued_to_the_next(
    plug: PtyPlug, driver: SerialBarcodeScanner
) -> None:
    connect(plug, driver).send(b"APT-1")
    assert driver.read_scans(0.05) == []
    plug.unplug()
    driver.read_scans(0.05)
    connect(plug, driver).send(b"APT-2\r")
    assert driver.read_scans(WAIT) == ["APT-2"]


def test_simulated_scanner_returns_fed_scans_in_order() -> None:
    scanner = SimulatedScanner()
    scanner.feed("APT-1", "APT-2")
    assert scanner.read_scans(0.01) == ["APT-1", "APT-2"]


def test_simulated_scanner_waits_out_the_timeout_when_idle() -> None:
    started = time.monotonic()
    assert SimulatedScanner().read_scans(0.05) == []
    assert time.monotonic() - started >= 0.05


def test_simulated_scanner_unplugged_holds_scans_until_replugged() -> None:
    scanner = SimulatedScanner()
    scanner.feed("APT-1")
    scanner.connected = False
    assert scanner.read_scans(0.01) == []
    scanner.connected = True
    assert scanner.read_scans(0.01) == ["APT-1"]
