"""What a scan at the identify screen means: the check-in code from an appointment reminder
(a QR code, `FDQ1.…`) or the PDF417 barcode on the back of a US driver's licence (AAMVA)."""

from __future__ import annotations

from hardware.vision.aamva import AamvaError, parse
from shared.contracts.kiosk import ByAppointmentCode, ByLicence, Identification

CHECK_IN_CODE_PREFIX = "FDQ"  # the back office's check-in codes: FDQ<version>.<body>.<mac>


def identification_from_scan(text: str) -> Identification | None:
    """None for anything else scanned (a loyalty card, a medication box): the screen says so."""
    text = text.strip()
    if text.startswith(CHECK_IN_CODE_PREFIX) and 16 <= len(text) <= 512:
        return ByAppointmentCode(token=text)
    try:
        licence = parse(text)
    except AamvaError:
        return None
    if not (licence.first_name and licence.last_name and licence.date_of_birth):
        return None
    return ByLicence(
        first_name=licence.first_name,
        last_name=licence.last_name,
        date_of_birth=licence.date_of_birth,
    )
