from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.flow import Identified
from kiosk.ui.entry import NameEntry
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets.keypad import BACKSPACE, SPACE
from shared.contracts.kiosk import ByNameAndBirthDate


class IdentifyScreen(StepScreen):
    """Last name on the letter keypad, then the date of birth; or a scan at any time."""

    asking_birth_date = BooleanProperty(False)
    name_text = StringProperty("")
    name_ready = BooleanProperty(False)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.name_entry = NameEntry()

    def show(self, kiosk) -> None:
        kiosk.devices_listen_for_scans(True)

    def leave(self) -> None:
        self.kiosk.devices_listen_for_scans(False)
        self.name_entry.clear()
        self.name_text = ""
        self.name_ready = self.asking_birth_date = False
        self.ids.date_pad.reset()

    def key(self, key: str) -> None:
        if key == BACKSPACE:
            self.name_entry.backspace()
        else:
            self.name_entry.press(" " if key == SPACE else key)
        self.name_text = self.name_entry.text
        self.name_ready = self.name_entry.value is not None
        self.kiosk.touched()

    def next(self) -> None:
        if self.name_entry.value is not None:
            self.asking_birth_date = True
            self.ids.date_pad.reset()
            self.kiosk.touched()

    def edit_name(self) -> None:
        self.asking_birth_date = False

    def find(self) -> None:
        born = self.ids.date_pad.value(self.kiosk.driver.now().date())
        last_name = self.name_entry.value
        if born is None or last_name is None:
            return
        self.kiosk.post(
            Identified, identification=ByNameAndBirthDate(last_name=last_name, date_of_birth=born)
        )
