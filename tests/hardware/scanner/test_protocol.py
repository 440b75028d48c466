from __future__ import annotations

import pytest

from hardware.scanner.protocol import ScanBuffer


@pytest.mark.parametrize("line_end", [b"\r", b"\n", b"\r\n"], ids=["CR", "LF", "CRLF"])
def test_each_line_end_finishes_one_scan(line_end: bytes) -> None:
    assert ScanBuffer().feed(b"APT-20240611-0042" + line_end) == ["APT-20240611-0042"]


def test_crlf_split_between_chunks_gives_one_scan() -> None:
    buffer = ScanBuffer()
    assert buffer.feed(b"APT-1\r") == ["APT-1"]
    assert buffer.feed(b"\nAPT-2\r\n") == ["APT-2"]


def test_scan_split_across_chunks_is_joined() -> None:
    buffer = ScanBuffer()
    assert buffer.feed(b"APT-") == []
    assert buffer.feed(b"2024") == []
    assert buffer.feed(b"0611\r") == ["APT-20240611"]


def test_scan_fed_byte_by_byte_is_joined() -> None:
    buffer = ScanBuffer()
    scans = [scan for byte in b"APT-7\r\n" for scan in buffer.feed(bytes([byte]))]
    assert scans == ["APT-7"]


def test_two_scans_in_one_chunk_come_out_in_order() -> None:
    assert ScanBuffer().feed(b"APT-1\r\nAPT-2\r\n") == ["APT-1", "APT-2"]


def test_unfinished_scan_waits_for_its_line_end() -> None:
    buffer = ScanBuffer()
    assert buffer.feed(b"APT-1\rAPT-") == ["APT-1"]
    assert buffer.buffered == len(b"APT-")


def test_blank_lines_are_skipped_without_counting_as_garbage() -> None:
    buffer = ScanBuffer()
    assert buffer.feed(b"\r\n\r\n\n\r") == []
    assert buffer.discarded == 0


def test_over_long_line_is_dropped_and_the_next_scan_still_reads() -> None:
    buffer = ScanBuffer(max_length=16)
    assert buffer.feed(b"X" * 17 + b"\rAPT-1\r") == ["APT-1"]
    assert buffer.discarded == 1


def test_over_long_line_in_many_chunks_counts_once() -> None:
    buffer = ScanBuffer(max_length=16)
    for _ in range(10):
        buffer.feed(b"X" * 10)
    buffer.feed(b"\r")
    assert buffer.discarded == 1


def test_line_without_end_does_not_grow_the_buffer_without_bound() -> None:
    buffer = ScanBuffer(max_length=64)
    for _ in range(1000):
        buffer.feed(b"noise" * 20)
    assert buffer.buffered <= 64


def test_line_of_exactly_max_length_is_a_scan() -> None:
    assert ScanBuffer(max_length=16).feed(b"A" * 16 + b"\r") == ["A" * 16]


@pytest.mark.parametrize(
    "garbage",
    [b"\xff\xfe\x00\x80", b"APT\x00-1", b"APT\x1b[0m", b"\xc3("],
    ids=["line-noise", "nul", "escape", "bad-utf8"],
)
def test_garbled_line_is_dropped_and_counted(garbage: bytes) -> None:
    buffer = ScanBuffer()
    assert buffer.feed(garbage + b"\rAPT-1\r") == ["APT-1"]
    assert buffer.discarded == 1


def test_utf8_scan_is_decoded() -> None:
    assert ScanBuffer().feed("Zoë-12\r".encode()) == ["Zoë-12"]


def test_reset_forgets_a_half_received_scan() -> None:
    buffer = ScanBuffer()
    buffer.feed(b"APT-1")
    buffer.reset()
    assert buffer.feed(b"APT-2\r") == ["APT-2"]


def test_reset_ends_dropping_an_over_long_line() -> None:
    buffer = ScanBuffer(max_length=4)
    buffer.feed(b"XXXXXX")
    buffer.reset()
    assert buffer.feed(b"AB\r") == ["AB"]
