"""A pad to sign on with a finger: strokes of (x, y, milliseconds) in the pad's own
coordinates (y down, as the signature contract and its PNG rendering take them), drawn as the
finger moves; undo takes the last stroke back, clear takes them all."""

from __future__ import annotations

import time

from kivy.graphics import Color, Line, Rectangle
from kivy.properties import NumericProperty
from kivy.uix.widget import Widget

from kiosk.ui.look import LOOK

Stroke = list[tuple[int, int, int]]


class SignaturePad(Widget):
    strokes_count = NumericProperty(0)  # for the .kv: the Sign button waits for a stroke
    __events__ = ("on_stroke",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.strokes: list[Stroke] = []
        self._started = 0.0
        self.bind(pos=self._redraw, size=self._redraw)

    def on_touch_down(self, touch):
        if not self.collide_point(*touch.pos):
            return False
        touch.grab(self)
        if not self.strokes:
            self._started = time.monotonic()
        self.strokes.append([self._point(touch)])
        self._redraw()
        return True

    def on_touch_move(self, touch):
        if touch.grab_current is not self:
            return False
        if self.collide_point(*touch.pos):
            self.strokes[-1].append(self._point(touch))
            self._redraw()
        return True

    def on_touch_up(self, touch):
        if touch.grab_current is not self:
            return False
        touch.ungrab(self)
        self.strokes_count = len(self.strokes)
        self.dispatch("on_stroke")
        return True

    def on_stroke(self) -> None:
        """A stroke was finished: the patient is busy here."""

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
        self.strokes_count = len(self.strokes)
        self._redraw()

    def clear(self) -> None:
        self.strokes = []
        self.strokes_count = 0
        self._redraw()

    def _point(self, touch) -> tuple[int, int, int]:
        x = int(touch.x - self.x)
        y = int(self.top - touch.y)  # y grows downwards on paper and in the PNG
        return (x, y, int((time.monotonic() - self._started) * 1000))

    def _redraw(self, *_: object) -> None:
        self.canvas.clear()
        with self.canvas:
            Color(*LOOK.colour("field"))
            Rectangle(pos=self.pos, size=self.size)
            Color(*LOOK.colour("quiet_ink"))
            Line(points=[self.x + 30, self.y + 40, self.right - 30, self.y + 40], width=1.2)
            Color(*LOOK.colour("ink"))
            for stroke in self.strokes:
                points = [c for x, y, _ in stroke for c in (self.x + x, self.top - y)]
                if len(points) == 2:
                    points += points
                Line(points=points, width=2.2)
