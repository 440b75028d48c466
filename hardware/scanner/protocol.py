"""What a hand-held scanner in serial mode sends: each scan as text ended by CR, LF or CRLF.

Bytes arrive in arbitrary chunks, so `ScanBuffer` keeps the unfinished tail between reads.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SCAN_LENGTH", "ScanBuffer"]

# Appointment QR codes are short tokens; anything longer is noise or the wrong device.
MAX_SCAN_LENGTH = 512

_LINE_END = re.compile(rb"[\r\n]")


class ScanBuffer:
    """Turns byte chunks into complete scans.

    CR and LF both end a scan and empty lines are skipped, which handles CR, LF and CRLF
    alike, even with CR and LF in different chunks. A line longer than `max_length`, not
    UTF-8, or holding control characters is dropped and counted in `discarded`; an
    over-long line is dropped as it grows, so memory stays bounded without a line end.
    """

    def __init__(self, *, max_length: int = MAX_SCAN_LENGTH) -> None:
        self.max_length = max_length
        self.discarded = 0
        self._pending = bytearray()
        self._overflowed = False  # dropping the rest of an over-long line up to its end

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished scan held now; never more than `max_length`."""
        return len(self._pending)

    def feed(self, chunk: bytes) -> list[str]:
        *finished, unfinished = _LINE_END.split(chunk)
        scans: list[str] = []
        for piece in finished:
            line = self._take(piece)
            if line is not None:
                scan = self._decode(line)
                if scan is not None:
                    scans.append(scan)
        self._take_partial(unfinished)
        return scans

    def reset(self) -> None:
        """Forgets a half-received scan, e.g. when the scanner was unplugged mid-scan."""
        self._pending.clear()
        self._overflowed = False

    def _take(self, piece: bytes) -> bytes | None:
        """The whole line that `piece` ends, or None when it was already dropped."""
        self._take_partial(piece)
        if self._overflowed:
            self._overflowed = False
            return None
        line = bytes(self._pending)
        self._pending.clear()
        return line

    def _take_partial(self, piece: bytes) -> None:
        if self._overflowed:
            return
        self._pending += piece
        if len(self._pending) > self.max_length:
            self._pending.clear()
            self._overflowed = True
            self.discarded += 1

    def _decode(self, line: bytes) -> str | None:
        if not line:
            return None
        try:
            scan = line.decode("utf-8")
        except UnicodeDecodeError:
            self.discarded += 1
            return None
        if not scan.isprintable():
            self.discarded += 1
            return None
        return scan
