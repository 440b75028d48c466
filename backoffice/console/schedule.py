"""Schedule pages: a provider's day or week, one appointment and the steps it can take now,
booking, and the wait list.

The scheduling service decides everything (what is open, what may happen next, what a
refusal says) and audits every read of who is booked; these pages lay its answers out and
send each refusal back to the form that caused it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints
from sqlmodel import Session, col, select

from backoffice.clinic import service as clinic_service
from backoffice.clinic.models import Location, Provider
from backoffice.console.web import (
    attempt,
    field_errors,
    location_zone,
    page_requires,
    parse_date,
    parse_form,
    parse_uuid,
    render,
    see_other,
)
from backoffice.db import SessionDep
from backoffice.kit.columns import Timestamp, utcnow
from backoffice.patients import service as patients_service
from backoffice.patients.models import Patient
from backoffice.scheduling import configuration, wait_list
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.lifecycle import AppointmentEvent, Change, allowed_events
from backoffice.scheduling.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentType,
    AppointmentTypeProvider,
    WaitListEntry,
)
from backoffice.scheduling.schemas import (
    AppointmentCreate,
    AppointmentPublic,
    ProviderCalendarView,
    RescheduleIn,
    SlotPublic,
    WaitListCreate,
)
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from shared.errors import AppError, InvalidInput, NotFound

schedule_pages = APIRouter()

ScheduleReader = Annotated[Actor, Depends(page_requires(Permission.SCHEDULE_READ))]
Booker = Annotated[Actor, Depends(page_requires(Permission.APPOINTMENTS_WRITE))]

ROW_MINUTES = 15  # the slot search's step: every open start falls on a row
DEFAULT_ROWS = (8 * 60, 17 * 60)  # an empty day still shows office hours
PATIENT_MATCHES = 20
WAIT_LIST_PAGE = 50
WAIT_LIST_STATES = ("waiting", "offered", "booked", "cancelled")
RESCHEDULE_DAYS = 7
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# Pydantic's "Field required" said the way the form asks for it.
REQUIRED = {
    "patient_id": "Choose a patient.",
    "provider_id": "Choose a provider.",
    "appointment_type_id": "Choose an appointment type.",
    "start": "Choose a time.",
    "earliest": "Give the first day that suits.",
    "latest": "Give the last day that suits.",
    "version": "Reload the page and try again.",
}
EVENT_LABELS = {
    "confirm": "Confirmed",
    "arrive": "Arrived",
    "room": "Roomed",
    "start": "Visit started",
    "complete": "Completed",
    "cancel": "Cancelled",
    "mark_no_show": "Marked a no-show",
    "reschedule": "Rescheduled",
    "undo": "Undone",
}
ItemT = TypeVar("ItemT", Provider, AppointmentType)


# --- the grid: a pure layout of what the service answered --------------------------------


@dataclass(frozen=True)
class Block:
    """One appointment on the grid."""

    id: uuid.UUID
    start: datetime
    end: datetime
    patient_id: uuid.UUID
    patient_name: str
    type_name: str
    status: str
    overbooked: bool

    @property
    def holds_time(self) -> bool:
        return self.status in LIVE_STATUSES


@dataclass
class Cell:
    working: bool = False
    busy: bool = False  # inside an appointment that began in an earlier row
    blocks: list[Block] = field(default_factory=list)
    open_start: datetime | None = None  # an open slot starting in this row


@dataclass
class Grid:
    days: list[date]
    rows: list[time]
    cells: dict[tuple[date, time], Cell]

    def cell(self, day: date, row: time) -> Cell:
        return self.cells.get((day, row)) or Cell()


def _row_of(local: datetime) -> tuple[date, time]:
    minutes = (local.hour * 60 + local.minute) // ROW_MINUTES * ROW_MINUTES
    return local.date(), time(minutes // 60, minutes % 60)


def _rows_between(start: datetime, end: datetime) -> Iterator[tuple[date, time]]:
    """The rows a local span covers, by the wall clock (a DST day keeps 09:00 at 09:00)."""
    cursor = datetime.combine(*_row_of(start))
    stop = end.replace(tzinfo=None)
    while cursor < stop:
        yield cursor.date(), cursor.time()
        cursor += timedelta(minutes=ROW_MINUTES)


def lay_out(
    *,
    days: list[date],
    working: Iterable[tuple[datetime, datetime]],
    blocks: Iterable[Block],
    open_starts: Iterable[datetime],
    zone: ZoneInfo,
) -> Grid:
    """Rows of ROW_MINUTES from the earliest thing shown to the latest, one column a day."""
    cells: defaultdict[tuple[date, time], Cell] = defaultdict(Cell)
    bounds: list[int] = []

    def reach(start: datetime, end: datetime) -> None:
        bounds.append(start.hour * 60 + start.minute)
        last = 24 * 60 if end.date() > start.date() else end.hour * 60 + end.minute
        bounds.append(max(last, bounds[-1] + 1))

    for start, end in working:
        start, end = start.astimezone(zone), end.astimezone(zone)
        reach(start, end)
        for key in _rows_between(start, end):
            cells[key].working = True
    for block in sorted(blocks, key=lambda b: (b.start, not b.holds_time)):
        start, end = block.start.astimezone(zone), block.end.astimezone(zone)
        reach(start, end)
        cells[_row_of(start)].blocks.append(block)
        if block.holds_time:
            for key in list(_rows_between(start, end))[1:]:
                cells[key].busy = True
    for moment in sorted(open_starts):
        local = moment.astimezone(zone)
        reach(local, local)
        cell = cells[_row_of(local)]
        cell.open_start = cell.open_start or moment
    low, high = (min(bounds), max(bounds)) if bounds else DEFAULT_ROWS
    low = low // ROW_MINUTES * ROW_MINUTES
    high = min(24 * 60, -(-high // ROW_MINUTES) * ROW_MINUTES)
    rows = [time(m // 60, m % 60) for m in range(low, high, ROW_MINUTES)]
    return Grid(days=days, rows=rows, cells=dict(cells))


# --- small shared reads ------------------------------------------------------------------


def _choose(items: Sequence[ItemT], wanted: str | None) -> ItemT | None:
    chosen = parse_uuid(wanted)
    return next((i for i in items if i.id == chosen), items[0] if items else None)


def provider_zone(request: Request, provider: Provider) -> ZoneInfo:
    """Where the provider works (their first location), else the clinic's zone."""
    if provider.locations:
        return ZoneInfo(provider.locations[0].timezone)
    return location_zone(request)


