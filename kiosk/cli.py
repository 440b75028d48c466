"""`frontdesk kiosk …`: a headless check-in, and the outbox for technicians."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hardware.ports import ReceiptPrinter
from hardware.printer import SimulatedPrinter
from shared.errors import AppError
from shared.money import format_dollars

if TYPE_CHECKING:
    from kiosk.settings import KioskSettings

NO_CREDENTIAL = (
    "no kiosk token: enrol this kiosk (`frontdesk provision enroll`), "
    "or set FRONTDESK_KIOSK_TOKEN (from `frontdesk devices add-kiosk`)"
)

kiosk_app = typer.Typer(help="The lobby kiosk: check-in and its outbox.", no_args_is_help=True)
outbox_app = typer.Typer(help="Check-ins waiting to reach the back office.", no_args_is_help=True)
kiosk_app.add_typer(outbox_app, name="outbox")


def register(root: typer.Typer) -> None:
    root.add_typer(kiosk_app, name="kiosk")
    # `frontdesk demo walkthrough` joins the back office's demo group when it is installed.
    demo = next((g.typer_instance for g in root.registered_groups if g.name == "demo"), None)
    if demo is None:
        demo = typer.Typer(help="The demo clinic.", no_args_is_help=True)
        root.add_typer(demo, name="demo")
    demo.command("walkthrough")(walkthrough)


def _settings() -> KioskSettings:
    """The kiosk's settings (environment over kiosk.toml), with its token; anything wrong
    with them is one line."""
    from pydantic import ValidationError

    from kiosk.settings import KioskSettings, SettingsFileError, first_error
    from shared.device_credential import CredentialError

    try:
        settings = KioskSettings()
    except (SettingsFileError, CredentialError) as exc:
        raise AppError(str(exc)) from exc
    except ValidationError as exc:
        raise AppError(f"kiosk settings: {first_error(exc)}") from exc
    if settings.token is None:
        raise AppError(NO_CREDENTIAL)
    return settings


@contextmanager
def _parts() -> Iterator[tuple]:  # type: ignore[type-arg]
    from kiosk.client import BackOfficeClient
    from kiosk.outbox import Outbox, OutboxError, load_or_create_key

    settings = _settings()
    assert settings.token is not None
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        outbox = Outbox(settings.outbox_path, load_or_create_key(settings.key_path))
    except OutboxError as exc:
        raise AppError(f"the outbox cannot be opened: {exc}") from exc
    client = BackOfficeClient(
        settings.server, settings.token.get_secret_value(), timeout=settings.timeout_seconds
    )
    try:
        yield settings, client, outbox
    finally:
        client.close()
        outbox.close()


def _existing_file(path: Path | None) -> Path | None:
    if path is not None and not path.is_file():
        raise typer.BadParameter(f"no such file: {path}")
    return path


@kiosk_app.command("check-in")
def check_in(
    last_name: Annotated[str, typer.Option("--last-name", help="As on the appointment")],
    dob: Annotated[str, typer.Option("--dob", help="Date of birth, YYYY-MM-DD")],
    card_front: Annotated[
        Path | None, typer.Option("--card-front", help="Insurance card, front")
    ] = None,
    card_back: Annotated[
        Path | None, typer.Option("--card-back", help="Insurance card, back")
    ] = None,
    sign: Annotated[bool, typer.Option("--sign", help="Sign the consent forms asked for")] = False,
    pay: Annotated[bool, typer.Option("--pay", help="Pay the copay on the card reader")] = False,
    card: Annotated[
        str, typer.Option("--card", help="Test mode: the test card tapped on the reader")
    ] = "4242424242424242",
    receipt: Annotated[
        bool, typer.Option("--receipt", help="Print the receipt (FRONTDESK_KIOSK_PRINTER_PORT)")
    ] = False,
) -> None:
    """Run one check-in through the kiosk's flow and outbox, as a patient would."""
    from kiosk.driver import ConsentCache, FlowDriver
    from kiosk.flow import CheckInFlow
    from kiosk.headless import HeadlessError
    from kiosk.headless import check_in as run

    try:
        born = date.fromisoformat(dob)
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--dob") from None
    _existing_file(card_front)
    _existing_file(card_back)
    with _parts() as (settings, client, outbox):
        driver = FlowDriver(
            CheckInFlow(),
            client=client,
            outbox=outbox,
            consent_cache=ConsentCache(settings.consent_cache_path),
            printer=_printer(settings.printer_port) if receipt else None,
        )
        try:
            outcome = run(
                driver,
                last_name=last_name,
                date_of_birth=born,
                card_front=card_front,
                card_back=card_back,
                sign=sign,
                pay=pay,
                test_card=card,
                receipt=receipt,
            )
        except HeadlessError as exc:
            raise AppError(str(exc)) from exc
    for note in outcome.notes:
        print(f"frontdesk: note: {note}", file=sys.stderr)
    where = (
        "delivered to the back office"
        if outcome.delivered
        else "kept in the outbox until the back office answers"
    )
    mode = " (recorded offline)" if outcome.offline else ""
    typer.echo(f"checked in{mode}: {outcome.check_in_id}, {where}")
    if outcome.paid_cents:
        typer.echo(f"copay paid: {format_dollars(outcome.paid_cents)}")


