"""The devices pages: is every kiosk and lobby display up, and how is each doing? The front
desk sees them (a silent kiosk is theirs to notice first); administrators enrol kiosks, set
what each one does, renew its credential, add lobby displays and revoke devices.

    GET  /staff/devices                   the fleet: health, credential, peripherals
    GET  /staff/devices/enrol             a one-time enrolment code (?replace=ID: for a kiosk's
    POST /staff/devices/enrol               new SD card) → the code, shown once
    GET  /staff/devices/{id}              one kiosk: status, peripherals, its configuration
    POST /staff/devices/{id}/config       languages, consent forms, idle timeout, card reader
    POST /staff/devices/{id}/renew        the kiosk renews its credential at its next heartbeat
    POST /staff/devices/displays          a lobby display and its sign-in code, shown once
    GET|POST /staff/devices/{id}/revoke

A kiosk says how it is doing in its heartbeat (about once a minute); a display is seen when
its page refreshes. Either one unheard of for the settings' `kiosk_silent_after_minutes` is
tagged "Silent". Everything here goes through the same services as the API.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, func, select
from starlette.datastructures import FormData

from backoffice.checkin.models import ConsentDocument
from backoffice.clinic.models import Location
from backoffice.console.models import ConsoleSession
from backoffice.console.web import (
    attempt,
    field_errors,
    page_requires,
    parse_form,
    parse_uuid,
    render,
    see_other,
)
from backoffice.db import SessionDep
from backoffice.devices import enrolment
from backoffice.devices import service as devices_service
from backoffice.devices.models import Device
from backoffice.devices.schemas import DisplayCreate, EnrollmentCodeCreate
from backoffice.kit.columns import utcnow
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from backoffice.settings import Settings
from shared.contracts.kiosk import KioskHeartbeat, PeripheralState
from shared.contracts.provisioning import (
    MAX_IDLE_TIMEOUT_SECONDS,
    MIN_IDLE_TIMEOUT_SECONDS,
    SUPPORTED_LANGUAGES,
    KioskConfig,
    KioskConfigChange,
)
from shared.errors import InvalidInput, NotFound

devices_pages = APIRouter(prefix="/staff/devices")

KIND_LABELS = {"kiosk": "Kiosk", "display": "Lobby display"}
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
NAME_RULE = "Give a name of up to 80 letters, digits, spaces, dots, dashes or underscores."
LOCATION_RULE = "Choose the location whose waiting room it stands in."
LOBBY_SIGN_IN = "/lobby/sign-in"
# A kiosk's health is flagged below this much free disk (either one), or this far off the clock.
LOW_DISK_BYTES = 1024**3
LOW_DISK_SHARE = 0.10
CLOCK_TOLERANCE_MS = 5_000

DeviceReader = Annotated[Actor, Depends(page_requires(Permission.SCHEDULE_READ))]
DeviceManager = Annotated[Actor, Depends(page_requires(Permission.DEVICES_MANAGE))]


# --- how a device is doing, in words -----------------------------------------------------------


@dataclass(frozen=True)
class Sign:
    """One thing to read at a glance: `alarm` needs someone, `pending` is on its way."""

    text: str
    tone: Literal["plain", "pending", "alarm"] = "plain"


@dataclass(frozen=True)
class Peripheral:
    name: str
    state: str
    detail: str | None

    @property
    def ok(self) -> bool:
        return self.state == PeripheralState.OK


@dataclass(frozen=True)
class DeviceRow:
    """One device as the pages show it: no PHI anywhere on it."""

    id: uuid.UUID
    name: str
    kind: str
    location: str
    last_seen: datetime | None
    silent: bool
    revoked_at: datetime | None
    is_kiosk: bool = False
    hostname: str | None = None
    app_version: str | None = None
    outbox_pending: int | None = None
    outbox_held: int | None = None
    health: list[Sign] = field(default_factory=list)
    credential: list[Sign] = field(default_factory=list)
    peripherals: list[Peripheral] = field(default_factory=list)


def ago(then: datetime | None, now: datetime) -> str:
    """ "3 min ago", for a last-seen column read at a glance."""
    if then is None:
        return "Never"
    minutes = int((now - then) / timedelta(minutes=1))
    if minutes < 1:
        return "Just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def _span(seconds: float) -> str:
    """A length of time as one rounded figure: "40 s", "12 min", "5 h", "3 days"."""
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600:.0f} h"
    return f"{seconds // 86400:.0f} days"


def uptime_sign(seconds: int) -> Sign:
    return Sign("Up under a minute" if seconds < 60 else f"Up {_span(seconds)}")


def _gigabytes(size: int) -> str:
    """Rounded down, so that what is shown as 1.0 GB is never less than 1 GB."""
    gb = size / 1024**3
    return f"{math.floor(gb * 10) / 10:.1f} GB" if gb < 10 else f"{math.floor(gb)} GB"


def disk_sign(free: int, total: int | None) -> Sign:
    """Free disk, flagged when under 1 GB or under 10 % of the disk: the outbox and the
    logs live there, and a full SD card stops check-ins from being kept."""
    share = free / total if total else None
    low = free < LOW_DISK_BYTES or (share is not None and share < LOW_DISK_SHARE)
    if low:
        part = f" ({share:.0%})" if share is not None else ""
        return Sign(f"Disk low: {_gigabytes(free)} free{part}", "alarm")
    of_total = f" of {_gigabytes(total)}" if total else ""
    return Sign(f"Disk {_gigabytes(free)} free{of_total}")


def clock_sign(offset_ms: int) -> Sign:
    """The kiosk's clock against the back office's, flagged beyond 5 s: check-in times,
    appointment windows and signed requests all lean on it."""
    way = "fast" if offset_ms > 0 else "slow"
    figure = _span(abs(offset_ms) / 1000)
    if abs(offset_ms) > CLOCK_TOLERANCE_MS:
        return Sign(f"Clock {figure} {way}", "alarm")
    return Sign("Clock right" if abs(offset_ms) < 100 else f"Clock right ({figure} {way})")


def settings_sign(applied: int | None, current: int) -> Sign:
    if applied is None:
        return Sign("Settings: not reported")
    if applied == current:
        return Sign("Runs the current settings")
    return Sign("New settings not applied yet", "pending")


def health_signs(beat: KioskHeartbeat, *, current_version: int) -> list[Sign]:
    signs = []
    if beat.uptime_seconds is not None:
        signs.append(uptime_sign(beat.uptime_seconds))
    if beat.disk_free_bytes is not None:
        signs.append(disk_sign(beat.disk_free_bytes, beat.disk_total_bytes))
    if beat.clock_offset_ms is not None:
        signs.append(clock_sign(beat.clock_offset_ms))
    signs.append(settings_sign(beat.config_version, current_version))
    return signs


def credential_signs(device: Device, now: datetime) -> list[Sign]:
    """Where the kiosk's credential stands: enrolled with its own key (and renewable from
    here), or a bare token from before enrolment codes."""
    if device.public_key is None:
        return [Sign("Token only: not enrolled with a key")]
    signs = [Sign(f"Enrolled {ago(device.enrolled_at, now).lower()}")]
    if device.credential_rotated_at is not None:
        signs.append(Sign(f"Renewed {ago(device.credential_rotated_at, now).lower()}"))
    else:
        signs.append(Sign("Never renewed"))
    if device.rotation_requested_at is not None:
        asked = ago(device.rotation_requested_at, now).lower()
        signs.append(Sign(f"Renewal asked {asked}", "pending"))
    return signs


# --- the fleet ---------------------------------------------------------------------------------


def _displays_seen(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """A display is seen when its page refreshes: its sign-in's last touch."""
    if not ids:
        return {}
    rows = session.exec(
        select(ConsoleSession.device_id, func.max(ConsoleSession.last_seen_at))
        .where(col(ConsoleSession.device_id).in_(ids))
        .group_by(col(ConsoleSession.device_id))
    ).all()
    return {device_id: seen for device_id, seen in rows if device_id is not None}


