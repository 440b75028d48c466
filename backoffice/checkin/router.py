from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from sqlmodel import Session

from backoffice.billing import eligibility_at_checkin
from backoffice.checkin import queue as queue_service
from backoffice.checkin import review as review_service
from backoffice.checkin import service as checkin_service
from backoffice.checkin.schemas import (
    CheckInCode,
    DemographicChangePublic,
    QueueItem,
    QueueTransition,
    StaffAlertPublic,
)
from backoffice.db import SessionDep
from backoffice.devices.models import Device
from backoffice.errors import PROBLEM_JSON
from backoffice.kit.columns import utcnow
from backoffice.kit.idempotency import run_once
from backoffice.kit.pagination import Page, PageDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from shared.contracts import kiosk as contract
from shared.errors import PermissionDenied

checkin_router = APIRouter(prefix="/kiosk", tags=["kiosk"])
queue_router = APIRouter(tags=["queue"])

Kiosk = Annotated[Actor, Depends(require(Permission.KIOSK))]
QueueReader = Annotated[Actor, Depends(require(Permission.SCHEDULE_READ))]
QueueMover = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_WRITE))]
IdempotencyKey = Annotated[
    str,
    Header(
        alias=contract.IDEMPOTENCY_HEADER,
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="A key of the kiosk's choosing; a replay returns the first answer.",
    ),
]
HEARTBEAT_SECONDS = 15.0


def kiosk_context(
    request: Request, session: SessionDep, actor: Kiosk
) -> checkin_service.KioskContext:
    device = session.get(Device, actor.principal.id)
    if device is None:
        raise PermissionDenied("This kiosk is not enrolled.")
    state = request.app.state
    return checkin_service.KioskContext(
        actor=actor,
        device=device,
        zone=checkin_service.kiosk_zone(session, device, state.settings.timezone),
        now=utcnow(),
        code_key=state.signing_key,
        broadcaster=state.queue_broadcaster,
    )


KioskCtx = Annotated[checkin_service.KioskContext, Depends(kiosk_context)]


# --- the kiosk -----------------------------------------------------------------------------


@checkin_router.post("/lookups", name="kiosk.lookup", response_model=contract.LookupResult)
def lookup(
    session: SessionDep, ctx: KioskCtx, body: contract.Identification
) -> contract.LookupResult:
    """Today's appointments for a name and date of birth, a licence, or a check-in code.
    Anything that does not match answers the same 404 `no-match`."""
    return checkin_service.lookup(session, ctx, identification=body)


@checkin_router.post(
    "/sessions/{session_id}/verify", name="kiosk.verify", response_model=contract.AppointmentMatch
)
def verify(
    session: SessionDep, ctx: KioskCtx, session_id: uuid.UUID, body: contract.VerifyBirthDate
) -> contract.AppointmentMatch:
    return checkin_service.verify_birth_date(
        session, ctx, session_id=session_id, date_of_birth=body.date_of_birth
    )


@checkin_router.get(
    "/sessions/{session_id}/demographics",
    name="kiosk.demographics",
    response_model=contract.Demographics,
)
def demographics(
    session: SessionDep, ctx: KioskCtx, session_id: uuid.UUID
) -> contract.Demographics:
    return checkin_service.demographics(session, ctx, session_id=session_id)


@checkin_router.get(
    "/sessions/{session_id}/consents", name="kiosk.consents", response_model=contract.ConsentsNeeded
)
def consents(session: SessionDep, ctx: KioskCtx, session_id: uuid.UUID) -> contract.ConsentsNeeded:
    return checkin_service.consents_for_session(session, ctx, session_id=session_id)


@checkin_router.get(
    "/sessions/{session_id}/copay", name="kiosk.copay", response_model=contract.CopayDue
)
def copay(session: SessionDep, ctx: KioskCtx, session_id: uuid.UUID) -> contract.CopayDue:
    return checkin_service.copay_for_session(session, ctx, session_id=session_id)


@checkin_router.delete(
    "/sessions/{session_id}", name="kiosk.end_session", status_code=status.HTTP_204_NO_CONTENT
)
def end_session(session: SessionDep, ctx: KioskCtx, session_id: uuid.UUID) -> None:
    """The patient walked away or the kiosk timed out: nothing more is read in it."""
    checkin_service.end_session(session, ctx, session_id=session_id)


