"""Back-office commands: serve, db, users, devices, payments, audit, keys, demo."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlmodel import Session

from backoffice.settings import get_settings
from shared.enums import PrincipalKind, Role
from shared.errors import AppError, InvalidInput

serve_app = typer.Typer(help="Run the back-office web service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
devices_app = typer.Typer(help="Kiosk device principals.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
keys_app = typer.Typer(help="Field-encryption keys.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo clinic.", no_args_is_help=True)
wait_list_app = typer.Typer(help="The appointment wait list.", no_args_is_help=True)
payments_app = typer.Typer(help="Card payments.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(serve_app, name="backoffice")
    root.add_typer(db_app, name="db")
    root.add_typer(users_app, name="users")
    root.add_typer(devices_app, name="devices")
    root.add_typer(audit_app, name="audit")
    root.add_typer(keys_app, name="keys")
    root.add_typer(demo_app, name="demo")
    root.add_typer(wait_list_app, name="wait-list")
    root.add_typer(payments_app, name="payments")


def _engine():  # type: ignore[no-untyped-def]
    import backoffice.models_registry  # noqa: F401  (every table, for foreign keys)
    from backoffice.db import make_engine

    return make_engine(get_settings().resolved_database_url)


@contextmanager
def _session() -> Iterator[Session]:
    """A session for one command, committed when it succeeds; refuses an unmigrated database."""
    from backoffice.migrate import current_revision, head_revision

    engine = _engine()
    if current_revision(engine) != head_revision():
        raise AppError("the database is not at the current schema; run: frontdesk db upgrade")
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.commit()
    engine.dispose()


def _cli_actor():  # type: ignore[no-untyped-def]
    from backoffice.security.actor import Actor
    from backoffice.security.principal import CLI_ORIGIN, Principal

    return Actor(Principal(PrincipalKind.SYSTEM, None, f"cli:{getpass.getuser()}"), CLI_ORIGIN)


def _cipher():  # type: ignore[no-untyped-def]
    from backoffice.security.crypto import FieldCipher, load_keyring

    return FieldCipher(load_keyring(get_settings().resolved_key_file, create=True))


# --- serve -------------------------------------------------------------------------------


@serve_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only)")] = 1,
) -> None:
    """Serve the API (and its docs at /docs)."""
    import uvicorn

    from backoffice.migrate import current_revision, head_revision

    settings = get_settings()
    if current_revision(_engine()) != head_revision():
        raise AppError("the database is not at the current schema; run: frontdesk db upgrade")
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        raise AppError("several workers need PostgreSQL; SQLite serves one process")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # uvicorn's own access log prints query strings, which carry names and birth dates.
    # Open queue streams never end by themselves: give them 3 s to go when asked to stop.
    uvicorn.run(
        "backoffice.asgi:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        timeout_graceful_shutdown=3,
    )


# --- db ----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database schema up to date (creates the SQLite file if needed)."""
    from backoffice.migrate import current_revision, upgrade

    engine = _engine()
    upgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    from backoffice.migrate import current_revision, head_revision

    typer.echo(f"current {current_revision(_engine()) or 'none'}, head {head_revision()}")


