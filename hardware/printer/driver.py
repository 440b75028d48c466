"""The receipt printer on a serial port (pyserial), surviving unplug and replug.

Any port failure closes the port and raises `PrinterUnavailable`; the next call opens the
port again, so a printer plugged back in works without restarting the kiosk.
"""

from __future__ import annotations

import contextlib
from types import TracebackType

import serial

from hardware.printer.protocol import (
    MalformedStatusReply,
    PaperOut,
    PrinterStatus,
    PrinterUnavailable,
    Receipt,
    StatusKind,
    build_receipt,
    parse_status_reply,
    status_request,
)
from hardware.serial_port import PORT_ERRORS

__all__ = ["SerialReceiptPrinter"]


class SerialReceiptPrinter:
    """An ESC/POS printer on `port`; the port is opened on first use, not in the constructor."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 19200,
        timeout: float = 0.5,
        write_timeout: float = 5.0,
        columns: int = 42,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.write_timeout = write_timeout
        self.columns = columns
        self._serial: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def status(self) -> PrinterStatus:
        """Asks the paper sensor (DLE EOT 4)."""
        reply = self._request_paper_status()
        if not reply:
            self.close()
            raise PrinterUnavailable(f"receipt printer on {self.port} did not answer")
        try:
            return parse_status_reply(StatusKind.PAPER_SENSOR, reply)
        except MalformedStatusReply as error:
            self.close()
            raise PrinterUnavailable(f"receipt printer on {self.port}: {error}") from error

    def print_receipt(self, receipt: Receipt) -> None:
        """Checks the paper first, so an empty roll never gets half a receipt."""
        payload = build_receipt(receipt, columns=self.columns)
        paper = self.status()
        if paper.paper_out:
            raise PaperOut("the receipt printer is out of paper")
        # Not retried: after a failed write part of the receipt may already be printed.
        self._write(payload)

    def reconnect(self) -> None:
        """Opens the port again now; raises `PrinterUnavailable` if it is not back yet."""
        self.close()
        self._open()

    def close(self) -> None:
        if self._serial is not None:
            # A port that is already gone has nothing left to release.
            with contextlib.suppress(*PORT_ERRORS):
                self._serial.close()
            self._serial = None

    def __enter__(self) -> SerialReceiptPrinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _request_paper_status(self) -> bytes:
        """A port open since an earlier call may be stale (unplugged and back since), so a
        port error there gets one fresh open and a second try; asking twice prints nothing."""
        was_open = self.is_open
        try:
            return self._exchange_status(self._open())
        except PORT_ERRORS as error:
            self.close()
            if not was_open:
                raise PrinterUnavailable(f"receipt printer on {self.port}: {error}") from error
        try:
            return self._exchange_status(self._open())
        except PORT_ERRORS as error:
            self.close()
            raise PrinterUnavailable(f"receipt printer on {self.port}: {error}") from error

    @staticmethod
    def _exchange_status(port: serial.Serial) -> bytes:
        port.reset_input_buffer()  # a late reply to an earlier request would be misread
        port.write(status_request(StatusKind.PAPER_SENSOR))
        return bytes(port.read(1))

    def _write(self, payload: bytes) -> None:
        port = self._open()
        try:
            port.write(payload)
        except PORT_ERRORS as error:
            self.close()
            raise PrinterUnavailable(f"receipt printer on {self.port}: {error}") from error

    def _open(self) -> serial.Serial:
        if self._serial is None:
            try:
                self._serial = serial.Serial(
                    self.port,
                    baudrate=self.baudrate,
                    timeout=self.timeout,
                    write_timeout=self.write_timeout,
                )
            except PORT_ERRORS as error:
                raise PrinterUnavailable(f"cannot open {self.port}: {error}") from error
        return self._serial
