"""The whole read of an insurance card or a licence, from image files or frames to the JSON
the technicians' commands print and the kiosk sends.

    image ──▶ find and straighten the card ──▶ quality checks
                     └──▶ Tesseract words ──▶ fields with confidences   (insurance card)
    image ──▶ PDF417 (straightened, turned) ──▶ AAMVA fields           (licence)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from hardware.vision.aamva import AamvaError, LicenceData, parse
from hardware.vision.barcodes import read_pdf417
from hardware.vision.card_fields import CardReading, extract_card_fields
from hardware.vision.card_finder import Pixels, find_card
from hardware.vision.ocr import read_words
from hardware.vision.quality import QualityReport, assess
from shared.contracts.kiosk import CardFieldName

# The command's keys, in its order, and the contract's name for each.
CARD_KEYS = {
    "payer_name": CardFieldName.PAYER_NAME,
    "plan_name": CardFieldName.PLAN_NAME,
    "member_name": CardFieldName.MEMBER_NAME,
    "member_id": CardFieldName.MEMBER_ID,
    "group_number": CardFieldName.GROUP_NUMBER,
    "rx_bin": CardFieldName.RX_BIN,
    "rx_pcn": CardFieldName.RX_PCN,
    "rx_group": CardFieldName.RX_GRP,
    "copay_primary_care": CardFieldName.COPAY_PRIMARY_CARE,
    "copay_specialist": CardFieldName.COPAY_SPECIALIST,
    "copay_urgent_care": CardFieldName.COPAY_URGENT_CARE,
    "copay_emergency": CardFieldName.COPAY_EMERGENCY,
}


class UnreadableImage(ValueError):
    """Not an image file, or not one that can be opened."""


class NoBarcode(ValueError):
    """No PDF417 that reads as an AAMVA licence."""


def load_image(path: Path) -> Pixels:
    if not path.is_file():
        raise UnreadableImage(f"no such file: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableImage(f"not an image this reader can open: {path}")
    return image


@dataclass(frozen=True)
class CardRead:
    reading: CardReading
    quality: QualityReport

    def to_json(self) -> dict[str, Any]:
        values = {key: self.reading.value(name) for key, name in CARD_KEYS.items()}
        confidence = {
            key: round(self.reading[name].confidence, 3) for key, name in CARD_KEYS.items()
        }
        review = sorted(key for key, name in CARD_KEYS.items() if self.reading[name].needs_review)
        return {
            **values,
            "payer_id": self.reading.value(CardFieldName.PAYER_ID),
            "confidence": confidence,
            "needs_review": review,
            "quality": self.quality.to_json(),
        }


def read_insurance_card(front: Pixels, back: Pixels | None = None) -> CardRead:
    """Both sides' words go to one extraction: Rx numbers and copays are often on the back."""
    card = find_card(front)
    words = read_words(card.image)
    if back is not None:
        back_card = find_card(back).image
        offset = card.image.shape[0] + 40  # the back's words sit below the front's
        words += [
            type(w)(w.text, w.left, w.top + offset, w.width, w.height, w.confidence)
            for w in read_words(back_card)
        ]
    return CardRead(reading=extract_card_fields(words), quality=assess(card))


def _is_aamva(text: str) -> bool:
    try:
        parse(text)
    except AamvaError:
        return False
    return True


def read_licence(frame: Pixels) -> LicenceData:
    text = read_pdf417(frame, accept=_is_aamva)
    if text is None:
        raise NoBarcode("no licence barcode (PDF417) could be read in this image")
    return parse(text)
