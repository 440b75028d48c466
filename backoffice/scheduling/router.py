from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel

from backoffice.audit.dependencies import origin_of
from backoffice.clinic import service as clinic_service
from backoffice.db import SessionDep
from backoffice.kit.columns import Timestamp
from backoffice.kit.etags import IfMatch, etag, expected_version
from backoffice.kit.pagination import Page, PageDep
from backoffice.scheduling import configuration
from backoffice.scheduling import feeds as feeds_service
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.schemas import (
    AppointmentChangePublic,
    AppointmentCreate,
    AppointmentEventIn,
    AppointmentPublic,
    AppointmentTypeCreate,
    AppointmentTypeDetail,
    AppointmentTypeUpdate,
    CalendarFeedIssued,
    CalendarFeedPublic,
    GroupCreate,
    GroupPublic,
    ProviderCalendarView,
    RescheduleIn,
    ScheduleExceptionCreate,
    ScheduleExceptionCreated,
    ScheduleExceptionPublic,
    ScheduleRuleIn,
    ScheduleRulePublic,
    SeriesCancel,
    SeriesCreate,
    SeriesPublic,
    SlotPublic,
    WaitListCreate,
    WaitListPublic,
)
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission

scheduling_router = APIRouter(tags=["scheduling"])

ScheduleReader = Annotated[Actor, Depends(require(Permission.SCHEDULE_READ))]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_WRITE))]
ScheduleManager = Annotated[Actor, Depends(require(Permission.SCHEDULE_MANAGE))]


class SlotList(BaseModel):
    items: list[SlotPublic]


@scheduling_router.get(
    "/appointment-types",
    name="appointment_types.list",
    response_model=Page[AppointmentTypeDetail],
)
def list_appointment_types(
    session: SessionDep, actor: ScheduleReader, page: PageDep, active: bool | None = None
) -> Page[AppointmentTypeDetail]:
    rows = configuration.list_appointment_types(
        session, active=active, limit=page.limit + 1, offset=page.offset
    )
    return Page.from_rows([configuration.appointment_type_detail(session, k) for k in rows], page)


@scheduling_router.post(
    "/appointment-types",
    name="appointment_types.create",
    response_model=AppointmentTypeDetail,
    status_code=status.HTTP_201_CREATED,
)
def create_appointment_type(
    response: Response, session: SessionDep, actor: ScheduleManager, body: AppointmentTypeCreate
) -> AppointmentTypeDetail:
    kind = configuration.create_appointment_type(session, actor=actor, data=body)
    response.headers["Location"] = f"/api/v1/appointment-types/{kind.id}"
    return configuration.appointment_type_detail(session, kind)


@scheduling_router.get(
    "/appointment-types/{appointment_type_id}",
    name="appointment_types.read",
    response_model=AppointmentTypeDetail,
)
def read_appointment_type(
    session: SessionDep, actor: ScheduleReader, appointment_type_id: uuid.UUID
) -> AppointmentTypeDetail:
    kind = configuration.find_appointment_type(session, appointment_type_id=appointment_type_id)
    return configuration.appointment_type_detail(session, kind)


@scheduling_router.patch(
    "/appointment-types/{appointment_type_id}",
    name="appointment_types.update",
    response_model=AppointmentTypeDetail,
)
def update_appointment_type(
    session: SessionDep,
    actor: ScheduleManager,
    appointment_type_id: uuid.UUID,
    body: AppointmentTypeUpdate,
) -> AppointmentTypeDetail:
    kind = configuration.find_appointment_type(session, appointment_type_id=appointment_type_id)
    kind = configuration.update_appointment_type(session, actor=actor, kind=kind, data=body)
    return configuration.appointment_type_detail(session, kind)


@scheduling_router.get(
    "/providers/{provider_id}/schedule-rules",
    name="schedule_rules.list",
    response_model=Page[ScheduleRulePublic],
)
def list_schedule_rules(
    session: SessionDep, actor: ScheduleReader, provider_id: uuid.UUID
) -> Page[ScheduleRulePublic]:
    """A provider's weekly templates, all of them (a provider has a handful)."""
    clinic_service.get_provider(session, provider_id=provider_id)
    rules = configuration.list_rules(session, provider_id=provider_id)
    items = [ScheduleRulePublic.model_validate(r) for r in rules]
    return Page(items=items, limit=len(items), offset=0, next_offset=None)


