"""Charges and claims: from a completed visit to an 837P file that pyx12 accepts.

    completed visit ──capture_charge──▶ Charge draft ──review_charge──▶ reviewed
        reviewed ──make_claims──▶ ClaimRecord ready (scrubber clean) or held (findings stored)
        ready ──submit──▶ submitted, in one ClaimBatch (one 837P interchange) written to disk
        primary paid or partly paid with a patient's share, and a secondary policy
            ──make_claims (make_secondary_claims)──▶ a secondary ClaimRecord, ready or held,
            carrying the primary's adjudication from its posted 835 (the COB loops)

The tables keep integer cents; `claim_for` turns a claim on file into the X12 layer's
`Claim` (Decimal dollars), filled again from the tables each time so that what goes out is
what is on file now. Services never commit: the CLI command (or the caller) does.

Errors: AppError
 ├── NotFound        ChargeNotFound (no such visit or charge)
 ├── Conflict        ChargeNotAllowed (visit not completed, charge already captured or reviewed)
 ├── InvalidInput    BadCharge (codes, pointers, modifiers the charge cannot hold)
 └── BadRequest      MissingFee (no fee on the schedule), SubmissionRefused (pyx12 or the
                     builder rejects a claim: the file is not written, nothing is marked)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, or_, select

from backoffice.billing.claim import (
    Address,
    Adjustment,
    Claim,
    Coverage,
    FrequencyCode,
    Interchange,
    LineAdjudication,
    OtherPayer,
    Party,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.models import (
    Charge,
    ChargeLine,
    ClaimBatch,
    ClaimRecord,
    FeeScheduleEntry,
    Payer,
    Remittance,
    RemittanceEntry,
)
from backoffice.billing.reference import (
    icd10_problem,
    icd10_without_dot,
    is_modifier,
    is_procedure_code,
)
from backoffice.billing.scrubber import scrub
from backoffice.billing.x12.claim_837p import build_837p
from backoffice.billing.x12.segments import X12WriteError
from backoffice.billing.x12.validate import validate_x12
from backoffice.clinic.models import Location
from backoffice.clinic.models import Provider as ClinicProvider
from backoffice.kit.columns import utcnow
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.security.actor import Actor
from backoffice.settings import Settings, get_settings
from backoffice.staff.models import StaffUser
from shared.enums import PrincipalKind
from shared.errors import BadRequest, Conflict, FieldError, InvalidInput, NotFound

__all__ = [
    "BadCharge",
    "ChargeNotAllowed",
    "ChargeNotFound",
    "ClaimNotFound",
    "ClaimsMade",
    "MissingFee",
    "ProcedureLine",
    "SubmissionRefused",
    "Submitted",
    "billing_provider",
    "capture_charge",
    "claim_for",
    "em_code",
    "fee_for",
    "is_new_patient",
    "make_claims",
    "make_secondary_claims",
    "new_patient_control_number",
    "primary_policy",
    "rescrub",
    "review_charge",
    "scrub_again",
    "secondary_policy",
    "submit",
]

DEMO_NPI = "1234567893"  # the settings' default billing NPI: never in a production file
MAX_DIAGNOSES, MAX_MODIFIERS, MAX_POINTERS = 12, 4, 4
NEW_PATIENT_LOOKBACK = timedelta(days=3 * 365)  # CPT: no visit with the group in three years
# E/M by total time on the day (CPT 2021+ office visit rules, the 2024 time thresholds):
# the level is the highest whose minimum minutes the visit reaches, never below the lowest.
NEW_PATIENT_LEVELS = ((60, "99205"), (45, "99204"), (30, "99203"), (0, "99202"))
ESTABLISHED_LEVELS = ((40, "99215"), (30, "99214"), (20, "99213"), (0, "99212"))
# Visit categories billed as an E/M office visit; a "procedure" visit bills what was done.
EM_CATEGORIES = frozenset({"primary_care", "specialist", "urgent_care", "telehealth"})
TELEHEALTH_MODIFIER, TELEHEALTH_PLACE = "95", "10"  # synchronous video; the patient's home
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A primary claim its payer processed (835 status 1-3); "forwarded" (19-21) is not here: the
# primary sent it on to the next payer itself (a crossover), so we do not.
PRIMARY_SETTLED = ("paid", "partly_paid")
# What the primary's 835 posted that a secondary payer is told about (loops 2320 and 2430).
COB_ENTRY_KINDS = ("insurance_payment", "adjustment", "patient_responsibility")
_CENTS = Decimal("0.01")


class ChargeNotFound(NotFound):
    code = "charge-not-found"


class ChargeNotAllowed(Conflict):
    code = "charge-not-allowed"


class BadCharge(InvalidInput):
    code = "bad-charge"


class MissingFee(BadRequest):
    code = "missing-fee"


class SubmissionRefused(BadRequest):
    code = "submission-refused"


@dataclass(frozen=True)
class ProcedureLine:
    """A line the provider adds beyond the E/M visit: a code, up to four modifiers, units and
    pointers (1-based) into the charge's diagnoses."""

    procedure_code: str
    diagnosis_pointers: tuple[int, ...] = (1,)
    modifiers: tuple[str, ...] = ()
    units: int = 1


