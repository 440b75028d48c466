"""A whole check-in without a screen, for technicians, demos and tests: the same flow, the
same client and the same outbox as the touchscreen, with scripted answers."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kiosk.driver import FlowDriver
from kiosk.flow import (
    BirthDateEntered,
    CardAccepted,
    CardCaptured,
    CardOnFileKept,
    DetailsConfirmed,
    Identified,
    LanguageChosen,
    MatchChosen,
    PayAtDesk,
    PayByCard,
    ReceiptRequested,
    Signed,
    Started,
    Step,
    Tick,
)
from kiosk.signature import render_png
from shared.contracts.kiosk import ByNameAndBirthDate, InsuranceCard, PaymentStatus, Signature

APPROVED_TEST_CARD = "4242424242424242"
POLL_SECONDS = 0.3

# A signature-like scribble: two strokes across the pad, 10 ms between points.
SCRIBBLE = (
    tuple((40 + 12 * i, 120 - (i % 7) * 9, 10 * i) for i in range(35)),
    tuple((90 + 10 * i, 80 + (i % 5) * 6, 400 + 10 * i) for i in range(30)),
)


class HeadlessError(Exception):
    """The check-in stopped; the message says why in a line, without PHI."""


@dataclass
class HeadlessOutcome:
    step: Step
    first_name: str | None
    check_in_id: uuid.UUID
    offline: bool
    delivered: bool
    paid_cents: int = 0
    notes: list[str] = field(default_factory=list)


def _card(front: Path, back: Path | None) -> InsuranceCard:
    """The card's images as taken, and the fields the kiosk reads from them (OCR), so staff
    start from a reading with its confidences rather than from the picture alone."""
    from hardware.vision.card_reader import UnreadableImage, load_image, read_insurance_card
    from hardware.vision.ocr import OcrUnavailable

    media = "image/png" if front.suffix.lower() == ".png" else "image/jpeg"
    try:
        read = read_insurance_card(load_image(front), load_image(back) if back else None)
        fields = read.reading.as_card_fields()
    except (UnreadableImage, OcrUnavailable):
        fields = {}  # staff read it from the images
    return InsuranceCard(
        front_image=base64.b64encode(front.read_bytes()).decode(),
        back_image=None if back is None else base64.b64encode(back.read_bytes()).decode(),
        media_type=media,
        fields=fields,
    )


def check_in(
    driver: FlowDriver,
    *,
    last_name: str,
    date_of_birth: date,
    card_front: Path | None = None,
    card_back: Path | None = None,
    sign: bool = False,
    pay: bool = False,
    test_card: str = APPROVED_TEST_CARD,
    receipt: bool = False,
    language: str = "en",
    sleep: Callable[[float], None] = time.sleep,
) -> HeadlessOutcome:
    flow, notes = driver.flow, []
    check_in_id = uuid.uuid4()
    driver.refresh_consent_cache()
    driver.send(Started(at=driver.now(), check_in_id=check_in_id))
    if flow.step is Step.LANGUAGE:
        driver.send(LanguageChosen(at=driver.now(), code=language))
    identification = ByNameAndBirthDate(last_name=last_name, date_of_birth=date_of_birth)
    driver.send(Identified(at=driver.now(), identification=identification))
    offline = flow.offline
    for _ in range(20):  # each pass moves at least one step; the bound only guards bugs
        step = flow.step
        if step in (Step.DONE, Step.ERROR):
            break
        if step is Step.VERIFY:
            if flow.needs_birth_date:
                driver.send(BirthDateEntered(at=driver.now(), date_of_birth=date_of_birth))
            else:
                choice = next(
                    (m for m in flow.matches if not m.already_checked_in), flow.matches[0]
                )
                driver.send(MatchChosen(at=driver.now(), session_id=choice.session_id))
        elif step is Step.CONFIRM_DETAILS:
            driver.send(DetailsConfirmed(at=driver.now()))
        elif step is Step.INSURANCE_CARD:
            if card_front is None:
                driver.send(CardOnFileKept(at=driver.now()))
            else:
                driver.send(CardCaptured(at=driver.now(), card=_card(card_front, card_back)))
                driver.send(CardAccepted(at=driver.now()))
        elif step is Step.CONSENT_FORMS:
            document = flow.document_to_sign
            if document is None:
                raise HeadlessError("waiting for the consent forms")
            if not sign:
                raise HeadlessError(f"the form '{document.title}' needs a signature: add --sign")
            signature = Signature(
                document_id=document.document_id,
                document_sha256=document.sha256,
                strokes=[list(s) for s in SCRIBBLE],
                png=base64.b64encode(render_png(SCRIBBLE)).decode(),
                signed_at=driver.now(),
            )
            driver.send(Signed(at=driver.now(), signature=signature))
        elif step is Step.COPAY:
            if pay and flow.payment is None and flow.payment_problem is None:
                _pay_by_card(driver, test_card, sleep)
            if flow.step is Step.COPAY:
                if pay:
                    problem = flow.payment_problem or "not taken"
                    notes.append(
                        f"the card payment did not go through ({problem}): pay at the desk"
                    )
                driver.send(PayAtDesk(at=driver.now()))
        else:
            raise HeadlessError(f"stopped at the {step.value} step")
    if flow.step is Step.ERROR:
        raise HeadlessError(f"check-in failed: {flow.error_code}")
    paid = flow.receipt.amount_cents if flow.receipt else 0
    if receipt and flow.receipt is not None:
        driver.send(ReceiptRequested(at=driver.now()))
        if driver.printer_problem:
            notes.append(f"the receipt was not printed: {driver.printer_problem}")
    report = driver.last_delivery
    return HeadlessOutcome(
        step=flow.step,
        first_name=flow.first_name,
        check_in_id=check_in_id,
        offline=offline,
        delivered=bool(report and report.delivered),
        paid_cents=paid,
        notes=notes,
    )


def _pay_by_card(driver: FlowDriver, test_card: str, sleep: Callable[[float], None]) -> None:
    """Start the payment and follow it as the screen would, once a tick; in test mode the
    test card is "tapped" as soon as the reader waits for one."""
    flow = driver.flow
    driver.send(PayByCard(at=driver.now()))
    tapped = False
    while flow.step is Step.COPAY and flow.paying:
        payment = flow.payment
        if not tapped and payment is not None and payment.status is PaymentStatus.WAITING_FOR_CARD:
            tapped = driver.present_test_card(payment.check_in_id, test_card)
        sleep(POLL_SECONDS)
        driver.send(Tick(at=driver.now()))
