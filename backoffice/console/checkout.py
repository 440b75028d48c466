"""Check-out at the desk: mark the visit done, book the follow-up, and give the patient a
summary of the visit, printed or emailed.

    GET  /staff/arrivals/{id}/checkout              the visit; with ?interval=…, open times
    POST /staff/arrivals/{id}/checkout/done         the visit is over (queue: checked out)
    POST /staff/arrivals/{id}/checkout/follow-up    book one of the open times
    GET  /staff/appointments/{id}/summary           the printable summary
    POST /staff/appointments/{id}/summary/email     the summary to the patient's email

The follow-up is not a kind of record: it is the patient's next booked appointment after
this visit, which is what the summary tells the patient about.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from sqlmodel import Session, col, select

from backoffice.checkin import queue as queue_service
from backoffice.checkin import visit_summary
from backoffice.checkin.models import Arrival
from backoffice.checkin.queue import STATE_OF_STATUS
from backoffice.checkin.schemas import QueueTransition
from backoffice.checkin.visit_summary import EmailNotSent, VisitSummary
from backoffice.clinic import service as clinic_service
from backoffice.clinic.models import Location, Provider
from backoffice.console.web import (
    attempt,
    field_errors,
    page_requires,
    parse_form,
    render,
    see_other,
)
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.patients import service as patients_service
from backoffice.patients.models import Patient
from backoffice.payments import ledger
from backoffice.payments.copay import copay_due
from backoffice.scheduling import configuration
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.lifecycle import AppointmentEvent, Change
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.scheduling.schemas import AppointmentCreate, SlotPublic
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from shared.contracts.kiosk import ArrivalState
from shared.enums import AuditOutcome
from shared.errors import InvalidInput, NotFound

log = logging.getLogger("frontdesk.console")
checkout_pages = APIRouter()

Reader = Annotated[Actor, Depends(page_requires(Permission.SCHEDULE_READ))]
Writer = Annotated[Actor, Depends(page_requires(Permission.APPOINTMENTS_WRITE))]

INTERVALS = (
    ("1", "1 week"),
    ("2", "2 weeks"),
    ("4", "4 weeks"),
    ("6", "6 weeks"),
    ("12", "12 weeks"),
    ("date", "On a date"),
)
# Open times are looked for in the week around the date the follow-up is due.
DAYS_BEFORE, DAYS_AFTER = 3, 4
FINISHED = (ArrivalState.CHECKED_OUT, ArrivalState.SENT_HOME)


# --- forms --------------------------------------------------------------------------------


class FollowUpSearch(BaseModel):
    interval: Literal["1", "2", "4", "6", "12", "date"]
    on: date | None = Field(default=None, validate_default=True)
    provider_id: uuid.UUID
    appointment_type_id: uuid.UUID

    @field_validator("on")
    @classmethod
    def _a_date_when_chosen(cls, value: date | None, info: ValidationInfo) -> date | None:
        if info.data.get("interval") == "date" and value is None:
            raise ValueError("choose a date")
        return value

    def due_on(self, visit_day: date) -> date:
        if self.interval == "date":
            assert self.on is not None
            return self.on
        return visit_day + timedelta(weeks=int(self.interval))


class FollowUpBooking(BaseModel):
    # One of the listed open times: "<start, ISO 8601>|<location id>".
    slot: str | None = Field(default=None, validate_default=True)
    provider_id: uuid.UUID
    appointment_type_id: uuid.UUID

    @field_validator("slot")
    @classmethod
    def _a_listed_time(cls, value: str | None) -> str:
        try:
            _parse_slot(value or "")
        except ValueError:
            raise ValueError("choose one of the open times") from None
        return value or ""

    @property
    def start(self) -> datetime:
        return _parse_slot(self.slot or "")[0]

    @property
    def location_id(self) -> uuid.UUID:
        return _parse_slot(self.slot or "")[1]


def _parse_slot(value: str) -> tuple[datetime, uuid.UUID]:
    start, _, location = value.partition("|")
    at = datetime.fromisoformat(start)
    if at.tzinfo is None:
        raise ValueError("a slot's start has its offset")
    return at, uuid.UUID(location)


def slot_value(slot: SlotPublic) -> str:
    return f"{slot.start.isoformat()}|{slot.location_id}"


# --- the visit ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    arrival: Arrival | None
    appointment: Appointment
    patient: Patient
    provider: Provider
    kind: AppointmentType
    location: Location
    zone: ZoneInfo
    state: ArrivalState
    times: dict[str, datetime]
    copay_due_cents: int
    copay_paid_cents: int
    next_visit: tuple[Appointment, Provider, Location] | None

    @property
    def copay_left_cents(self) -> int:
        return max(0, self.copay_due_cents - self.copay_paid_cents)


def step_times(history: Sequence[Change]) -> dict[str, datetime]:
    """When the appointment reached each state still in force: an undone step's time goes."""
    times: dict[str, datetime] = {}
    for change in history:
        if change.event == AppointmentEvent.UNDO:
            times.pop(change.from_state, None)
        else:
            times[change.to_state] = change.at
    return times