# --- Charge capture ----------------------------------------------------------------------


def em_code(*, new_patient: bool, minutes: int) -> str:
    """The office-visit E/M code for a visit of this length: 99202-99205 for a new patient,
    99212-99215 for an established one, by the CPT total-time thresholds (new 15/30/45/60
    minutes, established 10/20/30/40). We bill on time, not medical decision making, because
    the schedule knows the time; a shorter visit still bills the lowest level."""
    for minimum, code in NEW_PATIENT_LEVELS if new_patient else ESTABLISHED_LEVELS:
        if minutes >= minimum:
            return code
    raise AssertionError("the last level has no minimum")  # pragma: no cover


def is_new_patient(session: Session, *, appointment: Appointment) -> bool:
    """New when the patient had no completed visit with the practice in the three years
    before this one (CPT's rule, with the practice as one group)."""
    earlier = session.exec(
        select(Appointment.id).where(
            Appointment.patient_id == appointment.patient_id,
            Appointment.status == "completed",
            Appointment.starts_at < appointment.starts_at,
            Appointment.starts_at >= appointment.starts_at - NEW_PATIENT_LOOKBACK,
        )
    ).first()
    return earlier is None


def capture_charge(
    session: Session,
    actor: Actor,
    *,
    appointment_id: uuid.UUID,
    diagnoses: Sequence[str],
    procedures: Sequence[ProcedureLine] = (),
) -> Charge:
    """A draft charge for a completed visit: the E/M line the visit earns (pointing at the
    first four diagnoses), then the provider's procedure lines, each priced from the fee
    schedule in force on the service date."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise ChargeNotFound("no such visit")
    if appointment.status != "completed":
        raise ChargeNotAllowed(
            f"the visit is {appointment.status.replace('_', ' ')}: only a completed visit "
            "is charged"
        )
    if session.exec(select(Charge.id).where(Charge.appointment_id == appointment_id)).first():
        raise ChargeNotAllowed("this visit already has a charge")
    kind = session.get(AppointmentType, appointment.appointment_type_id)
    assert kind is not None
    codes = _diagnoses(diagnoses)
    location = session.get(Location, appointment.location_id)
    assert location is not None
    service_date = appointment.starts_at.astimezone(ZoneInfo(location.timezone)).date()
    wanted: list[ProcedureLine] = []
    if kind.category in EM_CATEGORIES:
        new = is_new_patient(session, appointment=appointment)
        wanted.append(
            ProcedureLine(
                em_code(new_patient=new, minutes=kind.duration_minutes),
                diagnosis_pointers=tuple(range(1, min(len(codes), MAX_POINTERS) + 1)),
                modifiers=(TELEHEALTH_MODIFIER,) if kind.category == "telehealth" else (),
            )
        )
    wanted += procedures
    if not wanted:
        raise BadCharge(
            "a procedure visit needs its procedure lines",
            [FieldError("procedures", "add the procedures done")],
        )
    _check_lines(wanted, diagnosis_count=len(codes))
    payer = _payer_for(session, patient_id=appointment.patient_id, on=service_date)
    charge = Charge(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        provider_id=appointment.provider_id,
        location_id=appointment.location_id,
        service_date=service_date,
        diagnoses=codes,
    )
    session.add(charge)
    session.flush()
    for number, line in enumerate(wanted, start=1):
        code = line.procedure_code.strip().upper()
        modifiers = [m.strip().upper() for m in line.modifiers]
        unit_fee = fee_for(
            session, payer=payer, procedure_code=code, modifiers=modifiers, on=service_date
        )
        session.add(
            ChargeLine(
                charge_id=charge.id,
                line_number=number,
                procedure_code=code,
                modifiers=modifiers,
                units=line.units,
                fee_cents=unit_fee * line.units,
                diagnosis_pointers=list(line.diagnosis_pointers),
            )
        )
    session.flush()
    actor.audit(session, "billing.charge.captured", resource_type="charge", resource_id=charge.id)
    return charge


def _diagnoses(diagnoses: Sequence[str]) -> list[str]:
    codes = [icd10_without_dot(code.strip().upper()) for code in diagnoses]
    errors = [
        FieldError(f"diagnoses[{i}]", problem)
        for i, code in enumerate(codes)
        if (problem := icd10_problem(code)) is not None
    ]
    if not codes:
        errors.append(FieldError("diagnoses", "a charge needs at least one diagnosis"))
    if len(codes) > MAX_DIAGNOSES:
        errors.append(FieldError("diagnoses", f"at most {MAX_DIAGNOSES} diagnoses on a claim"))
    if len(set(codes)) != len(codes):
        errors.append(FieldError("diagnoses", "a diagnosis is listed twice"))
    if errors:
        raise BadCharge(_listed("the diagnoses cannot go on a claim", errors), errors)
    return codes


def _check_lines(lines: Sequence[ProcedureLine], *, diagnosis_count: int) -> None:
    errors: list[FieldError] = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if not is_procedure_code(line.procedure_code.strip().upper()):
            errors.append(FieldError(f"{where}.procedure_code", "not a CPT or HCPCS code"))
        if len(line.modifiers) > MAX_MODIFIERS:
            errors.append(FieldError(f"{where}.modifiers", f"at most {MAX_MODIFIERS} modifiers"))
        if not all(is_modifier(m.strip().upper()) for m in line.modifiers):
            errors.append(FieldError(f"{where}.modifiers", "a modifier is two letters or digits"))
        if not 1 <= len(line.diagnosis_pointers) <= MAX_POINTERS:
            errors.append(
                FieldError(f"{where}.diagnosis_pointers", f"one to {MAX_POINTERS} pointers")
            )
        if any(not 1 <= p <= diagnosis_count for p in line.diagnosis_pointers):
            errors.append(
                FieldError(f"{where}.diagnosis_pointers", "a pointer to a missing diagnosis")
            )
        if line.units < 1:
            errors.append(FieldError(f"{where}.units", "at least one unit"))
    if errors:
        raise BadCharge(_listed("the procedure lines cannot go on a claim", errors), errors)


def _listed(detail: str, errors: list[FieldError]) -> str:
    return f"{detail}: " + "; ".join(f"{e.field}: {e.message}" for e in errors)


def fee_for(
    session: Session,
    *,
    payer: Payer | None,
    procedure_code: str,
    modifiers: Sequence[str] = (),
    on: date,
) -> int:
    """The fee in cents for one unit: the payer's entry in force on the date, else the
    practice's standard one (payer None); an entry for the line's first modifier wins over
    the plain code's. No fee at all is an error: a claim is never priced at zero."""
    modifier = modifiers[0] if modifiers else None
    payer_keys = [payer.id, None] if payer is not None else [None]
    for payer_key in payer_keys:
        for wanted_modifier in dict.fromkeys([modifier, None]):
            query = select(FeeScheduleEntry).where(
                FeeScheduleEntry.procedure_code == procedure_code,
                FeeScheduleEntry.effective_from <= on,
                or_(
                    col(FeeScheduleEntry.effective_to).is_(None),
                    col(FeeScheduleEntry.effective_to) >= on,
                ),
                col(FeeScheduleEntry.payer_key).is_(None)
                if payer_key is None
                else FeeScheduleEntry.payer_key == payer_key,
                col(FeeScheduleEntry.modifier).is_(None)
                if wanted_modifier is None
                else FeeScheduleEntry.modifier == wanted_modifier,
            )
            entry = session.exec(
                query.order_by(col(FeeScheduleEntry.effective_from).desc())
            ).first()
            if entry is not None:
                return entry.amount_cents
    raise MissingFee(f"no fee for {procedure_code} on {on}: add it to the fee schedule")


