"""The payers' side of the demo: an 835 (005010X221A1) for claims the demo clinic sent, so a
fresh demo has payments posted, a denial on the worklist and claims still out.

Payers write 835s and we only read them, so this writer sits beside the demo rather than in
the X12 layer. Pure: the claims as sent (`backoffice.billing.claim.Claim`) and what each payer
decided in, X12 text out; one transaction set per payer (each is one payment, with its own
trace number), all in one interchange as a clearinghouse delivers them.

    Paid    status 1: each line's fee less a CO-45 write-off (the part above the allowed
            amount), the patient's share as PR-3 copay or PR-2 coinsurance, the rest paid
    Denied  status 4: nothing paid, every line CO-<reason> with an LQ*HE remark
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from backoffice.billing.claim import Claim, Party, ServiceLine
from backoffice.billing.x12.segments import (
    DEFAULT_SEPARATORS,
    X12WriteError,
    amount,
    clean_text,
    date8,
    group_control_number,
    interchange_control_number,
    isa_segment,
    quantity,
    segment,
    transaction_set_control_number,
)

__all__ = ["IMPLEMENTATION_GUIDE", "Denied", "Paid", "PayerRemittance", "write_835"]

IMPLEMENTATION_GUIDE = "005010X221A1"
_NAME_LAST, _NAME_FIRST, _PAYER_NAME, _ADDRESS, _CITY = 60, 35, 60, 55, 30


@dataclass(frozen=True)
class Paid:
    """Processed as primary (CLP02 1). The copay comes off the first lines' allowed amounts,
    then coinsurance takes its percent of what each line still allows."""

    payer_claim_number: str
    contractual_percent: int  # CO-45: the share of each fee above the payer's allowed amount
    copay_cents: int = 0  # PR-3, for the whole claim
    coinsurance_percent: int = 0  # PR-2, of each line's allowed amount


@dataclass(frozen=True)
class Denied:
    """Denied (CLP02 4): the whole charge adjusted CO-`reason`, each line remarked."""

    payer_claim_number: str
    reason: str = "50"  # not medically necessary
    remark: str = "N130"  # see the plan's benefit documents


@dataclass(frozen=True)
class PayerRemittance:
    """One payer's payment (one ST/SE): who pays, its trace, and its decisions."""

    payer: Party  # name, payer id (REF*2U), address (N3/N4), contact phone (PER*BL)
    payer_tax_id: str  # nine digits: TRN03 is "1" and the payer's EIN
    trace_number: str  # TRN02: the check number
    paid_on: date  # BPR16
    decisions: tuple[tuple[Claim, Paid | Denied], ...]


@dataclass(frozen=True)
class _LineOutcome:
    line: ServiceLine
    paid: int
    contractual: int
    copay: int
    coinsurance: int

    @property
    def patient(self) -> int:
        return self.copay + self.coinsurance


def _cents(value: Decimal) -> int:
    cents = value * 100
    if cents != cents.to_integral_value():
        raise X12WriteError("charge", f"{value} has fractions of a cent")
    return int(cents)


def _dollars(cents: int) -> str:
    return amount(Decimal(cents) / 100)


def _settle(claim: Claim, decision: Paid) -> list[_LineOutcome]:
    """Each line's money, in whole cents, so every line and the claim balance exactly."""
    copay_left = decision.copay_cents
    outcomes = []
    for line in claim.lines:
        fee = _cents(line.charge)
        contractual = (fee * decision.contractual_percent + 50) // 100
        allowed = fee - contractual
        copay = min(copay_left, allowed)
        copay_left -= copay
        coinsurance = ((allowed - copay) * decision.coinsurance_percent + 50) // 100
        paid = allowed - copay - coinsurance
        outcomes.append(_LineOutcome(line, paid, contractual, copay, coinsurance))
    return outcomes


def _filing_code(claim: Claim) -> str:
    """CLP06 from the coverage billed: Medicare Part B, an HMO, or a PPO."""
    if claim.coverage.filing_indicator == "MB":
        return "MB"
    if "HMO" in (claim.coverage.plan_name or "").upper():
        return "HM"
    return "12"


class _Writer:
    def __init__(self) -> None:
        self.segments: list[str] = []

    def add(self, segment_id: str, *elements: str | Sequence[str] | None) -> None:
        self.segments.append(segment(segment_id, *elements))


def _patient(writer: _Writer, claim: Claim) -> None:
    """NM1*QC (the patient), and NM1*IL (the insured) when the patient is a dependent."""
    subscriber = claim.coverage.subscriber
    patient = claim.patient or subscriber
    names = (
        clean_text(patient.last_name, max_length=_NAME_LAST),
        clean_text(patient.first_name, max_length=_NAME_FIRST),
    )
    member = subscriber.member_id
    if claim.patient is None:
        writer.add("NM1", "QC", "1", *names, "", "", "", "MI" if member else "", member)
        return
    writer.add("NM1", "QC", "1", *names)
    writer.add(
        "NM1",
        "IL",
        "1",
        clean_text(subscriber.last_name, max_length=_NAME_LAST),
        clean_text(subscriber.first_name, max_length=_NAME_FIRST),
        "",
        "",
        "",
        "MI" if member else "",
        member,
    )


def _service(writer: _Writer, line: ServiceLine, paid: int) -> None:
    writer.add(
        "SVC",
        ["HC", line.procedure_code, *line.modifiers],
        amount(line.charge),
        _dollars(paid),
        "",
        quantity(line.units),
    )
    writer.add("DTM", "472", date8(line.service_date))


