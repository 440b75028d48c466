"""Slot search and booking: the database rows turned into the pure engine's calendars.

Booking checks the time with the same engine that offers slots, then inserts; what makes
that safe with many people booking at once is the database (the exclusion constraint on
PostgreSQL, the write lock every SQLite transaction takes when it begins).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backoffice.clinic.models import Location, Provider
from backoffice.kit.columns import utcnow
from backoffice.patients import service as patients_service
from backoffice.scheduling import wait_list
from backoffice.scheduling.lifecycle import (
    AppointmentEvent,
    AppointmentState,
    Change,
    IllegalTransition,
    allowed_events,
)
from backoffice.scheduling.lifecycle import apply as apply_event
from backoffice.scheduling.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentChange,
    AppointmentType,
    AppointmentTypeProvider,
    ScheduleException,
    ScheduleRule,
    WaitListEntry,
)
from backoffice.scheduling.no_show import (
    KEPT_STATUSES,
    NO_SHOW_STATUS,
    Attendance,
    clinic_rate,
    no_show_probability,
)
from backoffice.scheduling.recurrence import InvalidRecurrence, occurrences, parse_rule
from backoffice.scheduling.schemas import (
    AppointmentChangePublic,
    AppointmentCreate,
    AppointmentPublic,
    GroupCreate,
    GroupPublic,
    ProviderCalendarView,
    RescheduleIn,
    SeriesCancel,
    SeriesConflict,
    SeriesCreate,
    SeriesPublic,
    SlotPublic,
    WaitListCreate,
    WorkingTime,
)
from backoffice.scheduling.slots import (
    Booking,
    Calendar,
    Interval,
    ProviderRules,
    SlotRequest,
    WeeklyRule,
    clashes,
    find_open_slots,
    nearest,
    overbook_problem,
    slot_problem,
    working_intervals,
)
from backoffice.scheduling.wait_list import FreedTime
from backoffice.security.actor import Actor
from shared.enums import PatientStatus, ScheduleExceptionKind
from shared.errors import Conflict, FieldError, InvalidInput, NotFound

MAX_SEARCH_DAYS = 92
ALTERNATIVE_REACH = (timedelta(hours=12), timedelta(days=3), timedelta(days=14))
# Exceptions that take time out of a provider's week (the rest add time).
CLOSING_KINDS = frozenset(
    {ScheduleExceptionKind.PTO, ScheduleExceptionKind.HOLIDAY, ScheduleExceptionKind.CLOSURE}
)


class SlotUnavailable(Conflict):
    code = "slot-unavailable"
    title = "That time cannot be booked"


def slot_request(kind: AppointmentType) -> SlotRequest:
    return SlotRequest(
        duration=timedelta(minutes=kind.duration_minutes),
        category=kind.category,
        buffer_before=timedelta(minutes=kind.buffer_before_minutes),
        buffer_after=timedelta(minutes=kind.buffer_after_minutes),
    )


def weekly_rule(row: ScheduleRule) -> WeeklyRule:
    breaks = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in row.breaks)
    return WeeklyRule(
        row.weekday, row.start_time, row.end_time, row.effective_date, row.expiration_date, breaks
    )


def provider_calendar(
    session: Session, *, provider: Provider, location: Location, first_day: date, last_day: date
) -> Calendar:
    """When `provider` works at `location` between two local dates, and everything already
    booked for them then (at any location: nobody is in two places)."""
    return calendars(
        session, places=[(provider, location)], first_day=first_day, last_day=last_day
    )[0]


def calendars(
    session: Session,
    *,
    places: list[tuple[Provider, Location]],
    first_day: date,
    last_day: date,
) -> list[Calendar]:
    """`provider_calendar` for many (provider, location) pairs in three queries, not three
    per pair: a search across a clinic's providers would otherwise be mostly round trips."""
    if not places:
        return []
    provider_ids = {p.id for p, _ in places}
    location_ids = {loc.id for _, loc in places}
    spans = {
        loc.id: Interval(
            datetime.combine(first_day, time(0), tzinfo=ZoneInfo(loc.timezone)),
            datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo(loc.timezone)),
        )
        for _, loc in places
    }
    whole = Interval(min(s.start for s in spans.values()), max(s.end for s in spans.values()))
    weekly: dict[tuple[uuid.UUID, uuid.UUID], list[WeeklyRule]] = {}
    for row in session.exec(
        select(ScheduleRule).where(
            col(ScheduleRule.provider_id).in_(provider_ids),
            col(ScheduleRule.location_id).in_(location_ids),
            col(ScheduleRule.effective_date) <= last_day,
            or_(
                col(ScheduleRule.expiration_date).is_(None),
                col(ScheduleRule.expiration_date) >= first_day,
            ),
        )
    ):
        weekly.setdefault((row.provider_id, row.location_id), []).append(weekly_rule(row))
    exceptions = session.exec(
        select(ScheduleException).where(
            col(ScheduleException.starts_at) < whole.end,
            col(ScheduleException.ends_at) > whole.start,
            or_(
                col(ScheduleException.provider_id).in_(provider_ids),
                col(ScheduleException.provider_id).is_(None),
            ),
            or_(
                col(ScheduleException.location_id).in_(location_ids),
                col(ScheduleException.location_id).is_(None),
            ),
        )
    ).all()
    # Plain columns, not Appointment objects: a clinic-wide week is thousands of rows, and
    # building ORM objects for them was half the time of a search.
    rows = session.execute(
        sa_select(
            col(Appointment.provider_id),
            col(Appointment.patient_id),
            col(Appointment.starts_at),
            col(Appointment.ends_at),
            col(Appointment.blocked_start),
            col(Appointment.blocked_end),
            col(Appointment.lane),
            col(AppointmentType.category),
        )
        .join(AppointmentType, col(AppointmentType.id) == Appointment.appointment_type_id)
        .where(
            col(Appointment.provider_id).in_(provider_ids),
            col(Appointment.status).in_(LIVE_STATUSES),
            # The lower bound keeps the index scan to the window instead of walking every
            # past appointment: nothing blocks more than a day.
            col(Appointment.blocked_start) > whole.start - timedelta(days=1),
            col(Appointment.blocked_start) < whole.end,
            col(Appointment.blocked_end) > whole.start,
        )
    ).all()
    bookings: dict[uuid.UUID, list[Booking]] = {pid: [] for pid in provider_ids}
    for provider_id, patient_id, starts, ends, blocked_start, blocked_end, lane, category in rows:
        bookings[provider_id].append(
            Booking(
                starts,
                ends,
                category,
                buffer_before=starts - blocked_start,
                buffer_after=blocked_end - ends,
                lane=lane,
                patient_id=patient_id,
            )
        )
    result = []
    for provider, location in places:
        zone = ZoneInfo(location.timezone)
        mine = [
            e
            for e in exceptions
            if e.provider_id in (None, provider.id) and e.location_id in (None, location.id)
        ]
        working = working_intervals(
            rules=weekly.get((provider.id, location.id), []),
            zone=zone,
            first_day=first_day,
            last_day=last_day,
            extra_sessions=[
                Interval(e.starts_at, e.ends_at)
                for e in mine
                if e.kind == "extra_session" and e.provider_id == provider.id
            ],
            closures=[Interval(e.starts_at, e.ends_at) for e in mine if e.kind in CLOSING_KINDS],
        )
        provider_rules = ProviderRules(
            max_per_day=provider.max_per_day,
            not_back_to_back=frozenset(provider.not_back_to_back),
        )
        result.append(
            Calendar(
                working=working, bookings=bookings[provider.id], zone=zone, rules=provider_rules
            )
        )
    return result


def lock_calendar(session: Session, *, provider_id: uuid.UUID) -> None:
    """Serialise changes to one provider's calendar: the daily maximum, the no-back-to-back
    rule and non-overlapping weekly sessions span several rows, which no constraint can
    guard. Taking the provider's row lock first also spares concurrent bookings the deadlocks
    PostgreSQL's exclusion constraint can otherwise produce. (On SQLite the transaction holds
    the database's write lock already.)"""
    session.exec(select(Provider.id).where(Provider.id == provider_id).with_for_update()).one()


def get_appointment_type(session: Session, *, appointment_type_id: uuid.UUID) -> AppointmentType:
    kind = session.get(AppointmentType, appointment_type_id)
    if kind is None or not kind.active:
        raise NotFound("No active appointment type with that id.")
    return kind


def _providers_offering(
    session: Session, kind: AppointmentType, provider_id: uuid.UUID | None
) -> list[Provider]:
    query = (
        select(Provider)
        .join(AppointmentTypeProvider, col(AppointmentTypeProvider.provider_id) == Provider.id)
        .where(AppointmentTypeProvider.appointment_type_id == kind.id, col(Provider.active))
    )
    if provider_id is not None:
        query = query.where(Provider.id == provider_id)
    return list(session.exec(query.order_by(col(Provider.last_name))))


def provider_offering(session: Session, kind: AppointmentType, provider_id: uuid.UUID) -> Provider:
    """The provider, if active and offering `kind`; otherwise a field error on provider_id."""
    providers = _providers_offering(session, kind, provider_id)
    if not providers:
        raise InvalidInput(
            "This provider does not offer that appointment type.",
            [FieldError("provider_id", "does not offer this appointment type")],
        )
    return providers[0]


