"""The ESC/POS receipt printer: `protocol` builds and parses the bytes, `simulator` stands in
for it; the serial driver is `hardware.printer.driver.SerialReceiptPrinter`, imported from
there so that using the types does not need pyserial installed."""

from hardware.printer.protocol import (
    MalformedStatusReply,
    PaperOut,
    PrinterError,
    PrinterStatus,
    PrinterUnavailable,
    Receipt,
    ReceiptLine,
    StatusKind,
    build_receipt,
    format_dollars,
    parse_status_reply,
    status_request,
)
from hardware.printer.simulator import SimulatedPrinter

__all__ = [
    "MalformedStatusReply",
    "PaperOut",
    "PrinterError",
    "PrinterStatus",
    "PrinterUnavailable",
    "Receipt",
    "ReceiptLine",
    "SimulatedPrinter",
    "StatusKind",
    "build_receipt",
    "format_dollars",
    "parse_status_reply",
    "status_request",
]