@checkin_router.get(
    "/consent-documents", name="kiosk.consent_documents", response_model=contract.ConsentsNeeded
)
def consent_documents(session: SessionDep, ctx: KioskCtx) -> contract.ConsentsNeeded:
    """Every current form, for the kiosk to keep for signing while the back office is down."""
    documents = checkin_service.asked_here(ctx.device, checkin_service.current_documents(session))
    return contract.ConsentsNeeded(
        documents=[checkin_service.document_contract(d) for d in documents]
    )


@checkin_router.post(
    "/check-ins",
    name="kiosk.check_in",
    response_model=contract.CheckInReceipt,
    status_code=status.HTTP_201_CREATED,
)
def check_in(
    request: Request,
    session: SessionDep,
    ctx: KioskCtx,
    body: contract.CheckInSubmission,
    idempotency_key: IdempotencyKey,
    background: BackgroundTasks,
) -> JSONResponse:
    """A finished check-in, from the kiosk's outbox. Delivered twice, it is recorded once:
    a replay of the key gets the first answer, refusals included. A new arrival's insurance
    is checked with the payer after the answer has gone (never holding it up)."""

    def work() -> tuple[int, dict[str, object]]:
        receipt = checkin_service.submit_check_in(session, ctx, submission=body)
        return status.HTTP_201_CREATED, receipt.model_dump(mode="json")

    answer = run_once(
        session,
        device_id=ctx.device.id,
        key=idempotency_key,
        request_body=body.model_dump_json().encode(),
        work=work,
    )
    if answer.status == status.HTTP_201_CREATED and not answer.replayed:
        eligibility_at_checkin.schedule_after_check_in(
            background,
            request.app.state,
            actor=ctx.actor,
            appointment_id=uuid.UUID(str(answer.body["appointment_id"])),
        )
    return JSONResponse(
        answer.body,
        status_code=answer.status,
        media_type=PROBLEM_JSON if answer.status >= 400 else None,
        headers={"Idempotent-Replayed": "true"} if answer.replayed else None,
    )


# --- staff: the queue, its stream, alerts ------------------------------------------------


@queue_router.get("/queue", name="queue.list", response_model=Page[QueueItem])
def read_queue(
    session: SessionDep,
    actor: QueueReader,
    location_id: uuid.UUID,
    day: Annotated[date | None, Query(alias="date", description="Default: today there")] = None,
    state: Annotated[list[contract.ArrivalState] | None, Query()] = None,
) -> Page[QueueItem]:
    """A location's arrivals for a day, in order of arrival."""
    items = queue_service.todays_queue(
        session, actor=actor, location_id=location_id, day=day, now=utcnow(), states=state
    )
    return Page(items=items, limit=len(items), offset=0, next_offset=None)


@queue_router.post(
    "/queue/{arrival_id}/transitions", name="queue.transition", response_model=QueueItem
)
def move_along(
    request: Request,
    session: SessionDep,
    actor: QueueMover,
    arrival_id: uuid.UUID,
    body: QueueTransition,
) -> QueueItem:
    return queue_service.move_along(
        session,
        actor=actor,
        broadcaster=request.app.state.queue_broadcaster,
        arrival_id=arrival_id,
        data=body,
        now=utcnow(),
    )


def _event_item(request: Request, actor: Actor, event: dict[str, str]) -> QueueItem | None:
    with request.app.state.session_factory() as session:
        item = queue_service.queue_item(
            session, actor=actor, arrival_id=uuid.UUID(event["arrival_id"]), now=utcnow()
        )
        session.commit()
    return item


