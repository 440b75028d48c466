"""A signature's strokes drawn as a PNG, in pure Python: what the back office keeps beside
the strokes, so staff and auditors see the signature without replaying it."""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence

Point = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def render_png(strokes: Sequence[Sequence[Point]], *, width: int = 600, height: int = 200) -> bytes:
    """Black strokes, three pixels wide, on white; points outside the pad are clipped."""
    ink = [bytearray(b"\xff" * width) for _ in range(height)]

    def dot(x: int, y: int) -> None:
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if 0 <= x + dx < width and 0 <= y + dy < height:
                    ink[y + dy][x + dx] = 0

    for stroke in strokes:
        for (x0, y0, _), (x1, y1, _) in itertools.pairwise(stroke):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for i in range(steps + 1):
                dot(x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps)
        if len(stroke) == 1:
            dot(stroke[0][0], stroke[0][1])
    raw = b"".join(b"\x00" + bytes(row) for row in ink)  # filter 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )
