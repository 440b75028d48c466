"""The arrival board: today's arrivals at a location, live, with the actions that move
patients along. The page is whole HTML; the board inside it is re-fetched whenever the
event stream says something changed, so the browser never holds PHI the server did not
just render for this user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session, col, select

from backoffice.billing import eligibility_at_checkin
from backoffice.checkin import queue as queue_service
from backoffice.checkin import service as checkin_service
from backoffice.checkin.schemas import QueueTransition
from backoffice.clinic.models import Location, Provider
from backoffice.console.board import FLAG_LABELS, NEXT_STEPS, Expected, arrange, counts, wait_band
from backoffice.console.web import page_requires, parse_uuid, render, see_other
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.patients.models import Patient
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from shared.errors import NotFound

queue_pages = APIRouter(prefix="/staff/queue")
LOCATION_COOKIE = "frontdesk_location"
HEARTBEAT_SECONDS = 15.0

BoardReader = Annotated[Actor, Depends(page_requires(Permission.SCHEDULE_READ))]
BoardMover = Annotated[Actor, Depends(page_requires(Permission.APPOINTMENTS_WRITE))]


def choose_location(request: Request, session: Session, wanted: str | None) -> Location:
    """The location asked for, else the one this browser last watched, else the first."""
    locations = list(session.exec(select(Location).order_by(col(Location.name))))
    if not locations:
        raise NotFound("No locations are set up yet; an administrator adds them first.")
    for candidate in (wanted, request.cookies.get(LOCATION_COOKIE)):
        chosen = parse_uuid(candidate)
        for location in locations:
            if location.id == chosen:
                return location
    return locations[0]


def expected_today(
    session: Session, *, actor: Actor, location: Location, now: datetime
) -> list[Expected]:
    zone = ZoneInfo(location.timezone)
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    rows = session.exec(
        select(Appointment, Patient, Provider, AppointmentType.name)
        .join(Patient, col(Patient.id) == Appointment.patient_id)
        .join(Provider, col(Provider.id) == Appointment.provider_id)
        .join(AppointmentType, col(AppointmentType.id) == Appointment.appointment_type_id)
        .where(
            Appointment.location_id == location.id,
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < start + timedelta(days=1),
            col(Appointment.status).in_(("scheduled", "confirmed")),
        )
    ).all()
    if rows:
        actor.audit(
            session,
            "queue.expected.read",
            resource_type="patient",
            detail={"patient_ids": sorted({str(p.id) for _, p, _, _ in rows})},
        )
    return [
        Expected(
            appointment_id=str(a.id),
            appointment_version=a.version,
            patient_id=str(p.id),
            patient_name=f"{p.first_name} {p.last_name}",
            provider_name=f"{v.first_name} {v.last_name}",
            appointment_type=kind,
            starts_at=a.starts_at,
            overdue=a.starts_at < now,
        )
        for a, p, v, kind in rows
    ]


def _board_context(request: Request, session: Session, actor: Actor, location: Location):  # type: ignore[no-untyped-def]
    now = utcnow()
    items = queue_service.todays_queue(
        session, actor=actor, location_id=location.id, day=None, now=now
    )
    lanes = arrange(items, expected_today(session, actor=actor, location=location, now=now))
    return {
        "location": location,
        "zone": ZoneInfo(location.timezone),
        "lanes": lanes,
        "counts": counts(lanes),
        "flag_labels": FLAG_LABELS,
        "next_steps": NEXT_STEPS,
        "wait_band": wait_band,
    }


@queue_pages.get("", name="console.queue")
def queue_page(
    request: Request, session: SessionDep, actor: BoardReader, location_id: str | None = None
) -> Response:
    location = choose_location(request, session, location_id)
    locations = list(session.exec(select(Location).order_by(col(Location.name))))
    response = render(
        request,
        "queue/page.html",
        locations=locations,
        **_board_context(request, session, actor, location),
    )
    response.set_cookie(LOCATION_COOKIE, str(location.id), path="/staff", samesite="strict")
    return response


@queue_pages.get("/board", name="console.queue_board")
def board(request: Request, session: SessionDep, actor: BoardReader, location_id: str) -> Response:
    location = choose_location(request, session, location_id)
    return render(request, "queue/board.html", **_board_context(request, session, actor, location))


@queue_pages.get("/events", name="console.queue_events")
async def events(
    request: Request, actor: BoardReader, location_id: str | None = None
) -> StreamingResponse:
    """Server-sent `changed` events carrying no PHI: the page re-fetches its board. Every
    (re)connection starts with one, so a screen that was away catches up at once."""
    broadcaster = request.app.state.queue_broadcaster
    subscription = broadcaster.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            await broadcaster.ready()
            yield "retry: 2000\nevent: changed\ndata: {}\n\n"
            while True:
                event = await subscription.next_event(HEARTBEAT_SECONDS)
                if event is None:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                elif not location_id or event.get("location_id") in (location_id, "", None):
                    yield "event: changed\ndata: {}\n\n"
        finally:
            subscription.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _back(request: Request, notice: str) -> Response:
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)
    return see_other("/staff/queue", notice)


@queue_pages.post("/{arrival_id}/move", name="console.queue_move")
def move(
    request: Request,
    session: SessionDep,
    actor: BoardMover,
    arrival_id: uuid.UUID,
    to: Annotated[Literal["roomed", "with_provider", "checked_out", "sent_home"], Form()],
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    transition = QueueTransition(to=to, reason=(reason or "").strip() or None)
    queue_service.move_along(
        session,
        actor=actor,
        broadcaster=request.app.state.queue_broadcaster,
        arrival_id=arrival_id,
        data=transition,
        now=utcnow(),
    )
    return _back(request, "Moved along.")


@queue_pages.post("/expected/{appointment_id}/check-in", name="console.queue_desk_check_in")
def desk_check_in(
    request: Request,
    session: SessionDep,
    actor: BoardMover,
    appointment_id: uuid.UUID,
    version: Annotated[int, Form()],
    background: BackgroundTasks,
) -> Response:
    """The patient came to the desk instead of the kiosk; their coverage is checked with the
    payer once the page has answered, as at the kiosk."""
    checkin_service.check_in_at_desk(
        session,
        actor=actor,
        broadcaster=request.app.state.queue_broadcaster,
        appointment_id=appointment_id,
        expected_version=version,
        now=utcnow(),
    )
    eligibility_at_checkin.schedule_after_check_in(
        background, request.app.state, actor=actor, appointment_id=appointment_id
    )
    return _back(request, "Checked in at the desk.")


@queue_pages.post("/expected/{appointment_id}/no-show", name="console.queue_no_show")
def no_show(
    request: Request,
    session: SessionDep,
    actor: BoardMover,
    appointment_id: uuid.UUID,
    version: Annotated[int, Form()],
) -> Response:
    queue_service.mark_no_show(
        session,
        actor=actor,
        broadcaster=request.app.state.queue_broadcaster,
        appointment_id=appointment_id,
        expected_version=version,
        now=utcnow(),
    )
    return _back(request, "Marked as a no-show.")
