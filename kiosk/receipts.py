"""The printed copay receipt: what the back office reported, laid out for the kiosk's
receipt printer. It names no patient, in case it is left in the tray."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hardware.printer import Receipt, ReceiptLine
from shared.contracts.kiosk import PaymentReceipt


def printed_receipt(receipt: PaymentReceipt) -> Receipt:
    paid_at = receipt.paid_at.astimezone(ZoneInfo(receipt.timezone))
    card = f"{(receipt.card_brand or 'card').title()} ending {receipt.card_last4 or '????'}"
    lines = [
        *([ReceiptLine(receipt.location_name)] if receipt.location_name else []),
        ReceiptLine(f"{paid_at:%Y-%m-%d %H:%M %Z}"),
        ReceiptLine(""),
        ReceiptLine("Copay paid", receipt.amount_cents),
        ReceiptLine(card),
        ReceiptLine(f"Reference {receipt.reference}"),
        ReceiptLine(""),
        ReceiptLine("Thank you. Please take a seat; we will call you."),
    ]
    return Receipt(clinic_name=receipt.clinic_name, lines=tuple(lines))