def _payer_for(session: Session, *, patient_id: uuid.UUID, on: date) -> Payer | None:
    policy = primary_policy(session, patient_id=patient_id, on=on)
    if policy is None:
        return None
    return session.exec(select(Payer).where(Payer.payer_id == policy.payer_id)).first()


def primary_policy(session: Session, *, patient_id: uuid.UUID, on: date) -> InsurancePolicy | None:
    return _policy_ranked(session, patient_id=patient_id, on=on, rank="primary")


def secondary_policy(
    session: Session, *, patient_id: uuid.UUID, on: date
) -> InsurancePolicy | None:
    return _policy_ranked(session, patient_id=patient_id, on=on, rank="secondary")


def _policy_ranked(
    session: Session, *, patient_id: uuid.UUID, on: date, rank: str
) -> InsurancePolicy | None:
    """The patient's active policy of this rank in force on `on`, the newest if several."""
    return session.exec(
        select(InsurancePolicy)
        .where(
            InsurancePolicy.patient_id == patient_id,
            InsurancePolicy.rank == rank,
            col(InsurancePolicy.active).is_(True),
            InsurancePolicy.effective_date <= on,
            or_(col(InsurancePolicy.end_date).is_(None), col(InsurancePolicy.end_date) >= on),
        )
        .order_by(col(InsurancePolicy.created_at).desc())
    ).first()


