from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets.keypad import BACKSPACE

MAX_PIN_DIGITS = 12


class StaffPinScreen(StepScreen):
    """Staff only, in English: the PIN that opens maintenance. Nothing typed is shown."""

    dots = StringProperty("")
    message = StringProperty("Staff PIN")
    _pin = ""  # never shown, only counted in dots

    def show(self, kiosk) -> None:
        if not kiosk.staff.configured:
            self.message = (
                "Maintenance is not set up on this kiosk (FRONTDESK_KIOSK_STAFF_PIN_HASH)."
            )
        elif kiosk.staff.locked_for() > 0:
            self.message = (
                f"Too many wrong PINs. Try again in {int(kiosk.staff.locked_for()) + 1} s."
            )

    def leave(self) -> None:
        self._pin, self.dots, self.message = "", "", "Staff PIN"

    def key(self, key: str) -> None:
        self._pin = self._pin[:-1] if key == BACKSPACE else (self._pin + key)[:MAX_PIN_DIGITS]
        self.dots = "●" * len(self._pin)

    def enter(self) -> None:
        pin, self._pin, self.dots = self._pin, "", ""
        if self.kiosk.staff.try_pin(pin):
            self.kiosk.show_maintenance()
        else:
            self.message = "Wrong PIN."
            self.show(self.kiosk)

    def cancel(self) -> None:
        self.kiosk.close_maintenance()
