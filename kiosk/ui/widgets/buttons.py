"""Buttons big enough for any finger, in the palette's colours, named for the robot."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

from kiosk.ui.look import LOOK, MIN_TOUCH_MM

KINDS = {
    # kind: (background, text)
    "primary": ("primary", "on_primary"),
    "secondary": ("secondary", "on_secondary"),
    "danger": ("danger", "on_danger"),
    "success": ("success", "on_success"),
}


class BigButton(ButtonBehavior, Label):
    """A labelled button at least MIN_TOUCH_MM on each side; `name` is how the walkthrough and
    the tests find it (the label changes with the language, the name does not)."""

    name = StringProperty("")
    kind = OptionProperty("secondary", options=list(KINDS))
    enabled = BooleanProperty(True)
    fill = ListProperty([0, 0, 0, 1])

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.bind(kind=self._recolour, enabled=self._recolour, state=self._recolour)
        self._recolour()
        minimum = LOOK.mm(MIN_TOUCH_MM)
        self.size_hint_min = (minimum, minimum)

    def _recolour(self, *_: object) -> None:
        background, text = KINDS[self.kind]
        if not self.enabled:
            background, text = "disabled", "on_disabled"
        self.fill = LOOK.colour(background, 0.8 if self.state == "down" else 1.0)
        self.color = LOOK.colour(text)

    def on_touch_down(self, touch: object) -> bool:
        if not self.enabled or self.disabled or self.opacity == 0:
            return False  # a hidden or disabled button lets the touch through, unswallowed
        return bool(super().on_touch_down(touch))
