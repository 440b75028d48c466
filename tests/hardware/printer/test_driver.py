"""The serial driver against a printer played on the master side of a real pseudo-terminal.

Unplugging closes the master; replugging opens a new pair and re-points the symlink the
driver was given, as a USB printer comes back under the same device path.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.printer.driver import SerialReceiptPrinter
from hardware.printer.protocol import (
    PaperOut,
    PrinterStatus,
    PrinterUnavailable,
    Receipt,
    ReceiptLine,
    build_receipt,
)
from hardware.printer.simulator import SimulatedPrinter

PAPER_STATUS_REQUEST = b"\x10\x04\x04"
PAPER_OK = b"\x12"
PAPER_NEAR_END = b"\x1e"
PAPER_OUT = b"\x72"

RECEIPT = Receipt(
    clinic_name="Elm St Clinic",
    lines=(ReceiptLine("Jane Doe"), ReceiptLine("Copay", 2500)),
    qr_code="APT-20240611-0042",
)


class PtyPrinter:
    """An ESC/POS printer on a pty master: answers each DLE EOT 4 with `paper_reply` (or
    stays silent when it is None) and keeps every byte it receives."""

    def __init__(self, paper_reply: bytes | None = PAPER_OK) -> None:
        self.paper_reply = paper_reply
        self._master, self._slave = os.openpty()  # the slave stays open, as a device node
        self.path = os.ttyname(self._slave)
        self._received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def received(self) -> bytes:
        """Everything sent so far; stops answering, so call it once the driver is done."""
        self._stop_serving()
        while select.select([self._master], [], [], 0)[0]:
            self._received += os.read(self._master, 4096)
        return bytes(self._received)

    def unplug(self) -> None:
        self._stop_serving()
        os.close(self._master)
        os.close(self._slave)

    def _stop_serving(self) -> None:
        self._stop.set()
        self._thread.join()

    def _serve(self) -> None:
        answered = 0
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.01)[0]:
                continue
            self._received += os.read(self._master, 4096)
            while answered < self._received.count(PAPER_STATUS_REQUEST):
                answered += 1
                if self.paper_reply is not None:
                    os.write(self._master, self.paper_reply)


class PtyPlug:
    """The stable device path (a symlink) and whichever printer is plugged in behind it."""

    def __init__(self, port: Path) -> None:
        self.port = port
        self.printer: PtyPrinter | None = None

    def plug_in(self, paper_reply: bytes | None = PAPER_OK) -> PtyPrinter:
        self.printer = PtyPrinter(paper_reply)
        staged = self.port.with_name(self.port.name + ".new")
        os.symlink(self.printer.path, staged)
        os.replace(staged, self.port)
        return self.printer

    def unplug(self) -> None:
        # The node goes with the device, as udev removes it; a stale link could otherwise
        # reach a pty another test (or xdist worker) opened under the reused pts number.
        self.port.unlink(missing_ok=True)
        if self.printer is not None:
            self.printer.unplug()
            self.printer = None


@pytest.fixture
def plug(tmp_path: Path) -> Iterator[PtyPlug]:
    plug = PtyPlug(tmp_path / "ttyPRINTER")
    yield plug
    plug.unplug()


@pytest.fixture
def driver(plug: PtyPlug) -> Iterator[SerialReceiptPrinter]:
    with SerialReceiptPrinter(str(plug.port), timeout=0.2, write_timeout=1.0) as driver:
        yield driver


def test_status_sends_dle_eot_4(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    printer = plug.plug_in()
    driver.status()
    assert printer.received() == PAPER_STATUS_REQUEST


def test_status_reports_paper_near_end(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    plug.plug_in(PAPER_NEAR_END)
    assert driver.status() == PrinterStatus(paper_near_end=True, paper_out=False)


def test_receipt_bytes_arrive_exactly_as_built(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    printer = plug.plug_in()
    driver.print_receipt(RECEIPT)
    assert printer.received() == PAPER_STATUS_REQUEST + build_receipt(RECEIPT)


def test_paper_out_raises_and_prints_nothing(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    printer = plug.plug_in(PAPER_OUT)
    with pytest.raises(PaperOut):
        driver.print_receipt(RECEIPT)
    assert printer.received() == PAPER_STATUS_REQUEST


def test_paper_near_end_still_prints(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    printer = plug.plug_in(PAPER_NEAR_END)
    driver.print_receipt(RECEIPT)
    assert printer.received().endswith(build_receipt(RECEIPT))


def test_silent_printer_is_unavailable_and_prints_nothing(
    plug: PtyPlug, driver: SerialReceiptPrinter
) -> None:
    printer = plug.plug_in(paper_reply=None)
    with pytest.raises(PrinterUnavailable, match="did not answer"):
        driver.print_receipt(RECEIPT)
    assert printer.received() == PAPER_STATUS_REQUEST


def test_garbled_status_reply_is_unavailable(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    plug.plug_in(paper_reply=b"\xff")
    with pytest.raises(PrinterUnavailable):
        driver.status()


def test_constructor_does_not_need_the_port(tmp_path: Path) -> None:
    printer = SerialReceiptPrinter(str(tmp_path / "ttyMISSING"))
    assert not printer.is_open


def test_missing_port_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable, match="cannot open"):
        SerialReceiptPrinter(str(tmp_path / "ttyMISSING")).print_receipt(RECEIPT)


def test_unplugged_printer_is_unavailable(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    plug.plug_in()
    driver.status()
    plug.unplug()
    with pytest.raises(PrinterUnavailable):
        driver.print_receipt(RECEIPT)


def test_unplug_closes_the_port(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    plug.plug_in()
    driver.status()
    plug.unplug()
    with pytest.raises(PrinterUnavailable):
        driver.status()
    assert not driver.is_open


def test_replugged_printer_prints_after_a_failed_call(
    plug: PtyPlug, driver: SerialReceiptPrinter
) -> None:
    plug.plug_in()
    driver.status()
    plug.unplug()
    with pytest.raises(PrinterUnavailable):
        driver.print_receipt(RECEIPT)
    replugged = plug.plug_in()
    driver.print_receipt(RECEIPT)
    assert replugged.received() == PAPER_STATUS_REQUEST + build_receipt(RECEIPT)


def test_replugged_printer_prints_on_the_first_call_after_an_unnoticed_unplug(
    plug: PtyPlug, driver: SerialReceiptPrinter
) -> None:
    plug.plug_in()
    driver.status()
    plug.unplug()
    replugged = plug.plug_in()
    driver.print_receipt(RECEIPT)
    assert replugged.received() == PAPER_STATUS_REQUEST + build_receipt(RECEIPT)


def test_reconnect_raises_while_unplugged(plug: PtyPlug, driver: SerialReceiptPrinter) -> None:
    with pytest.raises(PrinterUnavailable):
        driver.reconnect()


def test_reconnect_opens_the_port_once_it_is_back(
    plug: PtyPlug, driver: SerialReceiptPrinter
) -> None:
    plug.plug_in()
    driver.reconnect()
    assert driver.is_open


def test_simulated_printer_keeps_what_it_prints() -> None:
    printer = SimulatedPrinter()
    printer.print_receipt(RECEIPT)
    assert printer.printed == [RECEIPT]


def test_simulated_printer_out_of_paper_raises_and_keeps_nothing() -> None:
    printer = SimulatedPrinter()
    printer.paper_out = True
    with pytest.raises(PaperOut):
        printer.print_receipt(RECEIPT)
    assert printer.printed == []


def test_simulated_printer_unplugged_is_unavailable() -> None:
    printer = SimulatedPrinter()
    printer.connected = False
    with pytest.raises(PrinterUnavailable):
        printer.status()


def test_simulated_printer_refuses_what_the_real_one_would() -> None:
    with pytest.raises(ValueError, match="QR code"):
        SimulatedPrinter().print_receipt(Receipt("C", qr_code="A" * 5000))
