"""Times, dates and amounts as a patient reads them in their language (no Kivy)."""

from __future__ import annotations

from datetime import date, datetime

from kiosk.i18n import translate
from shared.contracts.kiosk import AppointmentMatch
from shared.money import format_dollars

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def clock_time(moment: datetime, language: str) -> str:
    """10:30 AM in English; 10:30 in Spanish, as Spanish speakers write the time."""
    if language == "en":
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    return f"{moment.hour}:{moment.minute:02d}"


def long_date(day: date, language: str) -> str:
    month = translate(MONTHS[day.month - 1], language)
    if language == "en":
        return f"{month} {day.day}, {day.year}"
    return f"{day.day} de {month.lower()} de {day.year}"


def appointment_line(match: AppointmentMatch, language: str) -> str:
    """What a patient recognises their visit by: first name and initial, time, provider."""
    time = clock_time(match.start, language)
    at = translate("{time} with {provider}", language).format(
        time=time, provider=match.provider_name
    )
    return f"{match.first_name} {match.last_initial}.\n{at}\n{match.location_name}"


def readable_phone(number: str) -> str:
    """+14135550146 as (413) 555-0146, as people read their own number."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def money(cents: int) -> str:
    return format_dollars(cents)
