"""Accounts receivable and patient statements: A/R aging by payer and by patient, days in A/R,
the statement a patient is sent (data, JSON/CSV export, PDF), and payment plans.

The arithmetic (aging, days in A/R, FIFO ageing of a ledger, instalments) is pure and tested
with exact numbers; the functions taking a Session only gather rows for it. Money in cents.
A statement carries the patient's name, MRN and address only: no SSN, no date of birth.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import tempfile
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlmodel import Session, col, func, select

from backoffice.billing.models import (
    Charge,
    ClaimRecord,
    Payer,
    PaymentPlan,
    PaymentPlanInstalment,
    RemittanceEntry,
)
from backoffice.patients.models import Patient
from backoffice.payments import ledger
from backoffice.payments.models import LedgerEntry
from backoffice.security.actor import Actor
from shared.enums import PrincipalKind
from shared.errors import BadRequest, Conflict, NotFound

__all__ = [
    "BUCKETS",
    "AgingReport",
    "OpenItem",
    "PlanExists",
    "Statement",
    "StatementFile",
    "StatementLine",
    "age_open_items",
    "bucket_index",
    "build_statement",
    "create_payment_plan",
    "days_in_ar",
    "gather_open_items",
    "ledger_open_items",
    "payment_plans_for",
    "render_statement_pdf",
    "split_instalments",
    "statement_file",
]

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
# Claims still waiting on a payer: their open balance is insurance A/R.
OPEN_CLAIM_STATUSES = ("submitted", "partly_paid", "denied")


class PatientNotFound(NotFound):
    code = "patient-not-found"


class BadPlan(BadRequest):
    code = "bad-payment-plan"


# --- A/R aging (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """One amount still owed: by a payer (payer set) or by the patient (payer None)."""

    patient_id: uuid.UUID
    patient_label: str  # MRN: what a biller looks up; no name in reports that may be shared
    payer: str | None
    since: date  # the service date (claims) or the charge's posting date (patient ledger)
    cents: int


def bucket_index(days: int) -> int:
    """0-30 → 0, 31-60 → 1, 61-90 → 2, 91-120 → 3, over 120 → 4 (a future date counts as 0)."""
    if days <= 30:
        return 0
    if days <= 60:
        return 1
    if days <= 90:
        return 2
    if days <= 120:
        return 3
    return 4


@dataclass
class AgingReport:
    as_of: date
    by_payer: dict[str, list[int]] = field(default_factory=dict)  # "Patient" for self-pay
    by_patient: dict[str, list[int]] = field(default_factory=dict)
    totals: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    days_in_ar: Decimal | None = None

    @property
    def total(self) -> int:
        return sum(self.totals)

    def to_json(self) -> dict[str, object]:
        def row(cents: list[int]) -> dict[str, str]:
            out = {name: dollars(c) for name, c in zip(BUCKETS, cents, strict=True)}
            out["total"] = dollars(sum(cents))
            return out

        return {
            "as_of": self.as_of.isoformat(),
            "buckets": list(BUCKETS),
            "by_payer": {k: row(v) for k, v in sorted(self.by_payer.items())},
            "by_patient": {k: row(v) for k, v in sorted(self.by_patient.items())},
            "totals": row(self.totals),
            "days_in_ar": None if self.days_in_ar is None else str(self.days_in_ar),
        }


def age_open_items(items: Iterable[OpenItem], *, as_of: date) -> AgingReport:
    """Each open amount into its bucket by its age on `as_of`, summed by payer and by patient."""
    report = AgingReport(as_of=as_of)
    for item in items:
        if item.cents == 0:
            continue
        index = bucket_index((as_of - item.since).days)
        payer = item.payer or "Patient"
        for key, table in ((payer, report.by_payer), (item.patient_label, report.by_patient)):
            table.setdefault(key, [0] * len(BUCKETS))[index] += item.cents
        report.totals[index] += item.cents
    return report


def days_in_ar(*, ar_cents: int, charges_cents: int, period_days: int) -> Decimal | None:
    """A/R ÷ average daily charges over the period, to one decimal; None with no charges."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    if charges_cents <= 0:
        return None
    daily = Decimal(charges_cents) / period_days
    return (Decimal(ar_cents) / daily).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ledger_open_items(
    entries: Sequence[tuple[date, int]],
) -> list[tuple[date, int]]:
    """What is still owed of each charge, oldest paid first (FIFO): the ages of a balance.

    `entries` are (posted date, signed cents) in posting order; credits pay the oldest charges,
    and a credit larger than what is owed so far waits for later charges."""
    open_: deque[tuple[date, int]] = deque()  # charges not yet paid off, oldest first
    credit = 0
    for when, cents in entries:
        if cents > 0:
            used = min(credit, cents)
            credit -= used
            if cents > used:
                open_.append((when, cents - used))
        else:
            credit -= cents
        while credit and open_:
            first_when, first_cents = open_.popleft()
            take = min(credit, first_cents)
            credit -= take
            if first_cents > take:
                open_.appendleft((first_when, first_cents - take))
    return list(open_)


