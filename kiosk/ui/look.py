"""What every screen shares and the patient can change: the language and the text size.

One `Look` is made by the app and imported by the .kv files (`#:import look kiosk.ui.look.LOOK`);
a rule written `text: look.t("Welcome", look.language)` is redrawn when the language changes,
and `font_size: look.font(32, look.scale)` when the text size does.
"""

from __future__ import annotations

from typing import Final

from kivy.event import EventDispatcher
from kivy.metrics import Metrics
from kivy.properties import NumericProperty, StringProperty

from kiosk.i18n import translate, translate_plural
from kiosk.ui import palette

TEXT_SCALES: Final = (1.0, 1.25, 1.5)  # the A, A+ and A++ of the text-size button
MIN_TOUCH_MM: Final = 9.0  # Section 508 / WCAG 2.5.5's target size, in millimetres on the glass


class Look(EventDispatcher):
    language = StringProperty("en")
    scale = NumericProperty(1.0)
    # Dots per inch of the panel: the Pi's 10.1" 1280x800 touchscreen has about 149.
    dpi = NumericProperty(149.0)

    def t(self, message: str, _language: str = "") -> str:
        """`message` in the patient's language (`_language` is there for the .kv binding)."""
        return translate(message, self.language)

    def tn(self, singular: str, plural: str, count: int) -> str:
        return translate_plural(singular, plural, count, self.language)

    def font(self, pixels: float, _scale: float = 0.0) -> float:
        """A font size designed at 1280x800, times the patient's text size."""
        return pixels * self.scale * Metrics.density

    def fixed(self, pixels: float) -> float:
        """A font size that stays put whatever the text size (the top bar's own controls)."""
        return pixels * Metrics.density

    def mm(self, millimetres: float) -> float:
        """Millimetres on the glass as pixels, for touch targets."""
        return millimetres * self.dpi / 25.4

    def next_scale(self) -> None:
        index = TEXT_SCALES.index(self.scale) if self.scale in TEXT_SCALES else -1
        self.scale = TEXT_SCALES[(index + 1) % len(TEXT_SCALES)]

    def reset(self, language: str) -> None:
        """A new patient: their own language and text size, nothing of the last one's."""
        self.language, self.scale = language, TEXT_SCALES[0]

    @staticmethod
    def colour(name: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
        return palette.rgba(getattr(palette, name.upper()), alpha)


LOOK: Final = Look()
