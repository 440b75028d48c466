"""Check-in at the kiosk: find today's appointment, hold it in a short session, and turn a
finished check-in into an arrival on the queue.

    lookup ──▶ CheckInSession (10 min) ──▶ verify DOB (QR codes only)
                     │                          │
                     ├── demographics, consents needed, copay due (reads)
                     ▼
    submit_check_in(CheckInSubmission) ──▶ Arrival + proposed changes + card + signatures
                                           + appointment "arrive" + a queue event

A lookup that matches nothing answers the same `no-match` whatever did not match, and each
one counts toward the kiosk's throttle. A submission carries its own identification, so a
check-in recorded while the back office was down still finds its appointment.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from backoffice.checkin import throttle
from backoffice.checkin.broadcast import QueueBroadcaster
from backoffice.checkin.codes import issue_check_in_code, read_check_in_code
from backoffice.checkin.models import (
    Arrival,
    CardCapture,
    CheckInSession,
    ConsentDocument,
    ConsentSignature,
    DemographicChange,
    LookupAttempt,
    StaffAlert,
)
from backoffice.checkin.queue import STATE_OF_STATUS
from backoffice.checkin.schemas import CheckInCode
from backoffice.checkin.wait import WaitingVisit, estimate_wait_minutes
from backoffice.clinic.models import Location, Provider
from backoffice.devices.models import Device
from backoffice.devices.service import consent_codes_for
from backoffice.patients import service as patients_service
from backoffice.patients.matching import search_key
from backoffice.patients.models import Patient
from backoffice.payments import ledger
from backoffice.payments.copay import copay_due, left_to_pay
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import Appointment
from backoffice.security.actor import Actor
from shared.contracts import kiosk as contract
from shared.contracts.kiosk import ArrivalState, KioskErrorCode, QueueFlag
from shared.enums import PatientStatus
from shared.errors import AppError, FieldError, InvalidInput, TooManyRequests

SESSION_LIFETIME = timedelta(minutes=10)
MAX_BIRTH_DATE_FAILURES = 3
LATE_AFTER = timedelta(minutes=10)
CODE_LIFETIME_AFTER_VISIT = timedelta(hours=12)
CHECKABLE_STATUSES = ("scheduled", "confirmed")
CHECKED_IN_STATUSES = ("arrived", "roomed", "in_progress", "completed")
WAITING_STATUSES = tuple(s for s, state in STATE_OF_STATUS.items() if state is ArrivalState.WAITING)
IMAGE_SIGNATURES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


class NoMatch(AppError):
    keeps_work = True  # the failed attempt counts toward the throttle
    worth_retrying = True  # a check-in may match once staff add the appointment
    status = 404
    code = KioskErrorCode.NO_MATCH.value
    title = "No appointment found"


class TooManyAttempts(TooManyRequests):
    code = KioskErrorCode.TOO_MANY_ATTEMPTS.value
    title = "Too many attempts"


class SessionExpired(AppError):
    status = 409
    code = KioskErrorCode.SESSION_EXPIRED.value
    title = "The check-in session has ended"


class SessionUnverified(AppError):
    status = 403
    code = KioskErrorCode.SESSION_UNVERIFIED.value
    title = "The date of birth has not been confirmed"


class WrongBirthDate(AppError):
    keeps_work = True  # the wrong answer counts
    status = 422
    code = KioskErrorCode.WRONG_BIRTH_DATE.value
    title = "That date of birth does not match"


class AlreadyCheckedIn(AppError):
    status = 409
    code = KioskErrorCode.ALREADY_CHECKED_IN.value
    title = "Already checked in"


NO_MATCH_DETAIL = "We could not find an appointment today with those details."


@dataclass(frozen=True)
class KioskContext:
    """What every kiosk call needs: who is calling, from which lobby, and the clinic's day."""

    actor: Actor
    device: Device
    zone: ZoneInfo
    now: datetime
    code_key: bytes | str
    broadcaster: QueueBroadcaster

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()


