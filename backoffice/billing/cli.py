"""`frontdesk billing`: claims out (837P files) and remittances in (835 ERAs), against the
database. Each command is one transaction: it commits when it succeeds, or changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shared.errors import AppError

billing_app = typer.Typer(help="Billing: claims and remittances.", no_args_is_help=True)
claims_app = typer.Typer(help="Insurance claims (837P).", no_args_is_help=True)
billing_app.add_typer(claims_app, name="claims")


def register(root: typer.Typer) -> None:
    root.add_typer(billing_app, name="billing")


# --- claims -------------------------------------------------------------------


@claims_app.command("submit")
def claims_submit(
    all_ready: Annotated[
        bool, typer.Option("--all", help="Every reviewed charge and ready claim (required)")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the 837P file in")] = (
        Path(".")
    ),
) -> None:
    """Make claims from the reviewed charges, then write one 837P file with every ready
    claim, validated by pyx12 before any is marked submitted."""
    from datetime import date

    from backoffice.billing import service as billing_service
    from backoffice.cli import _cli_actor, _session

    if not all_ready:
        raise AppError("say which claims: --all (every reviewed charge and ready claim)")
    actor = _cli_actor()
    with _session() as session:
        made = billing_service.make_claims(session, actor, today=date.today())
        # Counted now: submitting marks the ready ones submitted.
        made_line = (
            f"made {len(made.claims)} claim(s) ({made.secondary} to secondary payers): "
            f"{made.ready} ready, "
            f"{made.held} held by the scrubber; {len(made.skipped)} charge(s) left for staff"
        )
        result = billing_service.submit(session, actor, out_dir=out)
    if made.claims or made.skipped:
        typer.echo(made_line)
    if result is None:
        typer.echo("no claims are ready to submit")
        return
    typer.echo(
        f"wrote {result.path}: {result.claim_count} claim(s), interchange {result.control_number}"
    )


# --- era: remittances in ------------------------------------------------------

era_app = typer.Typer(
    help="Remittances (835 ERAs) and the denials they bring.", no_args_is_help=True
)
billing_app.add_typer(era_app, name="era")


@era_app.command("import")
def era_import(
    file: Annotated[Path, typer.Argument(help="An 835 (005010X221A1) file from the payer")],
) -> None:
    """Post an 835: payments, adjustments, the patients' shares, denials; all or nothing.

    A damaged, unbalanced or already posted file is one error line, exit 1, nothing posted.
    """
    from backoffice.billing import remittances
    from backoffice.billing.x12.cli import _read_text
    from backoffice.billing.x12.remit_835 import X12ReadError
    from backoffice.cli import _cli_actor, _session

    text = _read_text(file)
    try:
        with _session() as session:
            result = remittances.import_835(session, _cli_actor(), text, file_name=file.name)
    except X12ReadError as exc:
        raise AppError(f"{file}: {exc.detail}; nothing was posted") from None
    typer.echo(f"{file}: {result.summary()}")


@era_app.command("denials")
def era_denials() -> None:
    """The denial worklist: open and appealed denials grouped by reason, largest first."""
    from decimal import Decimal

    from backoffice.billing import remittances
    from backoffice.cli import _session

    with _session() as session:
        groups = remittances.denial_worklist(session)
    if not groups:
        typer.echo("no open denials")
        return
    for group in groups:
        total = Decimal(group.charge_cents) / 100
        typer.echo(f"{group.reason} ({len(group.items)}, {total:.2f}): {group.explanation}")
        for item in group.items:
            typer.echo(
                f"  {item.patient_control_number}  payer claim {item.payer_claim_number or '-'}"
                f"  {Decimal(item.charge_cents) / 100:.2f}  {item.status}"
                f"  remarks {','.join(item.remarks) or '-'}  notes {item.notes}"
            )


# --- statements ----------------------------------------------------------------


@billing_app.command("ar")
def billing_ar(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default today")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """A/R aging (0-30 … 120+ days) by payer and by patient (MRN), with days in A/R."""
    import json

    from backoffice.billing import statements
    from backoffice.cli import _session

    on = statements.as_of_date(as_of)
    with _session() as session:
        report = statements.aging_report(session, as_of=on)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    data = report.to_json()
    header = f"{'':<28}" + "".join(f"{b:>12}" for b in (*statements.BUCKETS, "total"))
    for title, key in (("by payer", "by_payer"), ("by patient (MRN)", "by_patient")):
        typer.echo(f"A/R on {on.isoformat()} {title}")
        typer.echo(header)
        rows: dict[str, dict[str, str]] = data[key]  # type: ignore[assignment]
        for name, row in rows.items():
            typer.echo(f"{name[:28]:<28}" + "".join(f"{v:>12}" for v in row.values()))
    totals: dict[str, str] = data["totals"]  # type: ignore[assignment]
    typer.echo(f"{'total':<28}" + "".join(f"{v:>12}" for v in totals.values()))
    days = report.days_in_ar
    typer.echo(f"days in A/R (last 90 days' charges): {days if days is not None else 'n/a'}")


@billing_app.command("statement")
def billing_statement(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN")],
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf, FILE.json or FILE.csv")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default today")] = None,
) -> None:
    """A patient statement: ledger charges and payments, insurance payments and adjustments,
    the balance due; as PDF, or the same data as JSON or CSV (by the file's extension)."""
    from backoffice.billing import statements
    from backoffice.cli import _cli_actor, _session
    from backoffice.settings import get_settings

    kind = out.suffix.lower()
    if kind not in (".pdf", ".json", ".csv"):
        raise AppError(f"{out}: write a .pdf, .json or .csv file")
    on = statements.as_of_date(as_of)
    with _session() as session:
        statement = statements.build_statement(session, mrn=mrn, as_of=on)
        _cli_actor().audit(session, "billing.statement.export", resource_type="patient",
                           resource_id=mrn)  # fmt: skip
    if kind == ".pdf":
        name = get_settings().billing_practice_name
        statements.render_statement_pdf(statement, out, practice_name=name)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(statement.to_json_text() if kind == ".json" else statement.to_csv())
    balance = statements.dollars(statement.balance_cents)
    typer.echo(f"wrote {out}: {len(statement.lines)} line(s), balance due {balance}")


# --- eligibility --------------------------------------------------------------

eligibility_app = typer.Typer(
    help="Eligibility: 270/271 with the clearinghouse, in real time.", no_args_is_help=True
)
billing_app.add_typer(eligibility_app, name="eligibility")


@eligibility_app.command("check")
def eligibility_check(
    policy_id: Annotated[str, typer.Argument(help="The insurance policy's id")],
) -> None:
    """Ask the payer whether a policy is active, with its copay, coinsurance and deductible
    left. The outcome is recorded whatever it is; a failed check exits 1 after recording."""
    import uuid

    from backoffice.billing import eligibility_service
    from backoffice.cli import _cli_actor, _session
    from backoffice.settings import get_settings

    try:
        key = uuid.UUID(policy_id)
    except ValueError:
        raise AppError(f"{policy_id!r} is not a policy id") from None
    transport = eligibility_service.transport_from_settings(get_settings())
    if transport is None:
        raise AppError("eligibility is not set up: set FRONTDESK_ELIGIBILITY_URL and credentials")
    try:
        with _session() as session:
            check = eligibility_service.check_eligibility(
                session, _cli_actor(), policy_id=key, transport=transport
            )
    finally:
        transport.close()
    typer.echo(eligibility_service.describe(check))
    if check.outcome in eligibility_service.FAILURE_OUTCOMES or check.outcome == "rejected":
        raise typer.Exit(1)


# --- payment plans ------------------------------------------------------------

plan_app = typer.Typer(
    help="Payment plans: a balance in monthly instalments.", no_args_is_help=True
)
billing_app.add_typer(plan_app, name="plan")


def _patient_by_mrn(session, mrn: str):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from backoffice.billing import statements
    from backoffice.patients.models import Patient

    patient = session.exec(select(Patient).where(Patient.mrn == mrn)).first()
    if patient is None:
        raise statements.PatientNotFound(f"no patient with MRN {mrn}")
    return patient


@plan_app.command("create")
def plan_create(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN")],
    instalments: Annotated[int, typer.Option("--instalments", help="How many, 1 to 60")],
    first_due: Annotated[
        str | None,
        typer.Option("--first-due", help="YYYY-MM-DD; default the same day next month"),
    ] = None,
) -> None:
    """Split the patient's whole balance due into monthly instalments and print the
    schedule. A patient has one active plan at a time."""
    from datetime import date

    from backoffice.billing import statements
    from backoffice.cli import _cli_actor, _session

    first = (
        statements.as_of_date(first_due)
        if first_due is not None
        else statements.add_months(date.today(), 1)
    )
    with _session() as session:
        patient = _patient_by_mrn(session, mrn)
        plan = statements.create_payment_plan(
            session, _cli_actor(), patient_id=patient.id, count=instalments, first_due=first
        )
        # What was stored, not what was meant to be.
        schedule = next(
            rows
            for p, rows in statements.payment_plans_for(session, patient_id=patient.id)
            if p.id == plan.id
        )
    typer.echo(
        f"payment plan {plan.id.hex[:8]} for MRN {mrn}: {statements.dollars(plan.total_cents)} "
        f"in {len(schedule)} monthly instalment(s)"
    )
    for row in schedule:
        amount = statements.dollars(row.amount_cents)
        typer.echo(f"  {row.number:>2}  {row.due_date.isoformat()}  {amount:>10}")


@plan_app.command("show")
def plan_show(mrn: Annotated[str, typer.Argument(help="The patient's MRN")]) -> None:
    """The patient's payment plans, newest first, with each instalment paid and due."""
    from backoffice.billing import statements
    from backoffice.cli import _cli_actor, _session

    with _session() as session:
        patient = _patient_by_mrn(session, mrn)
        plans = statements.payment_plans_for(session, patient_id=patient.id)
        _cli_actor().audit(session, "billing.payment_plan.read", resource_type="patient",
                           resource_id=str(patient.id))  # fmt: skip
    if not plans:
        typer.echo(f"no payment plans for MRN {mrn}")
        return
    dollars = statements.dollars
    for plan, rows in plans:
        paid = sum(r.paid_cents for r in rows)
        created = plan.created_at.date().isoformat()
        typer.echo(
            f"plan {plan.id.hex[:8]} ({plan.status}), created {created}: "
            f"{dollars(plan.total_cents)} in {plan.instalment_count} instalment(s), "
            f"paid {dollars(paid)}, due {dollars(plan.total_cents - paid)}"
        )
        for r in rows:
            due = dollars(r.amount_cents - r.paid_cents)
            typer.echo(
                f"  {r.number:>2}  {r.due_date.isoformat()}  {dollars(r.amount_cents):>10}"
                f"  paid {dollars(r.paid_cents):>10}  due {due:>10}"
            )