def as_of_date(value: str | None) -> date:
    """A report's date from the command line: YYYY-MM-DD, or today."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"not a date: {value!r} (use YYYY-MM-DD)") from None


def dollars(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


# --- A/R from the database ------------------------------------------------------------------


def gather_open_items(session: Session, *, as_of: date) -> list[OpenItem]:
    """Insurance balances of claims still with a payer, and patients' ledger balances aged
    FIFO; only what was on the books by `as_of`."""
    items: list[OpenItem] = []
    rows = session.exec(
        select(ClaimRecord, Charge, Payer.name, Patient.mrn)
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .join(Payer, col(Payer.id) == ClaimRecord.payer_key)
        .join(Patient, col(Patient.id) == Charge.patient_id)
        .where(col(ClaimRecord.status).in_(OPEN_CLAIM_STATUSES), Charge.service_date <= as_of)
    ).all()
    # A secondary payer is asked for what the primary left the patient, not the whole charge.
    left_by_primary = dict(
        session.exec(
            select(ClaimRecord.charge_id, func.max(ClaimRecord.patient_responsibility_cents))
            .where(
                ClaimRecord.rank == "primary",
                col(ClaimRecord.charge_id).in_(
                    [c.charge_id for c, *_ in rows if c.rank == "secondary"]
                ),
            )
            .group_by(col(ClaimRecord.charge_id))
        ).all()
    )
    for claim, charge, payer_name, mrn in rows:
        owed = (
            claim.total_cents
            - claim.paid_cents
            - claim.adjusted_cents
            - claim.patient_responsibility_cents
        )
        if claim.rank == "secondary":
            owed = min(owed, left_by_primary.get(claim.charge_id, 0) - claim.paid_cents)
        if owed > 0:
            items.append(OpenItem(charge.patient_id, mrn, payer_name, charge.service_date, owed))
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    by_patient: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for entry in session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.posted_at < end)
        .order_by(col(LedgerEntry.patient_id), col(LedgerEntry.posted_at), col(LedgerEntry.id))
    ):
        by_patient[entry.patient_id].append((entry.posted_at.date(), entry.amount_cents))
    if by_patient:
        mrns = dict(
            session.exec(
                select(Patient.id, Patient.mrn).where(col(Patient.id).in_(list(by_patient)))
            ).all()
        )
        for patient_id, entries in by_patient.items():
            for when, cents in ledger_open_items(entries):
                items.append(OpenItem(patient_id, mrns[patient_id], None, when, cents))
    return items


def aging_report(session: Session, *, as_of: date, period_days: int = 90) -> AgingReport:
    """The aging on `as_of`, with days in A/R over the `period_days` before it."""
    report = age_open_items(gather_open_items(session, as_of=as_of), as_of=as_of)
    start = as_of - timedelta(days=period_days - 1)
    charged = session.exec(
        select(col(ClaimRecord.total_cents), col(Charge.service_date))
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .where(
            Charge.service_date >= start,
            Charge.service_date <= as_of,
            col(ClaimRecord.frequency_code) == "1",  # a replacement bills the same visit again
        )
    ).all()
    report.days_in_ar = days_in_ar(
        ar_cents=report.total,
        charges_cents=sum(cents for cents, _ in charged),
        period_days=period_days,
    )
    return report


# --- patient statements -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    on: date
    description: str
    kind: str  # charge, payment, refund, adjustment (the patient's ledger) or insurance_*
    cents: int  # signed, as it moves the patient's balance; insurance lines: informational
    counts_to_balance: bool


@dataclass(frozen=True)
class Statement:
    statement_date: date
    mrn: str
    patient_name: str
    address: list[str]
    lines: list[StatementLine]
    balance_cents: int
    aging: list[int]  # the patient's balance by bucket (BUCKETS)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["statement_date"] = self.statement_date.isoformat()
        data["balance"] = dollars(self.balance_cents)
        data["aging"] = {n: dollars(c) for n, c in zip(BUCKETS, self.aging, strict=True)}
        del data["balance_cents"]
        data["lines"] = [
            {
                "date": line.on.isoformat(),
                "description": line.description,
                "kind": line.kind,
                "amount": dollars(line.cents),
                "counts_to_balance": line.counts_to_balance,
            }
            for line in self.lines
        ]
        return data

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "description", "kind", "amount", "counts_to_balance"])
        for line in self.lines:
            writer.writerow(
                [
                    line.on.isoformat(),
                    line.description,
                    line.kind,
                    dollars(line.cents),
                    "yes" if line.counts_to_balance else "no",
                ]
            )
        writer.writerow([self.statement_date.isoformat(), "Balance due", "balance",
                         dollars(self.balance_cents), "yes"])  # fmt: skip
        return out.getvalue()

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def build_statement(session: Session, *, mrn: str, as_of: date) -> Statement:
    """The patient's ledger to `as_of`, with what insurers paid and adjusted on their claims
    shown beside it (those do not move the patient's balance: the ledger already has the
    patient's share)."""
    patient = session.exec(select(Patient).where(Patient.mrn == mrn)).first()
    if patient is None:
        raise PatientNotFound(f"no patient with MRN {mrn}")
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    entries = session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.patient_id == patient.id, LedgerEntry.posted_at < end)
        .order_by(col(LedgerEntry.posted_at), col(LedgerEntry.id))
    ).all()
    lines = [
        StatementLine(e.posted_at.date(), e.description, e.kind, e.amount_cents, True)
        for e in entries
    ]
    insurance = session.exec(
        select(RemittanceEntry, col(Charge.service_date), col(ClaimRecord.patient_control_number))
        .join(ClaimRecord, col(ClaimRecord.id) == RemittanceEntry.claim_id)
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .where(
            Charge.patient_id == patient.id,
            col(RemittanceEntry.kind).in_(("insurance_payment", "adjustment")),
            Charge.service_date <= as_of,
        )
        # Oldest visit first; on each, the payment before the adjustments.
        .order_by(
            col(Charge.service_date), col(RemittanceEntry.kind).desc(), col(RemittanceEntry.id)
        )
    ).all()
    for entry, service_date, pcn in insurance:
        label = "Insurance payment" if entry.kind == "insurance_payment" else "Insurance adjustment"
        reason = f" {entry.group_code}{entry.reason}" if entry.reason else ""
        lines.append(
            StatementLine(
                service_date,
                f"{label}{reason}, visit of {service_date.isoformat()} (claim {pcn})",
                f"insurance_{entry.kind}" if entry.kind == "adjustment" else entry.kind,
                -entry.amount_cents,
                False,
            )
        )
    lines.sort(key=lambda line: (line.on, not line.counts_to_balance))
    aging = [0] * len(BUCKETS)
    for when, cents in ledger_open_items([(e.posted_at.date(), e.amount_cents) for e in entries]):
        aging[bucket_index((as_of - when).days)] += cents
    name = " ".join(p for p in (patient.first_name, patient.last_name, patient.suffix) if p)
    address = [
        a
        for a in (
            patient.address_line1,
            patient.address_line2,
            " ".join(
                p
                for p in (patient.address_city, patient.address_state, patient.address_postal_code)
                if p
            ),
        )
        if a
    ]
    return Statement(
        statement_date=as_of,
        mrn=patient.mrn,
        patient_name=name,
        address=address,
        lines=lines,
        balance_cents=sum(e.amount_cents for e in entries),
        aging=aging,
    )


