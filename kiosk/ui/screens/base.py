"""What every screen is: shown from the flow by `show`, told when it goes by `leave`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

if TYPE_CHECKING:
    from kiosk.ui.app import Kiosk


class StepScreen(Screen):
    kiosk: Kiosk = ObjectProperty(None)  # type: ignore[assignment]

    def show(self, kiosk: Kiosk) -> None:
        """Draw what the flow holds now; called after every event, so cheap and idempotent."""

    def leave(self) -> None:
        """Another screen is shown: stop cameras, forget what was typed."""
