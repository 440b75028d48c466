from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.flow import FlowErrorCode, Retry, StartOver
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen
from shared.contracts.kiosk import KioskErrorCode

MESSAGES = {
    KioskErrorCode.NO_MATCH: (
        "We couldn't find your appointment",
        "Please check the spelling of your last name and your date of birth, and try again.",
    ),
    KioskErrorCode.WRONG_BIRTH_DATE: (
        "We couldn't confirm your date of birth",
        "For your privacy, please check in at the front desk.",
    ),
    KioskErrorCode.TOO_MANY_ATTEMPTS: (
        "Please see the front desk",
        "This kiosk needs a staff member before it can check anyone else in.",
    ),
    KioskErrorCode.ALREADY_CHECKED_IN: (
        "You're already checked in",
        "Please take a seat. We'll call your name.",
    ),
    KioskErrorCode.SESSION_EXPIRED: (
        "That took a little too long",
        "For your privacy we stopped. Please start again.",
    ),
    FlowErrorCode.OFFLINE_UNAVAILABLE: (
        "We can't read appointment codes right now",
        "Please type your last name and date of birth instead.",
    ),
    FlowErrorCode.BACK_OFFICE_UNREACHABLE: (
        "We can't reach the front desk's computer",
        "Please try again in a moment, or check in at the front desk.",
    ),
}
DEFAULT = ("Something went wrong", "Please try again, or check in at the front desk.")


class ErrorScreen(StepScreen):
    heading = StringProperty("")
    advice = StringProperty("")
    locked = BooleanProperty(False)

    def show(self, kiosk) -> None:
        heading, advice = MESSAGES.get(kiosk.flow.error_code, DEFAULT)
        self.heading, self.advice = LOOK.t(heading), LOOK.t(advice)
        self.locked = kiosk.flow.is_locked

    def retry(self) -> None:
        self.kiosk.post(Retry)

    def start_over(self) -> None:
        self.kiosk.post(StartOver)
