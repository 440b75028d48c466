"""The arrival queue staff watch: today's arrivals at a location, and moving them along.

An arrival's place in the queue is its appointment's state, so moving a patient along is
an appointment lifecycle step (kept in its history, undoable) and a queue event:

    arrived ─room─▶ roomed ─start─▶ in progress ─complete─▶ completed
    waiting         roomed          with_provider           checked_out
       └──────────── cancel ("sent home") ─────────────────▶ sent_home
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from backoffice.checkin.broadcast import QueueBroadcaster
from backoffice.checkin.models import Arrival, StaffAlert
from backoffice.checkin.schemas import QueueItem, QueueTransition
from backoffice.clinic.models import Location, Provider
from backoffice.patients.models import Patient
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import Appointment, AppointmentChange, AppointmentType
from backoffice.security.actor import Actor
from shared.contracts.kiosk import ArrivalState, QueueFlag
from shared.errors import NotFound

STATE_OF_STATUS = {
    "arrived": ArrivalState.WAITING,
    "roomed": ArrivalState.ROOMED,
    "in_progress": ArrivalState.WITH_PROVIDER,
    "completed": ArrivalState.CHECKED_OUT,
    "cancelled": ArrivalState.SENT_HOME,
    "no_show": ArrivalState.SENT_HOME,
}
EVENT_FOR = {
    "roomed": "room",
    "with_provider": "start",
    "checked_out": "complete",
    "sent_home": "cancel",
}


def _items(
    session: Session, rows: list[tuple[Arrival, Appointment, Patient, Provider, str]], now: datetime
) -> list[QueueItem]:
    ids = [a.id for _, a, *_ in rows]
    taken_in: dict[uuid.UUID, datetime] = {}
    for change in session.exec(
        select(AppointmentChange)
        .where(
            col(AppointmentChange.appointment_id).in_(ids),
            col(AppointmentChange.from_state) == "arrived",
        )
        .order_by(col(AppointmentChange.seq))
    ):
        taken_in.setdefault(change.appointment_id, change.at)
    items = []
    for arrival, appointment, patient, provider, kind in rows:
        state = STATE_OF_STATUS.get(appointment.status, ArrivalState.WAITING)
        until = now if state is ArrivalState.WAITING else taken_in.get(appointment.id, now)
        items.append(
            QueueItem(
                arrival_id=arrival.id,
                appointment_id=appointment.id,
                appointment_version=appointment.version,
                patient_id=patient.id,
                patient_name=f"{patient.first_name} {patient.last_name}",
                location_id=arrival.location_id,
                provider_id=provider.id,
                provider_name=f"{provider.first_name} {provider.last_name}",
                appointment_type=kind,
                appointment_start=appointment.starts_at,
                arrived_at=arrival.arrived_at,
                waited_minutes=max(0, int((until - arrival.arrived_at) / timedelta(minutes=1))),
                state=state,
                flags=[QueueFlag(f) for f in arrival.flags],
                offline=arrival.offline,
            )
        )
    return items


def _query():  # type: ignore[no-untyped-def]
    return (
        select(Arrival, Appointment, Patient, Provider, AppointmentType.name)
        .join(Appointment, col(Appointment.id) == Arrival.appointment_id)
        .join(Patient, col(Patient.id) == Arrival.patient_id)
        .join(Provider, col(Provider.id) == Appointment.provider_id)
        .join(AppointmentType, col(AppointmentType.id) == Appointment.appointment_type_id)
    )


def _audit_read(session: Session, actor: Actor, items: list[QueueItem], action: str) -> None:
    actor.audit(
        session,
        action,
        resource_type="patient",
        detail={"patient_ids": sorted({str(i.patient_id) for i in items})},
    )


def todays_queue(
    session: Session,
    *,
    actor: Actor,
    location_id: uuid.UUID,
    day: date | None,
    now: datetime,
    states: list[ArrivalState] | None = None,
) -> list[QueueItem]:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound("No location with that id.")
    zone = ZoneInfo(location.timezone)
    day = day or now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    rows = session.exec(
        _query()
        .where(
            Arrival.location_id == location_id,
            col(Arrival.arrived_at) >= start,
            col(Arrival.arrived_at) < start + timedelta(days=1),
        )
        .order_by(col(Arrival.arrived_at))
    ).all()
    items = _items(session, list(rows), now)
    if states:
        items = [i for i in items if i.state in states]
    _audit_read(session, actor, items, "queue.read")
    return items


def queue_item(
    session: Session, *, actor: Actor, arrival_id: uuid.UUID, now: datetime
) -> QueueItem | None:
    """One arrival as the queue shows it (for a stream event); None if it is gone."""
    rows = session.exec(_query().where(Arrival.id == arrival_id)).all()
    items = _items(session, list(rows), now)
    if items:
        _audit_read(session, actor, items, "queue.stream")
    return items[0] if items else None


def move_along(
    session: Session,
    *,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    arrival_id: uuid.UUID,
    data: QueueTransition,
    now: datetime,
) -> QueueItem:
    arrival = session.get(Arrival, arrival_id)
    if arrival is None:
        raise NotFound("No arrival with that id.")
    appointment = session.get(Appointment, arrival.appointment_id)
    assert appointment is not None
    reason = data.reason
    if data.to == "sent_home":
        reason = f"sent home: {data.reason}" if data.reason else "sent home"
    scheduling_service.record_event(
        session,
        actor=actor,
        appointment=appointment,
        event=EVENT_FOR[data.to],
        expected_version=appointment.version,
        reason=reason,
        now=now,
    )
    broadcaster.publish(
        session,
        {"type": "arrival", "arrival_id": str(arrival.id), "location_id": str(arrival.location_id)},
    )
    item = queue_item(session, actor=actor, arrival_id=arrival.id, now=now)
    assert item is not None
    return item


def mark_no_show(
    session: Session,
    *,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    appointment_id: uuid.UUID,
    expected_version: int,
    now: datetime,
) -> Appointment:
    """An expected patient who never came: off the board's expected list, on every screen."""
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    scheduling_service.record_event(
        session,
        actor=actor,
        appointment=appointment,
        event="mark_no_show",
        expected_version=expected_version,
        now=now,
    )
    broadcaster.publish(
        session, {"type": "appointment", "location_id": str(appointment.location_id)}
    )
    return appointment


def list_alerts(
    session: Session, *, location_id: uuid.UUID | None, open_only: bool, limit: int, offset: int
) -> list[StaffAlert]:
    query = select(StaffAlert).order_by(col(StaffAlert.created_at).desc(), col(StaffAlert.id))
    if location_id is not None:
        query = query.where(
            (col(StaffAlert.location_id) == location_id) | col(StaffAlert.location_id).is_(None)
        )
    if open_only:
        query = query.where(col(StaffAlert.acknowledged_at).is_(None))
    return list(session.exec(query.offset(offset).limit(limit)))


def acknowledge_alert(
    session: Session, *, actor: Actor, alert_id: uuid.UUID, now: datetime
) -> StaffAlert:
    alert = session.get(StaffAlert, alert_id)
    if alert is None:
        raise NotFound("No alert with that id.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, actor.principal.name
        session.add(alert)
        actor.audit(
            session, "alerts.acknowledge", resource_type="staff_alert", resource_id=alert.id
        )
    return alert
