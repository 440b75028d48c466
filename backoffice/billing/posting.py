"""Auto-posting an 835, as a plan: what each claim payment does to the books, decided here
without I/O, so the billing service only has to write the plan down (all of it, or nothing).

    RemittanceAdvice + the claims we sent (by patient control number)
        ──plan_posting──▶ PostingPlan: entries (payments, adjustments by group and reason,
                          patient responsibility, denials, crossovers, provider adjustments,
                          payments for claims we cannot find) and the denial worklist

What each claim status means here:

    1, 2, 3   processed: the payment and each CAS adjustment are posted; PR moves to the
              patient's balance
    4         denied: nothing is written off; the claim goes to the denial worklist with its
              reasons (CARC) and remarks (RARC) explained
    19-21     processed and forwarded to another payer: as 1-3, but the patient's share is
              expected from that payer (a crossover), not billed to the patient
    22        a reversal of an earlier payment: its amounts come negative and are posted so;
              the correction follows as its own claim payment

Service lines are matched to what we billed by our line control number (REF*6R), then by
code, modifiers and date, then by code and date alone (payers drop modifiers), then by code.
What matches no line is posted to the claim. Cash balances to the cent: the payments posted
minus the provider-level adjustments (PLB) equal the check (BPR02), or nothing is posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from backoffice.billing.claim import Adjustment
from backoffice.billing.reference import explain_carc, explain_rarc
from backoffice.billing.x12.remit_835 import ClaimPayment, RemittanceAdvice, ServicePayment
from shared.errors import Conflict

ZERO = Decimal("0.00")
PROCESSED = frozenset({"1", "2", "3"})
DENIED = "4"
FORWARDED = frozenset({"19", "20", "21"})
REVERSAL = "22"


@dataclass(frozen=True)
class BilledLine:
    """A service line as we sent it on the 837P."""

    index: int
    procedure_code: str
    charge: Decimal
    service_date: date
    modifiers: tuple[str, ...] = ()
    line_control_number: str | None = None


@dataclass(frozen=True)
class BilledClaim:
    patient_control_number: str
    lines: tuple[BilledLine, ...]


class EntryKind(StrEnum):
    INSURANCE_PAYMENT = "insurance_payment"  # the payer's money, on a claim or a line
    ADJUSTMENT = "adjustment"  # CO, OA, PI: written off (or reduced) by contract or payer
    PATIENT_RESPONSIBILITY = "patient_responsibility"  # PR: to the patient's balance
    CROSSOVER = "crossover"  # the patient's share, expected from the next payer instead
    PROVIDER_ADJUSTMENT = "provider_adjustment"  # PLB: interest, recoupment, forward balance
    UNMATCHED_PAYMENT = "unmatched_payment"  # money for a claim we cannot find: suspense


CASH = frozenset({EntryKind.INSURANCE_PAYMENT, EntryKind.UNMATCHED_PAYMENT})


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    amount: Decimal  # signed: a reversal's entries are negative
    patient_control_number: str | None
    line_index: int | None = None  # None: the claim as a whole
    group: str | None = None  # CAS group
    reason: str | None = None  # CARC, or the PLB reason code
    note: str | None = None  # the crossover payer, the PLB reference


@dataclass(frozen=True)
class Reason:
    code: str
    explanation: str


@dataclass(frozen=True)
class Denial:
    """A denied claim for the worklist: what was billed, why it was refused, and the payer's
    claim number to quote on a corrected claim or an appeal."""

    patient_control_number: str
    payer_claim_number: str | None
    charge: Decimal
    reasons: tuple[Reason, ...]  # CARC, claim and line level
    remarks: tuple[Reason, ...]  # RARC


@dataclass
class PostingPlan:
    trace_number: str
    payment_amount: Decimal
    entries: list[Entry] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)

    @property
    def cash(self) -> Decimal:
        """What the entries say the check is: payments minus provider-level adjustments."""
        paid = sum((e.amount for e in self.entries if e.kind in CASH), ZERO)
        taken = sum(
            (e.amount for e in self.entries if e.kind is EntryKind.PROVIDER_ADJUSTMENT), ZERO
        )
        return paid - taken

    def total(self, kind: EntryKind, patient_control_number: str | None = None) -> Decimal:
        wanted = [e for e in self.entries if e.kind is kind]
        if patient_control_number is not None:
            wanted = [e for e in wanted if e.patient_control_number == patient_control_number]
        return sum((e.amount for e in wanted), ZERO)


class PostingImbalance(Conflict):
    """The remittance does not add up: nothing is posted."""


def plan_posting(remit: RemittanceAdvice, claims: Mapping[str, BilledClaim]) -> PostingPlan:
    """Everything `remit` posts, balanced to the cent against its payment, or
    PostingImbalance naming the difference."""
    plan = PostingPlan(remit.trace_number, remit.payment_amount)
    for payment in remit.claims:
        billed = claims.get(payment.patient_control_number)
        if billed is None:
            plan.entries.append(
                Entry(
                    EntryKind.UNMATCHED_PAYMENT,
                    payment.paid_amount,
                    payment.patient_control_number,
                    note="no claim of ours has this patient control number",
                )
            )
            continue
        _post_claim(plan, payment, billed)
    for adjustment in remit.provider_adjustments:
        plan.entries.append(
            Entry(
                EntryKind.PROVIDER_ADJUSTMENT,
                adjustment.amount,
                None,
                reason=adjustment.reason,
                note=adjustment.reference,
            )
        )
    expected = -remit.payment_amount if remit.credit_debit == "D" else remit.payment_amount
    if plan.cash != expected:
        raise PostingImbalance(
            f"The remittance {remit.trace_number} does not balance: its claims and provider "
            f"adjustments come to {plan.cash}, its payment is {expected}. Nothing was posted."
        )
    return plan


def _post_claim(plan: PostingPlan, payment: ClaimPayment, billed: BilledClaim) -> None:
    pcn = payment.patient_control_number
    if payment.status_code == DENIED:
        plan.denials.append(_denial(payment))
        return
    forwarded = payment.status_code in FORWARDED
    matched = match_lines(payment.service_lines, billed.lines)
    lines_paid = ZERO
    for service, line in zip(payment.service_lines, matched, strict=True):
        index = line.index if line else None
        plan.entries.append(Entry(EntryKind.INSURANCE_PAYMENT, service.paid_amount, pcn, index))
        lines_paid += service.paid_amount
        _post_adjustments(plan, pcn, index, service.adjustments, forwarded, payment)
    if payment.paid_amount != lines_paid:  # no lines, or lines that do not add up
        plan.entries.append(
            Entry(EntryKind.INSURANCE_PAYMENT, payment.paid_amount - lines_paid, pcn)
        )
    _post_adjustments(plan, pcn, None, payment.adjustments, forwarded, payment)


def _post_adjustments(
    plan: PostingPlan,
    pcn: str,
    line_index: int | None,
    adjustments: tuple[Adjustment, ...],
    forwarded: bool,
    payment: ClaimPayment,
) -> None:
    for adjustment in adjustments:
        if adjustment.group == "PR":
            kind = EntryKind.CROSSOVER if forwarded else EntryKind.PATIENT_RESPONSIBILITY
        else:
            kind = EntryKind.ADJUSTMENT
        plan.entries.append(
            Entry(
                kind,
                adjustment.amount,
                pcn,
                line_index,
                group=adjustment.group,
                reason=adjustment.reason,
                note=payment.crossover_payer if kind is EntryKind.CROSSOVER else None,
            )
        )


def _denial(payment: ClaimPayment) -> Denial:
    carcs = [a.reason for a in payment.adjustments] + [
        a.reason for line in payment.service_lines for a in line.adjustments
    ]
    rarcs = list(payment.remark_codes) + [
        code for line in payment.service_lines for code in line.remark_codes
    ]
    return Denial(
        patient_control_number=payment.patient_control_number,
        payer_claim_number=payment.payer_claim_number,
        charge=payment.charge_amount,
        reasons=tuple(Reason(c, explain_carc(c)) for c in dict.fromkeys(carcs)),
        remarks=tuple(Reason(r, explain_rarc(r)) for r in dict.fromkeys(rarcs)),
    )


def match_lines(
    paid: tuple[ServicePayment, ...], billed: tuple[BilledLine, ...]
) -> list[BilledLine | None]:
    """For each paid line, the billed line it pays (each billed line used once), or None."""
    free = list(billed)
    found: list[BilledLine | None] = []
    for service in paid:
        best = min(free, key=lambda b: _tier(service, b) or 9, default=None)
        line = best if best is not None and _tier(service, best) is not None else None
        if line is not None:
            free.remove(line)
        found.append(line)
    return found


def _tier(service: ServicePayment, billed: BilledLine) -> int | None:
    """How well a paid line matches a billed one: 1 our line control number, 2 code,
    modifiers and date, 3 code and date (the payer dropped the modifiers), 4 the code;
    None: not this line."""
    if service.line_control_number and service.line_control_number == billed.line_control_number:
        return 1
    code = service.submitted_procedure_code or service.procedure_code
    if billed.procedure_code != code:
        return None
    modifiers = service.submitted_modifiers or service.modifiers
    if billed.service_date == service.service_date:
        return 2 if sorted(billed.modifiers) == sorted(modifiers) else 3
    return 4
