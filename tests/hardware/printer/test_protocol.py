from __future__ import annotations

import pytest

from hardware.printer.protocol import (
    QR_MAX_BYTES,
    MalformedStatusReply,
    PrinterStatus,
    Receipt,
    ReceiptLine,
    StatusKind,
    build_receipt,
    format_dollars,
    parse_status_reply,
    status_request,
)

GS_K = b"\x1d(k"


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(0, "$0.00"), (5, "$0.05"), (2500, "$25.00"), (123456, "$1,234.56"), (-250, "-$2.50")],
)
def test_cents_are_shown_as_dollars(cents: int, shown: str) -> None:
    assert format_dollars(cents) == shown


def test_receipt_byte_stream_matches_the_escpos_commands() -> None:
    receipt = Receipt(
        clinic_name="Elm St Clinic",
        lines=(ReceiptLine("Jane Doe"), ReceiptLine("Copay", 2500)),
        qr_code="APT-1",
    )
    expected = (
        b"\x1b@"  # ESC @ initialise
        b"\x1ba\x01\x1bE\x01Elm St Clinic\n\x1bE\x00\x1ba\x00"  # centred, bold name
        b"Jane Doe\n"
        b"Copay    $25.00\n"  # amount flush right in 15 columns
        b"\x1ba\x01"
        b"\x1d(k\x04\x001A2\x00"  # QR model 2
        b"\x1d(k\x03\x001C\x06"  # module size 6
        b"\x1d(k\x03\x001E1"  # error correction M
        b"\x1d(k\x08\x001P0APT-1"  # store 5 bytes (+3)
        b"\x1d(k\x03\x001Q0"  # print
        b"\n\x1ba\x00"
        b"\x1dVB\x00"  # GS V 66 0: feed and partial cut
    )
    assert build_receipt(receipt, columns=15) == expected


def test_receipt_without_qr_code_has_no_qr_commands() -> None:
    assert GS_K not in build_receipt(Receipt("Elm St Clinic", (ReceiptLine("Thank you"),)))


def test_receipt_ends_with_the_cut() -> None:
    assert build_receipt(Receipt("Elm St Clinic")).endswith(b"\x1dVB\x00")


def test_amount_line_fills_the_paper_width() -> None:
    stream = build_receipt(Receipt("C", (ReceiptLine("Visit", 12345),)), columns=42)
    assert b"Visit" + b" " * 30 + b"$123.45\n" in stream


def test_long_text_wraps_with_the_amount_on_its_last_row() -> None:
    line = ReceiptLine("Office visit established patient", 9900)
    stream = build_receipt(Receipt("C", (line,)), columns=20)
    assert b"Office visit\nestablished\npatient       $99.00\n" in stream


def test_control_characters_in_text_cannot_send_commands() -> None:
    stream = build_receipt(Receipt("C", (ReceiptLine("Jane\x1dV\x00Doe"),)))
    assert b"Jane V Doe\n" in stream


def test_text_is_encoded_in_the_printers_code_page() -> None:
    stream = build_receipt(Receipt("C", (ReceiptLine("Zoë Ñúñez"),)))
    assert "Zoë Ñúñez".encode("cp437") + b"\n" in stream


def test_character_outside_the_code_page_prints_as_question_mark() -> None:
    assert b"Li ?\n" in build_receipt(Receipt("C", (ReceiptLine("Li 李"),)))


def test_qr_store_command_counts_utf8_bytes() -> None:
    data = "é" * 200  # 400 bytes: the length needs both pL and pH
    stream = build_receipt(Receipt("C", qr_code=data))
    assert GS_K + (403).to_bytes(2, "little") + b"1P0" + data.encode() in stream


def test_qr_code_of_the_largest_size_is_accepted() -> None:
    assert b"1Q0" in build_receipt(Receipt("C", qr_code="A" * QR_MAX_BYTES))


def test_qr_code_too_long_to_print_is_refused() -> None:
    with pytest.raises(ValueError, match="QR code"):
        build_receipt(Receipt("C", qr_code="A" * (QR_MAX_BYTES + 1)))


@pytest.mark.parametrize(
    ("kind", "request_bytes"),
    [(StatusKind.PRINTER, b"\x10\x04\x01"), (StatusKind.PAPER_SENSOR, b"\x10\x04\x04")],
)
def test_status_request_is_dle_eot_n(kind: StatusKind, request_bytes: bytes) -> None:
    assert status_request(kind) == request_bytes


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (0x12, PrinterStatus(paper_near_end=False, paper_out=False)),
        (0x1E, PrinterStatus(paper_near_end=True, paper_out=False)),
        (0x72, PrinterStatus(paper_near_end=False, paper_out=True)),
        (0x7E, PrinterStatus(paper_near_end=True, paper_out=True)),
        (0x16, PrinterStatus(paper_near_end=True, paper_out=False)),  # one sensor bit only
        (0x32, PrinterStatus(paper_near_end=False, paper_out=True)),
    ],
    ids=["paper-ok", "near-end", "paper-out", "near-end-and-out", "near-end-bit2", "out-bit5"],
)
def test_paper_sensor_reply_is_read(reply: int, status: PrinterStatus) -> None:
    assert parse_status_reply(StatusKind.PAPER_SENSOR, bytes([reply])) == status


@pytest.mark.parametrize(("reply", "offline"), [(0x12, False), (0x1A, True), (0x16, False)])
def test_printer_status_reply_is_read(reply: int, offline: bool) -> None:
    assert parse_status_reply(StatusKind.PRINTER, bytes([reply])) == PrinterStatus(offline=offline)


@pytest.mark.parametrize("reply", [b"", b"\x00", b"\xff", b"\x13", b"\x92", b"\x12\x12"], ids=repr)
def test_reply_without_the_fixed_bits_is_malformed(reply: bytes) -> None:
    with pytest.raises(MalformedStatusReply):
        parse_status_reply(StatusKind.PAPER_SENSOR, reply)