def render_statement_pdf(statement: Statement, path: Path, *, practice_name: str) -> Path:
    """The statement as a one-or-more page PDF (reportlab), written to `path`."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    story = [
        Paragraph(practice_name, styles["Title"]),
        Paragraph("Patient statement", styles["Heading2"]),
        Paragraph(f"Statement date: {statement.statement_date.isoformat()}", styles["Normal"]),
        Paragraph(f"{statement.patient_name} (MRN {statement.mrn})", styles["Normal"]),
        *[Paragraph(line, styles["Normal"]) for line in statement.address],
        Spacer(1, 12),
    ]
    rows: list[list[object]] = [["Date", "Description", "Amount", ""]]
    for line in statement.lines:
        note = "" if line.counts_to_balance else "insurance (for information)"
        rows.append(
            [
                line.on.isoformat(),
                Paragraph(line.description, styles["BodyText"]),
                dollars(line.cents),
                note,
            ]
        )
    rows.append(["", "Balance due", dollars(statement.balance_cents), ""])
    table = Table(rows, colWidths=[70, 270, 70, 120], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 12)]
    aging = [["Age (days)", *BUCKETS], ["Owed", *(dollars(c) for c in statement.aging)]]
    story.append(Table(aging))
    path.parent.mkdir(parents=True, exist_ok=True)
    SimpleDocTemplate(
        str(path), pagesize=LETTER, title="Patient statement", author=practice_name
    ).build(story)
    return path


# --- payment plans ----------------------------------------------------------------------------


STATEMENT_TYPES = {
    "pdf": "application/pdf",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class StatementFile:
    name: str
    media_type: str
    content: bytes


def statement_file(
    session: Session,
    actor: Actor,
    *,
    patient: Patient,
    as_of: date,
    format: str,
    practice_name: str,
) -> StatementFile:
    """The patient's statement as a file to hand out (pdf, json or csv), its read audited."""
    statement = build_statement(session, mrn=patient.mrn, as_of=as_of)
    actor.audit(session, "billing.statement.read", resource_type="patient",
                resource_id=patient.id, detail={"format": format})  # fmt: skip
    name = f"statement-{patient.mrn}-{statement.statement_date:%Y%m%d}.{format}"
    if format == "json":
        content = statement.to_json_text().encode()
    elif format == "csv":
        content = statement.to_csv().encode()
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = render_statement_pdf(statement, Path(folder) / name, practice_name=practice_name)
            content = path.read_bytes()
    return StatementFile(name, STATEMENT_TYPES[format], content)


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or that month's last day (31 Jan + 1 → 28/29 Feb)."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def split_instalments(total_cents: int, count: int, *, first_due: date) -> list[tuple[date, int]]:
    """`count` monthly instalments of equal whole cents, the remainder on the last one."""
    if total_cents <= 0 or not 1 <= count <= 60:
        raise BadPlan("a payment plan needs a positive balance and 1 to 60 instalments")
    each = total_cents // count
    amounts = [each] * (count - 1) + [total_cents - each * (count - 1)]
    return [(add_months(first_due, n), cents) for n, cents in enumerate(amounts)]


