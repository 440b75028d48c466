"""The card camera's live picture with the outline to hold the card in: frames arrive from
the capture thread and are shown on the UI thread, at most a few a second."""

from __future__ import annotations

import cv2
import numpy as np
from kivy.graphics.texture import Texture
from kivy.uix.image import Image

PREVIEW_WIDTH = 640


class CameraView(Image):
    def show_frame(self, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        scale = PREVIEW_WIDTH / width
        small = cv2.resize(frame, (PREVIEW_WIDTH, int(height * scale)))
        rgb = cv2.cvtColor(cv2.flip(small, 0), cv2.COLOR_BGR2RGB)
        texture = self.texture
        if texture is None or texture.size != (rgb.shape[1], rgb.shape[0]):
            texture = Texture.create(size=(rgb.shape[1], rgb.shape[0]), colorfmt="rgb")
        texture.blit_buffer(rgb.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        self.texture = texture
        self.canvas.ask_update()
