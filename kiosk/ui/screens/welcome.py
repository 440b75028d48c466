from __future__ import annotations

from kivy.clock import Clock

from kiosk.ui.screens.base import StepScreen

STAFF_HOLD_SECONDS = 3.0


class WelcomeScreen(StepScreen):
    """Touch anywhere to begin; staff hold the clinic's name for three seconds instead."""

    _hold = None

    def begin(self) -> None:
        self.kiosk.start()

    def hold_started(self) -> None:
        self._hold = Clock.schedule_once(
            lambda _dt: self.kiosk.open_maintenance(), STAFF_HOLD_SECONDS
        )

    def hold_ended(self) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
