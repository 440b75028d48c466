"""Reading an 835 (005010X221A1) health care claim payment into plain data, and checking that
it balances, so that posting works on numbers it can trust.

Our own parser: pyx12 validates an 835 but does not give us the amounts, and posting must
refuse a damaged file whole. Any malformed or truncated file raises one `X12ReadError` that
names the segment and its position (1-based from ISA); nothing partial is ever returned.
What real payers get wrong without touching the money (an impossible BPR16 date, mismatched
control numbers) is tolerated and listed in `RemittanceAdvice.notes`.

    RemittanceAdvice (one per ST/SE)          BPR, TRN, N1*PR, N1*PE
      claims: ClaimPayment                    CLP, CAS, NM1*TT, MOA/MIA, DTM*232
        service_lines: ServicePayment         SVC, DTM*472/150, CAS, REF*6R, LQ*HE
      provider_adjustments: ProviderAdjustment  PLB (up to six per segment)

Balance (`check_balance`): sum of CLP04 minus the PLB amounts equals BPR02; each claim's
charge minus its claim and line adjustments equals its payment; each line likewise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.billing.claim import Adjustment
from backoffice.billing.x12.reading import Segment, TransactionSet, X12ReadError, read_interchange

__all__ = [
    "Balance",
    "ClaimPayment",
    "ProviderAdjustment",
    "RemittanceAdvice",
    "Segment",
    "ServicePayment",
    "TransactionSet",
    "X12ReadError",
    "check_balance",
    "read_835",
    "read_interchange",
    "to_json_object",
]

IMPLEMENTATION_GUIDE = "005010X221A1"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Code sets from the guide (the values pyx12's 835 map accepts).
CLAIM_STATUS_CODES = frozenset({"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"})
ADJUSTMENT_GROUPS = frozenset({"CO", "OA", "PI", "PR"})
PLB_REASON_CODES = frozenset(
    "50 51 72 90 AH AM AP B2 B3 BD BN C5 CR CS CT CV CW DM E3 FB FC GO HM IP IR IS J1 L3 L6 "
    "LE LS OA OB PI PL RA RE SL TL WO WU".split()
)
CAS_TRIPLES = 6  # CAS02-04, 05-07, … 17-19
PLB_PAIRS = 6  # PLB03-04 … PLB13-14

_AMOUNT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


# --- the 835 as plain data ----------------------------------------------------------------


@dataclass(frozen=True)
class ServicePayment:
    """One SVC: how the payer settled one service line."""

    procedure_code: str
    charge_amount: Decimal
    paid_amount: Decimal
    units: Decimal
    service_date: date | None
    adjustments: tuple[Adjustment, ...]
    position: int
    code_qualifier: str = "HC"  # HC: CPT/HCPCS
    modifiers: tuple[str, ...] = ()
    submitted_procedure_code: str | None = None  # SVC06, when the payer changed the code
    submitted_modifiers: tuple[str, ...] = ()
    line_control_number: str | None = None  # REF*6R: our REF*6R on the 837 line
    remark_codes: tuple[str, ...] = ()  # LQ*HE: RARC


@dataclass(frozen=True)
class ClaimPayment:
    """One CLP: the payer's decision on one of our claims."""

    patient_control_number: str
    status_code: str  # 1-3 processed, 4 denied, 19-21 forwarded, 22 reversal, 23, 25
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str | None
    adjustments: tuple[Adjustment, ...]  # claim-level CAS
    service_lines: tuple[ServicePayment, ...]
    position: int
    filing_indicator: str | None = None
    crossover_payer: str | None = None  # NM1*TT: who the claim went on to (status 19-21)
    remark_codes: tuple[str, ...] = ()  # MOA/MIA remarks (RARC)
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def is_denial(self) -> bool:
        return self.status_code == "4"

    @property
    def is_forwarded(self) -> bool:
        return self.status_code in {"19", "20", "21", "23"}


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB reason/amount pair. A positive amount reduces the payment (a recoupment,
    WO/FB), a negative one adds to it (interest, L6)."""

    reason: str
    reference: str | None
    amount: Decimal
    provider_identifier: str
    fiscal_period_end: date | None
    position: int


@dataclass(frozen=True)
class RemittanceAdvice:
    """One 835 transaction set: one payment (or notice) from one payer to one payee."""

    payer_name: str
    payee_name: str
    payee_npi: str | None  # N1*PE*..*XX; None when the payer names the payee by tax id
    trace_number: str  # TRN02: the check or EFT number
    payment_amount: Decimal  # BPR02
    payment_date: date | None  # BPR16; None when the payer sent an impossible date (noted)
    claims: tuple[ClaimPayment, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]
    handling_code: str = "I"  # BPR01: I remittance and payment, H notification only, …
    credit_debit: str = "C"  # BPR03
    payment_method: str = ""  # BPR04: ACH, CHK, BOP, FWT, NON
    payer_identifier: str | None = None  # TRN03
    payee_tax_id: str | None = None  # N1*PE*..*FI or REF*TJ
    notes: tuple[str, ...] = field(default=())


def _amount(seg: Segment, n: int, *, required: bool = True) -> Decimal | None:
    value = seg.element(n)
    if not value:
        if required:
            raise seg.fail(f"{seg.id}{n:02d} (an amount) is missing")
        return None
    if not _AMOUNT.fullmatch(value):
        raise seg.fail(f"{seg.id}{n:02d} {value[:20]!r} is not an amount")
    number = Decimal(value)
    return number.quantize(CENT) if number == number.quantize(CENT) else number


def _money(seg: Segment, n: int) -> Decimal:
    value = _amount(seg, n)
    assert value is not None
    return value


def _date(seg: Segment, n: int, notes: list[str]) -> date | None:
    """A CCYYMMDD date; an impossible one is noted (without its value: dates can be PHI)."""
    value = seg.element(n)
    if not value:
        return None
    if len(value) == 8 and value.isdigit():
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            pass
    notes.append(f"{seg.where()}: {seg.id}{n:02d} is not a date (left out)")
    return None


def _required(seg: Segment, n: int, what: str) -> str:
    value = seg.element(n)
    if not value:
        raise seg.fail(f"{seg.id}{n:02d} ({what}) is missing")
    return value


def _adjustments(seg: Segment) -> list[Adjustment]:
    group = seg.element(1)
    if group not in ADJUSTMENT_GROUPS:
        raise seg.fail(f"CAS01 {group[:4]!r} is not an adjustment group (CO, OA, PI, PR)")
    if len(seg.elements) > 1 + 3 * CAS_TRIPLES:
        raise seg.fail(f"has {len(seg.elements)} elements; CAS carries at most 19")
    found = []
    for i in range(CAS_TRIPLES):
        reason_at = 2 + 3 * i
        reason = seg.element(reason_at)
        if not reason:
            if seg.element(reason_at + 1) or seg.element(reason_at + 2):
                raise seg.fail(f"CAS{reason_at:02d} (a reason code) is missing")
            continue
        amount = _money(seg, reason_at + 1)
        quantity = _amount(seg, reason_at + 2, required=False)
        found.append(Adjustment(group, reason, amount, quantity))
    if not found:
        raise seg.fail("CAS02 (a reason code) is missing")
    return found


@dataclass
class _Line:
    seg: Segment
    dates: dict[str, date | None] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    control_number: str | None = None
    remarks: list[str] = field(default_factory=list)


@dataclass
class _Claim:
    seg: Segment
    adjustments: list[Adjustment] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    dates: dict[str, date | None] = field(default_factory=dict)
    crossover: str | None = None
    remarks: list[str] = field(default_factory=list)


def _service_payment(line: _Line, claim_from: date | None) -> ServicePayment:
    seg = line.seg
    billed = seg.components(1)
    if len(billed) < 2 or not billed[0] or not billed[1]:
        raise seg.fail("SVC01 needs a qualifier and a procedure code (e.g. HC:99213)")
    submitted = seg.components(6)
    units = seg.element(5) or "1"  # the guide: absent means one
    if not _AMOUNT.fullmatch(units):
        raise seg.fail(f"SVC05 {units[:10]!r} is not a quantity")
    service_date = line.dates.get("472") or line.dates.get("150") or claim_from
    return ServicePayment(
        code_qualifier=billed[0],
        procedure_code=billed[1],
        modifiers=tuple(m for m in billed[2:6] if m),
        charge_amount=_money(seg, 2),
        paid_amount=_money(seg, 3),
        units=Decimal(units),
        service_date=service_date,
        adjustments=tuple(line.adjustments),
        position=seg.position,
        submitted_procedure_code=submitted[1] if len(submitted) > 1 else None,
        submitted_modifiers=tuple(m for m in submitted[2:6] if m),
        line_control_number=line.control_number,
        remark_codes=tuple(line.remarks),
    )


def _claim_payment(claim: _Claim) -> ClaimPayment:
    seg = claim.seg
    status = _required(seg, 2, "claim status")
    if status not in CLAIM_STATUS_CODES:
        raise seg.fail(f"CLP02 {status[:4]!r} is not a claim status code")
    claim_from = claim.dates.get("232")
    return ClaimPayment(
        patient_control_number=_required(seg, 1, "patient control number"),
        status_code=status,
        charge_amount=_money(seg, 3),
        paid_amount=_money(seg, 4),
        patient_responsibility=_amount(seg, 5, required=False) or ZERO,
        payer_claim_number=seg.element(7) or None,
        filing_indicator=seg.element(6) or None,
        adjustments=tuple(claim.adjustments),
        service_lines=tuple(_service_payment(line, claim_from) for line in claim.lines),
        position=seg.position,
        crossover_payer=claim.crossover,
        remark_codes=tuple(claim.remarks),
        statement_from=claim_from,
        statement_to=claim.dates.get("233"),
    )


def _provider_adjustments(seg: Segment, notes: list[str]) -> list[ProviderAdjustment]:
    provider = _required(seg, 1, "provider identifier")
    period_end = _date(seg, 2, notes)
    if len(seg.elements) > 2 + 2 * PLB_PAIRS:
        raise seg.fail(f"has {len(seg.elements)} elements; PLB carries at most 14")
    found = []
    for i in range(PLB_PAIRS):
        at = 3 + 2 * i
        if not seg.element(at):
            if seg.element(at + 1):
                raise seg.fail(f"PLB{at:02d} (reason and reference) is missing")
            continue
        reason, *rest = seg.components(at)
        if reason not in PLB_REASON_CODES:
            raise seg.fail(f"PLB{at:02d} {reason[:4]!r} is not a provider adjustment reason")
        found.append(
            ProviderAdjustment(
                reason=reason,
                reference=rest[0] if rest and rest[0] else None,
                amount=_money(seg, at + 1),
                provider_identifier=provider,
                fiscal_period_end=period_end,
                position=seg.position,
            )
        )
    if not found:
        raise seg.fail("PLB03 (reason and reference) is missing")
    return found


def _remittance(ts: TransactionSet) -> RemittanceAdvice:
    """Walk one ST..SE; segments we do not use are skipped, structure we rely on is checked."""
    st = ts.segments[0]
    if st.element(1) != "835":
        raise st.fail(f"ST01 is {st.element(1)[:4]!r}, not 835")
    notes = list(ts.notes)
    bpr = trn = None
    payer_name = payee_name = None
    payee_npi = payee_tax_id = None
    loop = "header"  # header, payer, payee, claim-header (LX), claim, line, summary (PLB)
    claims: list[_Claim] = []
    plbs: list[ProviderAdjustment] = []
    for seg in ts.segments[1:-1]:
        sid = seg.id
        if sid == "BPR":
            if bpr is not None or loop != "header":
                raise seg.fail("a second BPR, or BPR out of place")
            bpr = seg
        elif sid == "TRN" and loop == "header":
            trn = seg
        elif sid == "N1":
            entity = seg.element(1)
            if entity == "PR" and loop == "header":
                loop, payer_name = "payer", _required(seg, 2, "payer name")
            elif entity == "PE" and loop in {"header", "payer"}:
                loop, payee_name = "payee", _required(seg, 2, "payee name")
                if seg.element(3) == "XX":
                    payee_npi = seg.element(4) or None
                elif seg.element(3) == "FI":
                    payee_tax_id = seg.element(4) or None
            else:
                raise seg.fail(f"N1 with N101 {entity[:3]!r} out of place")
        elif sid == "REF" and loop == "payee" and seg.element(1) == "TJ":
            payee_tax_id = payee_tax_id or seg.element(2) or None
        elif sid == "LX":
            if loop not in {"payee", "claim", "line"}:
                raise seg.fail("LX before the payee (N1*PE)")
            loop = "claim-header"
        elif sid == "CLP":
            if loop not in {"payee", "claim-header", "claim", "line"}:
                raise seg.fail("CLP out of place")
            loop = "claim"
            claims.append(_Claim(seg))
        elif sid == "SVC":
            if loop not in {"claim", "line"}:
                raise seg.fail("SVC outside a claim (no CLP before it)")
            loop = "line"
            claims[-1].lines.append(_Line(seg))
        elif sid == "CAS":
            if loop == "line":
                claims[-1].lines[-1].adjustments.extend(_adjustments(seg))
            elif loop == "claim":
                claims[-1].adjustments.extend(_adjustments(seg))
            else:
                raise seg.fail("CAS outside a claim")
        elif sid == "DTM" and loop in {"claim", "line"}:
            target = claims[-1].lines[-1].dates if loop == "line" else claims[-1].dates
            target.setdefault(seg.element(1), _date(seg, 2, notes))
        elif sid == "REF" and loop == "line" and seg.element(1) == "6R":
            claims[-1].lines[-1].control_number = seg.element(2) or None
        elif sid == "LQ" and loop == "line" and seg.element(1) == "HE":
            claims[-1].lines[-1].remarks.append(_required(seg, 2, "remark code"))
        elif sid == "NM1" and loop == "claim" and seg.element(1) == "TT":
            claims[-1].crossover = seg.element(3) or None
        elif sid == "MOA" and loop == "claim":
            claims[-1].remarks.extend(r for r in (seg.element(n) for n in (3, 4, 5, 6, 7)) if r)
        elif sid == "MIA" and loop == "claim":
            picks = (5, 20, 21, 22, 23)
            claims[-1].remarks.extend(r for r in (seg.element(n) for n in picks) if r)
        elif sid == "PLB":
            if loop in {"header", "payer"}:
                raise seg.fail("PLB before the payee (N1*PE)")
            loop = "summary"
            plbs.extend(_provider_adjustments(seg, notes))
        elif loop == "summary":
            raise seg.fail("only PLB may follow the provider adjustments")
    if bpr is None:
        raise st.fail("the transaction set has no BPR (financial information)")
    if trn is None:
        raise st.fail("the transaction set has no TRN (trace number)")
    if payer_name is None:
        raise st.fail("the transaction set has no N1*PR (payer)")
    if payee_name is None:
        raise st.fail("the transaction set has no N1*PE (payee)")
    credit_debit = bpr.element(3)
    if credit_debit not in {"C", "D"}:
        raise bpr.fail(f"BPR03 {credit_debit[:3]!r} is neither C (credit) nor D (debit)")
    return RemittanceAdvice(
        payer_name=payer_name,
        payee_name=payee_name,
        payee_npi=payee_npi,
        payee_tax_id=payee_tax_id,
        trace_number=_required(trn, 2, "trace number"),
        payer_identifier=trn.element(3) or None,
        payment_amount=_money(bpr, 2),
        payment_date=_date(bpr, 16, notes),
        handling_code=_required(bpr, 1, "transaction handling code"),
        credit_debit=credit_debit,
        payment_method=_required(bpr, 4, "payment method"),
        claims=tuple(_claim_payment(c) for c in claims),
        provider_adjustments=tuple(plbs),
        notes=tuple(notes),
    )


def read_835(text: str) -> list[RemittanceAdvice]:
    """Every remittance (one per ST/SE) in an 835 interchange, in file order; all or none."""
    sets = read_interchange(text, functional_id="HP", version=IMPLEMENTATION_GUIDE)
    if not sets:
        raise X12ReadError("the interchange holds no transaction set")
    return [_remittance(ts) for ts in sets]


# --- balance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """Whether a remittance adds up: posting refuses one that does not."""

    claims_paid: Decimal
    provider_adjustments: Decimal
    payment_amount: Decimal  # BPR02, negative for a debit (BPR03 D)
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_balance(remit: RemittanceAdvice) -> Balance:
    """The three balancing rules of the guide, each problem one plain line."""
    problems = []
    claims_paid = sum((c.paid_amount for c in remit.claims), ZERO)
    plb = sum((a.amount for a in remit.provider_adjustments), ZERO)
    payment = -remit.payment_amount if remit.credit_debit == "D" else remit.payment_amount
    if claims_paid - plb != payment:
        problems.append(
            f"payment {payment} is not claims paid {claims_paid} minus provider "
            f"adjustments {plb} (= {claims_paid - plb})"
        )
    for claim in remit.claims:
        line_adjusted = sum(
            (a.amount for line in claim.service_lines for a in line.adjustments), ZERO
        )
        adjusted = sum((a.amount for a in claim.adjustments), ZERO) + line_adjusted
        if claim.charge_amount - adjusted != claim.paid_amount:
            problems.append(
                f"claim at segment {claim.position}: charge {claim.charge_amount} minus "
                f"adjustments {adjusted} is not paid {claim.paid_amount}"
            )
        for line in claim.service_lines:
            line_adj = sum((a.amount for a in line.adjustments), ZERO)
            if line.charge_amount - line_adj != line.paid_amount:
                problems.append(
                    f"service line at segment {line.position}: charge {line.charge_amount} "
                    f"minus adjustments {line_adj} is not paid {line.paid_amount}"
                )
    return Balance(claims_paid, plb, payment, tuple(problems))


# --- JSON (the shape of `frontdesk x12 read-835 --json`) ----------------------------------


def _adjustments_json(adjustments: tuple[Adjustment, ...]) -> list[dict[str, str]]:
    return [{"group": a.group, "reason": a.reason, "amount": str(a.amount)} for a in adjustments]


def to_json_object(remit: RemittanceAdvice) -> dict[str, Any]:
    """The issue's JSON shape: amounts as decimal strings, dates ISO (or null)."""
    return {
        "payer_name": remit.payer_name,
        "payee_npi": remit.payee_npi,
        "trace_number": remit.trace_number,
        "payment_amount": str(remit.payment_amount),
        "payment_date": remit.payment_date.isoformat() if remit.payment_date else None,
        "claims": [
            {
                "patient_control_number": c.patient_control_number,
                "status_code": c.status_code,
                "charge_amount": str(c.charge_amount),
                "paid_amount": str(c.paid_amount),
                "patient_responsibility": str(c.patient_responsibility),
                "payer_claim_number": c.payer_claim_number,
                "adjustments": _adjustments_json(c.adjustments),
                "service_lines": [
                    {
                        "procedure_code": s.procedure_code,
                        "modifiers": list(s.modifiers),
                        "charge_amount": str(s.charge_amount),
                        "paid_amount": str(s.paid_amount),
                        "units": str(s.units),
                        "service_date": s.service_date.isoformat() if s.service_date else None,
                        "adjustments": _adjustments_json(s.adjustments),
                    }
                    for s in c.service_lines
                ],
            }
            for c in remit.claims
        ],
        "provider_adjustments": [
            {"reason": a.reason, "reference": a.reference, "amount": str(a.amount)}
            for a in remit.provider_adjustments
        ],
    }
