"""The insurance-card camera while its screen is up: each frame judged, shown with guidance,
and the card taken by itself when it is found, sharp and steady; the front, then the back.

Runs in its own thread (reading a card takes a second of OCR); the screen gets frames and
guidance through `on_frame` and the finished `InsuranceCard` through `on_card`, on this
thread, and moves them to the UI thread itself.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from enum import StrEnum

import cv2

from hardware.camera import AutoCapture, Camera
from hardware.vision.card_finder import Pixels
from hardware.vision.quality import Guidance
from shared.contracts.kiosk import InsuranceCard

log = logging.getLogger("frontdesk.kiosk.camera")

JPEG_QUALITY = 85


class Side(StrEnum):
    FRONT = "front"
    BACK = "back"
    READING = "reading"  # both taken (or the back skipped): OCR running


class CardCapture:
    def __init__(
        self,
        camera: Callable[[], Camera],
        *,
        on_frame: Callable[[Pixels, Guidance, Side], None],
        on_card: Callable[[InsuranceCard], None],
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self._camera = camera
        self._on_frame, self._on_card, self._on_failure = on_frame, on_card, on_failure
        self._stopped = threading.Event()
        self._skip_back = threading.Event()
        self._thread: threading.Thread | None = None
        self.side = Side.FRONT

    def start(self) -> None:
        self.stop()
        self._stopped.clear()
        self._skip_back.clear()
        self.side = Side.FRONT
        self._thread = threading.Thread(target=self._run, name="card-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def skip_back(self) -> None:
        """Nothing on the back worth reading: use the front alone."""
        self._skip_back.set()

    def _run(self) -> None:
        try:
            front = self._take(Side.FRONT)
            back = None if front is None else self._take(Side.BACK)
            if front is None or self._stopped.is_set():
                return
            self.side = Side.READING
            self._on_card(card_from_images(front, back))
        except Exception:
            log.exception("the card camera failed")
            self._on_failure()

    def _take(self, side: Side) -> Pixels | None:
        self.side = side
        judge = AutoCapture()
        for frame in self._camera().frames():
            if self._stopped.is_set() or (side is Side.BACK and self._skip_back.is_set()):
                return None
            verdict = judge.look(frame)
            self._on_frame(frame, verdict.guidance, side)
            if verdict.capture is not None:
                return verdict.capture.card.image
            self._stopped.wait(0.05)  # a camera's pace, and room for the UI thread
        return None


def card_from_images(front: Pixels, back: Pixels | None) -> InsuranceCard:
    """The straightened card images as JPEG, and what OCR read from them, with confidences,
    so staff review a reading rather than start from the picture."""
    from hardware.vision.card_reader import read_insurance_card
    from hardware.vision.ocr import OcrUnavailable

    try:
        fields = read_insurance_card(front, back).reading.as_card_fields()
    except OcrUnavailable:
        fields = {}
    return InsuranceCard(
        front_image=_jpeg(front),
        back_image=None if back is None else _jpeg(back),
        media_type="image/jpeg",
        fields=fields,
    )


def _jpeg(image: Pixels) -> str:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the card image could not be encoded")
    return base64.b64encode(encoded.tobytes()).decode()
