"""A receipt printer in memory, for the kiosk's demo and tests."""

from __future__ import annotations

from hardware.printer.protocol import (
    PaperOut,
    PrinterStatus,
    PrinterUnavailable,
    Receipt,
    build_receipt,
)

__all__ = ["SimulatedPrinter"]


class SimulatedPrinter:
    """Keeps what it prints; `paper_out`, `paper_near_end` and `connected` can be switched
    to rehearse the screens for an empty roll or an unplugged printer."""

    def __init__(self, *, columns: int = 42) -> None:
        self.columns = columns
        self.printed: list[Receipt] = []
        self.paper_out = False
        self.paper_near_end = False
        self.connected = True

    def status(self) -> PrinterStatus:
        if not self.connected:
            raise PrinterUnavailable("simulated printer is unplugged")
        return PrinterStatus(paper_near_end=self.paper_near_end, paper_out=self.paper_out)

    def print_receipt(self, receipt: Receipt) -> None:
        build_receipt(receipt, columns=self.columns)  # rejects what the real printer would
        if self.status().paper_out:
            raise PaperOut("the simulated printer is out of paper")
        self.printed.append(receipt)

    def reconnect(self) -> None:
        if not self.connected:
            raise PrinterUnavailable("simulated printer is unplugged")
