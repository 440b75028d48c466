"""Tesseract over a straightened card: words with their boxes and confidences.

One pass in uniform-block mode (`--psm 6`) over the grey card reads both dark print and the
light-on-colour payer band; the LSTM engine only (`--oem 1`). Tesseract is a program, so this
is the one place the card reader does I/O.
"""

from __future__ import annotations

import cv2
import pytesseract

from hardware.vision.card_finder import Pixels
from hardware.vision.words import OcrWord

TESSERACT_CONFIG = "--psm 6 --oem 1"


class OcrUnavailable(RuntimeError):
    """Tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng)."""


def read_words(card: Pixels) -> list[OcrWord]:
    gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY) if card.ndim == 3 else card
    try:
        data = pytesseract.image_to_data(
            gray, config=TESSERACT_CONFIG, output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(str(OcrUnavailable.__doc__)) from exc
    words = []
    for i, text in enumerate(data["text"]):
        confidence = float(data["conf"][i])
        if not text.strip() or confidence < 0:
            continue
        words.append(
            OcrWord(
                text=text.strip(),
                left=int(data["left"][i]),
                top=int(data["top"][i]),
                width=int(data["width"][i]),
                height=int(data["height"][i]),
                confidence=min(1.0, confidence / 100),
            )
        )
    return words
