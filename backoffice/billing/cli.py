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


# --- claims (Helper H) -------------------------------------------------------------------


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
            f"made {len(made.claims)} claim(s) from reviewed charges: {made.ready} ready, "
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


# --- era: remittances in (Helper I) ------------------------------------------------------

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