def next_visit(
    session: Session, *, appointment: Appointment
) -> tuple[Appointment, Provider, Location] | None:
    """The patient's next booked appointment after this one (the follow-up, if booked)."""
    row = session.exec(
        select(Appointment, Provider, Location)
        .join(Provider, col(Provider.id) == Appointment.provider_id)
        .join(Location, col(Location.id) == Appointment.location_id)
        .where(
            Appointment.patient_id == appointment.patient_id,
            Appointment.id != appointment.id,
            col(Appointment.starts_at) > appointment.starts_at,
            col(Appointment.status).in_(("scheduled", "confirmed")),
        )
        .order_by(col(Appointment.starts_at))
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def _arrival(session: Session, arrival_id: uuid.UUID) -> Arrival:
    arrival = session.get(Arrival, arrival_id)
    if arrival is None:
        raise NotFound("No arrival with that id.")
    return arrival


def load_visit(
    session: Session, *, actor: Actor, appointment_id: uuid.UUID, arrival: Arrival | None = None
) -> Visit:
    """Everything check-out shows of one visit; the read is audited under the patient."""
    appointment = scheduling_service.read_appointment(
        session, actor=actor, appointment_id=appointment_id
    )
    if arrival is None:
        arrival = session.exec(
            select(Arrival).where(Arrival.appointment_id == appointment.id)
        ).first()
    provider = clinic_service.get_provider(session, provider_id=appointment.provider_id)
    location = clinic_service.get_location(session, location_id=appointment.location_id)
    kind = configuration.find_appointment_type(
        session, appointment_type_id=appointment.appointment_type_id
    )
    history = scheduling_service.history_of(session, appointment=appointment)
    return Visit(
        arrival=arrival,
        appointment=appointment,
        patient=patients_service.get_patient(session, patient_id=appointment.patient_id),
        provider=provider,
        kind=kind,
        location=location,
        zone=ZoneInfo(location.timezone),
        state=STATE_OF_STATUS.get(appointment.status, ArrivalState.WAITING),
        times=step_times(history),
        copay_due_cents=copay_due(session, appointment=appointment).amount_cents,
        copay_paid_cents=ledger.paid_for_appointment(session, appointment.id),
        next_visit=next_visit(session, appointment=appointment),
    )


def summary_of(request: Request, visit: Visit) -> VisitSummary:
    return visit_summary.build_summary(
        clinic_name=request.app.state.settings.clinic_name,
        appointment=visit.appointment,
        patient=visit.patient,
        provider=visit.provider,
        kind=visit.kind,
        location=visit.location,
        copay_due_cents=visit.copay_due_cents,
        copay_paid_cents=visit.copay_paid_cents,
        next_visit=visit.next_visit,
    )


# --- open times for the follow-up ----------------------------------------------------------


@dataclass(frozen=True)
class SlotDay:
    label: str
    slots: list[tuple[str, str]]  # (the radio's value, what it says)


def _search(
    session: Session, visit: Visit, values: dict[str, Any]
) -> tuple[list[SlotPublic] | None, dict[str, str]]:
    """Open times in the week around the date the follow-up is due, or each field's problem."""
    form, errors = parse_form(FollowUpSearch, values)
    if form is None:
        return None, errors
    due = form.due_on(visit.appointment.starts_at.astimezone(visit.zone).date())
    start = datetime.combine(due - timedelta(days=DAYS_BEFORE), time(0), tzinfo=visit.zone)
    end = datetime.combine(due + timedelta(days=DAYS_AFTER + 1), time(0), tzinfo=visit.zone)
    now = utcnow()
    if end <= now:
        return None, {"on": "choose a date in the future"}
    try:
        kind = scheduling_service.get_appointment_type(
            session, appointment_type_id=form.appointment_type_id
        )
        scheduling_service.provider_offering(session, kind, form.provider_id)
        slots = scheduling_service.search_slots(
            session,
            appointment_type_id=kind.id,
            start=max(start, now),
            end=end,
            provider_id=form.provider_id,
            now=now,
        )
    except InvalidInput as exc:
        return None, field_errors(exc.errors) or {"form": exc.detail}
    except NotFound as exc:
        return None, {"appointment_type_id": exc.detail}
    return slots, {}


def _by_day(slots: Sequence[SlotPublic], locations: dict[uuid.UUID, str]) -> list[SlotDay]:
    """Slots under their local day; the place is named only when there is more than one."""
    several = len({s.location_id for s in slots}) > 1
    days: dict[date, SlotDay] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        day = slot.start.date()  # slots come in their location's own offset
        if day not in days:
            days[day] = SlotDay(slot.start.strftime("%A %-d %B %Y"), [])
        text = slot.start.strftime("%H:%M")
        if several:
            text += f" at {locations.get(slot.location_id, 'another location')}"
        days[day].slots.append((slot_value(slot), text))
    return list(days.values())


def _merge(found: list[SlotPublic] | None, extra: Sequence[SlotPublic]) -> list[SlotPublic]:
    seen = {(s.start, s.location_id) for s in found or []}
    return [*(found or []), *(s for s in extra if (s.start, s.location_id) not in seen)]


# --- rendering ----------------------------------------------------------------------------


def _search_values(visit: Visit, given: dict[str, Any]) -> dict[str, str]:
    """The follow-up form's values: what was typed, else the same provider and visit type."""
    return {
        "interval": str(given.get("interval") or ""),
        "on": str(given.get("on") or ""),
        "provider_id": str(given.get("provider_id") or visit.provider.id),
        "appointment_type_id": str(given.get("appointment_type_id") or visit.kind.id),
    }


def _email_blocker(request: Request, visit: Visit) -> str | None:
    """Why the summary cannot be emailed now, in staff's words; None when it can."""
    if not visit.patient.email:
        return (
            "There is no email address on this patient's record; add one there, "
            "or print the summary."
        )
    if request.app.state.settings.smtp_host is None:
        return "Email is not set up on this back office; print the summary instead."
    return None


def checkout_page(
    request: Request,
    session: Session,
    visit: Visit,
    *,
    status: int = 200,
    given: dict[str, Any] | None = None,
    extra_slots: Sequence[SlotPublic] = (),
    search: bool = False,
    **messages: Any,
) -> Response:
    values = _search_values(visit, given or {})
    slots: list[SlotPublic] | None = None
    search_errors: dict[str, str] = {}
    if search:
        slots, search_errors = _search(session, visit, values)
        if search_errors and status == 200:
            status = 422
    if extra_slots:
        slots = _merge(slots, extra_slots)
    providers = clinic_service.list_providers(session, active=True)
    names = {loc.id: loc.name for p in providers for loc in p.locations}
    return render(
        request,
        "checkout/page.html",
        status=status,
        visit=visit,
        zone=visit.zone,
        intervals=INTERVALS,
        values=values,
        search_errors=search_errors,
        slot_days=None if slots is None else _by_day(slots, names),
        providers=providers,
        kinds=configuration.list_appointment_types(session, active=True),
        finished=visit.state in FINISHED,
        email_blocker=_email_blocker(request, visit),
        **messages,
    )


def _checkout_url(arrival_id: uuid.UUID) -> str:
    return f"/staff/arrivals/{arrival_id}/checkout"


# --- pages --------------------------------------------------------------------------------


@checkout_pages.get("/staff/arrivals/{arrival_id}/checkout", name="console.checkout")
def checkout(
    request: Request,
    session: SessionDep,
    actor: Reader,
    arrival_id: uuid.UUID,
) -> Response:
    arrival = _arrival(session, arrival_id)
    visit = load_visit(session, actor=actor, appointment_id=arrival.appointment_id, arrival=arrival)
    given = dict(request.query_params)
    return checkout_page(request, session, visit, given=given, search="interval" in given)


@checkout_pages.post("/staff/arrivals/{arrival_id}/checkout/done", name="console.checkout_done")
def mark_done(
    request: Request, session: SessionDep, actor: Writer, arrival_id: uuid.UUID
) -> Response:
    arrival = _arrival(session, arrival_id)
    _, refusal = attempt(
        session,
        lambda: queue_service.move_along(
            session,
            actor=actor,
            broadcaster=request.app.state.queue_broadcaster,
            arrival_id=arrival.id,
            data=QueueTransition(to="checked_out"),
            now=utcnow(),
        ),
    )
    if refusal is not None:
        visit = load_visit(
            session, actor=actor, appointment_id=arrival.appointment_id, arrival=arrival
        )
        return checkout_page(
            request, session, visit, status=refusal.status, done_error=refusal.detail
        )
    return see_other(_checkout_url(arrival.id), "Visit marked done.")


@checkout_pages.post(
    "/staff/arrivals/{arrival_id}/checkout/follow-up", name="console.checkout_follow_up"
)
def book_follow_up(
    request: Request,
    session: SessionDep,
    actor: Writer,
    arrival_id: uuid.UUID,
    slot: Annotated[str | None, Form(max_length=100)] = None,
    provider_id: Annotated[str | None, Form(max_length=40)] = None,
    appointment_type_id: Annotated[str | None, Form(max_length=40)] = None,
    interval: Annotated[str | None, Form(max_length=10)] = None,
    on: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    arrival = _arrival(session, arrival_id)
    visit = load_visit(session, actor=actor, appointment_id=arrival.appointment_id, arrival=arrival)
    given = {
        "slot": slot,
        "provider_id": provider_id,
        "appointment_type_id": appointment_type_id,
        "interval": interval,
        "on": on,
    }
    form, errors = parse_form(FollowUpBooking, given)
    if form is None:
        return checkout_page(
            request,
            session,
            visit,
            status=422,
            given=given,
            search=True,
            book_error="Choose one of the open times."
            if "slot" in errors
            else "Search for open times again: the provider or visit type was not valid.",
        )
    try:
        data = AppointmentCreate(
            patient_id=visit.patient.id,
            provider_id=form.provider_id,
            appointment_type_id=form.appointment_type_id,
            start=form.start,
            location_id=form.location_id,
        )
    except ValidationError:
        return checkout_page(
            request,
            session,
            visit,
            status=422,
            given=given,
            search=True,
            book_error="Choose one of the open times.",
        )
    _, refusal = attempt(
        session,
        lambda: scheduling_service.book_appointment(session, actor=actor, data=data, now=utcnow()),
    )
    if refusal is not None:
        nearest = [SlotPublic.model_validate(s) for s in refusal.extensions.get("alternatives", [])]
        return checkout_page(
            request,
            session,
            visit,
            status=refusal.status,
            given=given,
            search=True,
            extra_slots=nearest,
            book_error=refusal.detail,
        )
    return see_other(_checkout_url(arrival.id), "Follow-up booked.")


@checkout_pages.get("/staff/appointments/{appointment_id}/summary", name="console.visit_summary")
def summary_page(
    request: Request, session: SessionDep, actor: Reader, appointment_id: uuid.UUID
) -> Response:
    visit = load_visit(session, actor=actor, appointment_id=appointment_id)
    return _summary_page(request, visit)


def _summary_page(
    request: Request, visit: Visit, *, status: int = 200, email_error: str | None = None
) -> Response:
    return render(
        request,
        "checkout/summary.html",
        status=status,
        visit=visit,
        summary=summary_of(request, visit),
        zone=visit.zone,
        email_blocker=_email_blocker(request, visit),
        email_error=email_error,
    )


@checkout_pages.post(
    "/staff/appointments/{appointment_id}/summary/email", name="console.visit_summary_email"
)
def email_summary(
    request: Request, session: SessionDep, actor: Writer, appointment_id: uuid.UUID
) -> Response:
    """Send the summary to the address on the patient's record. Only a message the mail
    server accepted is audited as sent; the address itself is never logged."""
    visit = load_visit(session, actor=actor, appointment_id=appointment_id)
    settings = request.app.state.settings
    problem, status = _email_blocker(request, visit), 409
    if problem is None:
        assert visit.patient.email is not None
        message = visit_summary.email_message(
            summary_of(request, visit),
            to=visit.patient.email,
            sender=settings.smtp_from,
            sent_at=utcnow(),
        )
        try:
            visit_summary.send(message, settings=settings)
        except EmailNotSent as exc:
            problem, status = str(exc), 502
            log.warning(
                "visit summary for appointment %s not sent: %s",
                visit.appointment.id,
                type(exc.__cause__).__name__,
            )
    audit = {"appointment_id": str(visit.appointment.id)}
    if problem is not None:
        actor.audit(
            session,
            "visit_summary.emailed",
            resource_type="patient",
            resource_id=visit.patient.id,
            detail=audit,
            outcome=AuditOutcome.FAILURE,
        )
        if visit.arrival is None:
            return _summary_page(request, visit, status=status, email_error=problem)
        return checkout_page(request, session, visit, status=status, email_error=problem)
    actor.audit(
        session,
        "visit_summary.emailed",
        resource_type="patient",
        resource_id=visit.patient.id,
        detail=audit,
    )
    back = (
        _checkout_url(visit.arrival.id)
        if visit.arrival is not None
        else f"/staff/appointments/{visit.appointment.id}/summary"
    )
    return see_other(back, "Visit summary emailed.")
