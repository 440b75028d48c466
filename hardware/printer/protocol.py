"""ESC/POS for the receipt printer, as bytes in and values out: no port is touched here.

Errors:

    PrinterError
     ├── PaperOut               the paper sensor says the roll is empty; nothing was sent
     ├── PrinterUnavailable     the port is gone (unplugged) or the printer did not answer
     └── MalformedStatusReply   a status byte without the fixed bits ESC/POS promises
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from enum import IntEnum

from shared.money import format_dollars

__all__ = [
    "QR_MAX_BYTES",
    "MalformedStatusReply",
    "PaperOut",
    "PrinterError",
    "PrinterStatus",
    "PrinterUnavailable",
    "Receipt",
    "ReceiptLine",
    "StatusKind",
    "build_receipt",
    "format_dollars",
    "parse_status_reply",
    "status_request",
]

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

INITIALIZE = ESC + b"@"
ALIGN_LEFT = ESC + b"a\x00"
ALIGN_CENTER = ESC + b"a\x01"
BOLD_ON = ESC + b"E\x01"
BOLD_OFF = ESC + b"E\x00"
# GS V 66 0: feed to the cutter, then a partial cut, so the receipt hangs until taken.
FEED_AND_CUT = GS + b"V\x42\x00"

QR_MODEL_2 = GS + b"(k\x04\x00\x31\x41\x32\x00"
QR_MODULE_SIZE = GS + b"(k\x03\x00\x31\x43\x06"
QR_ERROR_CORRECTION_M = GS + b"(k\x03\x00\x31\x45\x31"
QR_PRINT = GS + b"(k\x03\x00\x31\x51\x30"
# A version-40 QR code at error correction M holds this many bytes; more cannot be printed.
QR_MAX_BYTES = 2331

RECEIPT_CODEC = "cp437"  # the code page every ESC/POS printer starts in after ESC @


class PrinterError(Exception):
    """Something the kiosk must tell staff about instead of printing."""


class PaperOut(PrinterError):
    """Raised before any receipt byte is sent, so no half receipt comes out."""


class PrinterUnavailable(PrinterError):
    """The port vanished or the printer stayed silent; a later call may succeed again."""


class MalformedStatusReply(PrinterError, ValueError):
    """The byte read back is not a status reply: wrong baud rate or wrong device."""


@dataclass(frozen=True)
class ReceiptLine:
    """One line of a receipt; an amount is printed right-aligned in dollars."""

    text: str
    amount_cents: int | None = None


@dataclass(frozen=True)
class Receipt:
    clinic_name: str
    lines: tuple[ReceiptLine, ...] = ()
    qr_code: str | None = None


class StatusKind(IntEnum):
    """The `n` of DLE EOT n: which real-time status the printer is asked for."""

    PRINTER = 1
    PAPER_SENSOR = 4


@dataclass(frozen=True)
class PrinterStatus:
    """What a status reply said; a field is None when the reply that carries it was not asked."""

    offline: bool | None = None
    paper_near_end: bool | None = None
    paper_out: bool | None = None


def build_receipt(receipt: Receipt, *, columns: int = 42) -> bytes:
    """The whole byte stream for one receipt, from reset to cut, for a paper `columns` wide."""
    if receipt.qr_code is not None:
        _check_qr_fits(receipt.qr_code)
    out = bytearray(INITIALIZE)
    out += ALIGN_CENTER + BOLD_ON
    for row in _wrap(receipt.clinic_name, columns):
        out += _encode(row) + LF
    out += BOLD_OFF + ALIGN_LEFT
    for line in receipt.lines:
        for row in _layout_line(line, columns):
            out += _encode(row) + LF
    if receipt.qr_code is not None:
        out += ALIGN_CENTER + _qr_code(receipt.qr_code) + LF + ALIGN_LEFT
    out += FEED_AND_CUT
    return bytes(out)


def status_request(kind: StatusKind) -> bytes:
    return DLE + EOT + bytes([kind])


def parse_status_reply(kind: StatusKind, reply: bytes) -> PrinterStatus:
    """Reads the one byte answered to DLE EOT n; bits 1 and 4 are always set, 0 and 7 never."""
    if len(reply) != 1 or reply[0] & 0b1001_0011 != 0b0001_0010:
        raise MalformedStatusReply(f"not a status reply to DLE EOT {int(kind)}: {reply!r}")
    bits = reply[0]
    if kind is StatusKind.PRINTER:
        return PrinterStatus(offline=bool(bits & 0b0000_1000))
    # Each condition is reported on two bits (two sensors or a doubled flag); either counts.
    return PrinterStatus(
        paper_near_end=bool(bits & 0b0000_1100),
        paper_out=bool(bits & 0b0110_0000),
    )


def _layout_line(line: ReceiptLine, columns: int) -> list[str]:
    if line.amount_cents is None:
        return _wrap(line.text, columns)
    amount = format_dollars(line.amount_cents)
    rows = _wrap(line.text, max(columns - len(amount) - 1, 1))
    rows[-1] = rows[-1].ljust(columns - len(amount)) + amount
    return rows


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(_printable(text), width) or [""]


def _printable(text: str) -> str:
    """Control characters become spaces, so text from a patient record cannot send commands."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _encode(text: str) -> bytes:
    return text.encode(RECEIPT_CODEC, errors="replace")


def _check_qr_fits(data: str) -> None:
    size = len(data.encode("utf-8"))
    if size > QR_MAX_BYTES:
        raise ValueError(f"QR code data is {size} bytes; at most {QR_MAX_BYTES} fit")


def _qr_code(data: str) -> bytes:
    payload = data.encode("utf-8")
    stored_length = len(payload) + 3  # GS ( k counts cn, fn and m too
    store = GS + b"(k" + stored_length.to_bytes(2, "little") + b"\x31\x50\x30" + payload
    return QR_MODEL_2 + QR_MODULE_SIZE + QR_ERROR_CORRECTION_M + store + QR_PRINT