@queue_router.get("/queue/events", name="queue.events", response_class=StreamingResponse)
async def queue_events(
    request: Request,
    actor: QueueReader,
    location_id: uuid.UUID | None = None,
    max_events: Annotated[
        int | None, Query(ge=0, le=10_000, description="End the stream after this many")
    ] = None,
) -> StreamingResponse:
    """Server-sent events: `arrival` (a queue item, new or moved along) and `alert`. A screen
    that reconnects reloads GET /queue, since events sent while it was away are not kept."""
    broadcaster = request.app.state.queue_broadcaster
    subscription = broadcaster.subscribe()
    wanted = None if location_id is None else str(location_id)

    async def stream() -> AsyncIterator[str]:
        sent = 0
        try:
            await broadcaster.ready()
            yield "retry: 3000\n: connected\n\n"
            while max_events is None or sent < max_events:
                event = await subscription.next_event(HEARTBEAT_SECONDS)
                if event is None:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if wanted and event.get("location_id") not in (wanted, ""):
                    continue
                if event["type"] == "alert":
                    yield f'event: alert\ndata: {{"alert_id": "{event["alert_id"]}"}}\n\n'
                else:
                    item = await run_in_threadpool(_event_item, request, actor, event)
                    if item is None:
                        continue
                    yield f"event: arrival\ndata: {item.model_dump_json()}\n\n"
                sent += 1
        finally:
            subscription.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@queue_router.get("/alerts", name="alerts.list", response_model=Page[StaffAlertPublic])
def list_alerts(
    session: SessionDep,
    actor: QueueReader,
    page: PageDep,
    location_id: uuid.UUID | None = None,
    open_only: bool = True,
) -> Page[StaffAlertPublic]:
    rows = queue_service.list_alerts(
        session,
        location_id=location_id,
        open_only=open_only,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page.from_rows([StaffAlertPublic.model_validate(a) for a in rows], page)


@queue_router.post(
    "/alerts/{alert_id}/acknowledge", name="alerts.acknowledge", response_model=StaffAlertPublic
)
def acknowledge_alert(
    session: SessionDep, actor: QueueMover, alert_id: uuid.UUID
) -> StaffAlertPublic:
    alert = queue_service.acknowledge_alert(session, actor=actor, alert_id=alert_id, now=utcnow())
    return StaffAlertPublic.model_validate(alert)


@queue_router.get(
    "/appointments/{appointment_id}/check-in-code",
    name="appointments.check_in_code",
    response_model=CheckInCode,
)
def check_in_code(
    request: Request, session: SessionDep, actor: QueueReader, appointment_id: uuid.UUID
) -> CheckInCode:
    """The QR code for an appointment confirmation: the kiosk finds the appointment from it
    and then asks for the date of birth. It lapses half a day after the appointment."""
    return checkin_service.check_in_code(
        session,
        actor=actor,
        appointment_id=appointment_id,
        signing_key=request.app.state.signing_key,
    )


# --- staff: what patients proposed at the kiosk -----------------------------------------

ChangeReader = Annotated[Actor, Depends(require(Permission.PATIENTS_READ))]
ChangeDecider = Annotated[Actor, Depends(require(Permission.PATIENTS_WRITE))]


@queue_router.get(
    "/demographic-changes",
    name="demographic_changes.list",
    response_model=Page[DemographicChangePublic],
)
def list_demographic_changes(
    session: SessionDep,
    actor: ChangeReader,
    page: PageDep,
    status: Literal["pending", "accepted", "rejected"] = "pending",
    patient_id: uuid.UUID | None = None,
) -> Page[DemographicChangePublic]:
    rows = review_service.list_changes(
        session,
        actor=actor,
        status=status,
        patient_id=patient_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page.from_rows([DemographicChangePublic.model_validate(r) for r in rows], page)


def _decide(
    request: Request, session: Session, actor: Actor, change_id: uuid.UUID, accept: bool
) -> DemographicChangePublic:
    change = review_service.decide(
        session,
        actor=actor,
        broadcaster=request.app.state.queue_broadcaster,
        change_id=change_id,
        accept=accept,
        cipher=request.app.state.cipher,
        now=utcnow(),
    )
    return DemographicChangePublic.model_validate(change)


@queue_router.post(
    "/demographic-changes/{change_id}/accept",
    name="demographic_changes.accept",
    response_model=DemographicChangePublic,
)
def accept_demographic_change(
    request: Request, session: SessionDep, actor: ChangeDecider, change_id: uuid.UUID
) -> DemographicChangePublic:
    """Apply the patient's correction to their record (validated like any edit)."""
    return _decide(request, session, actor, change_id, accept=True)


@queue_router.post(
    "/demographic-changes/{change_id}/reject",
    name="demographic_changes.reject",
    response_model=DemographicChangePublic,
)
def reject_demographic_change(
    request: Request, session: SessionDep, actor: ChangeDecider, change_id: uuid.UUID
) -> DemographicChangePublic:
    return _decide(request, session, actor, change_id, accept=False)