def _control_number(writer: _Writer, line: ServiceLine) -> None:
    if line.line_control_number:
        writer.add("REF", "6R", line.line_control_number)


def _paid_claim(writer: _Writer, claim: Claim, decision: Paid) -> int:
    outcomes = _settle(claim, decision)
    paid = sum(o.paid for o in outcomes)
    patient = sum(o.patient for o in outcomes)
    writer.add(
        "CLP",
        claim.patient_control_number,
        "1",
        amount(claim.total_charge),
        _dollars(paid),
        _dollars(patient) if patient else None,
        _filing_code(claim),
        decision.payer_claim_number,
        claim.place_of_service,
        claim.frequency.value,
    )
    _patient(writer, claim)
    for outcome in outcomes:
        _service(writer, outcome.line, outcome.paid)
        if outcome.contractual:
            writer.add("CAS", "CO", "45", _dollars(outcome.contractual))
        shares = [("3", outcome.copay), ("2", outcome.coinsurance)]
        triples = [
            part for reason, cents in shares if cents for part in (reason, _dollars(cents), "")
        ]
        if triples:
            writer.add("CAS", "PR", *triples)
        _control_number(writer, outcome.line)
        writer.add("AMT", "B6", _dollars(_cents(outcome.line.charge) - outcome.contractual))
    return paid


def _denied_claim(writer: _Writer, claim: Claim, decision: Denied) -> int:
    writer.add(
        "CLP",
        claim.patient_control_number,
        "4",
        amount(claim.total_charge),
        "0",
        None,
        _filing_code(claim),
        decision.payer_claim_number,
        claim.place_of_service,
        claim.frequency.value,
    )
    _patient(writer, claim)
    for line in claim.lines:
        _service(writer, line, 0)
        writer.add("CAS", "CO", decision.reason, amount(line.charge))
        _control_number(writer, line)
        writer.add("LQ", "HE", decision.remark)
    return 0


def _transaction_set(writer: _Writer, remittance: PayerRemittance, number: int) -> None:
    if not remittance.decisions:
        raise X12WriteError("decisions", "a remittance needs at least one claim")
    payer = remittance.payer
    if payer.address is None:
        raise X12WriteError("payer.address", "the 835 names the payer's address (N3/N4)")
    if payer.contact_phone is None:
        raise X12WriteError("payer.contact_phone", "the 835 names the payer's EDI contact (PER)")
    payee = remittance.decisions[0][0].billing_provider
    start = len(writer.segments)
    control = transaction_set_control_number(number)
    writer.add("ST", "835", control)
    bpr_at = len(writer.segments)
    writer.add("BPR")  # filled in below, once the claims are paid
    writer.add("TRN", "1", remittance.trace_number, "1" + remittance.payer_tax_id)
    writer.add("DTM", "405", date8(remittance.paid_on))
    writer.add("N1", "PR", clean_text(payer.name, max_length=_PAYER_NAME))
    writer.add("N3", clean_text(payer.address.line1, max_length=_ADDRESS))
    writer.add(
        "N4",
        clean_text(payer.address.city, max_length=_CITY),
        payer.address.state,
        payer.address.postal_code,
    )
    writer.add("REF", "2U", payer.identifier)
    writer.add("PER", "BL", "EDI SUPPORT", "TE", payer.contact_phone)
    writer.add("N1", "PE", clean_text(payee.last_name, max_length=_PAYER_NAME), "XX", payee.npi)
    if payee.tax_id:
        writer.add("REF", "TJ", payee.tax_id)
    writer.add("LX", "1")
    total = 0
    for claim, decision in remittance.decisions:
        if isinstance(decision, Paid):
            total += _paid_claim(writer, claim, decision)
        else:
            total += _denied_claim(writer, claim, decision)
    # A payment of nothing (every claim denied) is a notice, not a check: BPR01 H, BPR04 NON.
    handling, method = ("I", "CHK") if total else ("H", "NON")
    writer.segments[bpr_at] = segment(
        "BPR", handling, _dollars(total), "C", method, *[""] * 11, date8(remittance.paid_on)
    )
    writer.add("SE", str(len(writer.segments) - start + 1), control)


def write_835(
    remittances: Sequence[PayerRemittance],
    *,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    created: datetime,
    production: bool = False,
) -> str:
    """The interchange: one transaction set per payer, a newline after each terminator."""
    if not remittances:
        raise X12WriteError("remittances", "an interchange needs at least one remittance")
    writer = _Writer()
    group = group_control_number(control_number)
    writer.add(
        "GS",
        "HP",
        sender_id,
        receiver_id,
        date8(created.date()),
        created.strftime("%H%M"),
        group,
        "X",
        IMPLEMENTATION_GUIDE,
    )
    for number, remittance in enumerate(remittances, start=1):
        _transaction_set(writer, remittance, number)
    writer.add("GE", str(len(remittances)), group)
    writer.add("IEA", "1", interchange_control_number(control_number))
    isa = isa_segment(
        sender_qualifier="ZZ",
        sender_id=sender_id,
        receiver_qualifier="ZZ",
        receiver_id=receiver_id,
        created=created,
        control_number=control_number,
        production=production,
    )
    terminator = DEFAULT_SEPARATORS.segment + "\n"
    return terminator.join([isa, *writer.segments]) + terminator
