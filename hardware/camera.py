"""Cameras, real and simulated, and the loop that captures a card by itself once it is
found, sharp and held steady.

    frames ──▶ find card ──▶ quality ──▶ steady for `steady_frames` frames? ──▶ capture
                                └──▶ guidance for the screen ("closer", "less light", …)
"""

from __future__ import annotations

import time
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


class VideoCamera:
    """A V4L2 camera (the Pi's camera through libcamera's V4L2 layer, or a USB camera),
    read through OpenCV. Opened for each capture and closed after, so the camera's light is
    on only while the card screen is up."""

    def __init__(self, device: int | str = 0, *, width: int = 1600, height: int = 1200) -> None:
        self._device, self._size = device, (width, height)

    def frames(self) -> Iterator[Pixels]:
        capture = cv2.VideoCapture(self._device)
        try:
            if not capture.isOpened():
                raise CameraUnavailable(f"no camera at {self._device!r}")
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
            while True:
                ok, frame = capture.read()
                if not ok:
                    raise CameraUnavailable("the camera stopped sending frames")
                yield frame
        finally:
            capture.release()


class CameraUnavailable(RuntimeError):
    """Unplugged, busy, or never there: the card screen offers to skip the card."""


class SimulatedCardCamera:
    """The demo's camera: an empty counter for a moment, then a generated insurance card held
    under it, as a patient would; the same every time for one `seed`."""

    def __init__(
        self, seed: int = 7, *, empty_frames: int = 8, moving_frames: int = 12, fps: float = 15
    ) -> None:
        self._seed, self._empty_frames, self._moving_frames = seed, empty_frames, moving_frames
        self._interval = 1 / fps
        self._card: Pixels | None = None

    def frames(self) -> Iterator[Pixels]:
        """The counter, then the card still moving in the hand, then held steady."""
        rng = np.random.default_rng(self._seed)
        card = self._card_photo()
        empty = np.clip(rng.normal(85, 6, card.shape), 0, 255).astype(np.uint8)
        for _ in range(self._empty_frames):
            time.sleep(self._interval)
            yield empty
        for index in range(self._moving_frames):
            time.sleep(self._interval)
            yield np.roll(card, 40 * (index % 2) - 20, axis=1)
        while True:
            time.sleep(self._interval)
            yield card

    def _card_photo(self) -> Pixels:
        if self._card is None:
            from hardware.vision.corpus import as_tilted, make_card

            photo = as_tilted(make_card(self._seed), self._seed).convert("RGB")
            self._card = cv2.cvtColor(np.asarray(photo), cv2.COLOR_RGB2BGR)
        return self._card