@scheduling_router.post(
    "/providers/{provider_id}/schedule-rules",
    name="schedule_rules.create",
    response_model=ScheduleRulePublic,
    status_code=status.HTTP_201_CREATED,
)
def create_schedule_rule(
    session: SessionDep, actor: ScheduleManager, provider_id: uuid.UUID, body: ScheduleRuleIn
) -> ScheduleRulePublic:
    rule = configuration.create_rule(session, actor=actor, provider_id=provider_id, data=body)
    return ScheduleRulePublic.model_validate(rule)


@scheduling_router.put(
    "/schedule-rules/{rule_id}", name="schedule_rules.replace", response_model=ScheduleRulePublic
)
def replace_schedule_rule(
    session: SessionDep, actor: ScheduleManager, rule_id: uuid.UUID, body: ScheduleRuleIn
) -> ScheduleRulePublic:
    rule = configuration.get_rule(session, rule_id=rule_id)
    return ScheduleRulePublic.model_validate(
        configuration.replace_rule(session, actor=actor, rule=rule, data=body)
    )


@scheduling_router.delete(
    "/schedule-rules/{rule_id}",
    name="schedule_rules.delete",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_schedule_rule(session: SessionDep, actor: ScheduleManager, rule_id: uuid.UUID) -> None:
    rule = configuration.get_rule(session, rule_id=rule_id)
    configuration.delete_rule(session, actor=actor, rule=rule)


@scheduling_router.get(
    "/schedule-exceptions",
    name="schedule_exceptions.list",
    response_model=Page[ScheduleExceptionPublic],
)
def list_schedule_exceptions(
    session: SessionDep,
    actor: ScheduleReader,
    page: PageDep,
    start: Timestamp,
    end: Timestamp,
    provider_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
) -> Page[ScheduleExceptionPublic]:
    rows = configuration.list_exceptions(
        session,
        start=start,
        end=end,
        provider_id=provider_id,
        location_id=location_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page.from_rows([configuration.exception_public(r) for r in rows], page)


@scheduling_router.post(
    "/schedule-exceptions",
    name="schedule_exceptions.create",
    response_model=ScheduleExceptionCreated,
    status_code=status.HTTP_201_CREATED,
)
def create_schedule_exception(
    session: SessionDep, actor: ScheduleManager, body: ScheduleExceptionCreate
) -> ScheduleExceptionCreated:
    """PTO, a holiday, a closure or an extra session. The answer lists the live
    appointments inside time taken out, so staff can move them or call the patients."""
    return configuration.create_exception(session, actor=actor, data=body)


@scheduling_router.delete(
    "/schedule-exceptions/{exception_id}",
    name="schedule_exceptions.delete",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_schedule_exception(
    session: SessionDep, actor: ScheduleManager, exception_id: uuid.UUID
) -> None:
    row = configuration.get_exception(session, exception_id=exception_id)
    configuration.delete_exception(session, actor=actor, row=row)


@scheduling_router.get("/slots", name="slots.search", response_model=SlotList)
def search_slots(
    session: SessionDep,
    actor: ScheduleReader,
    appointment_type_id: uuid.UUID,
    start: Annotated[Timestamp, Query(description="ISO 8601 with offset")],
    end: Annotated[Timestamp, Query(description="ISO 8601 with offset")],
    provider_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
) -> SlotList:
    """Open slots for one provider, or for any provider who offers the type."""
    return SlotList(
        items=scheduling_service.search_slots(
            session,
            appointment_type_id=appointment_type_id,
            start=start,
            end=end,
            provider_id=provider_id,
            location_id=location_id,
        )
    )


@scheduling_router.post(
    "/appointments",
    name="appointments.create",
    response_model=AppointmentPublic,
    status_code=status.HTTP_201_CREATED,
)
def book_appointment(
    response: Response, session: SessionDep, actor: Booker, body: AppointmentCreate
) -> AppointmentPublic:
    """Book one appointment; a taken or unworked time answers 409 with `alternatives`."""
    appointment = scheduling_service.book_appointment(session, actor=actor, data=body)
    response.headers["Location"] = f"/api/v1/appointments/{appointment.id}"
    response.headers["ETag"] = etag(appointment.version)
    return scheduling_service.to_public(appointment)


@scheduling_router.get(
    "/appointments", name="appointments.list", response_model=Page[AppointmentPublic]
)
def list_appointments(
    request: Request,
    session: SessionDep,
    actor: ScheduleReader,
    page: PageDep,
    date_: Annotated[date | None, Query(alias="date", description="Local date, YYYY-MM-DD")] = None,
    provider_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> Page[AppointmentPublic]:
    rows = scheduling_service.list_appointments(
        session,
        actor=actor,
        limit=page.limit,
        offset=page.offset,
        day=date_,
        zone=request.app.state.settings.timezone,
        provider_id=provider_id,
        patient_id=patient_id,
    )
    return Page.from_rows([scheduling_service.to_public(a) for a in rows], page)


@scheduling_router.get(
    "/appointments/{appointment_id}", name="appointments.read", response_model=AppointmentPublic
)
def read_appointment(
    response: Response, session: SessionDep, actor: ScheduleReader, appointment_id: uuid.UUID
) -> AppointmentPublic:
    appointment = scheduling_service.read_appointment(
        session, actor=actor, appointment_id=appointment_id
    )
    response.headers["ETag"] = etag(appointment.version)
    return scheduling_service.to_public(appointment)


@scheduling_router.post(
    "/appointments/{appointment_id}/events",
    name="appointments.event",
    response_model=AppointmentPublic,
)
def record_appointment_event(
    response: Response,
    session: SessionDep,
    actor: Booker,
    appointment_id: uuid.UUID,
    body: AppointmentEventIn,
    if_match: IfMatch = None,
) -> AppointmentPublic:
    """Confirm, arrive, room, start, complete, cancel (with a reason), mark a no-show, or
    undo the last step; every step is kept in the appointment's history."""
    version = expected_version(if_match)
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    appointment = scheduling_service.record_event(
        session,
        actor=actor,
        appointment=appointment,
        event=body.event,
        expected_version=version,
        reason=body.reason,
    )
    response.headers["ETag"] = etag(appointment.version)
    return scheduling_service.to_public(appointment)


@scheduling_router.post(
    "/appointments/{appointment_id}/reschedule",
    name="appointments.reschedule",
    response_model=AppointmentPublic,
    status_code=status.HTTP_201_CREATED,
)
def reschedule_appointment(
    response: Response,
    session: SessionDep,
    actor: Booker,
    appointment_id: uuid.UUID,
    body: RescheduleIn,
    if_match: IfMatch = None,
) -> AppointmentPublic:
    """Book a new time and link it from the old appointment, which is kept as rescheduled."""
    version = expected_version(if_match)
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    new = scheduling_service.reschedule(
        session, actor=actor, appointment=appointment, data=body, expected_version=version
    )
    response.headers["Location"] = f"/api/v1/appointments/{new.id}"
    response.headers["ETag"] = etag(new.version)
    return scheduling_service.to_public(new)


@scheduling_router.get(
    "/appointments/{appointment_id}/history",
    name="appointments.history",
    response_model=list[AppointmentChangePublic],
)
def appointment_history(
    session: SessionDep, actor: ScheduleReader, appointment_id: uuid.UUID
) -> list[AppointmentChangePublic]:
    changes = scheduling_service.read_history(session, actor=actor, appointment_id=appointment_id)
    return [scheduling_service.to_change_public(c) for c in changes]


@scheduling_router.post(
    "/appointment-series",
    name="series.create",
    response_model=SeriesPublic,
    status_code=status.HTTP_201_CREATED,
)
def book_series(session: SessionDep, actor: Booker, body: SeriesCreate) -> SeriesPublic:
    """Book a recurring series from an RFC 5545 RRULE; conflicting dates are reported with
    alternatives (or, with `all_or_nothing`, refuse the whole series)."""
    return scheduling_service.book_series(session, actor=actor, data=body)


@scheduling_router.post(
    "/appointment-series/{series_id}/cancel",
    name="series.cancel",
    response_model=list[AppointmentPublic],
)
def cancel_series(
    session: SessionDep, actor: Booker, series_id: uuid.UUID, body: SeriesCancel
) -> list[AppointmentPublic]:
    """Cancel the rest of a series; one appointment is cancelled through its events."""
    cancelled = scheduling_service.cancel_series(
        session, actor=actor, series_id=series_id, data=body
    )
    return [scheduling_service.to_public(a) for a in cancelled]


@scheduling_router.post(
    "/providers/{provider_id}/calendar-feeds",
    name="calendar_feeds.create",
    response_model=CalendarFeedIssued,
    status_code=status.HTTP_201_CREATED,
)
def issue_calendar_feed(
    request: Request, session: SessionDep, actor: ScheduleManager, provider_id: uuid.UUID
) -> CalendarFeedIssued:
    """A subscription URL for the provider's calendar app, shown once."""
    feed, token = feeds_service.issue_feed(session, actor=actor, provider_id=provider_id)
    url = str(request.url_for("calendar_feeds.read", token=token))
    return CalendarFeedIssued(
        id=feed.id,
        provider_id=feed.provider_id,
        url=url,
        token_hint=feed.token_hint,
        created_at=feed.created_at,
    )


@scheduling_router.post(
    "/calendar-feeds/{feed_id}/revoke",
    name="calendar_feeds.revoke",
    response_model=CalendarFeedPublic,
)
def revoke_calendar_feed(
    session: SessionDep, actor: ScheduleManager, feed_id: uuid.UUID
) -> CalendarFeedPublic:
    return CalendarFeedPublic.model_validate(
        feeds_service.revoke_feed(session, actor=actor, feed_id=feed_id)
    )


@scheduling_router.get(
    "/calendar-feeds/{token}.ics",
    name="calendar_feeds.read",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def read_calendar_feed(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Path(pattern=r"^fdc_[A-Za-z0-9_-]{20,64}$", max_length=70)],
) -> Response:
    """The feed itself, for calendar services; the token in the URL is the only credential."""
    body = feeds_service.read_feed(
        session,
        token=token,
        origin=origin_of(request),
        zone_name=request.app.state.settings.clinic_timezone,
    )
    return Response(body, media_type="text/calendar; charset=utf-8")


@scheduling_router.post(
    "/wait-list",
    name="wait_list.create",
    response_model=WaitListPublic,
    status_code=status.HTTP_201_CREATED,
)
def add_to_wait_list(session: SessionDep, actor: Booker, body: WaitListCreate) -> WaitListPublic:
    """Ask for an earlier time; when one frees up, the best-matching patient is offered it."""
    entry = scheduling_service.add_to_wait_list(session, actor=actor, data=body)
    return WaitListPublic.model_validate(entry)


@scheduling_router.get("/wait-list", name="wait_list.list", response_model=Page[WaitListPublic])
def list_wait_list(
    session: SessionDep,
    actor: ScheduleReader,
    page: PageDep,
    status_: Annotated[
        Literal["waiting", "offered", "booked", "cancelled"] | None, Query(alias="status")
    ] = None,
) -> Page[WaitListPublic]:
    rows = scheduling_service.list_wait_list(
        session, actor=actor, status=status_, limit=page.limit, offset=page.offset
    )
    return Page.from_rows([WaitListPublic.model_validate(e) for e in rows], page)


@scheduling_router.post(
    "/wait-list/{entry_id}/accept",
    name="wait_list.accept",
    response_model=AppointmentPublic,
    status_code=status.HTTP_201_CREATED,
)
def accept_wait_list_offer(
    session: SessionDep, actor: Booker, entry_id: uuid.UUID
) -> AppointmentPublic:
    appointment = scheduling_service.accept_wait_list_offer(session, actor=actor, entry_id=entry_id)
    return scheduling_service.to_public(appointment)


@scheduling_router.post(
    "/wait-list/{entry_id}/decline", name="wait_list.decline", response_model=WaitListPublic
)
def decline_wait_list_offer(
    session: SessionDep, actor: Booker, entry_id: uuid.UUID
) -> WaitListPublic:
    entry = scheduling_service.decline_wait_list_offer(session, actor=actor, entry_id=entry_id)
    return WaitListPublic.model_validate(entry)


@scheduling_router.post(
    "/wait-list/{entry_id}/cancel", name="wait_list.cancel", response_model=WaitListPublic
)
def cancel_wait_list_entry(
    session: SessionDep, actor: Booker, entry_id: uuid.UUID
) -> WaitListPublic:
    entry = scheduling_service.cancel_wait_list_entry(session, actor=actor, entry_id=entry_id)
    return WaitListPublic.model_validate(entry)


@scheduling_router.post(
    "/appointment-groups",
    name="groups.create",
    response_model=GroupPublic,
    status_code=status.HTTP_201_CREATED,
)
def book_group(session: SessionDep, actor: Booker, body: GroupCreate) -> GroupPublic:
    """Several patients (a family) in adjacent slots with one provider, all or nothing."""
    return scheduling_service.book_group(session, actor=actor, data=body)


@scheduling_router.get(
    "/providers/{provider_id}/calendar",
    name="providers.calendar",
    response_model=ProviderCalendarView,
)
def provider_calendar_view(
    request: Request,
    session: SessionDep,
    actor: ScheduleReader,
    provider_id: uuid.UUID,
    date_: Annotated[date, Query(alias="date", description="Local date, YYYY-MM-DD")],
    view: Literal["day", "week"] = "day",
) -> ProviderCalendarView:
    """A provider's day, or the week (Monday to Sunday) that holds the date."""
    return scheduling_service.calendar_view(
        session,
        actor=actor,
        provider_id=provider_id,
        day=date_,
        week=view == "week",
        zone=request.app.state.settings.timezone,
    )
