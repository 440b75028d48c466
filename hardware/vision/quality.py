"""Is this frame good enough to read? Each check has a guidance code the kiosk turns into
words for the patient ("hold the card closer", "tilt it away from the light").

    no_card    nothing card-shaped in the frame
    too_small  the card covers too little of the frame: bring it closer
    too_dark   the card is underexposed
    blurry     too little fine detail for its contrast (variance of the Laplacian)
    glare      a bright spot much brighter than the card around it
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from hardware.vision.card_finder import FoundCard, Pixels

MIN_AREA_FRACTION = 0.12
MIN_BRIGHTNESS = 70.0
MIN_SHARPNESS = 0.05
MAX_GLARE_FRACTION = 0.005


class Guidance(StrEnum):
    OK = "ok"
    NO_CARD = "no_card"
    TOO_SMALL = "too_small"
    TOO_DARK = "too_dark"
    BLURRY = "blurry"
    GLARE = "glare"


@dataclass(frozen=True)
class QualityReport:
    found: bool
    area_fraction: float
    brightness: float
    sharpness: float
    glare_fraction: float
    problems: tuple[Guidance, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def guidance(self) -> Guidance:
        """The one thing to tell the patient first."""
        return self.problems[0] if self.problems else Guidance.OK

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "guidance": self.guidance.value,
            "problems": [p.value for p in self.problems],
            "card_found": self.found,
            "area_fraction": round(self.area_fraction, 3),
            "brightness": round(self.brightness, 1),
            "sharpness": round(self.sharpness, 1),
            "glare_fraction": round(self.glare_fraction, 4),
        }


def sharpness(gray: Pixels) -> float:
    """Variance of the Laplacian over the variance of the image: fine detail relative to
    contrast, so a dim card is not mistaken for a blurred one."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var() / max(float(gray.var()), 1.0))


def glare_fraction(gray: Pixels) -> float:
    """Share of the card brighter than its own paper by a margin, in blobs: a reflection.
    White card stock sets the paper level itself, so it never counts."""
    paper = float(np.percentile(gray, 75))
    smooth = cv2.GaussianBlur(gray, (5, 5), 0)
    bright = (smooth >= max(paper + 6, 250)).astype(np.uint8)
    blobs = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))
    return float(blobs.mean())


def assess(card: FoundCard) -> QualityReport:
    gray = cv2.cvtColor(card.image, cv2.COLOR_BGR2GRAY)
    brightness, sharp, glare = float(gray.mean()), sharpness(gray), glare_fraction(gray)
    problems = []
    if brightness < MIN_BRIGHTNESS:  # first: in the dark nothing else can be judged
        problems.append(Guidance.TOO_DARK)
    if not card.found:
        problems.append(Guidance.NO_CARD)
    elif card.area_fraction < MIN_AREA_FRACTION:
        problems.append(Guidance.TOO_SMALL)
    if sharp < MIN_SHARPNESS:
        problems.append(Guidance.BLURRY)
    if glare > MAX_GLARE_FRACTION:
        problems.append(Guidance.GLARE)
    return QualityReport(
        found=card.found,
        area_fraction=card.area_fraction,
        brightness=brightness,
        sharpness=sharp,
        glare_fraction=glare,
        problems=tuple(problems),
    )
