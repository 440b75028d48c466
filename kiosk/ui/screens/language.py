from __future__ import annotations

from kiosk.flow import LanguageChosen
from kiosk.ui.screens.base import StepScreen


class LanguageScreen(StepScreen):
    def choose(self, code: str) -> None:
        self.kiosk.post(LanguageChosen, code=code)
