"""The visit summary a patient takes home: the clinic, the visit, the copay, the next
appointment and what to do next. Nothing clinical (the back office keeps no diagnoses) and
no identifiers (no MRN, SSN, date of birth or insurance ids).

Building the summary, its text and its email is pure: records in, words out. `send` is the
one edge that speaks SMTP, with the back office's settings.

Errors:

    Exception
     └── EmailNotSent   the mail server is not set up, unreachable, or refused the message;
                        `str()` is a sentence for staff, without the patient's address
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from backoffice.clinic.models import Location, Provider
from backoffice.patients.models import Patient
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.settings import Settings

__all__ = [
    "EmailNotSent",
    "NextAppointment",
    "VisitSummary",
    "build_summary",
    "email_message",
    "provider_name",
    "send",
    "summary_text",
]

DATE_FORMAT = "%A, %B %-d, %Y"
TIME_FORMAT = "%-I:%M %p %Z"
SMTP_TIMEOUT_SECONDS = 10.0


def dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def provider_name(provider: Provider) -> str:
    name = f"{provider.first_name} {provider.last_name}"
    return f"{name}, {provider.credentials}" if provider.credentials else name


def _one_line_address(location: Location) -> str:
    return (
        f"{location.address_line1}, {location.address_city}, "
        f"{location.address_state} {location.address_postal_code}"
    )


@dataclass(frozen=True)
class NextAppointment:
    """The patient's next booked visit, in its own location's time zone."""

    starts_at: datetime
    zone: ZoneInfo
    provider: str
    location: str

    @property
    def date(self) -> str:
        return self.starts_at.astimezone(self.zone).strftime(DATE_FORMAT)

    @property
    def time(self) -> str:
        return self.starts_at.astimezone(self.zone).strftime(TIME_FORMAT)


@dataclass(frozen=True)
class VisitSummary:
    clinic_name: str
    location_name: str
    location_address: str
    location_phone: str | None
    patient_name: str
    starts_at: datetime
    zone: ZoneInfo
    provider: str
    visit_type: str
    copay_paid_cents: int
    copay_left_cents: int  # still to pay for this visit
    next_appointment: NextAppointment | None

    @property
    def date(self) -> str:
        return self.starts_at.astimezone(self.zone).strftime(DATE_FORMAT)

    @property
    def time(self) -> str:
        return self.starts_at.astimezone(self.zone).strftime(TIME_FORMAT)

    @property
    def next_steps(self) -> list[str]:
        call = f"call us at {self.location_phone}" if self.location_phone else "call the clinic"
        steps = []
        if self.next_appointment is not None:
            n = self.next_appointment
            steps.append(
                f"Come back on {n.date} at {n.time} to see {n.provider} at {n.location}. "
                f"If you cannot come, {call} at least a day before."
            )
        else:
            steps.append(f"If you were asked to come back, {call} to book your next visit.")
        if self.copay_left_cents > 0:
            steps.append(
                f"{dollars(self.copay_left_cents)} is still to pay for this visit: pay at the "
                f"front desk, or {call}."
            )
        steps.append(f"If you have questions about your visit, {call}.")
        steps.append("In an emergency, call 911.")
        return steps


def build_summary(
    *,
    clinic_name: str,
    appointment: Appointment,
    patient: Patient,
    provider: Provider,
    kind: AppointmentType,
    location: Location,
    copay_due_cents: int,
    copay_paid_cents: int,
    next_visit: tuple[Appointment, Provider, Location] | None = None,
) -> VisitSummary:
    """The summary from the records it names; only the fields a patient should see leave."""
    upcoming = None
    if next_visit is not None:
        later, later_provider, later_location = next_visit
        upcoming = NextAppointment(
            starts_at=later.starts_at,
            zone=ZoneInfo(later_location.timezone),
            provider=provider_name(later_provider),
            location=later_location.name,
        )
    return VisitSummary(
        clinic_name=clinic_name,
        location_name=location.name,
        location_address=_one_line_address(location),
        location_phone=location.phone,
        patient_name=f"{patient.first_name} {patient.last_name}",
        starts_at=appointment.starts_at,
        zone=ZoneInfo(location.timezone),
        provider=provider_name(provider),
        visit_type=kind.name,
        copay_paid_cents=copay_paid_cents,
        copay_left_cents=max(0, copay_due_cents - copay_paid_cents),
        next_appointment=upcoming,
    )


def summary_text(summary: VisitSummary) -> str:
    """The summary as plain text: the email's body, the same words as the printed page."""
    where = [summary.location_name, summary.location_address]
    if summary.location_phone:
        where.append(f"Phone: {summary.location_phone}")
    lines = [
        f"{summary.clinic_name}: visit summary",
        "",
        *where,
        "",
        f"Patient: {summary.patient_name}",
        f"Visit: {summary.visit_type} with {summary.provider}",
        f"When: {summary.date} at {summary.time}",
        f"Copay paid: {dollars(summary.copay_paid_cents)}",
    ]
    if summary.copay_left_cents > 0:
        lines.append(f"Still to pay for this visit: {dollars(summary.copay_left_cents)}")
    lines.append("")
    n = summary.next_appointment
    if n is not None:
        lines += [
            "Your next appointment:",
            f"  {n.date} at {n.time}",
            f"  with {n.provider}, at {n.location}",
        ]
    else:
        lines.append("Your next appointment: none booked.")
    lines += ["", "What to do next:", *(f"- {step}" for step in summary.next_steps), ""]
    return "\n".join(lines)


def email_message(
    summary: VisitSummary, *, to: str, sender: str, sent_at: datetime
) -> EmailMessage:
    """The summary as an email to the patient. The subject names only the clinic: subjects
    show in notifications and on lock screens."""
    message = EmailMessage()
    message["Subject"] = f"Your visit summary from {summary.clinic_name}"
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(sent_at)
    # A domain given here spares make_msgid a DNS look-up of this host's name.
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "frontdesk")
    message.set_content(summary_text(summary))
    return message


class EmailNotSent(Exception):
    """The summary did not leave: `str()` says why, for staff, without the address."""


def _smtp_code(exc: smtplib.SMTPException) -> str:
    code = getattr(exc, "smtp_code", None)
    return f" ({code})" if code else ""


def send(message: EmailMessage, *, settings: Settings) -> None:
    """Hand `message` to the configured mail server, or raise `EmailNotSent`."""
    if settings.smtp_host is None:
        raise EmailNotSent("Email is not set up on this back office; print the summary instead.")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = settings.smtp_password
                smtp.login(settings.smtp_username, password.get_secret_value() if password else "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailNotSent(
            "The mail server refused the patient's email address; check it on their record."
        ) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise EmailNotSent(
            f"The mail server did not accept the back office's sign-in{_smtp_code(exc)}; "
            "nothing was sent. Ask an administrator to check the email settings."
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise EmailNotSent(
            "The mail server does not offer a secure connection (STARTTLS); nothing was sent. "
            "Ask an administrator to check the email settings."
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise EmailNotSent(
            "The mail server hung up before the message was accepted; nothing was sent. "
            "Try again later, or print the summary."
        ) from exc
    except smtplib.SMTPException as exc:
        raise EmailNotSent(
            f"The mail server refused the message{_smtp_code(exc)}; nothing was sent. "
            "Try again later, or print the summary."
        ) from exc
    except OSError as exc:  # refused, unreachable, timed out, a TLS failure
        raise EmailNotSent(
            "The mail server could not be reached; nothing was sent. "
            "Try again later, or print the summary."
        ) from exc
