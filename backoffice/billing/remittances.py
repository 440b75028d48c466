"""Remittances (835 ERAs) into the books, and the denial worklist that comes out of them.

`import_835` reads the file, finds our claims by patient control number, lets the pure
`posting.plan_posting` decide every entry, and only then writes the plan down: the
remittance and its entries, each claim's amounts and status, the patient's share on the
patient ledger (unless a secondary payer is billed for it next: then the share the
secondary's remittance leaves is), and the denials. All of it in one savepoint, or nothing
(a damaged file, a remittance that does not balance, a file or payment already posted).

A claim's status after a remittance, from the last claim payment for it in the file:

    submitted ──1-3──▶ paid          (paid + adjustments + patient's share = what we billed)
              ──1-3──▶ partly_paid   (some of the charge is still open: lines not adjudicated)
              ──4────▶ denied ──resubmit 7──▶ replaced (a new claim replaces it, scrubbed
                                                        again: ready, or held with findings)
                              ──resubmit 8──▶ void     (a new void claim, ready)
              ──19-21, 23─▶ forwarded (the patient's share is expected from the next payer)
    paid ─────22─────▶ submitted     (a reversal reopens it; its correction follows)
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backoffice.billing import service as billing_service
from backoffice.billing.models import (
    Charge,
    ChargeLine,
    ClaimRecord,
    Denial,
    DenialNote,
    Payer,
    Remittance,
    RemittanceEntry,
)
from backoffice.billing.posting import (
    FORWARDED,
    PROCESSED,
    REVERSAL,
    BilledClaim,
    BilledLine,
    EntryKind,
    PostingPlan,
    plan_posting,
)
from backoffice.billing.reference import explain_carc
from backoffice.billing.x12.remit_835 import RemittanceAdvice, read_835
from backoffice.kit.columns import utcnow
from backoffice.patients.models import InsurancePolicy
from backoffice.payments import ledger
from backoffice.payments.models import LedgerEntry
from backoffice.security.actor import Actor
from backoffice.settings import Settings
from shared.enums import PrincipalKind
from shared.errors import BadRequest, Conflict, NotFound

__all__ = [
    "AlreadyImported",
    "DenialGroup",
    "ImportResult",
    "add_note",
    "denial_worklist",
    "import_835",
    "resubmit",
]

MAX_835_BYTES = 64 * 1024 * 1024  # a large payer's weekly ERA is a few megabytes
CHUNK = 500  # ids per IN (...): well under SQLite's limit on bound parameters
OPEN_DENIALS = ("open", "appealed")
LEDGER_KEY_LIMIT = 120  # LedgerEntry.entry_key


class AlreadyImported(Conflict):
    """The same file, or the same payment in another file, was posted before."""


class NotWholeCents(BadRequest):
    """An amount with fractions of a cent: the tables keep cents, and we never round money."""


def to_cents(amount: Decimal) -> int:
    """Dollars to cents, exactly, or NotWholeCents."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise NotWholeCents(f"{amount} is not a whole number of cents; nothing was posted")
    return int(cents)


@dataclass
class ImportResult:
    """What one file posted, counted for the biller's one line."""

    remittance_ids: list[uuid.UUID] = field(default_factory=list)
    payment_cents: int = 0
    claims: int = 0
    paid: int = 0
    partly_paid: int = 0
    denied: int = 0
    forwarded: int = 0
    reversed: int = 0
    unmatched: int = 0
    provider_adjustments: int = 0
    patient_lines: int = 0

    def summary(self) -> str:
        dollars = Decimal(self.payment_cents) / 100
        parts = [
            f"{len(self.remittance_ids)} remittance(s), {dollars:.2f} posted",
            f"{self.claims} claim payment(s): {self.paid} paid, {self.partly_paid} partly paid, "
            f"{self.denied} denied, {self.forwarded} forwarded, {self.reversed} reversed",
        ]
        if self.unmatched:
            parts.append(f"{self.unmatched} for claims not on file (held)")
        parts.append(f"{self.provider_adjustments} provider adjustment(s)")
        parts.append(f"{self.patient_lines} patient ledger line(s)")
        return "; ".join(parts)


