"""Staff review of what patients proposed at the kiosk: corrections to their details, and
the insurance cards they held up to the camera. Nothing is applied until a staff member
accepts it, and then only through the registry's own update or policy calls (so it is
validated, versioned and audited like any other edit).

    card capture:  to_review ──accept (into a new or an existing policy)──▶ accepted
                       └──────reject────────────────────────────────────────▶ rejected
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from backoffice.checkin.broadcast import QueueBroadcaster
from backoffice.checkin.models import (
    Arrival,
    CardCapture,
    ConsentDocument,
    ConsentSignature,
    DemographicChange,
)
from backoffice.clinic.models import Location, Provider
from backoffice.patients import service as patients_service
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.patients.schemas import PatientUpdate, PolicyCreate, PolicyUpdate
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher
from shared.contracts.kiosk import CardFieldName, QueueFlag
from shared.enums import PolicyRank
from shared.errors import Conflict, FieldError, InvalidInput, NotFound


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


def _as_update(changes: dict[str, Any]) -> PatientUpdate:
    """The kiosk's checks are looser than the registry's: a proposal the registry refuses is
    a refusal naming its fields, for staff to reject and correct by hand."""
    try:
        return PatientUpdate.model_validate(changes)
    except ValidationError as exc:
        errors = [FieldError(".".join(map(str, e["loc"])), str(e["msg"])) for e in exc.errors()]
        names = ", ".join(dict.fromkeys(e.field for e in errors))
        raise InvalidInput(
            f"The proposed {names} does not pass the registry's checks; reject it and "
            "correct the record by hand.",
            errors,
        ) from None


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
            data=_as_update(change.changes),
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


# --- what there is to review ----------------------------------------------------------------


@dataclass(frozen=True)
class ReviewToDo:
    """An arrival with something still to decide, and how much."""

    arrival_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    location_name: str
    arrived_at: datetime
    flags: list[str]
    cards_to_review: int
    changes_pending: int
    signatures: int


def review_to_do(
    session: Session, *, actor: Actor, before: datetime, limit: int
) -> list[ReviewToDo]:
    """Arrivals before `before` with a card or a correction still undecided, newest first."""
    undecided = or_(
        col(Arrival.id).in_(
            select(CardCapture.arrival_id).where(CardCapture.status == "to_review")
        ),
        col(Arrival.id).in_(
            select(DemographicChange.arrival_id).where(DemographicChange.status == "pending")
        ),
    )
    rows = session.exec(
        select(Arrival, Patient, Location.name)
        .join(Patient, col(Patient.id) == Arrival.patient_id)
        .join(Location, col(Location.id) == Arrival.location_id)
        .where(undecided, col(Arrival.arrived_at) < before)
        .order_by(col(Arrival.arrived_at).desc(), col(Arrival.id))
        .limit(limit)
    ).all()
    ids = [arrival.id for arrival, _, _ in rows]
    cards = _count_by_arrival(session, CardCapture, ids, CardCapture.status == "to_review")
    changes = _count_by_arrival(
        session, DemographicChange, ids, DemographicChange.status == "pending"
    )
    signed = _count_by_arrival(session, ConsentSignature, ids)
    actor.audit(
        session,
        "review.list",
        resource_type="patient",
        detail={"patient_ids": sorted({str(p.id) for _, p, _ in rows})},
    )
    return [
        ReviewToDo(
            arrival_id=arrival.id,
            patient_id=patient.id,
            patient_name=f"{patient.first_name} {patient.last_name}",
            location_name=location_name,
            arrived_at=arrival.arrived_at,
            flags=list(arrival.flags),
            cards_to_review=cards.get(arrival.id, 0),
            changes_pending=changes.get(arrival.id, 0),
            signatures=signed.get(arrival.id, 0),
        )
        for arrival, patient, location_name in rows
    ]


def _count_by_arrival(
    session: Session,
    table: type[CardCapture] | type[DemographicChange] | type[ConsentSignature],
    arrival_ids: list[uuid.UUID],
    *conditions: Any,
) -> dict[uuid.UUID, int]:
    if not arrival_ids:
        return {}
    arrival_id = col(table.arrival_id)
    rows = session.exec(
        select(arrival_id, func.count())
        .where(arrival_id.in_(arrival_ids), *conditions)
        .group_by(arrival_id)
    ).all()
    return {found: count for found, count in rows if found is not None}


@dataclass
class ArrivalReview:
    """One arrival and everything the kiosk captured with it."""

    arrival: Arrival
    appointment: Appointment
    appointment_type: AppointmentType
    provider: Provider
    location: Location
    patient: Patient
    policies: list[InsurancePolicy]  # the active ones, primary first
    captures: list[CardCapture]  # images not loaded: see `card_image`
    captures_with_back: set[uuid.UUID]
    changes: list[DemographicChange]
    signatures: list[tuple[ConsentSignature, ConsentDocument]] = field(default_factory=list)


def arrival_review(session: Session, *, actor: Actor, arrival_id: uuid.UUID) -> ArrivalReview:
    arrival = session.get(Arrival, arrival_id)
    if arrival is None:
        raise NotFound("No arrival with that id.")
    appointment = session.get(Appointment, arrival.appointment_id)
    patient = session.get(Patient, arrival.patient_id)
    location = session.get(Location, arrival.location_id)
    assert appointment is not None and patient is not None and location is not None
    provider = session.get(Provider, appointment.provider_id)
    kind = session.get(AppointmentType, appointment.appointment_type_id)
    assert provider is not None and kind is not None
    captures = list(
        session.exec(
            select(CardCapture)
            .where(CardCapture.arrival_id == arrival.id)
            .options(defer(CardCapture.front_image), defer(CardCapture.back_image))  # type: ignore[arg-type]
            .order_by(col(CardCapture.created_at), col(CardCapture.id))
        )
    )
    with_back = set(
        session.exec(
            select(CardCapture.id).where(
                CardCapture.arrival_id == arrival.id, col(CardCapture.back_image).is_not(None)
            )
        )
    )
    changes = list(
        session.exec(
            select(DemographicChange)
            .where(DemographicChange.arrival_id == arrival.id)
            .order_by(col(DemographicChange.created_at), col(DemographicChange.id))
        )
    )
    signatures = [
        (signature, document)
        for signature, document in session.exec(
            select(ConsentSignature, ConsentDocument)
            .join(ConsentDocument, col(ConsentDocument.id) == ConsentSignature.document_id)
            .where(ConsentSignature.arrival_id == arrival.id)
            .order_by(col(ConsentSignature.signed_at), col(ConsentSignature.id))
        )
    ]
    policies = active_policies(patient)
    actor.audit(
        session,
        "arrivals.review.read",
        resource_type="patient",
        resource_id=patient.id,
        detail={"arrival_id": str(arrival.id)},
    )
    return ArrivalReview(
        arrival=arrival,
        appointment=appointment,
        appointment_type=kind,
        provider=provider,
        location=location,
        patient=patient,
        policies=policies,
        captures=captures,
        captures_with_back=with_back,
        changes=changes,
        signatures=signatures,
    )


def active_policies(patient: Patient) -> list[InsurancePolicy]:
    """The patient's active policies, primary first: where a card's fields may go."""
    rank = {r.value: i for i, r in enumerate(PolicyRank)}
    return sorted(
        (p for p in patient.policies if p.active), key=lambda p: (rank[p.rank], p.created_at)
    )


def card_image(
    session: Session, *, actor: Actor, capture_id: uuid.UUID, side: str
) -> tuple[bytes, str]:
    """One side of a captured card and its media type; reading it is a PHI read."""
    capture = session.get(CardCapture, capture_id)
    image = None
    if capture is not None:
        image = capture.front_image if side == "front" else capture.back_image
    if capture is None or image is None:
        raise NotFound("No such card image.")
    actor.audit(
        session,
        "card_captures.image.read",
        resource_type="patient",
        resource_id=capture.patient_id,
        detail={"capture_id": str(capture.id), "side": side},
    )
    return image, capture.media_type


def signature_image(session: Session, *, actor: Actor, signature_id: uuid.UUID) -> bytes:
    signature = session.get(ConsentSignature, signature_id)
    if signature is None:
        raise NotFound("No such signature.")
    actor.audit(
        session,
        "consent_signatures.image.read",
        resource_type="patient",
        resource_id=signature.patient_id,
        detail={"signature_id": str(signature.id)},
    )
    return signature.png


# --- deciding on an insurance card ----------------------------------------------------------

# Where each field read off a card goes on a policy. The others (member name, Rx numbers)
# are shown to staff but have no place on a policy.
POLICY_FIELD_OF_CARD: dict[CardFieldName, str] = {
    CardFieldName.PAYER_NAME: "payer_name",
    CardFieldName.PAYER_ID: "payer_id",
    CardFieldName.MEMBER_ID: "member_id",
    CardFieldName.GROUP_NUMBER: "group_number",
    CardFieldName.PLAN_NAME: "plan_name",
    CardFieldName.COPAY_PRIMARY_CARE: "copay_primary_care_cents",
    CardFieldName.COPAY_SPECIALIST: "copay_specialist_cents",
    CardFieldName.COPAY_URGENT_CARE: "copay_urgent_care_cents",
    CardFieldName.COPAY_EMERGENCY: "copay_emergency_cents",
}
COPAY_FIELDS = frozenset(
    {
        CardFieldName.COPAY_PRIMARY_CARE,
        CardFieldName.COPAY_SPECIALIST,
        CardFieldName.COPAY_URGENT_CARE,
        CardFieldName.COPAY_EMERGENCY,
    }
)
CARD_FLAGS = frozenset({QueueFlag.INSURANCE_TO_REVIEW.value, QueueFlag.CARD_READ_UNSURE.value})
_AMOUNT = re.compile(r"\$?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?")


def card_amount_cents(text: str | None) -> int | None:
    """A copay as printed on a card ("$25", "25.00", "$1,250.5") in cents; None when the
    text is not plainly an amount, so that staff type it rather than trust a guess."""
    match = _AMOUNT.fullmatch(re.sub(r"\s+", "", text or ""))
    if match is None:
        return None
    try:
        amount = Decimal(f"{match['whole'].replace(',', '')}.{match['cents'] or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None
    return int(amount * 100)


class PolicyRevision(NamedTuple):
    """The checked card fields for a policy already on file (only the fields given change)."""

    policy_id: uuid.UUID
    data: PolicyUpdate
    expected_version: int | None = None  # the version the reviewer saw; None: the current


def accept_card_capture(
    session: Session,
    *,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    capture_id: uuid.UUID,
    into: PolicyCreate | PolicyRevision | tuple[uuid.UUID, PolicyUpdate],
    now: datetime,
) -> CardCapture:
    """Write the fields staff checked into a new policy or one on file, and mark the card
    done. The registry's policy calls validate, version and audit the change."""
    capture = _undecided_capture(session, capture_id)
    patient = patients_service.get_patient(session, patient_id=capture.patient_id)
    if isinstance(into, PolicyCreate):
        policy = patients_service.add_policy(session, actor=actor, patient=patient, data=into)
    else:
        revision = PolicyRevision(*into)
        policy = patients_service.get_policy(session, patient=patient, policy_id=revision.policy_id)
        expected = revision.expected_version
        policy = patients_service.update_policy(
            session,
            actor=actor,
            patient=patient,
            policy=policy,
            data=revision.data,
            expected_version=policy.version if expected is None else expected,
        )
    capture.policy_id = policy.id
    return _decide_capture(session, actor, broadcaster, capture, "accepted", now)