def _silent_after(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.kiosk_silent_after_minutes)


def device_row(
    session: Session,
    device: Device,
    *,
    settings: Settings,
    now: datetime,
    places: dict[uuid.UUID, str],
    display_seen: datetime | None = None,
) -> DeviceRow:
    is_kiosk = device.kind == "kiosk"
    if is_kiosk:
        seen = device.last_seen_at
        silent = devices_service.is_silent(device, now=now, silent_after=_silent_after(settings))
    else:
        seen = max((t for t in (device.last_seen_at, display_seen) if t is not None), default=None)
        silent = seen is None or now - seen > _silent_after(settings)
    beat = devices_service.last_heartbeat(device)
    health: list[Sign] = []
    if is_kiosk and beat is not None:
        config = devices_service.kiosk_config(session, device=device, settings=settings, now=now)
        health = health_signs(beat, current_version=config.version)
    return DeviceRow(
        id=device.id,
        name=device.name,
        kind=KIND_LABELS.get(device.kind, device.kind),
        location=places.get(device.location_id, "") if device.location_id else "Any",
        last_seen=seen,
        silent=silent,
        revoked_at=device.revoked_at,
        is_kiosk=is_kiosk,
        hostname=device.hostname,
        app_version=beat.app_version if beat else None,
        outbox_pending=beat.outbox_pending if beat else None,
        outbox_held=beat.outbox_held if beat else None,
        health=health,
        credential=credential_signs(device, now) if is_kiosk else [],
        peripherals=[
            Peripheral(name, status.state.value, status.detail)
            for name, status in sorted(beat.peripherals.items())
        ]
        if beat
        else [],
    )