@dataclass
class _OnFile:
    """Our claims a remittance names, with what posting needs from their charges."""

    claims: dict[str, ClaimRecord] = field(default_factory=dict)
    charges: dict[uuid.UUID, Any] = field(default_factory=dict)  # rows: id, patient, visit, date
    billed: dict[str, BilledClaim] = field(default_factory=dict)


def import_835(
    session: Session, actor: Actor, text: str, *, file_name: str | None = None
) -> ImportResult:
    """Post every remittance in an 835 file, all or nothing; the caller commits."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    earlier = session.exec(select(Remittance).where(Remittance.file_sha256 == digest)).first()
    if earlier is not None:
        raise AlreadyImported(
            f"this file was imported on {earlier.imported_at:%Y-%m-%d %H:%M} UTC (trace "
            f"{earlier.trace_number}); nothing was posted again"
        )
    advices = read_835(text)  # X12ReadError: a damaged file, nothing read
    plans = []
    for advice in advices:  # decide everything before writing anything
        _refuse_repeated_payment(session, advice)
        on_file = _claims_on_file(session, {c.patient_control_number for c in advice.claims})
        plans.append((advice, on_file, plan_posting(advice, on_file.billed)))
    result = ImportResult()
    with session.begin_nested():
        for advice, on_file, plan in plans:
            _write(session, actor, advice, on_file, plan, digest, result)
        session.flush()
    actor.audit(
        session,
        "billing.era.imported",
        resource_type="remittance",
        resource_id=result.remittance_ids[0] if result.remittance_ids else None,
        detail={
            "remittances": len(result.remittance_ids),
            "claims": result.claims,
            "payment_cents": result.payment_cents,
            "file": file_name,
        },
    )
    return result


def _refuse_repeated_payment(session: Session, advice: RemittanceAdvice) -> None:
    """A payer's trace number names one payment: the same one in another file (a resent ERA)
    is not posted twice."""
    earlier = session.exec(
        select(Remittance).where(
            Remittance.trace_number == advice.trace_number,
            Remittance.payer_identifier == advice.payer_identifier,
        )
    ).first()
    if earlier is not None:
        raise AlreadyImported(
            f"the payment with trace {advice.trace_number} from {advice.payer_name} was "
            f"posted on {earlier.imported_at:%Y-%m-%d} from another file; nothing was posted"
        )


def _signed_payment(advice: RemittanceAdvice) -> int:
    cents = to_cents(advice.payment_amount)
    return -cents if advice.credit_debit == "D" else cents


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _claims_on_file(session: Session, numbers: set[str]) -> _OnFile:
    found = _OnFile()
    for chunk in _chunks(sorted(numbers)):
        for claim in session.exec(
            select(ClaimRecord).where(col(ClaimRecord.patient_control_number).in_(chunk))
        ):
            found.claims[claim.patient_control_number] = claim
    charge_ids = sorted({c.charge_id for c in found.claims.values()})
    lines: dict[uuid.UUID, list[Any]] = defaultdict(list)
    # Columns, not objects: only the claims are changed, and a large ERA names thousands.
    for chunk in _chunks(charge_ids):
        charge_columns = (
            col(Charge.id),
            col(Charge.patient_id),
            col(Charge.appointment_id),
            col(Charge.service_date),
        )
        for charge in session.execute(sa_select(*charge_columns).where(col(Charge.id).in_(chunk))):
            found.charges[charge.id] = charge
        for line in session.execute(
            sa_select(
                col(ChargeLine.charge_id),
                col(ChargeLine.line_number),
                col(ChargeLine.procedure_code),
                col(ChargeLine.modifiers),
                col(ChargeLine.fee_cents),
            ).where(col(ChargeLine.charge_id).in_(chunk))
        ):
            lines[line.charge_id].append(line)
    for number, claim in found.claims.items():
        charge = found.charges[claim.charge_id]
        found.billed[number] = BilledClaim(
            number,
            tuple(
                BilledLine(
                    index=line.line_number,  # entries carry it back as the line number
                    procedure_code=line.procedure_code,
                    charge=Decimal(line.fee_cents) / 100,
                    service_date=charge.service_date,
                    modifiers=tuple(line.modifiers),
                    line_control_number=line_control_number(claim, line.line_number),
                )
                for line in sorted(lines[charge.id], key=lambda x: x.line_number)
            ),
        )
    return found


def line_control_number(claim: ClaimRecord, line_number: int) -> str:
    """REF*6R on the 837 line, echoed on the 835: the claim's control number and the line."""
    return f"{claim.patient_control_number}-{line_number}"