# --- users -------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Sign-in name")],
    role: Annotated[Role, typer.Option(help="Role")],
    password: Annotated[str | None, typer.Option(help="Prompted for when left out")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown to colleagues")] = None,
) -> None:
    """Create a staff account (the first admin, and everyone after)."""
    from pydantic import ValidationError

    from backoffice.staff import service as staff_service
    from backoffice.staff.schemas import StaffUserCreate

    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = StaffUserCreate(
            username=username, display_name=display_name or username, role=role, password=password
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    with _session() as session:
        user = staff_service.create_user(session, actor=_cli_actor(), data=data)
    typer.echo(f"created {role.value} account {user.username}")


# --- devices -----------------------------------------------------------------------------


@devices_app.command("add-kiosk")
def devices_add_kiosk(
    name: Annotated[str, typer.Argument(help="A name staff will recognise")],
) -> None:
    """Create a kiosk principal and print its token, once."""
    from backoffice.devices import service as devices_service

    with _session() as session:
        device, token = devices_service.add_kiosk(session, actor=_cli_actor(), name=name)
    typer.echo(f"kiosk {device.name} ({device.id})")
    typer.echo(f"token (shown once; set FRONTDESK_KIOSK_TOKEN on the kiosk): {token}")


def _device_named(session: Session, name: str):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from backoffice.devices.models import Device

    device = session.exec(select(Device).where(Device.name == name)).first()
    if device is None:
        raise AppError(f"no device named {name!r}")
    return device


@devices_app.command("enrollment-code")
def devices_enrollment_code(
    location: Annotated[str, typer.Option("--location", help="The location's id")],
    reader: Annotated[
        str | None, typer.Option("--reader", help="The card reader beside it (tmr_…)")
    ] = None,
    replaces: Annotated[
        str | None,
        typer.Option("--replaces", help="Enrol into this kiosk (by name): a replaced SD card"),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The new kiosk's name (default: its host name)")
    ] = None,
    expires_in: Annotated[
        int, typer.Option("--expires-in", help="Minutes the code is good for", min=5, max=10080)
    ] = 60,
) -> None:
    """Make a one-time code for `frontdesk provision enroll` on a new kiosk; print it."""
    import uuid
    from datetime import timedelta

    from backoffice.devices import enrolment
    from backoffice.kit.columns import utcnow

    try:
        location_id = uuid.UUID(location)
    except ValueError:
        raise typer.BadParameter(
            "expected a location id (a UUID)", param_hint="--location"
        ) from None
    with _session() as session:
        code, text = enrolment.create_enrollment_code(
            session,
            actor=_cli_actor(),
            location_id=location_id,
            now=utcnow(),
            lifetime=timedelta(minutes=expires_in),
            payment_reader_id=reader,
            device_id=_device_named(session, replaces).id if replaces else None,
            device_name=name,
        )
    typer.echo(text)
    print(
        f"frontdesk: single use, good until {code.expires_at:%Y-%m-%d %H:%M} UTC; on the kiosk: "
        f"sudo frontdesk provision enroll --server URL --code {text}",
        file=sys.stderr,
    )


@devices_app.command("list")
def devices_list(
    silent: Annotated[bool, typer.Option("--silent", help="Only kiosks gone silent")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The fleet: each device's kind, last heartbeat and whether it has gone silent."""
    import json
    from datetime import timedelta

    from backoffice.devices import service as devices_service
    from backoffice.kit.columns import utcnow

    after = timedelta(minutes=get_settings().kiosk_silent_after_minutes)
    now = utcnow()
    with _session() as session:
        devices = devices_service.all_devices(session)
    for device in devices:
        quiet = devices_service.is_silent(device, now=now, silent_after=after)
        if silent and not quiet:
            continue
        beat = devices_service.last_heartbeat(device)
        row = {
            "name": device.name,
            "id": str(device.id),
            "kind": device.kind,
            "state": "revoked" if device.revoked_at else "silent" if quiet else "ok",
            "last_seen": device.last_seen_at.isoformat() if device.last_seen_at else None,
            "version": beat.app_version if beat else None,
            "outbox_pending": beat.outbox_pending if beat else None,
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            seen = row["last_seen"] or "never"
            typer.echo(f"{row['state']:8} {device.kind:8} {device.name}  (last seen {seen})")


@devices_app.command("rotate-credential")
def devices_rotate_credential(name: Annotated[str, typer.Argument(help="The kiosk")]) -> None:
    """Ask a kiosk to renew its key and token: it does so on its next heartbeat, no visit."""
    from backoffice.devices import enrolment
    from backoffice.kit.columns import utcnow

    with _session() as session:
        enrolment.request_rotation(
            session, actor=_cli_actor(), device=_device_named(session, name), now=utcnow()
        )
    typer.echo(f"{name} renews its credential on its next heartbeat (about a minute)")


@devices_app.command("revoke")
def devices_revoke(name: Annotated[str, typer.Argument()]) -> None:
    from backoffice.devices import service as devices_service

    with _session() as session:
        devices_service.revoke(session, actor=_cli_actor(), device=_device_named(session, name))
    typer.echo(f"revoked {name}")


@devices_app.command("set-reader")
def devices_set_reader(
    name: Annotated[str, typer.Argument(help="The kiosk")],
    reader_id: Annotated[
        str, typer.Argument(help="Its card reader: the Stripe Terminal reader id (tmr_…)")
    ],
) -> None:
    """Pair a kiosk with the card reader beside it; its copays are taken there."""
    from backoffice.devices import service as devices_service

    with _session() as session:
        devices_service.set_payment_reader(
            session, actor=_cli_actor(), device=_device_named(session, name), reader_id=reader_id
        )
    typer.echo(f"{name} takes payments on {reader_id}")


# --- payments ----------------------------------------------------------------------------


@payments_app.command("reconcile")
def payments_reconcile(
    older_than_seconds: Annotated[
        int, typer.Option("--older-than", help="Leave payments touched more recently alone")
    ] = 60,
) -> None:
    """Bring unfinished card payments in line with the payment service: after an outage, or
    from a timer every few minutes. Exit 1 if the service did not answer."""
    from datetime import timedelta

    from backoffice.kit.columns import utcnow
    from backoffice.payments.service import Payments, reconcile

    payments = Payments.from_settings(get_settings())
    with _session() as session:
        result = reconcile(
            session, payments, now=utcnow(), older_than=timedelta(seconds=older_than_seconds)
        )
    for payment_id, status in result.changed.items():
        typer.echo(f"payment {payment_id}: {status}")
    typer.echo(f"{result.looked_at} unfinished, {len(result.changed)} brought up to date")
    if not result.complete:
        raise AppError("the payment service did not answer; run again later")


# --- audit -------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the hash chain end to end; exit 1 if any event was changed or removed."""
    from dataclasses import asdict

    from backoffice.audit.service import verify_chain

    with _session() as session:
        report = verify_chain(session)
    if as_json:
        typer.echo(json.dumps(asdict(report)))
    elif report.ok:
        typer.echo(f"audit chain intact: {report.events_checked} events")
    if not report.ok:
        print(
            f"frontdesk: error: audit chain broken at event {report.broken_at_seq}: "
            f"{report.reason}",
            file=sys.stderr,
        )
        raise typer.Exit(1)


@wait_list_app.command("expire-offers")
def wait_list_expire_offers() -> None:
    """Lapse offers past their time and offer each time to the next in line. Run it every
    minute from a timer; reading the wait list does the same, so nothing waits on it."""
    from backoffice.kit.columns import utcnow
    from backoffice.scheduling.service import expire_wait_list_offers

    with _session() as session:
        lapsed = expire_wait_list_offers(session, now=utcnow())
    typer.echo(f"{lapsed} offer(s) lapsed")


# --- keys --------------------------------------------------------------------------------


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new encryption key, make it active, and re-encrypt every protected field."""
    from backoffice.security import key_rotation

    settings = get_settings()
    with _session() as session:
        result = key_rotation.rotate(session, key_file=settings.resolved_key_file)
        _cli_actor().audit(
            session,
            "keys.rotate",
            detail={"new_key_id": result.new_key_id, "reencrypted": result.reencrypted},
        )
    typer.echo(f"active key {result.new_key_id}; re-encrypted {result.reencrypted} values")


@keys_app.command("list")
def keys_list() -> None:
    from backoffice.security import key_rotation

    settings = get_settings()
    with _session() as session:
        usage = key_rotation.usage(session, key_file=settings.resolved_key_file)
    for key_id, (active, count) in usage.items():
        typer.echo(f"{key_id}  {'active' if active else 'retired'}  {count} values")


# --- demo --------------------------------------------------------------------------------


@demo_app.command("seed")
def demo_seed(
    seed: Annotated[int, typer.Option(help="Random seed")] = 20261121,
    patients: Annotated[int, typer.Option(min=1, max=100_000)] = 80,
) -> None:
    """Fill an empty database with a believable demo clinic."""
    from backoffice import demo

    with _session() as session:
        summary = demo.seed(
            session,
            cipher=_cipher(),
            actor=_cli_actor(),
            seed=seed,
            patients=patients,
            var_dir=get_settings().var_dir,
        )
    typer.echo(summary)
