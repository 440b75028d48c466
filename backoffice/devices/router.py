from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from backoffice.db import SessionDep
from backoffice.devices import service as devices_service
from backoffice.devices.schemas import DeviceCreate, DeviceIssued, DevicePublic, KioskIdentity
from backoffice.kit.columns import utcnow
from backoffice.kit.pagination import Page, PageDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission

devices_router = APIRouter(prefix="/devices", tags=["devices"])
kiosk_router = APIRouter(prefix="/kiosk", tags=["kiosk"])

DeviceManager = Annotated[Actor, Depends(require(Permission.DEVICES_MANAGE))]
Kiosk = Annotated[Actor, Depends(require(Permission.KIOSK))]


@devices_router.get("", name="devices.list", response_model=Page[DevicePublic])
def list_devices(session: SessionDep, actor: DeviceManager, page: PageDep) -> Page[DevicePublic]:
    rows = devices_service.list_devices(session, limit=page.limit, offset=page.offset)
    return Page.from_rows([DevicePublic.model_validate(d) for d in rows], page)


@devices_router.post(
    "", name="devices.create", response_model=DeviceIssued, status_code=status.HTTP_201_CREATED
)
def add_kiosk(session: SessionDep, actor: DeviceManager, body: DeviceCreate) -> DeviceIssued:
    device, token = devices_service.add_kiosk(session, actor=actor, name=body.name)
    return DeviceIssued(device=DevicePublic.model_validate(device), token=token)


@devices_router.post("/{device_id}/revoke", name="devices.revoke", response_model=DevicePublic)
def revoke_device(session: SessionDep, actor: DeviceManager, device_id: uuid.UUID) -> DevicePublic:
    device = devices_service.get_device(session, device_id=device_id)
    devices_service.revoke(session, actor=actor, device=device)
    return DevicePublic.model_validate(device)


@kiosk_router.get("/me", name="kiosk.me", response_model=KioskIdentity)
def kiosk_identity(request: Request, actor: Kiosk) -> KioskIdentity:
    """What a kiosk checks on start-up: that its token works, and the clinic's clock."""
    assert actor.principal.id is not None
    return KioskIdentity(
        device_id=actor.principal.id,
        name=actor.principal.name,
        clinic_timezone=request.app.state.settings.clinic_timezone,
        server_time=utcnow(),
    )
