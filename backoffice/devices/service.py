"""Kiosk device principals: a token made once, kept as a digest, revocable at once."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.security.actor import Actor
from backoffice.security.tokens import DEVICE_TOKEN_PREFIX, digest, new_opaque_token
from shared.enums import PrincipalKind
from shared.errors import Conflict, NotFound


def add_kiosk(session: Session, *, actor: Actor, name: str) -> tuple[Device, str]:
    """Create a kiosk principal; return it with its token, which is never shown again."""
    if session.exec(select(Device).where(Device.name == name)).first():
        raise Conflict(f"A device named {name!r} exists already; revoke it or pick another name.")
    token = new_opaque_token(DEVICE_TOKEN_PREFIX)
    device = Device(
        name=name,
        token_hash=digest(token),
        token_hint=token[: len(DEVICE_TOKEN_PREFIX) + 4],
        created_by=actor.principal.id if actor.principal.kind is PrincipalKind.USER else None,
    )
    session.add(device)
    session.flush()
    actor.audit(session, "devices.create", resource_type="device", resource_id=device.id)
    return device, token


def get_device(session: Session, *, device_id: uuid.UUID) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("No device with that id.")
    return device


def list_devices(session: Session, *, limit: int, offset: int) -> list[Device]:
    query = select(Device).order_by(col(Device.name)).offset(offset).limit(limit + 1)
    return list(session.exec(query))


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