def review_charge(
    session: Session, actor: Actor, *, charge_id: uuid.UUID, reviewer_id: uuid.UUID | None = None
) -> Charge:
    """Mark a draft charge reviewed by a staff user: the signed-in one, or `reviewer_id` when
    the caller is not a user (the CLI, the demo)."""
    charge = session.get(Charge, charge_id)
    if charge is None:
        raise ChargeNotFound("no such charge")
    if charge.status != "draft":
        raise ChargeNotAllowed(f"the charge is {charge.status}, not a draft")
    if actor.principal.kind is PrincipalKind.USER:
        reviewer_id = actor.principal.id
    reviewer = session.get(StaffUser, reviewer_id) if reviewer_id is not None else None
    if reviewer is None or not reviewer.active:
        raise BadRequest("a charge is reviewed by an active staff user")
    charge.status = "reviewed"
    charge.reviewed_by = reviewer.id
    charge.reviewed_at = utcnow()
    session.add(charge)
    session.flush()
    actor.audit(session, "billing.charge.reviewed", resource_type="charge", resource_id=charge.id)
    return charge


# --- Claims ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimsMade:
    claims: list[ClaimRecord]
    # Reviewed charges left as they are, with why (no active primary policy, payer not in
    # the directory): (charge id, reason).
    skipped: list[tuple[uuid.UUID, str]]

    @property
    def ready(self) -> int:
        return sum(1 for c in self.claims if c.status == "ready")

    @property
    def held(self) -> int:
        return sum(1 for c in self.claims if c.status == "held")

    @property
    def secondary(self) -> int:
        return sum(1 for c in self.claims if c.rank == "secondary")


def new_patient_control_number() -> str:
    """CLM01: "FD" and 12 Crockford base-32 characters (60 random bits), 14 in all, under the
    20 that payers keep, and carrying nothing about the patient. The column is unique."""
    bits = secrets.randbits(60)
    return "FD" + "".join(_CROCKFORD[(bits >> shift) & 31] for shift in range(55, -1, -5))


def make_claims(
    session: Session, actor: Actor, *, today: date, settings: Settings | None = None
) -> ClaimsMade:
    """A claim to the primary payer for every reviewed charge, scrubbed: ready when the
    scrubber finds nothing, held with its findings otherwise. The charge becomes billed.
    Then the secondary claims the primaries' remittances call for (`make_secondary_claims`),
    so one `claims submit --all` sends both."""
    settings = settings or get_settings()
    made: list[ClaimRecord] = []
    skipped: list[tuple[uuid.UUID, str]] = []
    charges = session.exec(
        select(Charge).where(Charge.status == "reviewed").order_by(col(Charge.service_date))
    ).all()
    for charge in charges:
        policy = primary_policy(session, patient_id=charge.patient_id, on=charge.service_date)
        if policy is None:
            skipped.append((charge.id, "no active primary policy on the service date"))
            continue
        payer = session.exec(select(Payer).where(Payer.payer_id == policy.payer_id)).first()
        if payer is None:
            skipped.append((charge.id, f"payer id {policy.payer_id} is not in the payer directory"))
            continue
        lines = _lines_of(session, charge.id)
        record = ClaimRecord(
            charge_id=charge.id,
            policy_id=policy.id,
            payer_key=payer.id,
            patient_control_number=new_patient_control_number(),
            total_cents=sum(line.fee_cents for line in lines),
        )
        rescrub(session, record, today=today, settings=settings)
        charge.status = "billed"
        session.add_all([record, charge])
        session.flush()
        actor.audit(
            session,
            "billing.claim.made",
            resource_type="claim",
            resource_id=record.id,
            detail={"status": record.status, "findings": len(record.findings)},
        )
        made.append(record)
    secondary = make_secondary_claims(session, actor, today=today, settings=settings)
    return ClaimsMade(made + secondary.claims, skipped + secondary.skipped)