def active_providers(session: Session) -> list[Provider]:
    providers = clinic_service.list_providers(session, active=True)
    if not providers:
        raise NotFound("No providers are set up yet; an administrator adds them first.")
    return providers


def offered_types(session: Session, provider_id: uuid.UUID) -> list[AppointmentType]:
    return list(
        session.exec(
            select(AppointmentType)
            .join(
                AppointmentTypeProvider,
                col(AppointmentTypeProvider.appointment_type_id) == AppointmentType.id,
            )
            .where(AppointmentTypeProvider.provider_id == provider_id, col(AppointmentType.active))
            .order_by(col(AppointmentType.name))
        )
    )


def patient_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names for rows the service has just read (and audited) for this user."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(Patient.id, Patient.first_name, Patient.last_name).where(col(Patient.id).in_(wanted))
    )
    return {pid: f"{first} {last}" for pid, first, last in rows}


def type_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(AppointmentType.id, AppointmentType.name).where(col(AppointmentType.id).in_(wanted))
    )
    return dict(rows.all())


def provider_name(provider: Provider) -> str:
    suffix = f", {provider.credentials}" if provider.credentials else ""
    return f"{provider.first_name} {provider.last_name}{suffix}"


def _day_window(day: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )


def _instant(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _friendly(errors: dict[str, str]) -> dict[str, str]:
    return {
        name: REQUIRED.get(name, message) if message == "Field required" else message
        for name, message in errors.items()
    }


def _refusal_errors(refusal: AppError) -> dict[str, str]:
    return field_errors(refusal.errors) if isinstance(refusal, InvalidInput) else {}


def _tell_the_board(request: Request, session: Session, location_id: uuid.UUID) -> None:
    """The arrival board lists today's expected patients: let open boards refresh."""
    request.app.state.queue_broadcaster.publish(
        session, {"type": "appointment", "location_id": str(location_id)}
    )


@dataclass(frozen=True)
class PatientOption:
    id: uuid.UUID
    name: str
    date_of_birth: date
    mrn: str


def find_patients(
    session: Session, actor: Actor, q: str | None
) -> tuple[list[PatientOption], str | None]:
    """Matches for the search box (the patients service audits the search), or why the
    search could not be run. A date searches by birth date, nine digits by MRN."""
    q = (q or "").strip()
    if not q:
        return [], None
    born = parse_date(q)
    criteria: dict[str, Any] = (
        {"date_of_birth": born}
        if born
        else {"mrn": q}
        if q.isdigit() and len(q) == 9
        else {"name": q}
    )
    try:
        rows = patients_service.search_patients(
            session, actor=actor, limit=PATIENT_MATCHES, offset=0, **criteria
        )
    except InvalidInput as exc:
        return [], exc.errors[0].message if exc.errors else exc.detail
    return [
        PatientOption(p.id, f"{p.last_name}, {p.first_name}", p.date_of_birth, p.mrn)
        for p in rows[:PATIENT_MATCHES]
    ], None


def chosen_patient(
    request: Request, session: Session, actor: Actor, patient_id: str | None
) -> PatientOption | None:
    wanted = parse_uuid(patient_id)
    if wanted is None:
        return None
    try:
        p = patients_service.read_patient(
            session,
            actor=actor,
            patient_id=wanted,
            cipher=request.app.state.cipher,
            reveal_ssn=False,
        )
    except NotFound:
        return None
    return PatientOption(p.id, f"{p.last_name}, {p.first_name}", p.date_of_birth, p.mrn)


def patient_choices(
    request: Request, session: Session, actor: Actor, values: dict[str, str]
) -> tuple[list[PatientOption], str | None]:
    """The patient already chosen (kept across searches) and the search box's matches."""
    matches, problem = find_patients(session, actor, values.get("q"))
    chosen = chosen_patient(request, session, actor, values.get("patient_id"))
    if chosen is not None and all(m.id != chosen.id for m in matches):
        matches.insert(0, chosen)
    return matches, problem


# --- the provider's day or week -----------------------------------------------------------


@schedule_pages.get("/staff/schedule", name="console.schedule")
def schedule_page(
    request: Request,
    session: SessionDep,
    actor: ScheduleReader,
    provider_id: str | None = None,
    date_: Annotated[str | None, Query(alias="date")] = None,
    view: str = "week",
    type_id: str | None = None,
) -> Response:
    providers = active_providers(session)
    provider = _choose(providers, provider_id)
    assert provider is not None
    zone = provider_zone(request, provider)
    week = view != "day"
    today = utcnow().astimezone(zone).date()
    day = parse_date(date_) or today
    kinds = offered_types(session, provider.id)
    kind = _choose(kinds, type_id)
    calendar: ProviderCalendarView = scheduling_service.calendar_view(
        session, actor=actor, provider_id=provider.id, day=day, week=week, zone=zone
    )
    slots: list[SlotPublic] = []
    if kind is not None:
        slots = scheduling_service.search_slots(
            session,
            appointment_type_id=kind.id,
            start=calendar.start,
            end=calendar.end,
            provider_id=provider.id,
        )
    appointments = calendar.appointments
    names = patient_names(session, (a.patient_id for a in appointments))
    kinds_by_id = type_names(session, (a.appointment_type_id for a in appointments))
    first = calendar.start.astimezone(zone).date()
    days = [first + timedelta(days=i) for i in range(7 if week else 1)]
    grid = lay_out(
        days=days,
        working=[(w.start, w.end) for w in calendar.working],
        blocks=[_block(a, names, kinds_by_id) for a in appointments],
        open_starts=[s.start for s in slots],
        zone=zone,
    )
    here = {"provider_id": str(provider.id), "view": "week" if week else "day"}
    if kind is not None:
        here["type_id"] = str(kind.id)
    step = timedelta(days=7 if week else 1)

    def link(**changes: Any) -> str:
        return "/staff/schedule?" + urlencode({**here, **{k: str(v) for k, v in changes.items()}})

    def book_url(start: datetime) -> str:
        query = {"provider_id": str(provider.id), "starts_at": start.isoformat()}
        if kind is not None:
            query["type_id"] = str(kind.id)
        return "/staff/appointments/new?" + urlencode(query)

    return render(
        request,
        "schedule/page.html",
        zone=zone,
        providers=providers,
        provider=provider,
        provider_name=provider_name,
        kinds=kinds,
        kind=kind,
        week=week,
        day=day,
        today=today,
        grid=grid,
        # Cancelled and rescheduled ones stay on the grid, marked, but are not counted.
        booked=sum(1 for a in appointments if a.status not in ("cancelled", "rescheduled")),
        open_count=len(slots),
        previous_url=link(date=(day - step).isoformat()),
        next_url=link(date=(day + step).isoformat()),
        today_url=link(),
        day_url=lambda d: link(date=d.isoformat(), view="day"),
        week_url=link(date=day.isoformat(), view="week"),
        book_url=book_url,
    )


def _block(a: AppointmentPublic, names: dict[uuid.UUID, str], kinds: dict[uuid.UUID, str]) -> Block:
    return Block(
        id=a.id,
        start=a.start,
        end=a.end,
        patient_id=a.patient_id,
        patient_name=names.get(a.patient_id, "Unknown patient"),
        type_name=kinds.get(a.appointment_type_id, "Visit"),
        status=a.status,
        overbooked=a.overbooked,
    )


# --- booking ------------------------------------------------------------------------------


def _booking_page(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    alternatives: Iterable[dict[str, Any]] = (),
    overbook_allowed: bool = False,
) -> Response:
    providers = active_providers(session)
    provider = _choose(providers, values.get("provider_id"))
    assert provider is not None
    zone = provider_zone(request, provider)
    kinds = offered_types(session, provider.id)
    kind = _choose(kinds, values.get("appointment_type_id"))
    picked = _instant(values.get("start"))
    today = utcnow().astimezone(zone).date()
    day = parse_date(values.get("date")) or (picked.astimezone(zone).date() if picked else today)
    slots: list[SlotPublic] = []
    if kind is not None:
        start, end = _day_window(day, day, zone)
        slots = scheduling_service.search_slots(
            session, appointment_type_id=kind.id, start=start, end=end, provider_id=provider.id
        )
    open_starts = [s.start for s in slots]
    nearest = [m for m in (_instant(str(a.get("start"))) for a in alternatives) if m is not None]
    patients, search_problem = patient_choices(request, session, actor, values)
    errors = dict(errors or {})
    if search_problem:
        errors.setdefault("q", search_problem)
    return render(
        request,
        "schedule/book.html",
        status=status,
        zone=zone,
        providers=providers,
        provider=provider,
        provider_name=provider_name,
        kinds=kinds,
        kind=kind,
        day=day,
        open_starts=open_starts,
        nearest=nearest,
        nearest_elsewhere=[m for m in nearest if m not in open_starts],
        picked=picked,
        picked_gone=picked is not None and picked not in open_starts,
        patients=patients,
        values=values,
        errors=errors,
        problem=problem,
        overbook_allowed=overbook_allowed,
    )


@schedule_pages.get("/staff/appointments/new", name="console.book_form")
def booking_form(
    request: Request,
    session: SessionDep,
    actor: Booker,
    provider_id: str = "",
    starts_at: str = "",
    type_id: str = "",
    patient_id: str = "",
    q: str = "",
    date_: Annotated[str, Query(alias="date")] = "",
) -> Response:
    values = {
        "provider_id": provider_id,
        "appointment_type_id": type_id,
        "start": starts_at,
        "patient_id": patient_id,
        "q": q,
        "date": date_,
    }
    return _booking_page(request, session, actor, values)


@schedule_pages.post("/staff/appointments/new", name="console.book")
def book(
    request: Request,
    session: SessionDep,
    actor: Booker,
    patient_id: Annotated[str, Form()] = "",
    provider_id: Annotated[str, Form()] = "",
    appointment_type_id: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    overbook: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
    date_: Annotated[str, Form(alias="date")] = "",
) -> Response:
    values = {
        "patient_id": patient_id,
        "provider_id": provider_id,
        "appointment_type_id": appointment_type_id,
        "start": start,
        "q": q,
        "date": date_,
    }
    fields = {k: values[k] for k in ("patient_id", "provider_id", "appointment_type_id", "start")}
    data, errors = parse_form(AppointmentCreate, {**fields, "overbook": overbook})
    if data is None:
        return _booking_page(request, session, actor, values, status=422, errors=_friendly(errors))
    booked, refusal = attempt(
        session, lambda: scheduling_service.book_appointment(session, actor=actor, data=data)
    )
    if refusal is not None:
        return _booking_page(
            request,
            session,
            actor,
            values,
            status=refusal.status,
            errors=_refusal_errors(refusal),
            problem=refusal.detail,
            alternatives=refusal.extensions.get("alternatives", ()),
            overbook_allowed=bool(refusal.extensions.get("overbook_allowed")),
        )
    _tell_the_board(request, session, booked.location_id)
    return see_other(f"/staff/appointments/{booked.id}", "Appointment booked.")


# --- one appointment ----------------------------------------------------------------------


def _undo_label(history: Sequence[Change]) -> str:
    """What undo would reverse: the latest change neither an undo nor undone."""
    undone = {c.undoes for c in history if c.undoes is not None}
    target = next(
        (c for c in reversed(history) if c.event != AppointmentEvent.UNDO and c.seq not in undone),
        None,
    )
    if target is None:
        return "Undo the last change"
    return f"Undo: {EVENT_LABELS.get(target.event, target.event).lower()}"


def _appointment_page(
    request: Request,
    session: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    *,
    window: tuple[str | None, str | None] = (None, None),
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    appointment = scheduling_service.read_appointment(
        session, actor=actor, appointment_id=appointment_id
    )
    history = scheduling_service.history_of(session, appointment=appointment)
    patient = patients_service.get_patient(session, patient_id=appointment.patient_id)
    provider = session.get(Provider, appointment.provider_id)
    location = session.get(Location, appointment.location_id)
    kind = session.get(AppointmentType, appointment.appointment_type_id)
    assert provider is not None and location is not None and kind is not None
    zone = ZoneInfo(location.timezone)
    now = utcnow()
    today = now.astimezone(zone).date()
    allowed = allowed_events(history, at=now, undo_window=scheduling_service.UNDO_WINDOW)
    can_write = actor.principal.can(Permission.APPOINTMENTS_WRITE)
    errors = dict(errors or {})
    first = parse_date(window[0]) or max(today, appointment.starts_at.astimezone(zone).date())
    last = parse_date(window[1]) or first + timedelta(days=RESCHEDULE_DAYS - 1)
    slots: list[SlotPublic] = []
    if can_write and AppointmentEvent.RESCHEDULE in allowed:
        if last < first:
            errors.setdefault("to", "must be on or after the first day")
        else:
            start, end = _day_window(first, last, zone)
            try:
                slots = scheduling_service.search_slots(
                    session,
                    appointment_type_id=kind.id,
                    start=start,
                    end=end,
                    provider_id=provider.id,
                )
            except InvalidInput as exc:
                errors.setdefault("to", exc.errors[0].message if exc.errors else exc.detail)
    by_day: dict[date, list[datetime]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(zone).date(), []).append(slot.start)
    moved_from = session.exec(
        select(Appointment.id).where(Appointment.rescheduled_to_id == appointment.id)
    ).first()
    return render(
        request,
        "schedule/appointment.html",
        status=status,
        zone=zone,
        appointment=appointment,
        history=history,
        event_labels=EVENT_LABELS,
        patient=patient,
        provider=provider,
        provider_name=provider_name(provider),
        location=location,
        kind=kind,
        can_cancel=can_write and AppointmentEvent.CANCEL in allowed,
        # A no-show only once the time has come, whatever the state machine would allow.
        can_no_show=can_write
        and AppointmentEvent.MARK_NO_SHOW in allowed
        and appointment.starts_at <= now,
        can_undo=can_write and AppointmentEvent.UNDO in allowed,
        undo_label=_undo_label(history),
        can_reschedule=can_write and AppointmentEvent.RESCHEDULE in allowed,
        first=first,
        last=last,
        slots_by_day=by_day,
        moved_from=moved_from,
        errors=errors,
        problem=problem,
        values=values or {},
        schedule_url="/staff/schedule?"
        + urlencode(
            {
                "provider_id": str(provider.id),
                "date": appointment.starts_at.astimezone(zone).date().isoformat(),
                "view": "week",
            }
        ),
    )


@schedule_pages.get("/staff/appointments/{appointment_id}", name="console.appointment")
def appointment_page(
    request: Request,
    session: SessionDep,
    actor: ScheduleReader,
    appointment_id: uuid.UUID,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Response:
    return _appointment_page(request, session, actor, appointment_id, window=(from_, to))


class StepForm(BaseModel):
    version: int
    reason: Reason | None = None


class RescheduleForm(BaseModel):
    version: int
    start: Timestamp
    reason: Reason | None = None


def _take_step(
    request: Request,
    session: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    event: AppointmentEvent,
    raw: dict[str, str],
    notice: str,
) -> Response:
    form, errors = parse_form(StepForm, raw)
    if form is None:
        return _appointment_page(
            request,
            session,
            actor,
            appointment_id,
            status=422,
            errors=_friendly(errors),
            problem="Check the form.",
            values=raw,
        )
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    _, refusal = attempt(
        session,
        lambda: scheduling_service.record_event(
            session,
            actor=actor,
            appointment=appointment,
            event=event,
            expected_version=form.version,
            reason=form.reason,
        ),
    )
    if refusal is not None:
        return _appointment_page(
            request,
            session,
            actor,
            appointment_id,
            status=refusal.status,
            errors=_refusal_errors(refusal),
            problem=refusal.detail,
            values=raw,
        )
    _tell_the_board(request, session, appointment.location_id)
    return see_other(f"/staff/appointments/{appointment_id}", notice)


@schedule_pages.post("/staff/appointments/{appointment_id}/cancel", name="console.cancel")
def cancel_appointment(
    request: Request,
    session: SessionDep,
    actor: Booker,
    appointment_id: uuid.UUID,
    version: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    raw = {"version": version, "reason": reason}
    return _take_step(
        request,
        session,
        actor,
        appointment_id,
        AppointmentEvent.CANCEL,
        raw,
        "Appointment cancelled.",
    )


@schedule_pages.post("/staff/appointments/{appointment_id}/no-show", name="console.mark_no_show")
def mark_no_show(
    request: Request,
    session: SessionDep,
    actor: Booker,
    appointment_id: uuid.UUID,
    version: Annotated[str, Form()] = "",
) -> Response:
    return _take_step(
        request,
        session,
        actor,
        appointment_id,
        AppointmentEvent.MARK_NO_SHOW,
        {"version": version},
        "Marked as a no-show.",
    )


@schedule_pages.post("/staff/appointments/{appointment_id}/undo", name="console.undo")
def undo(
    request: Request,
    session: SessionDep,
    actor: Booker,
    appointment_id: uuid.UUID,
    version: Annotated[str, Form()] = "",
) -> Response:
    return _take_step(
        request,
        session,
        actor,
        appointment_id,
        AppointmentEvent.UNDO,
        {"version": version},
        "Last change undone.",
    )


@schedule_pages.post("/staff/appointments/{appointment_id}/reschedule", name="console.reschedule")
def reschedule(
    request: Request,
    session: SessionDep,
    actor: Booker,
    appointment_id: uuid.UUID,
    version: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    from_: Annotated[str, Form(alias="from")] = "",
    to: Annotated[str, Form()] = "",
) -> Response:
    raw = {"version": version, "start": start, "reason": reason}
    form, errors = parse_form(RescheduleForm, raw)
    refusal: AppError | None = None
    if form is not None:
        appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
        new, refusal = attempt(
            session,
            lambda: scheduling_service.reschedule(
                session,
                actor=actor,
                appointment=appointment,
                data=RescheduleIn(start=form.start, reason=form.reason),
                expected_version=form.version,
            ),
        )
        if refusal is None:
            _tell_the_board(request, session, appointment.location_id)
            _tell_the_board(request, session, new.location_id)
            return see_other(f"/staff/appointments/{new.id}", "Appointment moved.")
    errors = _refusal_errors(refusal) if refusal else _friendly(errors)
    if "reason" in errors:  # the cancel form has a reason field of its own
        errors["reschedule_reason"] = errors.pop("reason")
    return _appointment_page(
        request,
        session,
        actor,
        appointment_id,
        window=(from_ or None, to or None),
        status=refusal.status if refusal else 422,
        errors=errors,
        problem=refusal.detail if refusal else "Check the form.",
        values={"start": start, "reschedule_reason": reason},
    )


# --- the wait list ------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    entry: WaitListEntry
    patient_name: str
    type_name: str
    provider_name: str
    offered_provider_name: str | None


def _wait_list_page(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    *,
    shown: str | None = None,
    offset: int = 0,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
) -> Response:
    shown = shown if shown in WAIT_LIST_STATES else None
    offset = max(0, offset)
    rows = scheduling_service.list_wait_list(
        session, actor=actor, status=shown, limit=WAIT_LIST_PAGE, offset=offset
    )
    more, entries = len(rows) > WAIT_LIST_PAGE, rows[:WAIT_LIST_PAGE]
    providers = clinic_service.list_providers(session)
    by_provider = {p.id: provider_name(p) for p in providers}
    kinds = configuration.list_appointment_types(session)
    by_kind = {k.id: k.name for k in kinds}
    names = patient_names(session, (e.patient_id for e in entries))
    listed = [
        EntryRow(
            entry=e,
            patient_name=names.get(e.patient_id, "Unknown patient"),
            type_name=by_kind.get(e.appointment_type_id, "Visit"),
            provider_name=by_provider.get(e.provider_id, "?") if e.provider_id else "Any provider",
            offered_provider_name=by_provider.get(e.offered_provider_id)
            if e.offered_provider_id
            else None,
        )
        for e in entries
    ]
    errors = dict(errors or {})
    patients: list[PatientOption] = []
    if actor.principal.can(Permission.APPOINTMENTS_WRITE):
        patients, search_problem = patient_choices(request, session, actor, values)
        if search_problem:
            errors.setdefault("q", search_problem)

    def page_url(at: int) -> str:
        query = {"offset": str(at)} | ({"status": shown} if shown else {})
        return "/staff/wait-list?" + urlencode(query)

    return render(
        request,
        "schedule/wait_list.html",
        status=status,
        rows=listed,
        shown=shown,
        states=WAIT_LIST_STATES,
        previous_url=page_url(max(0, offset - WAIT_LIST_PAGE)) if offset else None,
        next_url=page_url(offset + WAIT_LIST_PAGE) if more else None,
        providers=[p for p in providers if p.active],
        provider_name=provider_name,
        kinds=[k for k in kinds if k.active],
        patients=patients,
        values=values,
        errors=errors,
        problem=problem,
        last_day=lambda moment: moment - timedelta(microseconds=1),
        offer_hours=int(wait_list.OFFER_LIFETIME / timedelta(hours=1)),
    )


@schedule_pages.get("/staff/wait-list", name="console.wait_list")
def wait_list_page(
    request: Request,
    session: SessionDep,
    actor: ScheduleReader,
    status: str | None = None,
    offset: int = 0,
    q: str = "",
    patient_id: str = "",
    appointment_type_id: str = "",
    provider_id: str = "",
    earliest: str = "",
    latest: str = "",
) -> Response:
    values = {
        "q": q,
        "patient_id": patient_id,
        "appointment_type_id": appointment_type_id,
        "provider_id": provider_id,
        "earliest": earliest,
        "latest": latest,
    }
    return _wait_list_page(request, session, actor, values, shown=status, offset=offset)


@schedule_pages.post("/staff/wait-list", name="console.wait_list_add")
def add_to_wait_list(
    request: Request,
    session: SessionDep,
    actor: Booker,
    patient_id: Annotated[str, Form()] = "",
    appointment_type_id: Annotated[str, Form()] = "",
    provider_id: Annotated[str, Form()] = "",
    earliest: Annotated[str, Form()] = "",
    latest: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
) -> Response:
    values = {
        "q": q,
        "patient_id": patient_id,
        "appointment_type_id": appointment_type_id,
        "provider_id": provider_id,
        "earliest": earliest,
        "latest": latest,
    }
    zone = location_zone(request)
    provider = session.get(Provider, parse_uuid(provider_id)) if parse_uuid(provider_id) else None
    if provider is not None:
        zone = provider_zone(request, provider)
    first, last = parse_date(earliest), parse_date(latest)
    data, errors = parse_form(
        WaitListCreate,
        {
            "patient_id": patient_id,
            "appointment_type_id": appointment_type_id,
            "provider_id": provider_id,
            # Whole local days: from the first day's start to the end of the last.
            "earliest": _day_window(first, first, zone)[0] if first else None,
            "latest": _day_window(last, last, zone)[1] if last else None,
        },
    )
    errors = _friendly(errors)
    for name, raw, parsed in (("earliest", earliest, first), ("latest", latest, last)):
        if raw and parsed is None:
            errors[name] = "Use a date like 2027-03-15."
    if data is None or errors:
        return _wait_list_page(
            request, session, actor, values, status=422, errors=errors, problem="Check the form."
        )
    _, refusal = attempt(
        session, lambda: scheduling_service.add_to_wait_list(session, actor=actor, data=data)
    )
    if refusal is not None:
        return _wait_list_page(
            request,
            session,
            actor,
            values,
            status=refusal.status,
            errors=_refusal_errors(refusal),
            problem=refusal.detail,
        )
    return see_other("/staff/wait-list", "Added to the wait list.")


WaitListStep = Literal["accept", "decline", "cancel"]
WAIT_LIST_NOTICES = {
    "accept": "Offer accepted: the appointment is booked.",
    "decline": "Offer declined; the time goes to the next in line.",
    "cancel": "Taken off the wait list.",
}


@schedule_pages.post("/staff/wait-list/{entry_id}/{step}", name="console.wait_list_step")
def wait_list_step(
    request: Request, session: SessionDep, actor: Booker, entry_id: uuid.UUID, step: WaitListStep
) -> Response:
    steps = {
        "accept": scheduling_service.accept_wait_list_offer,
        "decline": scheduling_service.decline_wait_list_offer,
        "cancel": scheduling_service.cancel_wait_list_entry,
    }
    done, refusal = attempt(session, lambda: steps[step](session, actor=actor, entry_id=entry_id))
    if refusal is not None:
        return _wait_list_page(
            request, session, actor, {}, status=refusal.status, problem=refusal.detail
        )
    if isinstance(done, Appointment):
        _tell_the_board(request, session, done.location_id)
        return see_other(f"/staff/appointments/{done.id}", WAIT_LIST_NOTICES[step])
    return see_other("/staff/wait-list", WAIT_LIST_NOTICES[step])
