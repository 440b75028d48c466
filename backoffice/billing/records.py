"""Billing records as staff read them, and the reference data billers keep: the payer
directory and the fee schedule. Reads of anything tied to a patient are audited here.

Errors: NotFound (no such charge, claim, policy, patient), Conflict (a payer id or a fee
already on file for that date)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from backoffice.billing.models import (
    Charge,
    ChargeLine,
    ClaimBatch,
    ClaimRecord,
    EligibilityCheck,
    FeeScheduleEntry,
    Payer,
    Remittance,
)
from backoffice.patients.models import InsurancePolicy
from backoffice.security.actor import Actor
from shared.errors import Conflict, NotFound

__all__ = [
    "ChargeWithLines",
    "add_fee",
    "add_payer",
    "change_payer",
    "eligibility_history",
    "get_claim",
    "list_charges",
    "list_claims",
    "list_fees",
    "list_payers",
    "list_remittances",
    "read_charge",
    "read_claim_batch",
]


@dataclass(frozen=True)
class ChargeWithLines:
    charge: Charge
    lines: list[ChargeLine]

    @property
    def total_cents(self) -> int:
        return sum(line.fee_cents for line in self.lines)


def _with_lines(session: Session, charges: list[Charge]) -> list[ChargeWithLines]:
    by_charge: dict[uuid.UUID, list[ChargeLine]] = defaultdict(list)
    if charges:
        for line in session.exec(
            select(ChargeLine)
            .where(col(ChargeLine.charge_id).in_([c.id for c in charges]))
            .order_by(col(ChargeLine.line_number))
        ):
            by_charge[line.charge_id].append(line)
    return [ChargeWithLines(charge, by_charge[charge.id]) for charge in charges]


def list_charges(
    session: Session, actor: Actor, *, status: str | None, limit: int, offset: int
) -> list[ChargeWithLines]:
    """Charges, oldest visit first (the review queue's order), `limit` + 1 rows for paging."""
    query = select(Charge).order_by(col(Charge.service_date), col(Charge.id))
    if status is not None:
        query = query.where(Charge.status == status)
    charges = list(session.exec(query.offset(offset).limit(limit + 1)).all())
    actor.audit(session, "billing.charges.list", detail={"count": len(charges), "status": status})
    return _with_lines(session, charges)


def read_charge(session: Session, actor: Actor, *, charge_id: uuid.UUID) -> ChargeWithLines:
    charge = session.get(Charge, charge_id)
    if charge is None:
        raise NotFound("no such charge")
    actor.audit(session, "billing.charge.read", resource_type="charge", resource_id=charge.id)
    return _with_lines(session, [charge])[0]


def list_claims(
    session: Session, actor: Actor, *, status: str | None, limit: int, offset: int
) -> list[ClaimRecord]:
    """Claims, newest first, `limit` + 1 rows for paging."""
    query = select(ClaimRecord).order_by(col(ClaimRecord.created_at).desc(), col(ClaimRecord.id))
    if status is not None:
        query = query.where(ClaimRecord.status == status)
    claims = list(session.exec(query.offset(offset).limit(limit + 1)).all())
    actor.audit(session, "billing.claims.list", detail={"count": len(claims), "status": status})
    return claims


def get_claim(session: Session, actor: Actor | None = None, *, claim_id: uuid.UUID) -> ClaimRecord:
    claim = session.get(ClaimRecord, claim_id)
    if claim is None:
        raise NotFound("no such claim")
    if actor is not None:
        actor.audit(session, "billing.claim.read", resource_type="claim", resource_id=claim.id)
    return claim


def read_claim_batch(session: Session, actor: Actor, *, batch_id: uuid.UUID) -> tuple[str, str]:
    """The file name and the 837P a batch carried (patients' names and policies): the read is
    audited."""
    batch = session.get(ClaimBatch, batch_id)
    if batch is None or batch.content is None:
        raise NotFound("no such claim batch, or its file was not kept")
    actor.audit(session, "billing.claim_batch.read", resource_type="claim_batch",
                resource_id=batch.id)  # fmt: skip
    return batch.file_name, batch.content


def list_remittances(session: Session, *, limit: int, offset: int) -> list[Remittance]:
    """Remittances as posted, newest first (no patient data: payer, trace, amount)."""
    return list(
        session.exec(
            select(Remittance)
            .order_by(col(Remittance.imported_at).desc(), col(Remittance.id))
            .offset(offset)
            .limit(limit + 1)
        ).all()
    )


def _policy(session: Session, policy_id: uuid.UUID) -> InsurancePolicy:
    policy = session.get(InsurancePolicy, policy_id)
    if policy is None:
        raise NotFound("no such insurance policy")
    return policy


def eligibility_history(
    session: Session, actor: Actor, *, policy_id: uuid.UUID, limit: int = 20
) -> list[EligibilityCheck]:
    """The latest checks of a policy, newest first."""
    policy = _policy(session, policy_id)
    actor.audit(session, "billing.eligibility.read", resource_type="patient",
                resource_id=policy.patient_id)  # fmt: skip
    return list(
        session.exec(
            select(EligibilityCheck)
            .where(EligibilityCheck.policy_id == policy.id)
            .order_by(col(EligibilityCheck.checked_at).desc())
            .limit(limit)
        ).all()
    )


# --- the payer directory and the fee schedule -------------------------------------------


def list_payers(session: Session) -> list[Payer]:
    return list(session.exec(select(Payer).order_by(col(Payer.name), col(Payer.payer_id))).all())


def _payer(session: Session, payer_key: uuid.UUID) -> Payer:
    payer = session.get(Payer, payer_key)
    if payer is None:
        raise NotFound("no such payer")
    return payer


def add_payer(session: Session, actor: Actor, *, payer: Payer) -> Payer:
    taken = session.exec(select(Payer.id).where(Payer.payer_id == payer.payer_id)).first()
    if taken is not None:
        raise Conflict(f"payer id {payer.payer_id} is in the directory already")
    session.add(payer)
    session.flush()
    actor.audit(session, "billing.payer.created", resource_type="payer", resource_id=payer.id)
    return payer


def change_payer(
    session: Session, actor: Actor, *, payer_key: uuid.UUID, changes: dict[str, object]
) -> Payer:
    payer = _payer(session, payer_key)
    for name, value in changes.items():
        setattr(payer, name, value)
    session.add(payer)
    session.flush()
    actor.audit(session, "billing.payer.updated", resource_type="payer", resource_id=payer.id,
                detail={"fields": sorted(changes)})  # fmt: skip
    return payer


def list_fees(
    session: Session, *, procedure_code: str | None, payer_id: str | None
) -> list[FeeScheduleEntry]:
    """The schedule by code and date, the standard fees (no payer) with each payer's."""
    query = select(FeeScheduleEntry).order_by(
        col(FeeScheduleEntry.procedure_code),
        col(FeeScheduleEntry.payer_key).is_not(None),
        col(FeeScheduleEntry.effective_from),
    )
    if procedure_code is not None:
        query = query.where(FeeScheduleEntry.procedure_code == procedure_code)
    if payer_id is not None:
        payer = session.exec(select(Payer).where(Payer.payer_id == payer_id)).first()
        if payer is None:
            raise NotFound(f"payer id {payer_id} is not in the directory")
        query = query.where(FeeScheduleEntry.payer_key == payer.id)
    return list(session.exec(query).all())


def add_fee(
    session: Session,
    actor: Actor,
    *,
    procedure_code: str,
    modifier: str | None,
    amount_cents: int,
    effective_from: date,
    effective_to: date | None,
    payer_id: str | None,
) -> FeeScheduleEntry:
    """A new fee from a date on. The fee it follows is not changed: the schedule picks the
    latest entry in force on a service date."""
    payer_key = None
    if payer_id is not None:
        payer = session.exec(select(Payer).where(Payer.payer_id == payer_id)).first()
        if payer is None:
            raise NotFound(f"payer id {payer_id} is not in the directory")
        payer_key = payer.id
    # Checked here, not left to the unique constraint: NULLs (the standard fee, no modifier)
    # never collide in SQL.
    taken = session.exec(
        select(FeeScheduleEntry.id).where(
            FeeScheduleEntry.procedure_code == procedure_code,
            FeeScheduleEntry.effective_from == effective_from,
            col(FeeScheduleEntry.payer_key).is_(None)
            if payer_key is None
            else FeeScheduleEntry.payer_key == payer_key,
            col(FeeScheduleEntry.modifier).is_(None)
            if modifier is None
            else FeeScheduleEntry.modifier == modifier,
        )
    ).first()
    if taken is not None:
        raise Conflict(f"{procedure_code} already has a fee from {effective_from} for this payer")
    entry = FeeScheduleEntry(
        payer_key=payer_key,
        procedure_code=procedure_code,
        modifier=modifier,
        amount_cents=amount_cents,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    session.add(entry)
    session.flush()
    actor.audit(session, "billing.fee.created", resource_type="fee", resource_id=entry.id)
    return entry
