"""Writing X12 5010 segments: separators, element formats, envelopes and control numbers.

X12 has no escape sequence: a value that holds a separator splits its segment and the file is
garbage to the payer. So free text (names, addresses) goes through `clean_text`, which keeps
the basic character set and drops the rest, and `segment` refuses any value that still holds
a separator (an identifier is never altered silently: the builder names the field instead).

    X12WriteError (InvalidInput, 422)   the data cannot be written as X12; `where` names the field
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from shared.errors import FieldError, InvalidInput

__all__ = [
    "Element",
    "Separators",
    "X12WriteError",
    "amount",
    "clean_text",
    "date8",
    "group_control_number",
    "interchange_control_number",
    "is_carriable",
    "isa_segment",
    "quantity",
    "segment",
    "transaction_set_control_number",
]


class X12WriteError(InvalidInput):
    """The data cannot be carried by a valid X12 file; `where` is the field path to fix."""

    code = "x12-not-writable"
    title = "Cannot write the X12 file"

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}", [FieldError(field=where, message=message)])
        self.where = where


@dataclass(frozen=True)
class Separators:
    """The four delimiters an ISA declares (ISA11 repetition, ISA16 component)."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    @cached_property
    def forbidden(self) -> re.Pattern[str]:
        """Matches any of the four separators inside a value."""
        return re.compile(
            "[" + re.escape(self.element + self.component + self.repetition + self.segment) + "]"
        )


DEFAULT_SEPARATORS = Separators()

# The X12 basic character set (upper case, digits, a few signs, space), less the separators we
# use: what every payer's translator accepts.
_NOT_CARRIABLE = re.compile(r"[^A-Z0-9!\"&'()+,\-./;?= ]")
_SPACES = re.compile(r" {2,}")
# Letters that Unicode does not decompose into an ASCII base letter.
_LETTERS = str.maketrans(
    {"ß": "ss", "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE",
     "œ": "oe", "Đ": "D", "đ": "d", "Þ": "TH", "þ": "th", "\u0131": "i"}
)  # fmt: skip
# Identifiers may also use lower case and the extended signs, never a separator.
_ID_NOT_CARRIABLE = re.compile(r"[^A-Za-z0-9!\"&'()+,\-./;?= %@\[\]_{}\\|<>#$]")

# An element is a plain value, None (empty), or a composite: a sequence of components.
Element = str | None | Sequence[str | None]


def clean_text(value: str | None, *, max_length: int) -> str:
    """Free text as X12 can carry it: upper-case ASCII of the basic set, no separators, single
    spaces, cut to the element's maximum length (accents lose their marks: É -> E)."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value.translate(_LETTERS))
    ascii_text = text.encode("ascii", "ignore").decode().upper()
    text = _SPACES.sub(" ", _NOT_CARRIABLE.sub(" ", ascii_text)).strip()
    return text[:max_length].rstrip()


def is_carriable(value: str) -> bool:
    """Whether an identifier or code can go into an element as it is (no separator, nothing
    outside the X12 extended character set)."""
    return _ID_NOT_CARRIABLE.search(value) is None


def amount(value: Decimal) -> str:
    """Money for an R element: cents, no exponent, trailing zeros suppressed (the guides ask
    for that): 40.00 -> "40", 12.50 -> "12.5"."""
    cents = value.quantize(Decimal("0.01"))
    if cents != value:
        raise X12WriteError("amount", f"{value} has fractions of a cent")
    text = f"{cents:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quantity(value: Decimal) -> str:
    """A count (units) for an R element: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def date8(value: date) -> str:
    """CCYYMMDD, the D8 format."""
    return value.strftime("%Y%m%d")


def interchange_control_number(number: int) -> str:
    """ISA13/IEA02: nine digits, zero padded."""
    if not 1 <= number <= 999_999_999:
        raise X12WriteError("interchange_control_number", "must be between 1 and 999999999")
    return f"{number:09d}"


def group_control_number(number: int) -> str:
    """GS06/GE02: one to nine digits."""
    if not 1 <= number <= 999_999_999:
        raise X12WriteError("group_control_number", "must be between 1 and 999999999")
    return str(number)


def transaction_set_control_number(number: int) -> str:
    """ST02/SE02: four to nine characters, unique within the group."""
    if not 1 <= number <= 999_999_999:
        raise X12WriteError("transaction_set_control_number", "must be between 1 and 999999999")
    return f"{number:04d}"


def segment(
    segment_id: str, *elements: Element, separators: Separators = DEFAULT_SEPARATORS
) -> str:
    """One segment without its terminator; empty trailing elements and components are dropped
    (X12 forbids trailing separators). A value holding a separator raises."""
    parts = [segment_id]
    for position, element in enumerate(elements, start=1):
        if element is None or isinstance(element, str):
            parts.append(_checked(element or "", segment_id, position, separators))
            continue
        components = [
            _checked(component or "", segment_id, position, separators) for component in element
        ]
        while components and not components[-1]:
            components.pop()
        parts.append(separators.component.join(components))
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return separators.element.join(parts)


def _checked(value: str, segment_id: str, position: int, separators: Separators) -> str:
    found = separators.forbidden.search(value) if value else None
    if found:
        raise X12WriteError(f"{segment_id}{position:02d}", f"holds the separator {found[0]!r}")
    return value


def isa_segment(
    *,
    sender_qualifier: str,
    sender_id: str,
    receiver_qualifier: str,
    receiver_id: str,
    created: datetime,
    control_number: int,
    production: bool,
    separators: Separators = DEFAULT_SEPARATORS,
) -> str:
    """The fixed-width ISA: 106 characters with its terminator, IDs padded to 15; it declares
    the repetition (ISA11) and component (ISA16) separators every reader takes from it."""
    for where, value in (("sender_id", sender_id), ("receiver_id", receiver_id)):
        if not 1 <= len(value) <= 15:
            raise X12WriteError(where, "must be 1 to 15 characters")
    values = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender_qualifier,
        sender_id.ljust(15),
        receiver_qualifier,
        receiver_id.ljust(15),
        created.strftime("%y%m%d"),
        created.strftime("%H%M"),
        separators.repetition,
        "00501",
        interchange_control_number(control_number),
        "0",  # ISA14: no TA1 acknowledgment requested
        "P" if production else "T",
    ]
    for position, value in enumerate(values[1:], start=1):
        if position != 11:  # ISA11 is the repetition separator itself
            _checked(value, "ISA", position, separators)
    return separators.element.join(values) + separators.element + separators.component
