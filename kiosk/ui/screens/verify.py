from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.flow import Back, BirthDateEntered, MatchChosen
from kiosk.ui.formatting import appointment_line
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets.buttons import BigButton


class VerifyScreen(StepScreen):
    """ "Is this you?": the appointments found, each a button; or, for a scanned code, the date
    of birth first (attempts left shown after a wrong one)."""

    needs_birth_date = BooleanProperty(False)
    attempts_text = StringProperty("")
    _listed: tuple = ()

    def show(self, kiosk) -> None:
        flow = kiosk.flow
        self.needs_birth_date = flow.needs_birth_date
        attempts = flow.birth_date_attempts_left
        total = flow.rules.max_birth_date_attempts
        self.attempts_text = (
            LOOK.tn(
                "That date of birth does not match. {n} try left.",
                "That date of birth does not match. {n} tries left.",
                attempts,
            ).format(n=attempts)
            if self.needs_birth_date and attempts < total
            else ""
        )
        if flow.matches == self._listed:
            return
        self._listed = flow.matches
        matches: BoxLayout = self.ids.matches
        matches.clear_widgets()
        for index, match in enumerate(flow.matches):
            button = BigButton(
                name=f"match-{index}",
                kind="primary",
                text=appointment_line(match, LOOK.language),
                font_size=LOOK.font(32),
            )
            button.bind(
                on_release=lambda _b, m=match: self.kiosk.post(MatchChosen, session_id=m.session_id)
            )
            matches.add_widget(button)

    def leave(self) -> None:
        self._listed = ()
        self.ids.date_pad.reset()

    def check(self) -> None:
        born = self.ids.date_pad.value(self.kiosk.driver.now().date())
        if born is not None:
            self.kiosk.post(BirthDateEntered, date_of_birth=born)
            self.ids.date_pad.reset()

    def not_me(self) -> None:
        self.kiosk.post(Back)
