"""Device principals: kiosks, which call the kiosk API, and lobby displays, which sign in to
the waiting-room page. Each has a token made once, kept as a digest, revocable at once.

A kiosk is enrolled by the technician with a one-time code an admin made
(`create_enrollment_code`, then `enrol`); it then holds an Ed25519 key pair of its own, and
its token is renewed (`rotate_credential`) only against a signature from that key. Its
configuration (`kiosk_config`) is the clinic's defaults under what an admin set for it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import ValidationError
from sqlalchemy import not_, or_
from sqlmodel import Session, col, select

from backoffice.checkin.models import ConsentDocument
from backoffice.clinic.models import Location
from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.security.actor import Actor
from backoffice.security.tokens import DEVICE_TOKEN_PREFIX, digest, new_opaque_token
from backoffice.settings import Settings
from shared.contracts.kiosk import KioskHeartbeat
from shared.contracts.provisioning import SUPPORTED_LANGUAGES, KioskConfig, KioskConfigChange
from shared.enums import PrincipalKind
from shared.errors import Conflict, FieldError, InvalidInput, NotFound


class NewToken(NamedTuple):
    """A device token, shown once, and the columns that keep it: its digest and a hint."""

    token: str
    token_hash: str
    token_hint: str

    def set_on(self, device: Device) -> str:
        device.token_hash, device.token_hint = self.token_hash, self.token_hint
        return self.token


def new_token() -> NewToken:
    token = new_opaque_token(DEVICE_TOKEN_PREFIX)
    return NewToken(token, digest(token), token[: len(DEVICE_TOKEN_PREFIX) + 4])


def name_taken(session: Session, name: str) -> bool:
    return session.exec(select(Device).where(Device.name == name)).first() is not None


def _enrol(
    session: Session, *, actor: Actor, name: str, kind: str, location_id: uuid.UUID | None = None
) -> tuple[Device, str]:
    """A new device principal of `kind` and its token, which is never shown again."""
    if name_taken(session, name):
        raise Conflict(f"A device named {name!r} exists already; revoke it or pick another name.")
    issued = new_token()
    device = Device(
        name=name,
        kind=kind,
        location_id=location_id,
        created_by=actor.principal.id if actor.principal.kind is PrincipalKind.USER else None,
        token_hash=issued.token_hash,
        token_hint=issued.token_hint,
    )
    token = issued.token
    session.add(device)
    session.flush()
    actor.audit(session, "devices.create", resource_type="device", resource_id=device.id)
    return device, token


def add_kiosk(session: Session, *, actor: Actor, name: str) -> tuple[Device, str]:
    """Create a kiosk principal; return it with its token, which is never shown again."""
    return _enrol(session, actor=actor, name=name, kind="kiosk")


def add_display(
    session: Session, *, actor: Actor, name: str, location_id: uuid.UUID
) -> tuple[Device, str]:
    """Create a lobby display for the waiting room of `location_id`; return it with the token
    it signs in with, which is never shown again."""
    if session.get(Location, location_id) is None:
        raise InvalidInput(
            "No such location.", [FieldError("location_id", "Choose one of the locations.")]
        )
    return _enrol(session, actor=actor, name=name, kind="display", location_id=location_id)


def display_for_token(session: Session, *, token: str) -> Device | None:
    """The lobby display `token` signs in, unless it was revoked (or is another kind)."""
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        return None
    device = session.exec(select(Device).where(Device.token_hash == digest(token))).first()
    if device is None or device.revoked_at is not None or device.kind != "display":
        return None
    return device


def record_heartbeat(
    session: Session, *, device_id: uuid.UUID, heartbeat: KioskHeartbeat, now: datetime
) -> Device:
    """Keep a kiosk's latest heartbeat for the devices page. Not audited: it holds no PHI
    and comes every minute from every kiosk."""
    device = get_device(session, device_id=device_id)
    device.status = heartbeat.model_dump(mode="json", exclude_none=True)
    device.status_at = now
    device.last_seen_at = now
    session.add(device)
    return device


def get_device(session: Session, *, device_id: uuid.UUID) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("No device with that id.")
    return device


def list_devices(
    session: Session,
    *,
    limit: int,
    offset: int,
    kind: str | None = None,
    silent_since: tuple[bool, datetime] | None = None,
) -> list[Device]:
    """A page of the fleet by name; `silent_since` (wanted, cut-off) keeps only the devices
    not heard from since the cut-off (or only those heard from), revoked ones left out."""
    query = select(Device)
    if kind is not None:
        query = query.where(Device.kind == kind)
    if silent_since is not None:
        wanted, cutoff = silent_since
        quiet = or_(col(Device.last_seen_at).is_(None), col(Device.last_seen_at) < cutoff)
        query = query.where(col(Device.revoked_at).is_(None), quiet if wanted else not_(quiet))
    query = query.order_by(col(Device.name)).offset(offset).limit(limit + 1)
    return list(session.exec(query))


def last_heartbeat(device: Device) -> KioskHeartbeat | None:
    """The kiosk's last heartbeat, or None (none yet, or written by another version)."""
    if not device.status:
        return None
    try:
        return KioskHeartbeat.model_validate(device.status)
    except ValidationError:
        return None


