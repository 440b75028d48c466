"""Cameras, real and simulated, and the loop that captures a card by itself once it is
found, sharp and held steady.

    frames ──▶ find card ──▶ quality ──▶ steady for `steady_frames` frames? ──▶ capture
                                └──▶ guidance for the screen ("closer", "less light", …)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from hardware.vision.card_finder import FoundCard, Pixels, find_card
from hardware.vision.quality import Guidance, QualityReport, assess

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class Camera(Protocol):
    def frames(self) -> Iterator[Pixels]: ...


class FolderCamera:
    """Plays the images of a folder in name order, as a camera would deliver frames: for the
    demo and the kiosk's tests. `repeat` shows each image that many times, like a patient
    holding a card still for a moment."""

    def __init__(self, folder: Path, *, repeat: int = 1, loop: bool = False) -> None:
        self._paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._paths:
            raise FileNotFoundError(f"no images in {folder}")
        self._repeat, self._loop = repeat, loop

    def frames(self) -> Iterator[Pixels]:
        while True:
            for path in self._paths:
                frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if frame is None:
                    continue
                for _ in range(self._repeat):
                    yield frame
            if not self._loop:
                return


@dataclass(frozen=True)
class Capture:
    card: FoundCard
    quality: QualityReport


@dataclass(frozen=True)
class FrameVerdict:
    guidance: Guidance  # what to tell the patient now
    capture: Capture | None  # set on the frame that is taken


class AutoCapture:
    """Takes the card when it is found, passes every quality check, and its corners have
    moved less than `tolerance` (a share of the frame's diagonal) for `steady_frames`
    frames in a row."""

    def __init__(self, *, steady_frames: int = 3, tolerance: float = 0.01) -> None:
        self._steady_frames, self._tolerance = steady_frames, tolerance
        self._previous: np.ndarray | None = None
        self._steady = 0

    def look(self, frame: Pixels) -> FrameVerdict:
        card = find_card(frame)
        report = assess(card)
        if not report.ok or card.corners is None:
            self._previous, self._steady = None, 0
            return FrameVerdict(report.guidance, None)
        diagonal = float(np.hypot(*frame.shape[:2]))
        moved = (
            float(np.abs(card.corners - self._previous).max()) / diagonal
            if self._previous is not None
            else 1.0
        )
        self._steady = self._steady + 1 if moved < self._tolerance else 1
        self._previous = card.corners
        if self._steady >= self._steady_frames:
            self._previous, self._steady = None, 0
            return FrameVerdict(Guidance.OK, Capture(card, report))
        return FrameVerdict(Guidance.OK, None)

    def run(self, camera: Camera, *, max_frames: int = 300) -> Capture | None:
        for count, frame in enumerate(camera.frames()):
            if count >= max_frames:
                break
            verdict = self.look(frame)
            if verdict.capture is not None:
                return verdict.capture
        return None
