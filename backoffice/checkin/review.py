"""Staff review of what patients proposed at the kiosk: corrections to their details are
applied only when a staff member accepts them, through the registry's own update (so they
are validated, versioned and audited like any other edit)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from backoffice.checkin.broadcast import QueueBroadcaster
from backoffice.checkin.models import Arrival, DemographicChange
from backoffice.patients import service as patients_service
from backoffice.patients.schemas import PatientUpdate
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher
from shared.contracts.kiosk import QueueFlag
from shared.errors import Conflict, NotFound


def list_changes(
    session: Session,
    *,
    actor: Actor,
    status: str,
    patient_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[DemographicChange]:
    query = select(DemographicChange).where(DemographicChange.status == status)
    if patient_id is not None:
        query = query.where(DemographicChange.patient_id == patient_id)
    rows = list(
        session.exec(
            query.order_by(col(DemographicChange.created_at), col(DemographicChange.id))
            .offset(offset)
            .limit(limit)
        )
    )
    actor.audit(
        session,
        "demographic_changes.list",
        resource_type="patient",
        detail={"patient_ids": sorted({str(r.patient_id) for r in rows[:limit]})},
    )
    return rows


def decide(
    session: Session,
    *,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    change_id: uuid.UUID,
    accept: bool,
    cipher: FieldCipher,
    now: datetime,
) -> DemographicChange:
    change = session.get(DemographicChange, change_id)
    if change is None:
        raise NotFound("No proposed change with that id.")
    if change.status != "pending":
        raise Conflict(f"This change was {change.status} already.")
    if accept:
        patient = patients_service.get_patient(session, patient_id=change.patient_id)
        patients_service.update_patient(
            session,
            actor=actor,
            patient=patient,
            data=PatientUpdate.model_validate(change.changes),
            expected_version=patient.version,
            cipher=cipher,
        )
    change.status = "accepted" if accept else "rejected"
    change.decided_by, change.decided_at = actor.principal.name, now
    session.add(change)
    session.flush()
    actor.audit(
        session,
        f"demographic_changes.{change.status}",
        resource_type="patient",
        resource_id=change.patient_id,
        detail={"change_id": str(change.id), "fields": sorted(change.changes)},
    )
    _clear_flag_when_done(session, broadcaster, change)
    return change


def _clear_flag_when_done(
    session: Session, broadcaster: QueueBroadcaster, change: DemographicChange
) -> None:
    if change.arrival_id is None:
        return
    still_pending = session.exec(
        select(DemographicChange.id).where(
            DemographicChange.arrival_id == change.arrival_id,
            DemographicChange.status == "pending",
        )
    ).first()
    arrival = session.get(Arrival, change.arrival_id)
    if still_pending is None and arrival is not None:
        arrival.flags = [f for f in arrival.flags if f != QueueFlag.DEMOGRAPHICS_PENDING.value]
        session.add(arrival)
        broadcaster.publish(
            session,
            {
                "type": "arrival",
                "arrival_id": str(arrival.id),
                "location_id": str(arrival.location_id),
            },
        )
