"""The barcode scanner on a serial port (pyserial), surviving unplug and replug.

    closed ──open ok──▶ connected ──read error──▶ closed (half a scan is forgotten)
      ▲  └─open fails─┐                                 │
      └───────────────┴──── retried every `reopen_interval` while reading ◀──┘

`read_scans` never raises for a missing port: the kiosk loop keeps calling it and shows
"scanner disconnected" from `connected` meanwhile.
"""

from __future__ import annotations

import contextlib
import select
import time
from types import TracebackType

import serial

from hardware.scanner.protocol import MAX_SCAN_LENGTH, ScanBuffer
from hardware.serial_port import PORT_ERRORS

__all__ = ["SerialBarcodeScanner"]


class SerialBarcodeScanner:
    """A scanner on `port`; the port is opened on first read, not in the constructor."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        reopen_interval: float = 0.5,
        max_scan_length: int = MAX_SCAN_LENGTH,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.reopen_interval = reopen_interval
        self._buffer = ScanBuffer(max_length=max_scan_length)
        self._serial: serial.Serial | None = None
        self._next_open_at = 0.0
        self._opened_at = 0.0

    @property
    def connected(self) -> bool:
        """Whether the port was open at the end of the last call."""
        return self._serial is not None

    @property
    def discarded(self) -> int:
        """How many garbled or over-long lines were dropped, for the service screen."""
        return self._buffer.discarded

    def read_scans(self, timeout: float) -> list[str]:
        """Waits up to `timeout` seconds for at least one complete scan and returns all that
        are complete (possibly none)."""
        deadline = time.monotonic() + timeout
        while True:
            port = self._open_if_due()
            remaining = deadline - time.monotonic()
            if port is None:
                if remaining <= 0:
                    return []
                time.sleep(min(remaining, max(self._next_open_at - time.monotonic(), 0.0)))
                continue
            try:
                chunk = self._read_chunk(port, max(remaining, 0.0))
            except PORT_ERRORS:
                self.close()
                # A port that fails as soon as it opens is not reopened in a tight loop.
                self._next_open_at = self._opened_at + self.reopen_interval
                continue
            scans = self._buffer.feed(chunk)
            if scans or time.monotonic() >= deadline:
                return scans

    def close(self) -> None:
        if self._serial is not None:
            # A port that is already gone has nothing left to release.
            with contextlib.suppress(*PORT_ERRORS):
                self._serial.close()
            self._serial = None
        self._buffer.reset()

    def __enter__(self) -> SerialBarcodeScanner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _open_if_due(self) -> serial.Serial | None:
        if self._serial is None and time.monotonic() >= self._next_open_at:
            try:
                self._serial = serial.Serial(self.port, baudrate=self.baudrate, timeout=0)
                self._opened_at = time.monotonic()
            except PORT_ERRORS:
                self._next_open_at = time.monotonic() + self.reopen_interval
        return self._serial

    @staticmethod
    def _read_chunk(port: serial.Serial, wait: float) -> bytes:
        ready, _, _ = select.select([port.fileno()], [], [], wait)
        if not ready:
            return b""
        # Readable with nothing to read means the device hung up; pyserial raises for it.
        return bytes(port.read(port.in_waiting or 1))