def device_rows(session: Session, *, settings: Settings, now: datetime) -> list[DeviceRow]:
    devices = devices_service.all_devices(session)
    places = _places(session)
    displays_seen = _displays_seen(session, [d.id for d in devices if d.kind == "display"])
    return [
        device_row(
            session,
            device,
            settings=settings,
            now=now,
            places=places,
            display_seen=displays_seen.get(device.id),
        )
        for device in devices
    ]


def _places(session: Session) -> dict[uuid.UUID, str]:
    return {loc.id: loc.name for loc in session.exec(select(Location))}


def _locations(session: Session) -> list[Location]:
    return list(session.exec(select(Location).order_by(col(Location.name))))


def _page(
    request: Request,
    session: Session,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    now = utcnow()
    settings: Settings = request.app.state.settings
    rows = device_rows(session, settings=settings, now=now)
    active = [r for r in rows if r.revoked_at is None]
    return render(
        request,
        "devices/page.html",
        status=status,
        kiosks=[r for r in active if r.is_kiosk],
        displays=[r for r in active if not r.is_kiosk],
        revoked=[r for r in rows if r.revoked_at is not None],
        locations=_locations(session),
        silent_minutes=settings.kiosk_silent_after_minutes,
        ago=lambda then: ago(then, now),
        form=form or {},
        errors=errors or {},
    )


@devices_pages.get("", name="console.devices")
def devices_page(request: Request, session: SessionDep, actor: DeviceReader) -> Response:
    return _page(request, session)


# --- lobby displays ----------------------------------------------------------------------------


def _friendly(errors: dict[str, str]) -> dict[str, str]:
    wording = {"name": NAME_RULE, "location_id": LOCATION_RULE}
    return {name: wording.get(name, message) for name, message in errors.items()}


def _form(data: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in data.items() if k != "csrf_token"}


@devices_pages.post("/displays", name="console.devices_add_display")
async def add_display(request: Request, session: SessionDep, actor: DeviceManager) -> Response:
    form = _form(await request.form())
    data, errors = parse_form(DisplayCreate, form)
    if data is None:
        return _page(request, session, status=422, form=form, errors=_friendly(errors))
    issued, refusal = attempt(
        session,
        lambda: devices_service.add_display(
            session, actor=actor, name=data.name, location_id=data.location_id
        ),
    )
    if refusal is not None:
        errors = (
            field_errors(refusal.errors)
            if isinstance(refusal, InvalidInput)
            else {"name": refusal.detail}
        )
        return _page(request, session, status=refusal.status, form=form, errors=errors)
    device, token = issued
    location = session.get(Location, data.location_id)
    response = render(
        request,
        "devices/issued.html",
        status=201,
        device=device,
        location=location,
        token=token,
        sign_in_url=_base_url(request) + LOBBY_SIGN_IN,
    )
    response.headers["Cache-Control"] = "no-store"  # the token is shown this once
    return response


def _base_url(request: Request) -> str:
    """The address kiosks and screens must reach: FRONTDESK_PUBLIC_URL when set (behind a TLS
    proxy), otherwise this back office as the browser reached it."""
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


# --- enrolling a kiosk -------------------------------------------------------------------------

ENROL_WORDING = {
    "location_id": "Choose the location whose lobby the kiosk stands in.",
    "device_name": NAME_RULE,
    "payment_reader_id": "Up to 80 characters: the reader's id, like tmr_FDOt2wlRZEdpd7.",
    "expires_in_minutes": "A whole number of minutes, from 5 to 10080 (a week).",
    "device_id": "That kiosk no longer exists; start again from the devices page.",
}


def _replaced_kiosk(session: Session, device_id: uuid.UUID | None) -> Device | None:
    if device_id is None:
        return None
    device = session.get(Device, device_id)
    if device is None or device.kind != "kiosk":
        raise NotFound("No kiosk with that id.")
    return device


def _enrol_form(
    request: Request,
    session: Session,
    *,
    replacing: Device | None,
    form: dict[str, str],
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "devices/enrol.html",
        status=status,
        replacing=replacing,
        locations=_locations(session),
        form=form,
        errors=errors or {},
    )


@devices_pages.get("/enrol", name="console.devices_enrol_form")
def enrol_form(
    request: Request,
    session: SessionDep,
    actor: DeviceManager,
    replace: uuid.UUID | None = None,
) -> Response:
    replacing = _replaced_kiosk(session, replace)
    form = {"expires_in_minutes": "60"}
    if replacing is not None and replacing.location_id is not None:
        form["location_id"] = str(replacing.location_id)
    return _enrol_form(request, session, replacing=replacing, form=form)


@devices_pages.post("/enrol", name="console.devices_enrol")
async def enrol(request: Request, session: SessionDep, actor: DeviceManager) -> Response:
    """A one-time code for the technician's `frontdesk provision enroll`, shown this once."""
    form = _form(await request.form())
    replacing = _replaced_kiosk(session, parse_uuid(form.get("device_id")))
    if replacing is not None:
        form.pop("device_name", None)  # the kiosk keeps its name
    data, errors = parse_form(EnrollmentCodeCreate, form)
    if data is None:
        errors = {name: ENROL_WORDING.get(name, message) for name, message in errors.items()}
        return _enrol_form(
            request, session, replacing=replacing, form=form, status=422, errors=errors
        )
    made, refusal = attempt(
        session,
        lambda: enrolment.create_enrollment_code(
            session,
            actor=actor,
            location_id=data.location_id,
            now=utcnow(),
            lifetime=timedelta(minutes=data.expires_in_minutes),
            payment_reader_id=data.payment_reader_id,
            device_id=data.device_id,
            device_name=data.device_name,
        ),
    )
    if refusal is not None:
        errors = (
            field_errors(refusal.errors)
            if isinstance(refusal, InvalidInput)
            else {"location_id": refusal.detail}
        )
        return _enrol_form(
            request, session, replacing=replacing, form=form, status=refusal.status, errors=errors
        )
    code, text = made
    server = _base_url(request)
    response = render(
        request,
        "devices/enrolment_code.html",
        status=201,
        code=code,
        text=text,
        replacing=replacing,
        location=session.get(Location, code.location_id),
        server=server,
        command=f"sudo frontdesk provision enroll --server {server} --code {text}",
        lifetime=_span((code.expires_at - code.created_at).total_seconds()),
    )
    response.headers["Cache-Control"] = "no-store"  # the code is shown this once
    return response


# --- one kiosk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentChoice:
    code: str
    title: str


def current_consent_forms(session: Session) -> list[ConsentChoice]:
    """The consent forms a kiosk can ask for: the newest active version of each, by code
    (the order the kiosk asks them in when it asks every current one)."""
    newest: dict[str, ConsentDocument] = {}
    query = select(ConsentDocument).where(col(ConsentDocument.active))
    for document in session.exec(query.order_by(col(ConsentDocument.version))):
        newest[document.code] = document
    return [ConsentChoice(code, newest[code].title) for code in sorted(newest)]


def _kiosk(session: Session, device_id: uuid.UUID) -> Device:
    device = session.get(Device, device_id)
    if device is None or device.kind != "kiosk":
        raise NotFound("No kiosk with that id: lobby displays have no page of their own.")
    return device


def _config_form(device: Device, config: KioskConfig) -> dict[str, Any]:
    """The form as the kiosk stands: what it uses now; blank where it follows a default."""
    pinned = devices_service.consent_codes_for(device)
    idle = device.settings.get("idle_timeout_seconds")
    return {
        "languages": list(config.languages),
        "start_language": config.languages[0],
        "consent_mode": "every" if pinned is None else "only",
        "consent_documents": list(config.consent_documents),
        "idle_timeout_seconds": "" if idle is None else str(idle),
        "payment_reader_id": device.payment_reader_id or "",
    }


def _kiosk_page(
    request: Request,
    session: Session,
    device: Device,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    now = utcnow()
    settings: Settings = request.app.state.settings
    config = devices_service.kiosk_config(session, device=device, settings=settings, now=now)
    beat = devices_service.last_heartbeat(device)
    forms = current_consent_forms(session)
    titles = {f.code: f.title for f in forms}
    return render(
        request,
        "devices/kiosk.html",
        status=status,
        device=device,
        row=device_row(session, device, settings=settings, now=now, places=_places(session)),
        beat=beat,
        config=config,
        follows_every_form=devices_service.consent_codes_for(device) is None,
        consent_titles=[titles.get(code, code) for code in config.consent_documents],
        consent_forms=forms,
        languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LANGUAGES],
        language_names=LANGUAGE_NAMES,
        default_idle=settings.kiosk_idle_timeout_seconds,
        idle_range=(MIN_IDLE_TIMEOUT_SECONDS, MAX_IDLE_TIMEOUT_SECONDS),
        silent_minutes=settings.kiosk_silent_after_minutes,
        ago=lambda then: ago(then, now),
        labels=CONFIG_LABELS,
        form=form if form is not None else _config_form(device, config),
        errors=errors or {},
    )


@devices_pages.get("/{device_id}", name="console.device")
def kiosk_page(
    request: Request, session: SessionDep, actor: DeviceReader, device_id: uuid.UUID
) -> Response:
    return _kiosk_page(request, session, _kiosk(session, device_id))


CONFIG_LABELS = {
    "languages": "Languages",
    "start_language": "Patients start in",
    "consent_mode": "Consent forms",
    "consent_documents": "Consent forms",
    "idle_timeout_seconds": "Idle timeout",
    "payment_reader_id": "Card reader id",
}
CONFIG_WORDING = {
    "languages": "Tick the languages the kiosk offers: English, Español or both.",
    "idle_timeout_seconds": (
        f"A whole number of seconds from {MIN_IDLE_TIMEOUT_SECONDS} to "
        f"{MAX_IDLE_TIMEOUT_SECONDS}, or blank for the clinic's default."
    ),
    "payment_reader_id": "Up to 80 characters: the reader's id, like tmr_FDOt2wlRZEdpd7.",
    "consent_documents": "Choose among the current consent forms.",
}


def config_change(
    device: Device, config: KioskConfig, form: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """What the admin changed on the form, as `KioskConfigChange` fields (None: back to the
    clinic's default), or each field's problem. A field left as it was is left out, so one
    that follows the clinic's default goes on following it."""
    change: dict[str, Any] = {}
    errors: dict[str, str] = {}
    ticked = [code for code in SUPPORTED_LANGUAGES if code in form["languages"]]
    start = form["start_language"]
    if not ticked:
        errors["languages"] = "Tick at least one language."
    elif start not in ticked:
        errors["start_language"] = "Patients start in one of the ticked languages: tick it too."
    else:
        languages = [start] + [code for code in ticked if code != start]
        if languages != config.languages:
            change["languages"] = languages
    pinned = devices_service.consent_codes_for(device)
    if form["consent_mode"] == "every":
        if pinned is not None:
            change["consent_documents"] = None
    elif form["consent_mode"] == "only":
        if form["consent_documents"] != pinned:
            change["consent_documents"] = form["consent_documents"]
    else:
        errors["consent_mode"] = "Choose every current form, or only the ones ticked."
    idle = form["idle_timeout_seconds"].strip()
    if idle != str(device.settings.get("idle_timeout_seconds") or ""):
        change["idle_timeout_seconds"] = idle or None
    reader = form["payment_reader_id"].strip()
    if reader != (device.payment_reader_id or ""):
        change["payment_reader_id"] = reader or None
    return change, errors


@devices_pages.post("/{device_id}/config", name="console.devices_configure")
async def configure(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> Response:
    device = _kiosk(session, device_id)
    sent = await request.form()
    form = {
        "languages": [str(v) for v in sent.getlist("languages")],
        "start_language": str(sent.get("start_language", "")),
        "consent_mode": str(sent.get("consent_mode", "")),
        "consent_documents": [str(v) for v in sent.getlist("consent_documents")],
        "idle_timeout_seconds": str(sent.get("idle_timeout_seconds", "")),
        "payment_reader_id": str(sent.get("payment_reader_id", "")),
    }
    settings: Settings = request.app.state.settings
    config = devices_service.kiosk_config(session, device=device, settings=settings, now=utcnow())
    change, errors = config_change(device, config, form)
    parsed, problems = _parsed_change(change)
    errors = problems | errors  # every field's message at once, the form's own words first
    if parsed is None or errors:
        return _kiosk_page(request, session, device, status=422, form=form, errors=errors)
    if not change:
        return see_other(f"/staff/devices/{device.id}", "Nothing changed.")
    _, refusal = attempt(
        session,
        lambda: devices_service.change_config(session, actor=actor, device=device, change=parsed),
    )
    if refusal is None:
        return see_other(
            f"/staff/devices/{device.id}",
            "Saved: the kiosk applies it at its next heartbeat, within about a minute.",
        )
    session.refresh(device)
    errors = (
        field_errors(refusal.errors)
        if isinstance(refusal, InvalidInput)
        else {"form": refusal.detail}
    )
    return _kiosk_page(request, session, device, status=refusal.status, form=form, errors=errors)


def _parsed_change(change: dict[str, Any]) -> tuple[KioskConfigChange | None, dict[str, str]]:
    try:
        return KioskConfigChange.model_validate(change), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, CONFIG_WORDING.get(name, error["msg"]))
        return None, errors


@devices_pages.post("/{device_id}/renew", name="console.devices_renew")
def renew_credential(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> Response:
    """Ask the kiosk for a new credential; it renews at its next heartbeat, no visit."""
    device = _kiosk(session, device_id)
    here = f"/staff/devices/{device.id}"
    if device.revoked_at is not None:
        return see_other(here, "A revoked kiosk has no credential to renew.")
    _, refusal = attempt(
        session,
        lambda: enrolment.request_rotation(session, actor=actor, device=device, now=utcnow()),
    )
    if refusal is not None:
        return see_other(here, refusal.detail)
    return see_other(
        here,
        "Renewal asked: the kiosk renews its credential at its next heartbeat, "
        "within about a minute.",
    )


# --- revoking ----------------------------------------------------------------------------------


@devices_pages.get("/{device_id}/revoke", name="console.devices_revoke_confirm")
def revoke_confirm(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> Response:
    device = devices_service.get_device(session, device_id=device_id)
    if device.revoked_at is not None:
        return see_other("/staff/devices", "That device was already revoked.")
    return render(
        request,
        "devices/revoke.html",
        device=device,
        kind=KIND_LABELS.get(device.kind, device.kind),
    )


@devices_pages.post("/{device_id}/revoke", name="console.devices_revoke")
def revoke(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> Response:
    device = devices_service.get_device(session, device_id=device_id)
    devices_service.revoke(session, actor=actor, device=device)
    return see_other("/staff/devices", "Device revoked: it is signed out at once.")