def make_secondary_claims(
    session: Session, actor: Actor, *, today: date, settings: Settings | None = None
) -> ClaimsMade:
    """A claim to the secondary payer for every primary claim its payer processed (paid or
    partly paid, not forwarded) that left the patient a share, when the patient had an
    active secondary policy on the service date and the charge has no secondary claim yet:
    scrubbed like any claim, and carrying the primary's adjudication (see `claim_for`)."""
    settings = settings or get_settings()
    made: list[ClaimRecord] = []
    skipped: list[tuple[uuid.UUID, str]] = []
    secondary = aliased(ClaimRecord)
    has_secondary = (
        select(secondary.id)
        .where(secondary.charge_id == ClaimRecord.charge_id, secondary.rank == "secondary")
        .exists()
    )
    has_policy = (
        select(InsurancePolicy.id)
        .where(
            InsurancePolicy.patient_id == Charge.patient_id,
            InsurancePolicy.rank == "secondary",
            col(InsurancePolicy.active).is_(True),
            InsurancePolicy.effective_date <= Charge.service_date,
            or_(
                col(InsurancePolicy.end_date).is_(None),
                col(InsurancePolicy.end_date) >= Charge.service_date,
            ),
        )
        .exists()
    )
    candidates = session.exec(
        select(ClaimRecord, Charge)
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .where(
            ClaimRecord.rank == "primary",
            col(ClaimRecord.status).in_(PRIMARY_SETTLED),
            ClaimRecord.patient_responsibility_cents > 0,
            ~has_secondary,
            has_policy,
        )
        .order_by(col(Charge.service_date), col(ClaimRecord.created_at))
    ).all()
    seen: set[uuid.UUID] = set()
    for primary, charge in candidates:
        if charge.id in seen:  # one secondary claim per charge
            continue
        seen.add(charge.id)
        policy = secondary_policy(session, patient_id=charge.patient_id, on=charge.service_date)
        assert policy is not None  # the query asked for one
        payer = session.exec(select(Payer).where(Payer.payer_id == policy.payer_id)).first()
        if payer is None:
            skipped.append(
                (charge.id, f"secondary payer id {policy.payer_id} is not in the payer directory")
            )
            continue
        record = ClaimRecord(
            charge_id=charge.id,
            policy_id=policy.id,
            payer_key=payer.id,
            rank="secondary",
            patient_control_number=new_patient_control_number(),
            total_cents=sum(line.fee_cents for line in _lines_of(session, charge.id)),
        )
        rescrub(session, record, today=today, settings=settings)
        session.add(record)
        session.flush()
        actor.audit(
            session,
            "billing.claim.made",
            resource_type="claim",
            resource_id=record.id,
            detail={
                "status": record.status,
                "findings": len(record.findings),
                "rank": "secondary",
                "primary_claim": str(primary.id),
            },
        )
        made.append(record)
    return ClaimsMade(made, skipped)


def rescrub(
    session: Session, record: ClaimRecord, *, today: date, settings: Settings | None = None
) -> None:
    """Scrub a ready or held claim again (after a correction): store the findings and set
    ready or held."""
    payer = session.get(Payer, record.payer_key)
    assert payer is not None
    claim = claim_for(session, record, settings=settings)
    findings = scrub(claim, today=today, timely_filing_days=payer.timely_filing_days)
    record.findings = [{"code": f.code, "message": f.message, "where": f.where} for f in findings]
    record.status = "held" if findings else "ready"
    record.updated_at = utcnow()


class ClaimNotFound(NotFound):
    code = "claim-not-found"


def scrub_again(
    session: Session,
    actor: Actor,
    *,
    claim_id: uuid.UUID,
    today: date,
    settings: Settings | None = None,
) -> ClaimRecord:
    """Staff fixed what held a claim (the charge, the patient, the policy): scrub it again.
    Only a claim not yet sent (ready or held) is scrubbed."""
    record = session.get(ClaimRecord, claim_id)
    if record is None:
        raise ClaimNotFound("no such claim")
    if record.status not in ("ready", "held"):
        raise Conflict(
            f"the claim is {record.status.replace('_', ' ')}: only a ready or held claim is "
            "scrubbed again"
        )
    rescrub(session, record, today=today, settings=settings)
    session.add(record)
    session.flush()
    actor.audit(session, "billing.claim.rescrubbed", resource_type="claim", resource_id=record.id,
                detail={"status": record.status, "findings": len(record.findings)})  # fmt: skip
    return record


def _lines_of(session: Session, charge_id: uuid.UUID) -> list[ChargeLine]:
    return list(
        session.exec(
            select(ChargeLine)
            .where(ChargeLine.charge_id == charge_id)
            .order_by(col(ChargeLine.line_number))
        ).all()
    )


_RELATIONSHIPS = {
    "self": Relationship.SELF,
    "spouse": Relationship.SPOUSE,
    "child": Relationship.CHILD,
    "other": Relationship.OTHER,
}
_SEX = {"female": "F", "male": "M"}


