"""The patient's proposed corrections on the confirm-details screen (no Kivy): which fields
can be changed, on which keypad, and how a typed value is checked before it is proposed.

Changes are proposals: staff accept them at the desk, nothing on file is overwritten here.
The date of birth is not among them (it identified the patient; the desk corrects it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from shared.contracts.kiosk import Address, DemographicChanges, Demographics
from shared.validators import normalize_phone, normalize_postal_code, normalize_state


@dataclass(frozen=True)
class Editable:
    key: str
    label: str  # English; translated on screen
    keypad: str  # a kiosk.ui.widgets.keypad layout


EDITABLE = (
    Editable("first_name", "First name", "letters"),
    Editable("last_name", "Last name", "letters"),
    Editable("phone", "Mobile phone", "digits"),
    Editable("email", "Email", "email"),
    Editable("line1", "Street address", "address"),
    Editable("city", "City", "letters"),
    Editable("state", "State (2 letters)", "letters"),
    Editable("postal_code", "ZIP code", "digits"),
)
ADDRESS_PARTS = ("line1", "city", "state", "postal_code")


class NotValid(ValueError):
    """The message (English, translated on screen) says what to fix."""


def checked(key: str, typed: str) -> str:
    """The value as it will be proposed, or NotValid."""
    text = typed.strip()
    if not text:
        raise NotValid("Please type something, or touch Cancel.")
    try:
        if key == "phone":
            return normalize_phone(text)
        if key == "email":
            return validate_email(text.lower(), check_deliverability=False).normalized
        if key == "state":
            return normalize_state(text)
        if key == "postal_code":
            return normalize_postal_code(text)
    except (ValueError, EmailNotValidError) as exc:
        raise NotValid(_PROBLEMS[key]) from exc
    if key in ("first_name", "last_name", "city") and len(text) > 35:
        raise NotValid("That is longer than we can keep. Please ask at the desk.")
    return text.title() if key in ("first_name", "last_name", "city") else text.upper()


_PROBLEMS = {
    "phone": "Please type a 10-digit US phone number.",
    "email": "That doesn't look like an email address.",
    "state": "Please type the 2-letter state, such as CA.",
    "postal_code": "Please type a 5-digit ZIP code.",
}


@dataclass
class ProposedChanges:
    on_file: Demographics
    values: dict[str, str] = field(default_factory=dict)

    def propose(self, key: str, typed: str) -> None:
        self.values[key] = checked(key, typed)

    def shown(self, key: str) -> str:
        """What the row shows: the proposed value, else what is on file."""
        if key in self.values:
            return self.values[key]
        address = self.on_file.address
        if key in ADDRESS_PARTS:
            return "" if address is None else str(getattr(address, key) or "")
        return str(getattr(self.on_file, key) or "")

    def changes(self) -> DemographicChanges:
        values = {k: v for k, v in self.values.items() if k not in ADDRESS_PARTS}
        if any(key in self.values for key in ADDRESS_PARTS):
            parts = {key: self.shown(key) for key in ADDRESS_PARTS}
            if all(parts.values()):
                line2 = self.on_file.address.line2 if self.on_file.address else None
                values["address"] = Address(**parts, line2=line2)  # type: ignore[assignment]
        return DemographicChanges(**values)  # type: ignore[arg-type]

    @property
    def address_incomplete(self) -> bool:
        """A new address needs all four parts before it can be proposed."""
        touched = any(key in self.values for key in ADDRESS_PARTS)
        return touched and not all(self.shown(key) for key in ADDRESS_PARTS)