def _write(
    session: Session,
    actor: Actor,
    advice: RemittanceAdvice,
    on_file: _OnFile,
    plan: PostingPlan,
    digest: str,
    result: ImportResult,
) -> None:
    remittance = Remittance(
        file_sha256=digest,
        trace_number=advice.trace_number,
        payer_name=advice.payer_name[:120],
        payer_identifier=advice.payer_identifier,
        payment_cents=_signed_payment(advice),
        payment_date=advice.payment_date,
        imported_by=actor.principal.name[:80],
    )
    session.add(remittance)
    session.flush()
    result.remittance_ids.append(remittance.id)
    result.payment_cents += remittance.payment_cents

    totals: dict[str, dict[EntryKind, int]] = defaultdict(lambda: defaultdict(int))
    rows = []
    for entry in plan.entries:
        claim = on_file.claims.get(entry.patient_control_number or "")
        cents = to_cents(entry.amount)
        rows.append(
            {
                "id": uuid.uuid4(),
                "remittance_id": remittance.id,
                "claim_id": claim.id if claim else None,
                "patient_control_number": entry.patient_control_number,
                "line_number": entry.line_index,
                "kind": entry.kind.value,
                "amount_cents": cents,
                "group_code": entry.group,
                "reason": entry.reason,
                "note": entry.note[:120] if entry.note else None,
            }
        )
        if claim is not None:
            totals[claim.patient_control_number][entry.kind] += cents
        if entry.kind is EntryKind.PROVIDER_ADJUSTMENT:
            result.provider_adjustments += 1
        elif entry.kind is EntryKind.UNMATCHED_PAYMENT:
            result.unmatched += 1
    _insert(session, RemittanceEntry, rows)
    result.patient_lines += _post_patient_shares(session, actor, advice, on_file, plan)
    _update_claims(advice, on_file, totals, result)
    _open_denials(session, on_file, plan, remittance)


def _update_claims(
    advice: RemittanceAdvice,
    on_file: _OnFile,
    totals: dict[str, dict[EntryKind, int]],
    result: ImportResult,
) -> None:
    """Each claim's amounts move by what was posted; its status is the payer's last word."""
    last = {}
    for payment in advice.claims:
        result.claims += 1
        if payment.status_code == REVERSAL:
            result.reversed += 1
        if payment.patient_control_number in on_file.claims:
            last[payment.patient_control_number] = payment
    now = utcnow()
    for number, payment in last.items():
        claim = on_file.claims[number]
        moved = totals.get(number, {})
        claim.paid_cents += moved.get(EntryKind.INSURANCE_PAYMENT, 0)
        claim.adjusted_cents += moved.get(EntryKind.ADJUSTMENT, 0)
        claim.patient_responsibility_cents += moved.get(EntryKind.PATIENT_RESPONSIBILITY, 0)
        claim.payer_claim_number = payment.payer_claim_number or claim.payer_claim_number
        status = payment.status_code
        if status in PROCESSED:
            settled = claim.paid_cents + claim.adjusted_cents + claim.patient_responsibility_cents
            claim.status = "paid" if settled >= claim.total_cents else "partly_paid"
        elif status == "4":
            claim.status = "denied"
        elif status in FORWARDED or status == "23":
            claim.status = "forwarded"
        elif status == REVERSAL:
            claim.status = "submitted"
        # 25 (predetermination, no payment): the status stays
        claim.updated_at = now
        if claim.status in {"paid", "partly_paid", "denied", "forwarded"}:
            setattr(result, claim.status, getattr(result, claim.status) + 1)


