from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.flow import CardPaymentCanceled, FlowErrorCode, PayAtDesk, PayByCard
from kiosk.ui.formatting import money
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen
from shared.contracts.kiosk import KioskErrorCode, PaymentFailure, PaymentStatus

READER = {
    PaymentStatus.WAITING_FOR_CARD: "Insert, tap or swipe your card on the reader.",
    PaymentStatus.STARTING: "Starting the card reader…",
    PaymentStatus.AUTHORIZED: "Approved. Finishing up…",
}
DECLINED = "Your card was declined. You can try another card, or pay at the desk."
PROBLEMS = {
    PaymentFailure.CARD_DECLINED: DECLINED,
    PaymentFailure.INSUFFICIENT_FUNDS: DECLINED,
    PaymentFailure.EXPIRED_CARD: "That card has expired. Try another card, or pay at the desk.",
    PaymentFailure.PROCESSING_ERROR: "The card could not be read. Please try it again.",
    PaymentFailure.TIMED_OUT: (
        "The reader stopped waiting for a card. Try again, or pay at the desk."
    ),
    PaymentFailure.ABANDONED: "The payment was canceled. Nothing was charged.",
    FlowErrorCode.BACK_OFFICE_UNREACHABLE: "We can't take cards right now. Please pay at the desk.",
}
NO_READER = frozenset(
    {
        FlowErrorCode.BACK_OFFICE_UNREACHABLE,
        KioskErrorCode.NO_CARD_READER,
        KioskErrorCode.PAYMENT_UNAVAILABLE,
    }
)
DEFAULT_PROBLEM = "The card reader isn't available. Please pay at the desk."


class CopayScreen(StepScreen):
    amount = StringProperty("")
    status = StringProperty("")
    problem = StringProperty("")
    paying = BooleanProperty(False)
    can_pay = BooleanProperty(False)
    test_cards = BooleanProperty(False)

    def show(self, kiosk) -> None:
        flow = kiosk.flow
        copay = flow.copay_due
        self.amount = money(copay.amount_cents) if copay else ""
        self.paying = flow.paying
        payment = flow.payment
        waiting = payment is not None and payment.status in READER
        self.status = (
            LOOK.t(READER[payment.status])
            if waiting
            else (LOOK.t("Starting the card reader…") if self.paying else "")
        )
        problem = flow.payment_problem
        self.problem = LOOK.t(PROBLEMS.get(problem, DEFAULT_PROBLEM)) if problem else ""
        reader_usable = problem not in NO_READER
        self.can_pay = copay is not None and not self.paying and reader_usable
        self.test_cards = kiosk.devices.test_cards and waiting

    def pay(self) -> None:
        self.kiosk.post(PayByCard)

    def cancel(self) -> None:
        self.kiosk.post(CardPaymentCanceled)

    def at_desk(self) -> None:
        self.kiosk.post(PayAtDesk)

    def tap_test_card(self, number: str) -> None:
        """The simulated reader only: as if this test card were tapped on it."""
        payment = self.kiosk.flow.payment
        if payment is not None:
            self.kiosk.session.run(
                lambda: self.kiosk.driver.present_test_card(payment.check_in_id, number)
            )
