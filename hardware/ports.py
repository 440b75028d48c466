"""The small interfaces the kiosk codes against; drivers and simulators both satisfy them."""

from __future__ import annotations

from typing import Protocol

from hardware.printer.protocol import PrinterStatus, Receipt

__all__ = ["BarcodeScanner", "ReceiptPrinter"]


class ReceiptPrinter(Protocol):
    """Raises `PaperOut` or `PrinterUnavailable` (hardware.printer) rather than print half."""

    def status(self) -> PrinterStatus: ...

    def print_receipt(self, receipt: Receipt) -> None: ...


class BarcodeScanner(Protocol):
    """Never raises for an unplugged scanner; `connected` says so instead."""

    @property
    def connected(self) -> bool: ...

    def read_scans(self, timeout: float) -> list[str]: ...