class PlanExists(Conflict):
    code = "payment-plan-exists"


def create_payment_plan(
    session: Session,
    actor: Actor,
    *,
    patient_id: uuid.UUID,
    count: int,
    first_due: date,
    total_cents: int | None = None,
) -> PaymentPlan:
    """Record a plan for what the patient owes (all of it unless `total_cents` says less)
    and its instalments; the balance itself stays on the ledger. One active plan at a time."""
    plans = payment_plans_for(session, patient_id=patient_id)
    if any(plan.status == "active" for plan, _ in plans):
        raise PlanExists("the patient already has an active payment plan")
    owed = ledger.balance(session, patient_id=patient_id)
    if owed <= 0:
        raise BadPlan(f"the patient owes nothing ({dollars(owed)}): there is nothing to plan")
    total_cents = owed if total_cents is None else total_cents
    if total_cents > owed:
        raise BadPlan(f"the plan is for more than the patient owes ({dollars(owed)})")
    schedule = split_instalments(total_cents, count, first_due=first_due)
    plan = PaymentPlan(
        patient_id=patient_id,
        total_cents=total_cents,
        instalment_count=count,
        created_by=actor.principal.id if actor.principal.kind is PrincipalKind.USER else None,
    )
    session.add(plan)
    session.flush()
    for number, (due, cents) in enumerate(schedule, start=1):
        session.add(
            PaymentPlanInstalment(plan_id=plan.id, number=number, due_date=due, amount_cents=cents)
        )
    session.flush()
    actor.audit(session, "billing.payment_plan.create", resource_type="patient",
                resource_id=str(patient_id))  # fmt: skip
    return plan


def payment_plans_for(
    session: Session, *, patient_id: uuid.UUID
) -> list[tuple[PaymentPlan, list[PaymentPlanInstalment]]]:
    """A patient's payment plans, newest first, each with its instalments in order."""
    plans = session.exec(
        select(PaymentPlan)
        .where(PaymentPlan.patient_id == patient_id)
        .order_by(col(PaymentPlan.created_at).desc(), col(PaymentPlan.id))
    ).all()
    instalments: dict[uuid.UUID, list[PaymentPlanInstalment]] = defaultdict(list)
    if plans:
        rows = session.exec(
            select(PaymentPlanInstalment)
            .where(col(PaymentPlanInstalment.plan_id).in_([p.id for p in plans]))
            .order_by(col(PaymentPlanInstalment.number))
        ).all()
        for row in rows:
            instalments[row.plan_id].append(row)
    return [(plan, instalments[plan.id]) for plan in plans]