def _post_patient_shares(
    session: Session,
    actor: Actor,
    advice: RemittanceAdvice,
    on_file: _OnFile,
    plan: PostingPlan,
) -> int:
    """PR adjustments to the patient's ledger: a charge (or, from a reversal, a credit), keyed
    by trace, claim, sign, line and reason so the same remittance never posts it twice.

    In bulk rather than through `ledger.post` (a lookup and a savepoint per line: 3 ms each,
    half a minute for a large ERA): keys already posted are looked up together and skipped,
    and the unique entry_key still refuses a race, failing the whole import."""
    by_user = actor.principal.id if actor.principal.kind is PrincipalKind.USER else None
    seen: dict[str, int] = defaultdict(int)
    rows: dict[str, dict[str, Any]] = {}
    now = utcnow()
    billed_on_to_secondary = _billed_on_to_secondary(session, on_file)
    for entry in plan.entries:
        if entry.kind is not EntryKind.PATIENT_RESPONSIBILITY:
            continue
        claim = on_file.claims.get(entry.patient_control_number or "")
        if claim is None or claim.id in billed_on_to_secondary:
            continue
        charge = on_file.charges[claim.charge_id]
        cents = to_cents(entry.amount)
        negative = cents < 0
        # A reversal and its correction share trace, claim and line: the sign tells them apart.
        key = (
            f"era:{advice.trace_number}:{claim.patient_control_number}:{'-' if negative else '+'}:"
            f"{entry.line_index or 0}:{entry.group}{entry.reason}"
        )
        seen[key] += 1
        if seen[key] > 1:
            key += f":{seen[key]}"
        if len(key) > LEDGER_KEY_LIMIT:
            key = "era:" + hashlib.sha256(key.encode()).hexdigest()
        label = "Insurance reversal" if negative else "Your share after insurance"
        rows[key] = {
            "id": uuid.uuid4(),
            "patient_id": charge.patient_id,
            "kind": (ledger.EntryKind.ADJUSTMENT if negative else ledger.EntryKind.CHARGE).value,
            "amount_cents": cents,
            "description": f"{label} ({entry.reason}: {explain_carc(entry.reason or '')})"[:120],
            "reason": f"ERA {advice.trace_number}, claim {claim.patient_control_number}"[:200],
            "entry_key": key,
            "appointment_id": charge.appointment_id,
            "created_by": by_user,
            "posted_at": now,
        }
    for chunk in _chunks(list(rows)):
        for posted in session.exec(
            select(LedgerEntry.entry_key).where(col(LedgerEntry.entry_key).in_(chunk))
        ):
            rows.pop(posted or "", None)
    _insert(session, LedgerEntry, list(rows.values()))
    return len(rows)