def _open_slots(
    session: Session,
    *,
    kind: AppointmentType,
    providers: Iterable[Provider],
    location_id: uuid.UUID | None,
    window: Interval,
    now: datetime,
) -> list[SlotPublic]:
    request = slot_request(kind)
    places = [
        (provider, location)
        for provider in providers
        for location in provider.locations
        if location_id in (None, location.id)
    ]
    # Local days can differ by location; one day either side covers every zone's.
    first_day = (window.start - timedelta(days=1)).date()
    last_day = (window.end + timedelta(days=1)).date()
    found = []
    for (provider, location), calendar in zip(
        places,
        calendars(session, places=places, first_day=first_day, last_day=last_day),
        strict=True,
    ):
        zone = calendar.zone  # slots read in the clinic's own offset: 09:00-05:00
        found += [
            SlotPublic(
                provider_id=provider.id,
                location_id=location.id,
                start=slot.start.astimezone(zone),
                end=slot.end.astimezone(zone),
            )
            for slot in find_open_slots(calendar, request, window=window, not_before=now)
        ]
    found.sort(key=lambda s: (s.start, str(s.provider_id)))
    return found


def search_slots(
    session: Session,
    *,
    appointment_type_id: uuid.UUID,
    start: datetime,
    end: datetime,
    provider_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[SlotPublic]:
    """Open slots for one provider, or any provider offering the type (at a location)."""
    if end <= start:
        raise InvalidInput(
            "The end must be after the start.", [FieldError("end", "must be after start")]
        )
    if end - start > timedelta(days=MAX_SEARCH_DAYS):
        raise InvalidInput(
            f"Search at most {MAX_SEARCH_DAYS} days at a time.",
            [FieldError("end", f"at most {MAX_SEARCH_DAYS} days after start")],
        )
    kind = get_appointment_type(session, appointment_type_id=appointment_type_id)
    providers = _providers_offering(session, kind, provider_id)
    return _open_slots(
        session,
        kind=kind,
        providers=providers,
        location_id=location_id,
        window=Interval(start, end),
        now=now or utcnow(),
    )


def book_appointment(
    session: Session,
    *,
    actor: Actor,
    data: AppointmentCreate,
    now: datetime | None = None,
    appointment_id: uuid.UUID | None = None,
) -> Appointment:
    now = now or utcnow()
    patient = patients_service.get_patient(session, patient_id=data.patient_id)
    if patient.status == PatientStatus.MERGED:
        raise Conflict(
            "This patient record was merged into another; book on that one.",
            merged_into_id=str(patient.merged_into_id),
        )
    kind = get_appointment_type(session, appointment_type_id=data.appointment_type_id)
    provider = provider_offering(session, kind, data.provider_id)
    lock_calendar(session, provider_id=provider.id)
    request = slot_request(kind)
    slot = Interval(data.start, data.start + request.duration)
    if data.overbook and provider.overbook_threshold is None:
        raise InvalidInput(
            "This provider does not allow overbooking.",
            [FieldError("overbook", "the provider has no overbooking threshold")],
        )
    location, lane, problem = _place(
        session, provider, data.location_id, slot, request, now, overbook=data.overbook
    )
    if problem or location is None:
        # Say so when staff could overbook instead, so a client can offer it.
        could_overbook = (
            not data.overbook
            and provider.overbook_threshold is not None
            and _place(session, provider, data.location_id, slot, request, now, overbook=True)[0]
            is not None
        )
        _refuse(
            session,
            kind,
            provider,
            slot,
            problem or "the provider is not working then",
            now,
            overbook_allowed=could_overbook,
        )
    assert location is not None
    appointment = Appointment(
        id=appointment_id or uuid.uuid4(),
        patient_id=patient.id,
        provider_id=provider.id,
        location_id=location.id,
        appointment_type_id=kind.id,
        starts_at=slot.start,
        ends_at=slot.end,
        blocked_start=slot.start - request.buffer_before,
        blocked_end=slot.end + request.buffer_after,
        lane=lane,
        created_by=actor.principal.name,
    )
    try:
        with session.begin_nested():
            session.add(appointment)
            session.flush()
    except IntegrityError as exc:
        if "no_double_booking" not in str(exc.orig):
            raise
        _refuse(session, kind, provider, slot, "the provider has another appointment then", now)
    _audit_appointment(session, actor, "appointments.create", appointment)
    return appointment


def _place(
    session: Session,
    provider: Provider,
    location_id: uuid.UUID | None,
    slot: Interval,
    request: SlotRequest,
    now: datetime,
    *,
    overbook: bool = False,
) -> tuple[Location | None, int, str | None]:
    """The location and lane where `slot` can be booked, or the reason it cannot be
    anywhere. Lane 1 is a deliberate overbooking, tried only when asked for."""
    locations = [loc for loc in provider.locations if location_id in (None, loc.id)]
    if location_id is not None and not locations:
        raise InvalidInput(
            "The provider does not work at that location.",
            [FieldError("location_id", "not one of the provider's locations")],
        )
    reasons = []
    for location in locations:
        zone = ZoneInfo(location.timezone)
        day = slot.start.astimezone(zone).date()
        calendar = provider_calendar(
            session,
            provider=provider,
            location=location,
            first_day=day - timedelta(days=1),
            last_day=day + timedelta(days=1),
        )
        problem = slot_problem(calendar, slot, request, not_before=now)
        if problem is None:
            return location, 0, None
        if overbook and provider.overbook_threshold is not None:
            in_the_way = {b.patient_id for b in clashes(calendar, slot, request)}
            overbooking = overbook_problem(
                calendar,
                slot,
                request,
                risks=no_show_risks(session, patient_ids=in_the_way, now=now),
                threshold=float(provider.overbook_threshold),
                not_before=now,
            )
            if overbooking is None:
                return location, 1, None
            problem = overbooking
        reasons.append(problem)
    # Prefer the most specific reason: "not working" only if nowhere else said more.
    reasons = [r for r in reasons if r != "the provider is not working then"] or reasons
    return None, 0, reasons[0] if reasons else None


def _attendance_counts(
    session: Session, *, since: datetime, now: datetime, patient_ids: set[Any] | None
) -> dict[Any, Attendance]:
    """Kept and missed past appointments per patient, or for the whole clinic (under the
    key None) when no patients are named."""
    columns: list[Any] = [col(Appointment.status), func.count()]
    if patient_ids is not None:
        columns.insert(0, col(Appointment.patient_id))
    query = sa_select(*columns).where(
        col(Appointment.status).in_((*KEPT_STATUSES, NO_SHOW_STATUS)),
        col(Appointment.starts_at) >= since,
        col(Appointment.starts_at) < now,
    )
    if patient_ids is not None:
        query = query.where(col(Appointment.patient_id).in_(patient_ids))
    tallies: dict[Any, Attendance] = {}
    for row in session.execute(query.group_by(*columns[:-1])):
        who, status, n = (None, *row) if patient_ids is None else row
        seen = tallies.get(who, Attendance())
        tallies[who] = (
            Attendance(seen.kept, seen.no_shows + n)
            if status == NO_SHOW_STATUS
            else Attendance(seen.kept + n, seen.no_shows)
        )
    return tallies


def no_show_risks(session: Session, *, patient_ids: set[Any], now: datetime) -> dict[Any, float]:
    """Each patient's predicted no-show probability from the last two years, against the
    clinic's rate over the last year."""
    if not patient_ids:
        return {}
    clinic = _attendance_counts(
        session, since=now - timedelta(days=365), now=now, patient_ids=None
    ).get(None, Attendance())
    base = clinic_rate(clinic)
    mine = _attendance_counts(
        session, since=now - timedelta(days=730), now=now, patient_ids=patient_ids
    )
    return {p: no_show_probability(mine.get(p, Attendance()), base_rate=base) for p in patient_ids}


def _refuse(
    session: Session,
    kind: AppointmentType,
    provider: Provider,
    slot: Interval,
    reason: str,
    now: datetime,
    *,
    overbook_allowed: bool = False,
) -> None:
    # Widen the search only as far as needed: most refusals have three options the same day.
    for reach in ALTERNATIVE_REACH:
        around = Interval(slot.start - reach, slot.start + reach)
        options = _open_slots(
            session, kind=kind, providers=[provider], location_id=None, window=around, now=now
        )
        if len(options) >= 3:
            break
    by_start = {s.start: s for s in options}
    closest = nearest([Interval(s.start, s.end) for s in options], slot.start)
    alternatives: list[dict[str, Any]] = [
        by_start[c.start].model_dump(mode="json") for c in closest
    ]
    raise SlotUnavailable(
        f"That time cannot be booked: {reason}.",
        reason=reason,
        alternatives=alternatives,
        overbook_allowed=overbook_allowed,
    )


def to_public(appointment: Appointment) -> AppointmentPublic:
    return AppointmentPublic(
        id=appointment.id,
        patient_id=appointment.patient_id,
        provider_id=appointment.provider_id,
        location_id=appointment.location_id,
        appointment_type_id=appointment.appointment_type_id,
        start=appointment.starts_at,
        end=appointment.ends_at,
        status=appointment.status,
        overbooked=appointment.lane == 1,
        series_id=appointment.series_id,
        rescheduled_to_id=appointment.rescheduled_to_id,
        cancel_reason=appointment.cancel_reason,
        version=appointment.version,
        created_by=appointment.created_by,
        created_at=appointment.created_at,
    )


def _audit_appointment(
    session: Session, actor: Actor, action: str, appointment: Appointment
) -> None:
    """Appointments are PHI of their patient: the audit trail files them under the patient."""
    actor.audit(
        session,
        action,
        resource_type="patient",
        resource_id=appointment.patient_id,
        detail={"appointment_id": str(appointment.id)},
    )


def get_appointment(session: Session, *, appointment_id: uuid.UUID) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No appointment with that id.")
    return appointment


def read_appointment(session: Session, *, actor: Actor, appointment_id: uuid.UUID) -> Appointment:
    appointment = get_appointment(session, appointment_id=appointment_id)
    _audit_appointment(session, actor, "appointments.read", appointment)
    return appointment


def list_appointments(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    day: date | None = None,
    zone: ZoneInfo,
    provider_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> list[Appointment]:
    query = select(Appointment)
    if day is not None:
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        query = query.where(col(Appointment.starts_at) >= start, col(Appointment.starts_at) < end)
    if provider_id is not None:
        query = query.where(Appointment.provider_id == provider_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    query = query.order_by(col(Appointment.starts_at), col(Appointment.id))
    rows = list(session.exec(query.offset(offset).limit(limit + 1)))
    actor.audit(
        session,
        "appointments.list",
        resource_type="patient",
        detail={"patient_ids": sorted({str(a.patient_id) for a in rows[:limit]})},
    )
    return rows


# --- the lifecycle -------------------------------------------------------------------------

UNDO_WINDOW = timedelta(hours=24)


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = "That step is not possible now"


def history_of(session: Session, *, appointment: Appointment) -> list[Change]:
    rows = session.exec(
        select(AppointmentChange)
        .where(AppointmentChange.appointment_id == appointment.id)
        .order_by(col(AppointmentChange.seq))
    ).all()
    return [
        Change(
            seq=r.seq,
            event=AppointmentEvent(r.event),
            from_state=AppointmentState(r.from_state),
            to_state=AppointmentState(r.to_state),
            actor=r.actor,
            at=r.at,
            reason=r.reason,
            undoes=r.undoes,
            new_appointment_id=str(r.new_appointment_id) if r.new_appointment_id else None,
        )
        for r in rows
    ]


def read_history(session: Session, *, actor: Actor, appointment_id: uuid.UUID) -> list[Change]:
    appointment = get_appointment(session, appointment_id=appointment_id)
    _audit_appointment(session, actor, "appointments.history", appointment)
    return history_of(session, appointment=appointment)


def record_event(
    session: Session,
    *,
    actor: Actor,
    appointment: Appointment,
    event: str,
    expected_version: int,
    reason: str | None = None,
    new_appointment_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move the appointment one step (or undo the last step), keeping both in its history."""
    patients_service.check_version(appointment.version, expected_version)
    if event == AppointmentEvent.CANCEL and not (reason or "").strip():
        raise InvalidInput(
            "Say why the appointment is cancelled.", [FieldError("reason", "required to cancel")]
        )
    history, at = history_of(session, appointment=appointment), now or utcnow()
    try:
        change = apply_event(
            history,
            AppointmentEvent(event),
            actor=actor.principal.name,
            at=at,
            reason=reason,
            new_appointment_id=str(new_appointment_id) if new_appointment_id else None,
            undo_window=UNDO_WINDOW,
        )
    except IllegalTransition as exc:
        allowed = allowed_events(history, at=at, undo_window=UNDO_WINDOW)
        raise InvalidTransition(str(exc), allowed_events=sorted(allowed)) from exc
    if change.to_state in LIVE_STATUSES and appointment.status not in LIVE_STATUSES:
        lock_calendar(session, provider_id=appointment.provider_id)
        _ensure_time_still_free(session, appointment)
    session.add(
        AppointmentChange(
            appointment_id=appointment.id,
            seq=change.seq,
            event=change.event,
            from_state=change.from_state,
            to_state=change.to_state,
            actor=change.actor,
            at=change.at,
            reason=change.reason,
            undoes=change.undoes,
            new_appointment_id=new_appointment_id,
        )
    )
    appointment.status = change.to_state
    if change.event == AppointmentEvent.CANCEL:
        appointment.cancel_reason = change.reason
    elif change.event == AppointmentEvent.UNDO and change.to_state in LIVE_STATUSES:
        appointment.cancel_reason = None
    appointment.updated_at = change.at
    session.add(appointment)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "no_double_booking" not in str(exc.orig):
            raise
        raise _time_taken() from exc
    if change.to_state in ("cancelled", "no_show", "rescheduled"):
        _offer_freed_time(session, appointment, at)
    elif change.event == AppointmentEvent.UNDO and change.from_state in ("cancelled", "no_show"):
        wait_list.retract_offers(
            session, provider_id=appointment.provider_id, start=appointment.starts_at
        )
    actor.audit(
        session,
        "appointments.event",
        resource_type="patient",
        resource_id=appointment.patient_id,
        detail={
            "appointment_id": str(appointment.id),
            "event": change.event,
            "to_state": change.to_state,
        },
    )
    return appointment


def _time_taken() -> Conflict:
    return Conflict("The time was booked for someone else meanwhile; book a new time instead.")


def _ensure_time_still_free(session: Session, appointment: Appointment) -> None:
    """Undoing a cancellation or a no-show puts the appointment back on the calendar, which
    only works if nobody took the time since (PostgreSQL would refuse it anyway)."""
    clash = session.exec(
        select(Appointment.id).where(
            Appointment.provider_id == appointment.provider_id,
            Appointment.lane == appointment.lane,
            Appointment.id != appointment.id,
            col(Appointment.status).in_(LIVE_STATUSES),
            col(Appointment.blocked_start) < appointment.blocked_end,
            col(Appointment.blocked_end) > appointment.blocked_start,
        )
    ).first()
    if clash is not None:
        raise _time_taken()


def reschedule(
    session: Session,
    *,
    actor: Actor,
    appointment: Appointment,
    data: RescheduleIn,
    expected_version: int,
    now: datetime | None = None,
) -> Appointment:
    """Take the old appointment off the calendar, then book the new time in the same
    transaction: a move of fifteen minutes may overlap the old time, and if the new time
    cannot be booked nothing has changed."""
    new_id = uuid.uuid4()
    record_event(
        session,
        actor=actor,
        appointment=appointment,
        event=AppointmentEvent.RESCHEDULE,
        expected_version=expected_version,
        reason=data.reason,
        new_appointment_id=new_id,
        now=now,
    )
    new = book_appointment(
        session,
        actor=actor,
        data=AppointmentCreate(
            patient_id=appointment.patient_id,
            provider_id=data.provider_id or appointment.provider_id,
            appointment_type_id=appointment.appointment_type_id,
            start=data.start,
        ),
        now=now,
        appointment_id=new_id,
    )
    new.series_id = appointment.series_id
    appointment.rescheduled_to_id = new.id
    session.add_all([appointment, new])
    session.flush()
    return new


def to_change_public(change: Change) -> AppointmentChangePublic:
    return AppointmentChangePublic(
        seq=change.seq,
        event=change.event,
        from_state=change.from_state,
        to_state=change.to_state,
        actor=change.actor,
        at=change.at,
        reason=change.reason,
        undoes=change.undoes,
        new_appointment_id=uuid.UUID(change.new_appointment_id)
        if change.new_appointment_id
        else None,
    )


# --- recurring series ----------------------------------------------------------------------


def book_series(
    session: Session, *, actor: Actor, data: SeriesCreate, now: datetime | None = None
) -> SeriesPublic:
    """Book every occurrence that is free and report the ones that are not, each with its
    nearest alternatives; with `all_or_nothing`, one conflict books none."""
    kind = get_appointment_type(session, appointment_type_id=data.appointment_type_id)
    provider = provider_offering(session, kind, data.provider_id)
    locations = [loc for loc in provider.locations if data.location_id in (None, loc.id)]
    if not locations:
        raise InvalidInput(
            "The provider does not work at that location.",
            [FieldError("location_id", "not one of the provider's locations")],
        )
    try:
        rule = parse_rule(data.rrule)
        planned = occurrences(
            rule,
            first_start=data.start,
            zone=ZoneInfo(locations[0].timezone),
            duration=timedelta(minutes=kind.duration_minutes),
        )
    except InvalidRecurrence as exc:
        raise InvalidInput(str(exc), [FieldError("rrule", str(exc))]) from exc
    series_id = uuid.uuid4()
    booked: list[Appointment] = []
    conflicts: list[SeriesConflict] = []
    for occurrence in planned:
        request = AppointmentCreate(
            patient_id=data.patient_id,
            provider_id=data.provider_id,
            appointment_type_id=kind.id,
            start=occurrence.start,
            location_id=data.location_id,
        )
        try:
            with session.begin_nested():
                appointment = book_appointment(session, actor=actor, data=request, now=now)
                appointment.series_id = series_id
                session.add(appointment)
                session.flush()
            booked.append(appointment)
        except SlotUnavailable as exc:
            conflicts.append(
                SeriesConflict(
                    start=occurrence.start,
                    reason=exc.extensions["reason"],
                    alternatives=exc.extensions["alternatives"],
                )
            )
    result = SeriesPublic(
        series_id=series_id, booked=[to_public(a) for a in booked], conflicts=conflicts
    )
    if conflicts and (data.all_or_nothing or not booked):
        raise SlotUnavailable(
            f"{len(conflicts)} of {len(planned)} appointments in the series cannot be booked; "
            "nothing was booked.",
            conflicts=[c.model_dump(mode="json") for c in conflicts],
        )
    return result


def cancel_series(
    session: Session,
    *,
    actor: Actor,
    series_id: uuid.UUID,
    data: SeriesCancel,
    now: datetime | None = None,
) -> list[Appointment]:
    """Cancel the series' appointments still to come (from `from_start`, or now)."""
    now = now or utcnow()
    upcoming = session.exec(
        select(Appointment)
        .where(
            Appointment.series_id == series_id,
            col(Appointment.status).in_(("scheduled", "confirmed")),
            col(Appointment.starts_at) >= (data.from_start or now),
        )
        .order_by(col(Appointment.starts_at))
    ).all()
    if (
        not upcoming
        and not session.exec(
            select(Appointment.id).where(Appointment.series_id == series_id)
        ).first()
    ):
        raise NotFound("No series with that id.")
    for appointment in upcoming:
        record_event(
            session,
            actor=actor,
            appointment=appointment,
            event="cancel",
            expected_version=appointment.version,
            reason=data.reason,
            now=now,
        )
    return list(upcoming)


# --- the wait list -------------------------------------------------------------------------


def add_to_wait_list(
    session: Session, *, actor: Actor, data: WaitListCreate, now: datetime | None = None
) -> WaitListEntry:
    now = now or utcnow()
    if data.latest <= data.earliest or data.latest <= now:
        raise InvalidInput(
            "The window must end after it starts, and in the future.",
            [FieldError("latest", "must be after earliest and in the future")],
        )
    patient = patients_service.get_patient(session, patient_id=data.patient_id)
    kind = get_appointment_type(session, appointment_type_id=data.appointment_type_id)
    if data.provider_id is not None:
        provider_offering(session, kind, data.provider_id)
    entry = WaitListEntry(**data.model_dump(), created_by=actor.principal.name)
    session.add(entry)
    session.flush()
    actor.audit(
        session,
        "wait_list.create",
        resource_type="patient",
        resource_id=patient.id,
        detail={"entry_id": str(entry.id)},
    )
    return entry


def list_wait_list(
    session: Session,
    *,
    actor: Actor,
    status: str | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> list[WaitListEntry]:
    expire_wait_list_offers(session, now=now or utcnow())
    query = select(WaitListEntry)
    if status:
        query = query.where(WaitListEntry.status == status)
    rows = list(
        session.exec(query.order_by(col(WaitListEntry.created_at)).offset(offset).limit(limit + 1))
    )
    actor.audit(
        session,
        "wait_list.list",
        resource_type="patient",
        detail={"patient_ids": sorted({str(e.patient_id) for e in rows[:limit]})},
    )
    return rows


def _get_entry(session: Session, entry_id: uuid.UUID) -> WaitListEntry:
    entry = session.get(WaitListEntry, entry_id)
    if entry is None:
        raise NotFound("No wait-list entry with that id.")
    return entry


def _offer_freed_time(session: Session, appointment: Appointment, now: datetime) -> None:
    if appointment.starts_at <= now:
        return
    wait_list.offer(
        session,
        time=FreedTime(
            provider_id=appointment.provider_id,
            location_id=appointment.location_id,
            appointment_type_id=appointment.appointment_type_id,
            start=appointment.starts_at,
            end=appointment.ends_at,
            freed_by_patient_id=appointment.patient_id,
        ),
        now=now,
    )


def _pass_over(session: Session, entry: WaitListEntry, now: datetime) -> None:
    """The entry declined or let the offer lapse: back to waiting, and the time goes on to
    the next in line."""
    kind = get_appointment_type(session, appointment_type_id=entry.appointment_type_id)
    time = wait_list.withdraw_offer(
        session, entry=entry, duration=timedelta(minutes=kind.duration_minutes)
    )
    if time is not None and time.start > now:
        wait_list.offer(session, time=time, now=now)


def expire_wait_list_offers(session: Session, *, now: datetime) -> int:
    """Offers past their time lapse and move on (run by readers, and by a job later)."""
    lapsed = session.exec(
        select(WaitListEntry).where(
            WaitListEntry.status == "offered", col(WaitListEntry.offer_expires_at) <= now
        )
    ).all()
    for entry in lapsed:
        _pass_over(session, entry, now)
    return len(lapsed)


def accept_wait_list_offer(
    session: Session, *, actor: Actor, entry_id: uuid.UUID, now: datetime | None = None
) -> Appointment:
    now = now or utcnow()
    expire_wait_list_offers(session, now=now)
    entry = _get_entry(session, entry_id)
    if entry.status != "offered" or entry.offered_start is None:
        raise Conflict("There is no open offer on this wait-list entry (it may have lapsed).")
    assert entry.offered_provider_id is not None
    appointment = book_appointment(
        session,
        actor=actor,
        data=AppointmentCreate(
            patient_id=entry.patient_id,
            provider_id=entry.offered_provider_id,
            appointment_type_id=entry.appointment_type_id,
            start=entry.offered_start,
            location_id=entry.offered_location_id,
        ),
        now=now,
    )
    entry.status, entry.booked_appointment_id = "booked", appointment.id
    session.add(entry)
    session.flush()
    return appointment


def decline_wait_list_offer(
    session: Session, *, actor: Actor, entry_id: uuid.UUID, now: datetime | None = None
) -> WaitListEntry:
    now = now or utcnow()
    entry = _get_entry(session, entry_id)
    if entry.status != "offered":
        raise Conflict("There is no open offer on this wait-list entry.")
    _pass_over(session, entry, now)
    actor.audit(
        session,
        "wait_list.decline",
        resource_type="patient",
        resource_id=entry.patient_id,
        detail={"entry_id": str(entry.id)},
    )
    return entry


def cancel_wait_list_entry(
    session: Session, *, actor: Actor, entry_id: uuid.UUID, now: datetime | None = None
) -> WaitListEntry:
    now = now or utcnow()
    entry = _get_entry(session, entry_id)
    if entry.status in ("booked", "cancelled"):
        raise Conflict(f"This wait-list entry is {entry.status} already.")
    if entry.status == "offered":
        _pass_over(session, entry, now)
    entry.status = "cancelled"
    session.add(entry)
    session.flush()
    actor.audit(
        session,
        "wait_list.cancel",
        resource_type="patient",
        resource_id=entry.patient_id,
        detail={"entry_id": str(entry.id)},
    )
    return entry


# --- groups --------------------------------------------------------------------------------


def book_group(
    session: Session, *, actor: Actor, data: GroupCreate, now: datetime | None = None
) -> GroupPublic:
    """Book the patients in adjacent slots from `start`, in the order given, all or nothing:
    if one cannot be booked, none is, and the answer offers starts where the whole group fits."""
    if len(set(data.patient_ids)) != len(data.patient_ids):
        raise InvalidInput(
            "A patient is listed twice.", [FieldError("patient_ids", "each patient once")]
        )
    kind = get_appointment_type(session, appointment_type_id=data.appointment_type_id)
    request = slot_request(kind)
    stride = request.duration + request.buffer_before + request.buffer_after
    group_id = uuid.uuid4()
    booked = []
    try:
        with session.begin_nested():
            for i, patient_id in enumerate(data.patient_ids):
                appointment = book_appointment(
                    session,
                    actor=actor,
                    data=AppointmentCreate(
                        patient_id=patient_id,
                        provider_id=data.provider_id,
                        appointment_type_id=kind.id,
                        start=data.start + i * stride,
                        location_id=data.location_id,
                    ),
                    now=now,
                )
                appointment.group_id = group_id
                session.add(appointment)
                booked.append(appointment)
            session.flush()
    except SlotUnavailable as exc:
        provider = provider_offering(session, kind, data.provider_id)
        raise SlotUnavailable(
            f"The group of {len(data.patient_ids)} does not fit from that time: "
            f"{exc.extensions['reason']} for patient {len(booked) + 1}.",
            reason=exc.extensions["reason"],
            alternatives=_group_starts(session, kind, provider, data, stride, now or utcnow()),
        ) from exc
    return GroupPublic(group_id=group_id, booked=[to_public(a) for a in booked])


def _group_starts(
    session: Session,
    kind: AppointmentType,
    provider: Provider,
    data: GroupCreate,
    stride: timedelta,
    now: datetime,
) -> list[dict[str, Any]]:
    """The three starts nearest the one asked for where every member's slot is open."""
    reach = ALTERNATIVE_REACH[-1]
    around = Interval(data.start - reach, data.start + reach)
    options = _open_slots(
        session,
        kind=kind,
        providers=[provider],
        location_id=data.location_id,
        window=around,
        now=now,
    )
    open_starts = {s.start for s in options}
    size = len(data.patient_ids)
    fits = [s for s in options if all(s.start + i * stride in open_starts for i in range(1, size))]
    closest = nearest([Interval(s.start, s.end) for s in fits], data.start)
    by_start = {s.start: s for s in fits}
    return [by_start[c.start].model_dump(mode="json") for c in closest]


# --- calendar views ------------------------------------------------------------------------


def calendar_view(
    session: Session,
    *,
    actor: Actor,
    provider_id: uuid.UUID,
    day: date,
    week: bool,
    zone: ZoneInfo,
) -> ProviderCalendarView:
    """The provider's day, or the Monday-to-Sunday week holding `day`, in the clinic's zone."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("No provider with that id.")
    first = day - timedelta(days=day.weekday()) if week else day
    last = first + timedelta(days=6 if week else 0)
    span = Interval(
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )
    places = [(provider, location) for location in provider.locations]
    working = [
        WorkingTime(
            location_id=location.id, start=w.start.astimezone(zone), end=w.end.astimezone(zone)
        )
        for (_, location), calendar in zip(
            places,
            calendars(session, places=places, first_day=first, last_day=last),
            strict=True,
        )
        for w in calendar.working
        if w.overlaps(span)
    ]
    appointments = session.exec(
        select(Appointment)
        .where(
            Appointment.provider_id == provider_id,
            col(Appointment.starts_at) >= span.start,
            col(Appointment.starts_at) < span.end,
        )
        .order_by(col(Appointment.starts_at))
    ).all()
    actor.audit(
        session,
        "providers.calendar",
        resource_type="provider",
        resource_id=provider_id,
        detail={"patient_ids": sorted({str(a.patient_id) for a in appointments})},
    )
    return ProviderCalendarView(
        provider_id=provider_id,
        start=span.start,
        end=span.end,
        working=sorted(working, key=lambda w: w.start),
        appointments=[to_public(a) for a in appointments],
    )
