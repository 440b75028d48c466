"""On-screen keypads: letters for names, digits for dates and phone numbers, an e-mail
layout. Each key is a BigButton named `key-<character>`; the keypad reports presses through
`on_key` and never keeps text itself (that is `kiosk.ui.entry`'s job)."""

from __future__ import annotations

from kivy.properties import OptionProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.look import LOOK
from kiosk.ui.widgets.buttons import BigButton

BACKSPACE = "backspace"
DELETE_ARROW = "\u2039 "  # a single angle quotation mark, drawn in Roboto
SPACE = "space"
LAYOUTS = {
    "letters": ("QWERTYUIOP", "ASDFGHJKLÑ", "ZXCVBNM-'", (SPACE, BACKSPACE)),
    "digits": ("123", "456", "789", ("0", BACKSPACE)),
    "email": ("1234567890", "QWERTYUIOP", "ASDFGHJKL@", "ZXCVBNM._-", (BACKSPACE,)),
    "address": ("1234567890", "QWERTYUIOP", "ASDFGHJKL#", "ZXCVBNM-'.", (SPACE, BACKSPACE)),
}


class Keypad(BoxLayout):
    layout = OptionProperty("letters", options=list(LAYOUTS))
    __events__ = ("on_key",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(orientation="vertical", spacing=LOOK.mm(1.5), **kwargs)
        self.bind(layout=lambda *_: self._build())
        self._build()

    def _build(self) -> None:
        self.clear_widgets()
        for row in LAYOUTS[self.layout]:
            line = BoxLayout(spacing=LOOK.mm(1.5))
            for key in row:
                wide = key in (SPACE, BACKSPACE)
                button = BigButton(
                    text=self._label(key),
                    name=f"key-{self._name(key)}",
                    kind="danger" if key == BACKSPACE else "secondary",
                    size_hint_x=3 if wide else 1,
                    font_size=LOOK.font(34),
                )
                button.bind(on_release=lambda _b, k=key: self.dispatch("on_key", k))
                line.add_widget(button)
            self.add_widget(line)

    @staticmethod
    def _name(key: str) -> str:
        return {SPACE: "space", BACKSPACE: "backspace"}.get(key, key)

    @staticmethod
    def _label(key: str) -> str:
        return {SPACE: LOOK.t("Space"), BACKSPACE: DELETE_ARROW + LOOK.t("Delete")}.get(key, key)

    def on_key(self, key: str) -> None:
        """Dispatched with the key's character, 'space' or BACKSPACE."""
