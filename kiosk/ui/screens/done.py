from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.flow import ReceiptRequested, StartOver
from kiosk.ui.formatting import money
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen


class DoneScreen(StepScreen):
    """Checked in: what happens next, the wait, the receipt; it clears itself shortly."""

    greeting = StringProperty("")
    next_steps = StringProperty("")
    wait = StringProperty("")
    paid = StringProperty("")
    can_print = BooleanProperty(False)
    printed = StringProperty("")

    def show(self, kiosk) -> None:
        flow = kiosk.flow
        name = flow.first_name
        self.greeting = (
            LOOK.t("You're checked in, {name}.").format(name=name)
            if name
            else LOOK.t("You're checked in.")
        )
        receipt = kiosk.receipt()
        if receipt is None:
            self.next_steps = LOOK.t(
                "Your check-in is saved on this kiosk and will reach the front desk shortly. "
                "Please take a seat; we'll call your name."
            )
            self.wait = ""
        else:
            self.next_steps = LOOK.t("Please take a seat. We'll call your name.")
            minutes = receipt.estimated_wait_minutes
            self.wait = (
                LOOK.t("You'll be seen about on time.")
                if minutes == 0
                else LOOK.tn(
                    "Estimated wait: about {n} minute.",
                    "Estimated wait: about {n} minutes.",
                    minutes,
                ).format(n=minutes)
                if minutes is not None
                else ""
            )
        paying = flow.receipt
        self.paid = (
            LOOK.t("Copay paid: {amount}").format(amount=money(paying.amount_cents))
            if paying
            else ""
        )
        self.can_print = paying is not None and kiosk.devices.printer is not None
        problem = kiosk.driver.printer_problem
        if self.printed and problem:
            self.printed = LOOK.t("The receipt could not be printed. The front desk can print one.")

    def leave(self) -> None:
        self.printed = ""

    def print_receipt(self) -> None:
        self.printed = LOOK.t("Printing your receipt…")
        self.kiosk.post(ReceiptRequested)

    def finish(self) -> None:
        self.kiosk.post(StartOver)