def kiosk_zone(session: Session, device: Device, clinic_zone: ZoneInfo) -> ZoneInfo:
    if device.location_id is None:
        return clinic_zone
    location = session.get(Location, device.location_id)
    return ZoneInfo(location.timezone) if location else clinic_zone


# --- finding the appointment ---------------------------------------------------------------


def _day_span(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _todays_appointments(
    session: Session, ctx: KioskContext, *, patient_ids: list[uuid.UUID] | None = None
) -> list[Appointment]:
    start, end = _day_span(ctx.today, ctx.zone)
    query = select(Appointment).where(
        col(Appointment.status).in_((*CHECKABLE_STATUSES, *CHECKED_IN_STATUSES)),
        col(Appointment.starts_at) >= start,
        col(Appointment.starts_at) < end,
    )
    if patient_ids is not None:
        query = query.where(col(Appointment.patient_id).in_(patient_ids))
    if ctx.device.location_id is not None:
        query = query.where(Appointment.location_id == ctx.device.location_id)
    return list(session.exec(query.order_by(col(Appointment.starts_at))))


def _first_name_matches(on_file: str, read: str) -> bool:
    """A licence may carry middle names ('ADA MARIE'); the first given name must agree."""
    given = read.split()[0] if read.split() else read
    return search_key(on_file) == search_key(given)


def _candidates(
    session: Session, ctx: KioskContext, identification: contract.Identification
) -> tuple[list[Appointment], bool]:
    """Today's appointments the identification points at, and whether the date of birth
    is already checked (a QR code names the appointment; the patient still has to)."""
    if isinstance(identification, contract.ByAppointmentCode):
        appointment_id = read_check_in_code(
            identification.token, signing_key=ctx.code_key, now=ctx.now
        )
        if appointment_id is None:
            return [], False
        todays = [a for a in _todays_appointments(session, ctx) if a.id == appointment_id]
        return todays, False
    patients = session.exec(
        select(Patient).where(
            Patient.last_name_key == search_key(identification.last_name),
            Patient.date_of_birth == identification.date_of_birth,
            Patient.status == PatientStatus.ACTIVE,
        )
    ).all()
    if isinstance(identification, contract.ByLicence):
        patients = [
            p for p in patients if _first_name_matches(p.first_name, identification.first_name)
        ]
    if not patients:
        return [], True
    return _todays_appointments(session, ctx, patient_ids=[p.id for p in patients]), True


def _refuse_if_throttled(session: Session, ctx: KioskContext) -> None:
    failures = session.exec(
        select(LookupAttempt.at).where(
            LookupAttempt.device_id == ctx.device.id,
            col(LookupAttempt.at) > ctx.now - throttle.WINDOW,
        )
    ).all()
    decision = throttle.decide(failures, now=ctx.now)
    if decision.blocked:
        raise TooManyAttempts(
            "Please ask at the front desk.",
            retry_after=max(1, int(decision.retry_after.total_seconds())),
        )


def record_failure(session: Session, ctx: KioskContext) -> None:
    """Count a failed lookup; the failure that starts the throttle also alerts staff."""
    session.add(LookupAttempt(device_id=ctx.device.id, at=ctx.now))
    session.flush()
    failures = session.exec(
        select(LookupAttempt.at).where(
            LookupAttempt.device_id == ctx.device.id,
            col(LookupAttempt.at) > ctx.now - throttle.WINDOW,
        )
    ).all()
    if len(failures) == throttle.FAILURES_ALLOWED:
        raise_alert(
            session,
            ctx.broadcaster,
            kind="kiosk_throttled",
            message=f"Kiosk {ctx.device.name} failed to find {len(failures)} patients in a "
            "few minutes and is paused; someone may need help.",
            device_id=ctx.device.id,
            location_id=ctx.device.location_id,
        )


def raise_alert(
    session: Session,
    broadcaster: QueueBroadcaster,
    *,
    kind: str,
    message: str,
    device_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
) -> StaffAlert:
    alert = StaffAlert(kind=kind, message=message, device_id=device_id, location_id=location_id)
    session.add(alert)
    session.flush()
    broadcaster.publish(
        session,
        {"type": "alert", "alert_id": str(alert.id), "location_id": str(location_id or "")},
    )
    return alert


def _match(
    session: Session, ctx: KioskContext, appointment: Appointment, held: CheckInSession
) -> contract.AppointmentMatch:
    patient = session.get(Patient, appointment.patient_id)
    provider = session.get(Provider, appointment.provider_id)
    location = session.get(Location, appointment.location_id)
    assert patient and provider and location
    credentials = f", {provider.credentials}" if provider.credentials else ""
    return contract.AppointmentMatch(
        session_id=held.id,
        expires_at=held.expires_at,
        verified=held.verified,
        first_name=patient.first_name,
        last_initial=patient.last_name[:1].upper(),
        start=appointment.starts_at.astimezone(ZoneInfo(location.timezone)),
        provider_name=f"{provider.first_name} {provider.last_name}{credentials}",
        location_name=location.name,
        already_checked_in=appointment.status in CHECKED_IN_STATUSES,
    )


def lookup(
    session: Session, ctx: KioskContext, *, identification: contract.Identification
) -> contract.LookupResult:
    """Today's appointments for the person identified, each in its own session."""
    _refuse_if_throttled(session, ctx)
    appointments, verified = _candidates(session, ctx, identification)
    if not appointments:
        record_failure(session, ctx)
        ctx.actor.audit(
            session, "kiosk.lookup", detail={"method": identification.method, "matched": 0}
        )
        raise NoMatch(NO_MATCH_DETAIL)
    matches = []
    for appointment in appointments:
        held = CheckInSession(
            device_id=ctx.device.id,
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            method=identification.method,
            verified=verified,
            created_at=ctx.now,
            expires_at=ctx.now + SESSION_LIFETIME,
        )
        session.add(held)
        session.flush()
        matches.append(_match(session, ctx, appointment, held))
        ctx.actor.audit(
            session,
            "kiosk.lookup",
            resource_type="patient",
            resource_id=appointment.patient_id,
            detail={"method": identification.method, "session_id": str(held.id)},
        )
    return contract.LookupResult(matches=matches)


# --- within a session ----------------------------------------------------------------------


def held_session(
    session: Session, ctx: KioskContext, *, session_id: uuid.UUID, verified: bool = True
) -> CheckInSession:
    held = session.get(CheckInSession, session_id)
    if held is None or held.device_id != ctx.device.id:
        raise SessionExpired("This check-in has ended; please start again.")
    if held.ended_at is not None or held.expires_at <= ctx.now:
        raise SessionExpired("This check-in has ended; please start again.")
    if verified and not held.verified:
        raise SessionUnverified("Please enter your date of birth first.")
    return held


def verify_birth_date(
    session: Session, ctx: KioskContext, *, session_id: uuid.UUID, date_of_birth: date
) -> contract.AppointmentMatch:
    held = held_session(session, ctx, session_id=session_id, verified=False)
    patient = session.get(Patient, held.patient_id)
    assert patient is not None
    if patient.date_of_birth != date_of_birth:
        held.birth_date_failures += 1
        left = MAX_BIRTH_DATE_FAILURES - held.birth_date_failures
        if left <= 0:
            held.ended_at = ctx.now
            record_failure(session, ctx)
        session.add(held)
        ctx.actor.audit(
            session,
            "kiosk.verify",
            resource_type="patient",
            resource_id=patient.id,
            detail={"session_id": str(held.id), "matched": False},
        )
        raise WrongBirthDate("That date of birth does not match.", attempts_left=max(left, 0))
    held.verified = True
    session.add(held)
    ctx.actor.audit(
        session,
        "kiosk.verify",
        resource_type="patient",
        resource_id=patient.id,
        detail={"session_id": str(held.id), "matched": True},
    )
    appointment = session.get(Appointment, held.appointment_id)
    assert appointment is not None
    return _match(session, ctx, appointment, held)


def end_session(session: Session, ctx: KioskContext, *, session_id: uuid.UUID) -> None:
    held = session.get(CheckInSession, session_id)
    if held is not None and held.device_id == ctx.device.id and held.ended_at is None:
        held.ended_at = ctx.now
        session.add(held)


def demographics(
    session: Session, ctx: KioskContext, *, session_id: uuid.UUID
) -> contract.Demographics:
    held = held_session(session, ctx, session_id=session_id)
    patient = session.get(Patient, held.patient_id)
    assert patient is not None
    ctx.actor.audit(
        session,
        "kiosk.demographics.read",
        resource_type="patient",
        resource_id=patient.id,
        detail={"session_id": str(held.id)},
    )
    address = None
    if patient.address_line1 and patient.address_city and patient.address_state:
        address = contract.Address(
            line1=patient.address_line1,
            line2=patient.address_line2,
            city=patient.address_city,
            state=patient.address_state,
            postal_code=patient.address_postal_code or "",
        )
    return contract.Demographics(
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        phone=patient.phone,
        email=patient.email,
        address=address,
        preferred_language=patient.preferred_language,
    )


def current_documents(session: Session) -> list[ConsentDocument]:
    """The newest active version of each consent form."""
    newest = (
        select(ConsentDocument.code, func.max(ConsentDocument.version).label("version"))
        .where(col(ConsentDocument.active))
        .group_by(col(ConsentDocument.code))
        .subquery()
    )
    return list(
        session.exec(
            select(ConsentDocument)
            .join(
                newest,
                (col(ConsentDocument.code) == newest.c.code)
                & (col(ConsentDocument.version) == newest.c.version),
            )
            .order_by(col(ConsentDocument.code))
        )
    )


def consents_needed(
    session: Session, *, patient_id: uuid.UUID, now: datetime
) -> list[ConsentDocument]:
    """Current forms without a recent signature of that exact version by this patient."""
    documents = current_documents(session)
    signed = session.exec(
        select(ConsentSignature.document_sha256, func.max(ConsentSignature.signed_at))
        .where(ConsentSignature.patient_id == patient_id)
        .group_by(col(ConsentSignature.document_sha256))
    ).all()
    last_signed = dict(signed)
    needed = []
    for document in documents:
        when = last_signed.get(document.sha256)
        fresh = when is not None and (
            document.renew_after_days is None
            or when > now - timedelta(days=document.renew_after_days)
        )
        if not fresh:
            needed.append(document)
    return needed


def document_contract(document: ConsentDocument) -> contract.ConsentDocument:
    return contract.ConsentDocument(
        document_id=document.id,
        code=document.code,
        title=document.title,
        version=document.version,
        body=document.body,
        sha256=document.sha256,
    )


def consents_for_session(
    session: Session, ctx: KioskContext, *, session_id: uuid.UUID
) -> contract.ConsentsNeeded:
    held = held_session(session, ctx, session_id=session_id)
    documents = asked_here(
        ctx.device, consents_needed(session, patient_id=held.patient_id, now=ctx.now)
    )
    return contract.ConsentsNeeded(documents=[document_contract(d) for d in documents])


def asked_here(device: Device, documents: list[ConsentDocument]) -> list[ConsentDocument]:
    """The forms among `documents` this kiosk is set to ask for, in its order."""
    codes = consent_codes_for(device)
    if codes is None:
        return documents
    by_code = {d.code: d for d in documents}
    return [by_code[code] for code in codes if code in by_code]


def copay_for_session(
    session: Session, ctx: KioskContext, *, session_id: uuid.UUID
) -> contract.CopayDue:
    held = held_session(session, ctx, session_id=session_id)
    appointment = session.get(Appointment, held.appointment_id)
    assert appointment is not None
    due = copay_due(session, appointment=appointment)
    left = left_to_pay(session, appointment=appointment)
    return contract.CopayDue(amount_cents=left, self_pay=due.self_pay)


# --- the finished check-in -----------------------------------------------------------------


def _appointment_for(
    session: Session, ctx: KioskContext, submission: contract.CheckInSubmission
) -> Appointment | None:
    if submission.session_id is not None:
        held = session.get(CheckInSession, submission.session_id)
        # An expired session still names its appointment: the outbox may have waited out
        # an outage. One ended by wrong birth dates, or another kiosk's, does not.
        usable = (
            held is not None
            and held.device_id == ctx.device.id
            and held.verified
            and held.birth_date_failures < MAX_BIRTH_DATE_FAILURES
        )
        if not usable:
            return None
        assert held is not None
        return session.get(Appointment, held.appointment_id)
    identification = submission.identification
    if identification is None or isinstance(identification, contract.ByAppointmentCode):
        return None  # a QR code alone does not prove who is standing there
    on_the_day = KioskContext(
        actor=ctx.actor,
        device=ctx.device,
        zone=ctx.zone,
        now=submission.completed_at,
        code_key=ctx.code_key,
        broadcaster=ctx.broadcaster,
    )
    appointments, _ = _candidates(session, on_the_day, identification)
    waiting = [a for a in appointments if a.status in CHECKABLE_STATUSES]
    best = waiting or appointments
    return best[0] if best else None


def _decode_image(data: str, media_type: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "The image is not valid base64.", [FieldError(field, "not base64")]
        ) from None
    if not raw.startswith(IMAGE_SIGNATURES[media_type]):
        raise InvalidInput(
            "The image is not of the type it claims.", [FieldError(field, f"not {media_type}")]
        )
    return raw


def submit_check_in(
    session: Session, ctx: KioskContext, *, submission: contract.CheckInSubmission
) -> contract.CheckInReceipt:
    appointment = _appointment_for(session, ctx, submission)
    if appointment is None:
        raise_alert(
            session,
            ctx.broadcaster,
            kind="unmatched_check_in",
            message=f"A check-in at kiosk {ctx.device.name} at "
            f"{submission.completed_at.astimezone(ctx.zone):%H:%M} matched no appointment; "
            "the patient may be waiting without being on the queue.",
            device_id=ctx.device.id,
            location_id=ctx.device.location_id,
        )
        raise NoMatch(NO_MATCH_DETAIL)
    existing = session.exec(select(Arrival).where(Arrival.appointment_id == appointment.id)).first()
    if existing is not None:
        raise AlreadyCheckedIn("This appointment is already checked in.")
    if appointment.status not in CHECKABLE_STATUSES:
        raise AlreadyCheckedIn("This appointment can no longer be checked in.")
    patient_id = appointment.patient_id
    card = submission.insurance_card
    images = None
    if card is not None:
        images = (
            _decode_image(card.front_image, card.media_type, "insurance_card.front_image"),
            None
            if card.back_image is None
            else _decode_image(card.back_image, card.media_type, "insurance_card.back_image"),
        )
    documents = {d.id: d for d in current_documents(session)}
    for i, signature in enumerate(submission.signatures):
        document = documents.get(signature.document_id)
        if document is None or document.sha256 != signature.document_sha256:
            raise InvalidInput(
                "A signature is for a form version that is not current.",
                [FieldError(f"signatures.{i}.document_sha256", "not the current version")],
            )
    arrival = Arrival(
        appointment_id=appointment.id,
        check_in_id=submission.check_in_id,
        patient_id=patient_id,
        location_id=appointment.location_id,
        device_id=ctx.device.id,
        arrived_at=submission.completed_at,
        received_at=ctx.now,
        language=submission.language,
        offline=submission.offline,
        # What the reader took, as the back office recorded it: not what the kiosk says.
        copay_paid_cents=ledger.paid_for_appointment(session, appointment.id),
    )
    session.add(arrival)
    session.flush()
    changes = submission.demographic_changes
    if changes is not None and not changes.is_empty():
        session.add(
            DemographicChange(
                patient_id=patient_id,
                arrival_id=arrival.id,
                changes=changes.model_dump(mode="json", exclude_none=True),
            )
        )
    if card is not None and images is not None:
        session.add(
            CardCapture(
                patient_id=patient_id,
                arrival_id=arrival.id,
                media_type=card.media_type,
                front_image=images[0],
                back_image=images[1],
                fields={k.value: v.model_dump() for k, v in card.fields.items()},
            )
        )
    for i, signature in enumerate(submission.signatures):
        session.add(
            ConsentSignature(
                patient_id=patient_id,
                document_id=signature.document_id,
                document_sha256=signature.document_sha256,
                strokes=[[list(p) for p in stroke] for stroke in signature.strokes],
                png=_decode_image(signature.png, "image/png", f"signatures.{i}.png"),
                signed_at=signature.signed_at,
                arrival_id=arrival.id,
                device_id=ctx.device.id,
            )
        )
    session.flush()
    arrival.flags = [
        f.value
        for f in arrival_flags(
            session, appointment=appointment, arrival=arrival, submission=submission, now=ctx.now
        )
    ]
    session.add(arrival)
    wait_minutes = estimated_wait(session, ctx, appointment=appointment, arrival=arrival)
    _charge_copay_and_arrive(
        session, actor=ctx.actor, appointment=appointment, zone=ctx.zone, now=ctx.now
    )
    if submission.session_id is not None:
        end_session(session, ctx, session_id=submission.session_id)
    ctx.actor.audit(
        session,
        "kiosk.check_in",
        resource_type="patient",
        resource_id=patient_id,
        detail={"arrival_id": str(arrival.id), "offline": submission.offline},
    )
    ctx.broadcaster.publish(
        session,
        {
            "type": "arrival",
            "arrival_id": str(arrival.id),
            "location_id": str(arrival.location_id),
        },
    )
    patient = session.get(Patient, patient_id)
    assert patient is not None
    return contract.CheckInReceipt(
        arrival_id=arrival.id,
        appointment_id=appointment.id,
        arrived_at=arrival.arrived_at,
        first_name=patient.first_name,
        flags=[QueueFlag(f) for f in arrival.flags],
        estimated_wait_minutes=wait_minutes,
    )


def _charge_copay_and_arrive(
    session: Session, *, actor: Actor, appointment: Appointment, zone: ZoneInfo, now: datetime
) -> None:
    """What every check-in does, at the kiosk or the desk: the copay goes on the patient's
    ledger (once per visit) and the appointment moves to arrived."""
    due = copay_due(session, appointment=appointment)
    if due.amount_cents:
        ledger.post(
            session,
            patient_id=appointment.patient_id,
            kind=ledger.EntryKind.CHARGE,
            amount_cents=due.amount_cents,
            description=f"Copay, visit of {appointment.starts_at.astimezone(zone):%Y-%m-%d}",
            appointment_id=appointment.id,
            entry_key=f"copay:{appointment.id}",
        )
    scheduling_service.record_event(
        session,
        actor=actor,
        appointment=appointment,
        event="arrive",
        expected_version=appointment.version,
        now=now,
    )


def check_in_at_desk(
    session: Session,
    *,
    actor: Actor,
    broadcaster: QueueBroadcaster,
    appointment_id: uuid.UUID,
    expected_version: int,
    now: datetime,
) -> Arrival:
    """A patient who came to the desk instead of the kiosk: on the queue like any arrival,
    with the flags staff need (copay, consents; no card or signature was taken)."""
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    patients_service.check_version(appointment.version, expected_version)
    if session.exec(select(Arrival).where(Arrival.appointment_id == appointment.id)).first():
        raise AlreadyCheckedIn("This appointment is already checked in.")
    if appointment.status not in CHECKABLE_STATUSES:
        raise AlreadyCheckedIn("This appointment can no longer be checked in.")
    location = session.get(Location, appointment.location_id)
    assert location is not None
    arrival = Arrival(
        appointment_id=appointment.id,
        check_in_id=uuid.uuid4(),
        patient_id=appointment.patient_id,
        location_id=appointment.location_id,
        arrived_at=now,
        received_at=now,
        copay_paid_cents=ledger.paid_for_appointment(session, appointment.id),
    )
    session.add(arrival)
    session.flush()
    at_desk = contract.CheckInSubmission(check_in_id=arrival.check_in_id, completed_at=now)
    arrival.flags = [
        f.value
        for f in arrival_flags(
            session, appointment=appointment, arrival=arrival, submission=at_desk, now=now
        )
    ]
    session.add(arrival)
    _charge_copay_and_arrive(
        session,
        actor=actor,
        appointment=appointment,
        zone=ZoneInfo(location.timezone),
        now=now,
    )
    actor.audit(
        session,
        "desk.check_in",
        resource_type="patient",
        resource_id=appointment.patient_id,
        detail={"arrival_id": str(arrival.id)},
    )
    broadcaster.publish(
        session,
        {"type": "arrival", "arrival_id": str(arrival.id), "location_id": str(arrival.location_id)},
    )
    return arrival


def estimated_wait(
    session: Session, ctx: KioskContext, *, appointment: Appointment, arrival: Arrival
) -> int | None:
    """The wait to show on the done screen (see `wait`), from who is waiting at the
    location today. None for a check-in recorded offline: the queue has moved on since."""
    if arrival.offline:
        return None
    start, end = _day_span(arrival.arrived_at.astimezone(ctx.zone).date(), ctx.zone)
    rows = session.exec(
        select(
            Appointment.provider_id, Appointment.starts_at, Appointment.ends_at, Arrival.arrived_at
        )
        .join(Arrival, col(Arrival.appointment_id) == Appointment.id)
        .where(
            Arrival.location_id == arrival.location_id,
            col(Arrival.arrived_at) >= start,
            col(Arrival.arrived_at) < end,
            col(Appointment.status).in_(WAITING_STATUSES),
            Appointment.id != appointment.id,
        )
    ).all()
    return estimate_wait_minutes(
        arrived_at=arrival.arrived_at,
        scheduled_start=appointment.starts_at,
        provider_id=appointment.provider_id,
        waiting=[
            WaitingVisit(
                provider_id=provider_id,
                scheduled_start=starts_at,
                duration=ends_at - starts_at,
                arrived_at=arrived_at,
            )
            for provider_id, starts_at, ends_at, arrived_at in rows
        ],
    )


def arrival_flags(
    session: Session,
    *,
    appointment: Appointment,
    arrival: Arrival,
    submission: contract.CheckInSubmission,
    now: datetime,
) -> list[QueueFlag]:
    flags = []
    card = submission.insurance_card
    if card is not None:
        flags.append(QueueFlag.INSURANCE_TO_REVIEW)
        if any(f.confidence < contract.CARD_SURE for f in card.fields.values()):
            flags.append(QueueFlag.CARD_READ_UNSURE)
    due = copay_due(session, appointment=appointment)
    if due.amount_cents > arrival.copay_paid_cents:
        flags.append(QueueFlag.COPAY_UNPAID)
    if consents_needed(session, patient_id=appointment.patient_id, now=now):
        flags.append(QueueFlag.CONSENT_PENDING)
    changes = submission.demographic_changes
    if changes is not None and not changes.is_empty():
        flags.append(QueueFlag.DEMOGRAPHICS_PENDING)
    if submission.offline:
        flags.append(QueueFlag.OFFLINE_CHECK_IN)
    if arrival.arrived_at > appointment.starts_at + LATE_AFTER:
        flags.append(QueueFlag.LATE)
    return flags


def check_in_code(
    session: Session, *, actor: Actor, appointment_id: uuid.UUID, signing_key: bytes | str
) -> CheckInCode:
    appointment = scheduling_service.get_appointment(session, appointment_id=appointment_id)
    expires_at = appointment.ends_at + CODE_LIFETIME_AFTER_VISIT
    token = issue_check_in_code(appointment.id, expires_at=expires_at, signing_key=signing_key)
    actor.audit(
        session,
        "appointments.check_in_code",
        resource_type="patient",
        resource_id=appointment.patient_id,
        detail={"appointment_id": str(appointment.id)},
    )
    return CheckInCode(appointment_id=appointment.id, token=token, expires_at=expires_at)