def _billed_on_to_secondary(session: Session, on_file: _OnFile) -> set[uuid.UUID]:
    """Primary claims whose patient had a secondary policy (its payer in the directory) on
    the service date: their share is billed to that payer next (`make_secondary_claims`), and
    what the secondary's remittance leaves the patient is what goes on the ledger."""
    primaries = [c for c in on_file.claims.values() if c.rank == "primary"]
    patients = {on_file.charges[c.charge_id].patient_id for c in primaries}
    policies: dict[uuid.UUID, list[InsurancePolicy]] = defaultdict(list)
    for chunk in _chunks(sorted(patients)):
        for policy in session.exec(
            select(InsurancePolicy)
            .join(Payer, col(Payer.payer_id) == InsurancePolicy.payer_id)
            .where(
                col(InsurancePolicy.patient_id).in_(chunk),
                InsurancePolicy.rank == "secondary",
                col(InsurancePolicy.active).is_(True),
            )
        ):
            policies[policy.patient_id].append(policy)
    held = set()
    for claim in primaries:
        charge = on_file.charges[claim.charge_id]
        served = charge.service_date
        if any(
            p.effective_date <= served and (p.end_date is None or p.end_date >= served)
            for p in policies[charge.patient_id]
        ):
            held.add(claim.id)
    return held


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows in few statements (executemany), without an object or ORM step per row."""
    table = model.__table__
    for start in range(0, len(rows), 5000):
        session.connection().execute(insert(table), rows[start : start + 5000])


def _open_denials(
    session: Session, on_file: _OnFile, plan: PostingPlan, remittance: Remittance
) -> None:
    for denial in plan.denials:
        claim = on_file.claims.get(denial.patient_control_number)
        if claim is None:
            continue
        session.add(
            Denial(
                claim_id=claim.id,
                remittance_id=remittance.id,
                reasons=[{"code": r.code, "explanation": r.explanation} for r in denial.reasons],
                remarks=[{"code": r.code, "explanation": r.explanation} for r in denial.remarks],
            )
        )


# --- the denial worklist ---------------------------------------------------------------


@dataclass(frozen=True)
class WorklistItem:
    denial_id: uuid.UUID
    claim_id: uuid.UUID
    patient_control_number: str
    payer_claim_number: str | None
    charge_cents: int
    status: str  # open, appealed
    reasons: tuple[str, ...]  # every CARC, the first one groups it
    remarks: tuple[str, ...]
    denied_at: datetime
    notes: int


@dataclass(frozen=True)
class DenialGroup:
    """The open denials sharing one reason (their first CARC), the largest sum first."""

    reason: str
    explanation: str
    items: tuple[WorklistItem, ...]

    @property
    def charge_cents(self) -> int:
        return sum(item.charge_cents for item in self.items)


def denial_worklist(session: Session) -> list[DenialGroup]:
    """Open and appealed denials grouped by reason, so a biller fixes one cause at a time."""
    rows = session.exec(
        select(Denial, ClaimRecord)
        .join(ClaimRecord, col(ClaimRecord.id) == Denial.claim_id)
        .where(col(Denial.status).in_(OPEN_DENIALS))
        .order_by(col(Denial.created_at), col(Denial.id))
    ).all()
    note_counts: dict[uuid.UUID, int] = defaultdict(int)
    ids = [denial.id for denial, _ in rows]
    for chunk in _chunks(ids):
        for denial_id in session.exec(
            select(DenialNote.denial_id).where(col(DenialNote.denial_id).in_(chunk))
        ):
            note_counts[denial_id] += 1
    groups: dict[str, list[WorklistItem]] = defaultdict(list)
    explanations: dict[str, str] = {}
    for denial, claim in rows:
        reasons = tuple(r["code"] for r in denial.reasons) or ("none",)
        first = denial.reasons[0] if denial.reasons else None
        explanations[reasons[0]] = first["explanation"] if first else "no reason given"
        groups[reasons[0]].append(
            WorklistItem(
                denial_id=denial.id,
                claim_id=claim.id,
                patient_control_number=claim.patient_control_number,
                payer_claim_number=claim.payer_claim_number,
                charge_cents=claim.total_cents,
                status=denial.status,
                reasons=reasons,
                remarks=tuple(r["code"] for r in denial.remarks),
                denied_at=denial.created_at,
                notes=note_counts[denial.id],
            )
        )
    found = [DenialGroup(code, explanations[code], tuple(items)) for code, items in groups.items()]
    return sorted(found, key=lambda g: (-g.charge_cents, g.reason))


def _denial(session: Session, denial_id: uuid.UUID) -> Denial:
    denial = session.get(Denial, denial_id)
    if denial is None:
        raise NotFound("no such denial")
    return denial


def add_note(
    session: Session, actor: Actor, *, denial_id: uuid.UUID, body: str, appeal: bool = False
) -> DenialNote:
    """A note on a denial; an appeal note also marks the denial appealed (still worked)."""
    denial = _denial(session, denial_id)
    body = body.strip()
    if not body:
        raise BadRequest("a note needs some text")
    by_user = actor.principal.id if actor.principal.kind is PrincipalKind.USER else None
    note = DenialNote(denial_id=denial.id, body=body, created_by=by_user)
    session.add(note)
    if appeal and denial.status == "open":
        denial.status = "appealed"
    session.flush()
    actor.audit(
        session,
        "billing.denial.appealed" if appeal else "billing.denial.noted",
        resource_type="denial",
        resource_id=denial.id,
    )
    return note


RESUBMISSIONS = {"7": ("replaced", "resubmitted", "R"), "8": ("void", "voided", "V")}


def resubmit(
    session: Session,
    actor: Actor,
    *,
    denial_id: uuid.UUID,
    frequency_code: str,
    today: date | None = None,
    settings: Settings | None = None,
) -> ClaimRecord:
    """A corrected claim for a denied one, quoting the payer's claim number: a replacement
    (7) billed from the charge as it is now and scrubbed like a new claim (ready, or held
    with its findings when the charge is still wrong), or a void (8), ready: it carries the
    original's lines only to take the claim back, so there is nothing to correct in it."""
    if frequency_code not in RESUBMISSIONS:
        raise BadRequest("resubmit as a replacement (7) or a void (8)")
    old_status, denial_status, letter = RESUBMISSIONS[frequency_code]
    denial = _denial(session, denial_id)
    if denial.status not in OPEN_DENIALS:
        raise Conflict(f"this denial is already {denial.status}")
    claim = session.get(ClaimRecord, denial.claim_id)
    assert claim is not None  # a foreign key
    if claim.status != "denied":
        raise Conflict(f"the claim is {claim.status}, not denied")
    if not claim.payer_claim_number:
        raise Conflict("the payer gave no claim number to quote; call the payer first")
    fees = session.exec(select(ChargeLine.fee_cents).where(ChargeLine.charge_id == claim.charge_id))
    new = ClaimRecord(
        charge_id=claim.charge_id,
        policy_id=claim.policy_id,
        payer_key=claim.payer_key,
        rank=claim.rank,
        patient_control_number=_next_control_number(session, claim.patient_control_number, letter),
        frequency_code=frequency_code,
        replaces_claim_id=claim.id,
        payer_claim_number=claim.payer_claim_number,  # REF*F8 on the new claim
        status="ready",
        total_cents=sum(fees) if frequency_code == "7" else claim.total_cents,
    )
    if frequency_code == "7":
        billing_service.rescrub(session, new, today=today or date.today(), settings=settings)
    session.add(new)
    claim.status = old_status
    claim.updated_at = utcnow()
    denial.status = denial_status
    denial.resolved_at = utcnow()
    session.flush()
    actor.audit(
        session,
        f"billing.claim.{'replaced' if frequency_code == '7' else 'voided'}",
        resource_type="claim",
        resource_id=new.id,
        detail={
            "replaces": str(claim.id),
            "frequency_code": frequency_code,
            "status": new.status,
            "findings": len(new.findings),
        },
    )
    return new


def _next_control_number(session: Session, original: str, letter: str) -> str:
    """The original's control number with R1, R2… (or V1…): unique, at most 20 characters."""
    for n in range(1, 100):
        suffix = f"{letter}{n}"
        candidate = original[: 20 - len(suffix)] + suffix
        taken = session.exec(
            select(ClaimRecord.id).where(ClaimRecord.patient_control_number == candidate)
        ).first()
        if taken is None:
            return candidate
    raise Conflict("this claim has been resubmitted too many times")