def reject_card_capture(
    session: Session,
    *,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    capture_id: uuid.UUID,
    now: datetime,
) -> CardCapture:
    """The card is not one to keep (blurred, someone else's, expired): nothing is written to
    the patient's policies."""
    capture = _undecided_capture(session, capture_id)
    return _decide_capture(session, actor, broadcaster, capture, "rejected", now)


def _undecided_capture(session: Session, capture_id: uuid.UUID) -> CardCapture:
    # Locked and read afresh: of two staff deciding the same card at once, the second
    # waits and then finds it decided.
    capture = session.exec(
        select(CardCapture)
        .where(CardCapture.id == capture_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if capture is None:
        raise NotFound("No card capture with that id.")
    if capture.status != "to_review":
        raise Conflict(f"This card was {capture.status} already.")
    return capture


def _decide_capture(
    session: Session,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    capture: CardCapture,
    status: str,
    now: datetime,
) -> CardCapture:
    capture.status = status
    capture.decided_by, capture.decided_at = actor.principal.name, now
    session.add(capture)
    session.flush()
    detail = {"capture_id": str(capture.id)}
    if capture.policy_id is not None:
        detail["policy_id"] = str(capture.policy_id)
    actor.audit(
        session,
        f"card_captures.{status}",
        resource_type="patient",
        resource_id=capture.patient_id,
        detail=detail,
    )
    _clear_card_flags_when_done(session, broadcaster, capture)
    return capture


def _clear_card_flags_when_done(
    session: Session, broadcaster: QueueBroadcaster, capture: CardCapture
) -> None:
    if capture.arrival_id is None:
        return
    still_to_review = session.exec(
        select(CardCapture.id).where(
            CardCapture.arrival_id == capture.arrival_id, CardCapture.status == "to_review"
        )
    ).first()
    arrival = session.get(Arrival, capture.arrival_id)
    if still_to_review is None and arrival is not None:
        arrival.flags = [f for f in arrival.flags if f not in CARD_FLAGS]
        session.add(arrival)
        broadcaster.publish(
            session,
            {
                "type": "arrival",
                "arrival_id": str(arrival.id),
                "location_id": str(arrival.location_id),
            },
        )