def billing_provider(settings: Settings) -> Provider:
    """The practice as the billing provider, from the settings."""
    return Provider(
        npi=settings.billing_npi,
        last_name=settings.billing_practice_name,
        tax_id=settings.billing_tax_id,
        taxonomy_code=settings.billing_taxonomy_code,
        address=Address(
            line1=settings.billing_address_line1,
            city=settings.billing_address_city,
            state=settings.billing_address_state,
            postal_code=settings.billing_address_postal_code,
        ),
    )


def claim_for(session: Session, record: ClaimRecord, *, settings: Settings | None = None) -> Claim:
    """The X12 layer's claim for a claim on file, from the tables as they are now."""
    settings = settings or get_settings()
    charge = session.get(Charge, record.charge_id)
    policy = session.get(InsurancePolicy, record.policy_id)
    payer = session.get(Payer, record.payer_key)
    assert charge is not None and policy is not None and payer is not None
    patient = session.get(Patient, charge.patient_id)
    provider = session.get(ClinicProvider, charge.provider_id)
    appointment = session.get(Appointment, charge.appointment_id)
    assert patient is not None and provider is not None and appointment is not None
    kind = session.get(AppointmentType, appointment.appointment_type_id)
    coverage, claim_patient = _coverage(
        policy, payer, patient, responsibility="P" if record.rank == "primary" else "S"
    )
    lines = _lines_of(session, charge.id)
    other_payers: tuple[OtherPayer, ...] = ()
    adjudications: dict[int, LineAdjudication] = {}
    if record.rank == "secondary":
        primary = _settled_primary(session, charge.id)
        if primary is not None:  # none: the scrubber holds it ("other-payer-missing")
            other, adjudications = _primary_adjudication(session, primary, patient, lines)
            other_payers = (other,)
    place = TELEHEALTH_PLACE if kind is not None and kind.category == "telehealth" else "11"
    return Claim(
        patient_control_number=record.patient_control_number,
        billing_provider=billing_provider(settings),
        coverage=coverage,
        diagnoses=tuple(charge.diagnoses),
        lines=tuple(
            ServiceLine(
                procedure_code=line.procedure_code,
                charge=_dollars(line.fee_cents),
                units=Decimal(line.units),
                service_date=charge.service_date,
                diagnosis_pointers=tuple(line.diagnosis_pointers),
                modifiers=tuple(line.modifiers),
                # REF*6R, echoed on the 835: how a payment finds its line.
                line_control_number=f"{record.patient_control_number}-{line.line_number}",
                adjudications=(
                    (adjudications[line.line_number],) if line.line_number in adjudications else ()
                ),
            )
            for line in lines
        ),
        place_of_service=place,
        frequency=FrequencyCode(record.frequency_code),
        payer_claim_number=record.payer_claim_number,
        patient=claim_patient,
        other_payers=other_payers,
        rendering_provider=Provider(
            npi=provider.npi,
            last_name=provider.last_name,
            first_name=provider.first_name,
            taxonomy_code=provider.taxonomy_code,
        ),
    )


