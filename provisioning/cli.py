"""`frontdesk provision …`: what a technician runs on the kiosk itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shared.contracts.provisioning import DEFAULT_CONFIG_PATH

provision_app = typer.Typer(
    help="Set up this kiosk: enrol it with the back office and check its health.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        envvar="FRONTDESK_KIOSK_CONFIG",
        help="The kiosk's configuration file",
        show_default=True,
    ),
]


def register(root: typer.Typer) -> None:
    root.add_typer(provision_app, name="provision")


@provision_app.command("enroll")
def enroll(
    server: Annotated[str, typer.Option("--server", help="The back office, https://…")],
    code: Annotated[str, typer.Option("--code", help="The enrolment code an admin made")],
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    credential_dir: Annotated[
        Path | None,
        typer.Option(
            "--credential-dir",
            help="Where the token and key go (default: /var/lib/frontdesk/credential, or "
            "beside --config when it is not the default)",
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="The user the kiosk runs as (default: kiosk, when root)"),
    ] = None,
) -> None:
    """Enrol this kiosk: a new key pair, the code exchanged for its credential, the file
    written. Enrolling again replaces the old credential."""
    from provisioning.enrol import enrol

    result = enrol(
        server=server, code=code, config_path=config, credential_dir=credential_dir, owner=owner
    )
    for line in result.summary():
        typer.echo(line)


@provision_app.command("doctor")
def doctor(
    config: ConfigOption = DEFAULT_CONFIG_PATH,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, max=60, help="Seconds to wait for the back office"),
    ] = None,
) -> None:
    """Check this kiosk's camera, OCR, barcode libraries, serial devices, card reader,
    back office, credential, clock and disk; each failure comes with its fix."""
    from provisioning.doctor import run_doctor

    raise typer.Exit(run_doctor(config, as_json=as_json, timeout=timeout))
