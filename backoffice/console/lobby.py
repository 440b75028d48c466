"""The lobby display: a waiting room's screen, signed in with a display's code rather than a
person's password. For its location today it shows a ticket number, initials and an
expected wait, and for a few minutes "Please come in" beside whoever was just taken in:
nothing someone across the room could use to learn who is here or why.

Two routers: `lobby_sign_in_pages` (the sign-in form, checked for its origin only: there is
no sign-in yet to carry a CSRF token) and `lobby_pages` (the screen, its board and its
event stream, for signed-in displays only).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session, col, func, select

from backoffice.audit.dependencies import origin_of
from backoffice.audit.service import record_event
from backoffice.checkin.models import Arrival
from backoffice.checkin.service import WAITING_STATUSES
from backoffice.checkin.wait import WaitingVisit, estimate_wait_minutes
from backoffice.clinic.models import Location
from backoffice.console import auth
from backoffice.console.queue import events as queue_events
from backoffice.console.web import (
    DisplayPage,
    render,
    same_origin_only,
    see_other,
    set_session_cookie,
)
from backoffice.db import SessionDep
from backoffice.devices import service as devices_service
from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.patients.models import Patient
from backoffice.scheduling.models import Appointment, AppointmentChange
from backoffice.security.actor import Actor
from backoffice.security.principal import ANONYMOUS, Principal
from shared.enums import AuditOutcome, PrincipalKind

lobby_sign_in_pages = APIRouter(dependencies=[Depends(same_origin_only)])
lobby_pages = APIRouter(prefix="/lobby")

TICKET_PREFIX = "A"
CALLED_FOR = timedelta(minutes=5)  # "Please come in" stays this long after rooming
SOON_MINUTES = 5
TAKEN_IN_STATUSES = ("roomed", "in_progress")
WRONG_CODE = (
    "That code does not sign in a lobby display. Check it, or ask an administrator for a "
    "new one on the Devices page."
)
Key = TypeVar("Key")


# --- what the screen shows (no I/O) ---------------------------------------------------------


@dataclass(frozen=True)
class LobbyRow:
    ticket: str
    initials: str
    wait: str
    called: bool = False


def initials(first_name: str, last_name: str) -> str:
    """All the screen shows of a name: "H. Q." for Harriet Quimby."""
    return " ".join(
        f"{name.strip()[0].upper()}." for name in (first_name, last_name) if name.strip()
    )


def wait_words(minutes: int | None) -> str:
    if minutes is None:
        return "Ask at the desk"  # past the estimate's cap: no honest figure
    if minutes == 0:
        return "Next"
    if minutes <= SOON_MINUTES:
        return "Soon"
    return f"about {minutes} min"


def waits_from_now(waiting: Mapping[Key, WaitingVisit], now: datetime) -> dict[Key, int | None]:
    """The done screen's estimate (`checkin.wait`) for each patient still waiting, counted
    from now instead of from their arrival: whoever was ahead of them is still ahead."""
    waits: dict[Key, int | None] = {}
    for key, visit in waiting.items():
        ours = (visit.scheduled_start, visit.arrived_at)
        waits[key] = estimate_wait_minutes(
            arrived_at=max(now, visit.arrived_at),
            scheduled_start=visit.scheduled_start,
            provider_id=visit.provider_id,
            waiting=[
                other
                for other_key, other in waiting.items()
                if other_key != key and (other.scheduled_start, other.arrived_at) < ours
            ],
        )
    return waits


# --- reading the day -------------------------------------------------------------------------


def _taken_in_at(session: Session, appointment_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    if not appointment_ids:
        return {}
    rows = session.exec(
        select(AppointmentChange.appointment_id, func.max(AppointmentChange.at))
        .where(
            col(AppointmentChange.appointment_id).in_(appointment_ids),
            AppointmentChange.from_state == "arrived",
        )
        .group_by(col(AppointmentChange.appointment_id))
    ).all()
    return dict(rows)


def lobby_rows(
    session: Session, *, actor: Actor, location: Location, now: datetime
) -> list[LobbyRow]:
    """Today's waiting patients at `location`, and those taken in within `CALLED_FOR`,
    those first. Audited as a read by the display, with how many rows it showed."""
    zone = ZoneInfo(location.timezone)
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    arrivals = session.exec(
        select(Arrival, Appointment, Patient.first_name, Patient.last_name)
        .join(Appointment, col(Appointment.id) == Arrival.appointment_id)
        .join(Patient, col(Patient.id) == Arrival.patient_id)
        .where(
            Arrival.location_id == location.id,
            col(Arrival.arrived_at) >= start,
            col(Arrival.arrived_at) < start + timedelta(days=1),
        )
        .order_by(col(Arrival.arrived_at), col(Arrival.id))
    ).all()
    waiting = {
        appointment.id: WaitingVisit(
            provider_id=appointment.provider_id,
            scheduled_start=appointment.starts_at,
            duration=appointment.ends_at - appointment.starts_at,
            arrived_at=arrival.arrived_at,
        )
        for arrival, appointment, _, _ in arrivals
        if appointment.status in WAITING_STATUSES
    }
    waits = waits_from_now(waiting, now)
    taken_in = _taken_in_at(
        session, [a.id for _, a, _, _ in arrivals if a.status in TAKEN_IN_STATUSES]
    )
    called, still_waiting = [], []
    for number, (_, appointment, first_name, last_name) in enumerate(arrivals, start=1):
        ticket, who = f"{TICKET_PREFIX}{number}", initials(first_name, last_name)
        if appointment.id in waiting:
            still_waiting.append(LobbyRow(ticket, who, wait_words(waits[appointment.id])))
        elif appointment.id in taken_in and now - taken_in[appointment.id] <= CALLED_FOR:
            called.append(LobbyRow(ticket, who, "Please come in", called=True))
    rows = called + still_waiting
    actor.audit(
        session,
        "lobby.read",
        resource_type="location",
        resource_id=location.id,
        detail={"count": len(rows)},
    )
    return rows


# --- the screen --------------------------------------------------------------------------------


def display_location(session: SessionDep, actor: DisplayPage) -> Location | None:
    """The location whose waiting room this display shows (None: not set up for one)."""
    assert actor.principal.id is not None
    device = session.get(Device, actor.principal.id)
    if device is None or device.location_id is None:
        return None
    return session.get(Location, device.location_id)


DisplayLocation = Annotated[Location | None, Depends(display_location)]


def _board(session: Session, actor: Actor, location: Location | None) -> dict[str, Any]:
    rows = lobby_rows(session, actor=actor, location=location, now=utcnow()) if location else []
    return {"location": location, "rows": rows}


@lobby_pages.get("", name="console.lobby")
def lobby_page(
    request: Request, session: SessionDep, actor: DisplayPage, location: DisplayLocation
) -> Response:
    return render(request, "lobby/page.html", **_board(session, actor, location))


@lobby_pages.get("/board", name="console.lobby_board")
def lobby_board(
    request: Request, session: SessionDep, actor: DisplayPage, location: DisplayLocation
) -> Response:
    return render(request, "lobby/board.html", **_board(session, actor, location))


@lobby_pages.get("/events", name="console.lobby_events")
async def lobby_events(
    request: Request, actor: DisplayPage, location: DisplayLocation
) -> StreamingResponse:
    """The arrival board's own stream (no PHI in it): the screen re-fetches its board."""
    return await queue_events(request, actor, location_id=str(location.id) if location else None)


# --- signing the screen in ---------------------------------------------------------------------


@lobby_sign_in_pages.get("/lobby/sign-in", name="console.lobby_sign_in_form")
def sign_in_form(request: Request) -> Response:
    return render(request, "lobby/sign_in.html", error=None)


@lobby_sign_in_pages.post("/lobby/sign-in", name="console.lobby_sign_in")
def sign_in(
    request: Request, session: SessionDep, token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    device = devices_service.display_for_token(session, token=token.strip())
    if device is None:
        record_event(
            session,
            principal=ANONYMOUS,
            origin=origin_of(request),
            action="lobby.sign_in",
            outcome=AuditOutcome.FAILURE,
        )
        return render(request, "lobby/sign_in.html", status=401, error=WRONG_CODE)
    cookie = auth.open_session(
        session, settings=request.app.state.settings, now=utcnow(), device=device
    )
    principal = Principal(PrincipalKind.DEVICE, device.id, device.name, device_kind=device.kind)
    record_event(session, principal=principal, origin=origin_of(request), action="lobby.sign_in")
    response = see_other("/lobby")
    set_session_cookie(request, response, cookie, auth.DISPLAY_DAYS * 24 * 3600)
    return response