def _dollars(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(_CENTS)


def _coverage(
    policy: InsurancePolicy, payer: Payer, patient: Patient, *, responsibility: str
) -> tuple[Coverage, Person | None]:
    """The policy as the X12 layer's coverage, and the patient when not the subscriber."""
    patient_person = Person(
        last_name=patient.last_name,
        first_name=patient.first_name,
        date_of_birth=patient.date_of_birth,
        sex=_SEX.get(patient.sex, "U"),
        address=_patient_address(patient),
        member_id=policy.member_id,
    )
    relationship = _RELATIONSHIPS.get(policy.subscriber_relationship, Relationship.OTHER)
    if relationship is Relationship.SELF:
        subscriber, claim_patient = patient_person, None
    else:
        subscriber = Person(
            last_name=policy.subscriber_last_name or "",
            first_name=policy.subscriber_first_name or "",
            date_of_birth=policy.subscriber_date_of_birth,  # type: ignore[arg-type]  # scrubbed
            sex=_SEX.get(policy.subscriber_sex or "", "U"),
            member_id=policy.member_id,
        )
        claim_patient = Person(
            last_name=patient.last_name,
            first_name=patient.first_name,
            date_of_birth=patient.date_of_birth,
            sex=patient_person.sex,
            address=patient_person.address,
        )
    coverage = Coverage(
        payer=Party(name=payer.name, identifier=payer.payer_id),
        subscriber=subscriber,
        group_number=policy.group_number,
        plan_name=policy.plan_name,
        relationship=relationship,
        effective=policy.effective_date,
        expires=policy.end_date,
        filing_indicator=payer.filing_indicator,
        payer_responsibility=responsibility,
    )
    return coverage, claim_patient


def _settled_primary(session: Session, charge_id: uuid.UUID) -> ClaimRecord | None:
    """The charge's primary claim its payer processed: the newest (a replacement that was
    paid after its original was denied)."""
    return session.exec(
        select(ClaimRecord)
        .where(
            ClaimRecord.charge_id == charge_id,
            ClaimRecord.rank == "primary",
            col(ClaimRecord.status).in_(PRIMARY_SETTLED),
        )
        .order_by(col(ClaimRecord.created_at).desc())
    ).first()


def _primary_adjudication(
    session: Session, primary: ClaimRecord, patient: Patient, lines: list[ChargeLine]
) -> tuple[OtherPayer, dict[int, LineAdjudication]]:
    """What the primary payer did with the claim, from the entries its 835s posted: the
    claim-level part (loop 2320) and each adjudicated line's (loop 2430, by line number).

    A reversal (status 22) posts negative entries and its correction posts again, so the
    amounts are netted per line and per (line, group, reason), and what nets to zero is
    dropped. A line's date is its latest remittance's; the claim's, the latest of all."""
    policy = session.get(InsurancePolicy, primary.policy_id)
    payer = session.get(Payer, primary.payer_key)
    assert policy is not None and payer is not None  # foreign keys
    coverage, _ = _coverage(policy, payer, patient, responsibility="P")
    by_number = {line.line_number: line for line in lines}
    paid: dict[int | None, int] = defaultdict(int)
    adjusted: dict[tuple[int | None, str, str], int] = defaultdict(int)
    paid_on: dict[int | None, date] = {}
    rows = session.exec(
        select(RemittanceEntry, Remittance)
        .join(Remittance, col(Remittance.id) == RemittanceEntry.remittance_id)
        .where(
            RemittanceEntry.claim_id == primary.id,
            col(RemittanceEntry.kind).in_(COB_ENTRY_KINDS),
        )
        .order_by(col(Remittance.imported_at), col(RemittanceEntry.id))
    ).all()
    for entry, remittance in rows:
        at = entry.line_number if entry.line_number in by_number else None
        if entry.kind == "insurance_payment":
            paid[at] += entry.amount_cents
        elif entry.group_code and entry.reason:
            adjusted[(at, entry.group_code, entry.reason)] += entry.amount_cents
        on = remittance.payment_date or remittance.imported_at.date()
        for key in (at, None):
            paid_on[key] = max(paid_on.get(key, on), on)

    def adjustments(line: int | None) -> tuple[Adjustment, ...]:
        return tuple(
            Adjustment(group, reason, _dollars(cents))
            for (on_line, group, reason), cents in sorted(
                adjusted.items(), key=lambda item: (item[0][1], item[0][2])
            )
            if on_line == line and cents != 0
        )

    found: dict[int, LineAdjudication] = {}
    for number, line in by_number.items():
        line_adjustments = adjustments(number)
        if number not in paid_on or (paid[number] == 0 and not line_adjustments):
            continue  # not adjudicated by line, or reversed with no correction
        found[number] = LineAdjudication(
            payer_identifier=payer.payer_id,
            procedure_code=line.procedure_code,
            paid=_dollars(paid[number]),
            units=Decimal(line.units),
            paid_on=paid_on[number],
            adjustments=line_adjustments,
            modifiers=tuple(line.modifiers),
        )
    other = OtherPayer(
        coverage=coverage,
        paid=_dollars(sum(paid.values())),
        paid_on=paid_on.get(None) or primary.updated_at.date(),
        adjustments=adjustments(None),
        remaining_patient_liability=_dollars(primary.patient_responsibility_cents),
    )
    return other, found


def _patient_address(patient: Patient) -> Address | None:
    if not (
        patient.address_line1
        and patient.address_city
        and patient.address_state
        and patient.address_postal_code
    ):
        return None
    return Address(
        line1=patient.address_line1,
        line2=patient.address_line2,
        city=patient.address_city,
        state=patient.address_state,
        postal_code=patient.address_postal_code.replace("-", ""),
    )


# --- Submission --------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    path: Path | None  # None: kept in the database only (the API's submit)
    control_number: int
    claim_count: int
    batch_id: uuid.UUID


def submit(
    session: Session,
    actor: Actor,
    *,
    out_dir: Path | None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Submitted | None:
    """Put every ready claim into one 837P interchange, validated by pyx12 first, kept with
    its batch (and written into `out_dir` too, when given); mark the claims submitted. None
    when no claim is ready.

    The ready claims are locked (FOR UPDATE on PostgreSQL; SQLite has one writer at a time),
    so two submits never send a claim twice; the interchange control number is the next
    after the highest on file, and the unique column settles a race for it (the loser takes
    the one after). A file pyx12 or the builder rejects is not written and nothing changes:
    the error names the claims to fix."""
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    if settings.billing_production and settings.billing_npi == DEMO_NPI:
        raise SubmissionRefused(
            "billing_production is on but the billing NPI is the demo's: set the practice's "
            "billing settings first"
        )
    records = list(
        session.exec(
            select(ClaimRecord)
            .where(ClaimRecord.status == "ready")
            .order_by(col(ClaimRecord.created_at), col(ClaimRecord.patient_control_number))
            .with_for_update()
        ).all()
    )
    if not records:
        return None
    claims = [claim_for(session, record, settings=settings) for record in records]
    highest = session.exec(select(func.max(ClaimBatch.interchange_control_number))).one()
    control = (highest or 0) + 1
    for _attempt in range(5):
        text = _validated_837p(claims, settings=settings, control=control, now=now)
        name = f"837P-{control:09d}.x12"
        batch = ClaimBatch(
            interchange_control_number=control,
            file_name=name,
            sha256=hashlib.sha256(text.encode("ascii")).hexdigest(),
            claim_count=len(records),
            content=text,
            created_by=actor.principal.name[:80],
        )
        try:
            with session.begin_nested():
                session.add(batch)
                session.flush()
            break
        except IntegrityError:  # another submit took this number a moment ago
            control += 1
    else:
        raise Conflict("could not take an interchange control number: try again")
    path = _write_new(out_dir / name, text) if out_dir is not None else None
    for record in records:
        record.status = "submitted"
        record.batch_id = batch.id
        record.submitted_at = now
        record.updated_at = now
    session.add_all(records)
    session.flush()
    actor.audit(
        session,
        "billing.claims.submitted",
        resource_type="claim_batch",
        resource_id=batch.id,
        detail={"claims": len(records), "interchange_control_number": control},
    )
    return Submitted(path, control, len(records), batch.id)


def _validated_837p(claims: list[Claim], *, settings: Settings, control: int, now: datetime) -> str:
    interchange = Interchange(
        sender_id=settings.billing_submitter_id,
        receiver_id=settings.billing_receiver_id,
        submitter=Party(
            settings.billing_practice_name,
            settings.billing_submitter_id,
            settings.billing_contact_name,
            settings.billing_contact_phone,
        ),
        receiver=Party(settings.billing_receiver_name, settings.billing_receiver_id),
        interchange_control_number=control,
        group_control_number=control,
        production=settings.billing_production,
        claims=tuple(claims),
    )
    try:
        text = build_837p(interchange, created=now)
    except X12WriteError as error:
        raise SubmissionRefused(
            f"claim {_claim_named(claims, error.where)}: {error}; nothing was submitted"
        ) from None
    findings = validate_x12(text)
    if findings:
        owners = _claims_at(text, claims)
        by_claim: dict[str, list[str]] = {}
        for finding in findings:
            owner = owners.get(finding.position or 0, "the envelope")
            by_claim.setdefault(owner, []).append(str(finding))
        listed = "; ".join(f"claim {pcn}: {', '.join(found)}" for pcn, found in by_claim.items())
        raise SubmissionRefused(f"pyx12 rejects the file ({listed}); nothing was submitted")
    return text


def _claim_named(claims: list[Claim], where: str) -> str:
    """'claims[3].lines[0]…' -> the patient control number of claim 3."""
    if where.startswith("claims["):
        index = int(where[len("claims[") : where.index("]")])
        return claims[index].patient_control_number
    return "(the envelope)"


def _claims_at(text: str, claims: list[Claim]) -> dict[int, str]:
    """Segment position (1 = ISA) -> the patient control number of the claim it belongs to:
    a claim's segments run from its subscriber HL (level 22) to the next HL of level 20 or
    22, or the end of its transaction set. Claims come out in their order (one billing
    provider)."""
    element, terminator = text[3], text[105]
    owners: dict[int, str] = {}
    index, current = -1, None
    for position, segment in enumerate(text.split(terminator), start=1):
        parts = segment.strip().split(element)
        if parts[0] == "HL" and len(parts) > 3 and parts[3] in ("20", "22"):
            index += parts[3] == "22"
            current = claims[index].patient_control_number if parts[3] == "22" else None
        elif parts[0] in ("SE", "GE", "IEA"):
            current = None
        if current is not None:
            owners[position] = current
    return owners


def _write_new(path: Path, text: str) -> Path:
    """Write the file, refusing to overwrite one (a batch's file is its record)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        raise SubmissionRefused(f"{path} exists already; nothing was submitted") from None
    except OSError as exc:
        raise SubmissionRefused(f"{path}: cannot write it ({exc.strerror or exc})") from None
    with os.fdopen(fd, "w", encoding="ascii", newline="") as fh:
        fh.write(text)
    return path