@kiosk_app.command("run")
def run(
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Simulated camera, scanner, printer and test cards")
    ] = False,
    fullscreen: Annotated[
        bool, typer.Option("--fullscreen", help="The whole screen, no cursor (the Pi)")
    ] = False,
) -> None:
    """The touchscreen app patients use in the lobby."""
    from kiosk.ui.launch import kiosk_parts, prepare_kivy

    settings = _settings()
    prepare_kivy(settings.var_dir, fullscreen=fullscreen)
    from kiosk.ui.app import KioskApp
    from kiosk.ui.look import LOOK

    LOOK.dpi = settings.display_dpi
    with kiosk_parts(settings, simulate=simulate) as parts:
        KioskApp(parts).run()


def walkthrough(
    out: Annotated[Path, typer.Option("--out", help="Folder for the screenshots")],
    last_name: Annotated[str, typer.Option("--last-name", help="A patient due soon")],
    dob: Annotated[str, typer.Option("--dob", help="Their date of birth, YYYY-MM-DD")],
) -> None:
    """Drive the real app by touch through a whole check-in, saving a screenshot per screen
    (needs a running back office and a screen, e.g. Xvfb; uses simulated hardware)."""
    import asyncio

    from kiosk.ui.launch import kiosk_parts, prepare_kivy

    try:
        born = date.fromisoformat(dob)
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--dob") from None
    settings = _settings()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise AppError("no screen: run under Xvfb (xvfb-run frontdesk demo walkthrough …)")
    prepare_kivy(settings.var_dir, fullscreen=False)
    from kiosk.ui.app import KioskApp
    from kiosk.ui.walkthrough import Patient, Walkthrough, play

    figures: dict[str, float] = {}

    async def script(robot) -> None:
        figures["start_seconds"] = _process_age()
        figures["rss_mib_at_start"] = _rss_mib()
        walk = Walkthrough(robot, out)
        await walk.check_in(Patient(last_name, born))
        figures["rss_mib_after_check_in"] = _rss_mib()
        for shot in walk.shots:
            typer.echo(str(shot))

    with kiosk_parts(settings, simulate=True) as parts:
        asyncio.run(play(KioskApp(parts), script))
    typer.echo(
        f"welcome screen shown {figures['start_seconds']:.2f} s after the process started; RSS "
        f"{figures['rss_mib_at_start']:.0f} MiB at the welcome screen, "
        f"{figures['rss_mib_after_check_in']:.0f} MiB after a check-in"
    )


def _process_age() -> float:
    """Seconds since this process started (Python's own start-up included), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    return float(Path("/proc/uptime").read_text().split()[0]) - started


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@kiosk_app.command("staff-pin")
def staff_pin() -> None:
    """Make the hash of a staff PIN for FRONTDESK_KIOSK_STAFF_PIN_HASH (asked twice, not shown)."""
    from kiosk.staff import PinError, hash_pin

    pin = typer.prompt("Staff PIN", hide_input=True, confirmation_prompt=True)
    try:
        typer.echo(hash_pin(pin))
    except PinError as exc:
        raise AppError(str(exc)) from exc


def _printer(port: str | None) -> ReceiptPrinter:
    """The serial printer configured, else one in memory (a kiosk set up without one)."""
    if port is None:
        return SimulatedPrinter()
    from hardware.printer.driver import SerialReceiptPrinter

    return SerialReceiptPrinter(port)


@outbox_app.command("status")
def outbox_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What is waiting, without any patient data."""
    with _parts() as (_settings, _client, outbox):
        status = outbox.status()
    if as_json:
        typer.echo(json.dumps(asdict(status), default=str))
        return
    typer.echo(f"pending {status.pending}, held {status.held}")
    if status.last_error:
        typer.echo(f"last error: {status.last_error}")


@outbox_app.command("flush")
def outbox_flush() -> None:
    """Send everything pending now; exit 1 if anything is still waiting afterwards."""
    from kiosk.client import HttpTransport

    with _parts() as (_settings, client, outbox):
        report = outbox.flush(HttpTransport(client))
        status = outbox.status()
    typer.echo(f"delivered {report.delivered}, retrying {report.retried}, held {report.held}")
    if status.pending or status.held:
        raise typer.Exit(1)