def all_devices(session: Session) -> list[Device]:
    """Every device, revoked ones too, by name: a clinic has a handful."""
    return list(session.exec(select(Device).order_by(col(Device.name))))


def revoke(session: Session, *, actor: Actor, device: Device) -> None:
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        session.add(device)
    actor.audit(session, "devices.revoke", resource_type="device", resource_id=device.id)


def set_payment_reader(session: Session, *, actor: Actor, device: Device, reader_id: str) -> None:
    device.payment_reader_id = reader_id
    session.add(device)
    actor.audit(
        session,
        "devices.set_payment_reader",
        resource_type="device",
        resource_id=device.id,
        detail={"reader_id": reader_id},
    )


# --- remote configuration ---------------------------------------------------------------------


def _current_consent_codes(session: Session) -> list[str]:
    query = select(ConsentDocument.code).where(ConsentDocument.active).distinct()
    return sorted(session.exec(query))


def consent_codes_for(device: Device) -> list[str] | None:
    """The consent forms this kiosk asks for, in order; None: every current one."""
    codes = device.settings.get("consent_documents")
    return list(codes) if codes is not None else None


def kiosk_config(
    session: Session, *, device: Device, settings: Settings, now: datetime
) -> KioskConfig:
    """What the kiosk applies: the clinic's defaults under what an admin set for it. Its
    `version` is a digest of the content, so any change (a default, a new consent form) is
    seen by every kiosk on its next heartbeat."""
    location = session.get(Location, device.location_id) if device.location_id else None
    chosen = device.settings
    forms = consent_codes_for(device)
    content = {
        "device_name": device.name,
        "location_id": str(location.id) if location else None,
        "location_name": location.name if location else None,
        "timezone": location.timezone if location else settings.clinic_timezone,
        "languages": chosen.get("languages") or list(settings.kiosk_languages),
        "consent_documents": forms if forms is not None else _current_consent_codes(session),
        "idle_timeout_seconds": chosen.get("idle_timeout_seconds")
        or settings.kiosk_idle_timeout_seconds,
        "payment_reader": {"id": device.payment_reader_id} if device.payment_reader_id else None,
    }
    version = int(hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8], 16)
    return KioskConfig.model_validate(
        content
        | {
            "version": version,
            "device_id": device.id,
            "rotate_credential": device.rotation_requested_at is not None,
            "server_time": now,
        }
    )


def change_config(
    session: Session, *, actor: Actor, device: Device, change: KioskConfigChange
) -> None:
    """Set what the admin chose for this kiosk; the kiosk pulls it on its next heartbeat."""
    if device.kind != "kiosk":
        raise InvalidInput(
            "Only kiosks have a configuration.", [FieldError("device_id", "Choose a kiosk.")]
        )
    problems = []
    given = change.model_dump(exclude_unset=True)
    unknown = [code for code in given.get("languages") or [] if code not in SUPPORTED_LANGUAGES]
    if unknown:
        problems.append(
            FieldError(
                "languages",
                f"The kiosk speaks {', '.join(SUPPORTED_LANGUAGES)}; not {', '.join(unknown)}.",
            )
        )
    forms = set(_current_consent_codes(session))
    missing = [code for code in given.get("consent_documents") or [] if code not in forms]
    if missing:
        problems.append(
            FieldError("consent_documents", f"No current consent form {', '.join(missing)}.")
        )
    if problems:
        raise InvalidInput("The kiosk's configuration was not changed.", problems)
    reader = given.pop("payment_reader_id", device.payment_reader_id)
    device.payment_reader_id = reader or None
    device.settings = device.settings | given  # a new dict: the JSON column sees the change
    session.add(device)
    actor.audit(
        session,
        "devices.configure",
        resource_type="device",
        resource_id=device.id,
        detail={"changed": sorted(change.model_dump(exclude_unset=True))},
    )


def is_silent(device: Device, *, now: datetime, silent_after: timedelta) -> bool:
    """Not heard from lately (never, or longer than `silent_after`), and not revoked."""
    return device.revoked_at is None and (
        device.last_seen_at is None or now - device.last_seen_at > silent_after
    )
