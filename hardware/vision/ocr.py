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


BAND_SHARE = 0.3  # the top of a card, where the payer's name is often light on colour


def read_words(card: Pixels) -> list[OcrWord]:
    """Every word on the card. The top band is read a second time in negative, since light
    print on a coloured band can escape the first pass; words already read are not added
    again."""
    gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY) if card.ndim == 3 else card
    words = _tesseract(gray)
    band = 255 - gray[: int(gray.shape[0] * BAND_SHARE)]
    words += [w for w in _tesseract(band) if not any(_overlap(w, seen) for seen in words)]
    return words


def _overlap(a: OcrWord, b: OcrWord) -> bool:
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    return (
        width > 0
        and height > 0
        and width * height > 0.3 * min(a.width * a.height, b.width * b.height)
    )


def _tesseract(gray: Pixels) -> list[OcrWord]:
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
