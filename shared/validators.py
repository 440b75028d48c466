"""Validators for identifiers that both sides check: MRNs, phone numbers, US addresses, SSNs."""

from __future__ import annotations

import re
from typing import Annotated

import phonenumbers
from pydantic import Field

US_STATES = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
        "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI AA AE AP"
    ).split()
)
# Money on the wire: whole cents, never a float; strict so 12.5 or "1250" is refused.
Cents = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
_POSTAL_CODE = re.compile(r"^\d{5}(-\d{4})?$")
_SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-?(?!00)\d{2}-?(?!0000)\d{4}$")


def luhn_check_digit(digits: str) -> str:
    """The Luhn mod-10 digit that makes `digits + result` pass `luhn_valid`."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _ascii_digits(value: str) -> bool:
    # str.isdigit() also accepts full-width and superscript digits.
    return value.isascii() and value.isdigit()


def luhn_valid(number: str) -> bool:
    return _ascii_digits(number) and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]


def is_valid_mrn(mrn: str) -> bool:
    """An MRN is nine digits whose last is a Luhn check digit, so a mistyped digit is caught."""
    return len(mrn) == 9 and luhn_valid(mrn)


def normalize_phone(raw: str, region: str = "US") -> str:
    """Return the number in E.164 form; raise ValueError with a plain message if it is not a
    possible, valid number."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_ssn(raw: str) -> str:
    """Return NNN-NN-NNNN, or raise ValueError for numbers the SSA never issues."""
    value = raw.strip()
    if not _SSN.match(value):
        raise ValueError("not a valid SSN (expected NNN-NN-NNNN)")
    digits = value.replace("-", "")
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def mask_ssn(ssn: str) -> str:
    return f"***-**-{ssn[-4:]}"


def normalize_state(raw: str) -> str:
    value = raw.strip().upper()
    if value not in US_STATES:
        raise ValueError("not a US state or territory code")
    return value


def normalize_postal_code(raw: str) -> str:
    value = raw.strip()
    if not _POSTAL_CODE.match(value):
        raise ValueError("expected a ZIP code: 12345 or 12345-6789")
    return value


def is_valid_npi(npi: str) -> bool:
    """A National Provider Identifier: ten digits, the last a Luhn check digit computed with
    the card-issuer prefix 80840 in front (CMS, NPI check digit standard)."""
    return len(npi) == 10 and _ascii_digits(npi) and luhn_valid("80840" + npi)


def npi_with_check_digit(first_nine: str) -> str:
    return first_nine + luhn_check_digit("80840" + first_nine)
