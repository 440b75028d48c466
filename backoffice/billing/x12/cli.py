"""`frontdesk x12`: check X12 files with pyx12 and read 835 remittances, without a database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from backoffice.billing.x12.reading import x12_text
from shared.errors import AppError

x12_app = typer.Typer(help="X12 EDI files: validate, read remittances.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(x12_app, name="x12")


def _read_text(path: Path) -> str:
    """The file as text: X12 is ASCII, but a payer's names may come in UTF-8 or Latin-1."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AppError(f"{path}: no such file") from None
    except OSError as exc:
        raise AppError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return x12_text(data)


def _warn(message: str) -> None:
    print(f"frontdesk: warning: {message}", file=sys.stderr)


@x12_app.command("read-835")
def read_835_command(
    file: Annotated[Path, typer.Argument(help="An 835 (005010X221A1) file")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per remittance (ST/SE), one per line")
    ] = False,
) -> None:
    """Read an 835 remittance: payer, payment, claims, adjustments; check it balances.

    A damaged file is one error line and exit 1; payer slips and imbalances warn on stderr.
    """
    from backoffice.billing.x12.remit_835 import (
        X12ReadError,
        check_balance,
        read_835,
        to_json_object,
    )

    try:
        remittances = read_835(_read_text(file))
    except X12ReadError as exc:
        raise AppError(f"{file}: {exc.detail}") from None
    for remit in remittances:
        balance = check_balance(remit)
        if as_json:
            typer.echo(json.dumps(to_json_object(remit)))
        else:
            paid_on = remit.payment_date.isoformat() if remit.payment_date else "no date"
            typer.echo(
                f"{remit.payer_name}: payment {remit.payment_amount} ({paid_on}, trace "
                f"{remit.trace_number}), {len(remit.claims)} claim(s), "
                f"{len(remit.provider_adjustments)} provider adjustment(s); "
                + ("balances" if balance.ok else "DOES NOT BALANCE")
            )
        for note in remit.notes:
            _warn(f"{file}: {note}")
        for problem in balance.problems:
            _warn(f"{file}: does not balance: {problem}")


@x12_app.command("validate")
def validate_command(
    file: Annotated[Path, typer.Argument(help="An X12 file (837P, 835, …)")],
) -> None:
    """Validate an X12 file with pyx12; print each finding, exit 1 if there is any."""
    from backoffice.billing.x12.validate import validate_x12

    findings = validate_x12(_read_text(file))
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        raise AppError(f"{file}: {len(findings)} finding(s)")
    typer.echo(f"{file}: valid")
