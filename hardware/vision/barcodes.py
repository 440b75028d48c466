"""Barcodes on cards and screens: QR and 1-D codes with zbar, PDF417 with zxing-cpp (zbar
cannot read PDF417).

A licence held at an angle is straightened first (the card finder), then read; if that fails,
the frame is tried as it is and turned a little either way, since zxing-cpp's PDF417 reader
tolerates only small rotations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar

from hardware.vision.card_finder import Pixels, find_card

TURNS = (0.0, -5.0, 5.0, -10.0, 10.0, -15.0, 15.0)


@dataclass(frozen=True)
class Barcode:
    format: str  # "QRCODE", "CODE128", "PDF417", …
    text: str


def _gray(frame: Pixels) -> Pixels:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame


def read_codes(frame: Pixels) -> list[Barcode]:
    """QR codes and 1-D barcodes (an appointment's check-in code, a wristband)."""
    found = pyzbar.decode(_gray(frame))
    return [Barcode(c.type, c.data.decode("utf-8", errors="replace")) for c in found]


def _turned(gray: Pixels, degrees: float) -> Pixels:
    if not degrees:
        return gray
    height, width = gray.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(gray, matrix, (width, height), borderValue=255)


def _pdf417(gray: Pixels) -> str | None:
    results = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.PDF417),
        text_mode=zxingcpp.TextMode.Plain,
    )
    return results[0].text if results else None


def read_pdf417(frame: Pixels, *, accept: Callable[[str], bool] = bool) -> str | None:
    """The text of the PDF417 on the back of a licence, control characters kept. A symbol
    read at a slant can come back damaged beyond its error correction; `accept` says which
    readings to believe, and the next view is tried otherwise."""
    candidates = [_gray(frame)]
    card = find_card(frame)
    if card.found:
        candidates.insert(0, _gray(card.image))
    for gray in candidates:
        for degrees in TURNS:
            text = _pdf417(_turned(gray, degrees))
            if text and accept(text):
                return text
    return None


def as_bgr(image: np.ndarray) -> Pixels:
    return image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
