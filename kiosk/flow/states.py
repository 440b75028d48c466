"""The steps of the check-in flow, and the codes its error step shows.

The drawing of how steps follow each other is in `kiosk.flow.machine`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from shared.contracts.kiosk import KioskErrorCode


class Step(StrEnum):
    """One screen of the check-in, in the order a patient meets them; `ERROR` stands aside."""

    WELCOME = "welcome"
    LANGUAGE = "language"
    IDENTIFY = "identify"
    VERIFY = "verify"
    CONFIRM_DETAILS = "confirm_details"
    INSURANCE_CARD = "insurance_card"
    CONSENT_FORMS = "consent_forms"
    COPAY = "copay"
    DONE = "done"
    ERROR = "error"


class FlowErrorCode(StrEnum):
    """Codes the kiosk itself gives, beside the back office's `KioskErrorCode`."""

    BACK_OFFICE_UNREACHABLE = "back-office-unreachable"  # no answer at all: the driver's call
    BACK_OFFICE_ERROR = "back-office-error"  # an answer the kiosk has no words for
    OFFLINE_UNAVAILABLE = "offline-unavailable"  # a QR code cannot be checked offline


ErrorCode: TypeAlias = KioskErrorCode | FlowErrorCode
