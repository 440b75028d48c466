from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from sqlmodel import Session

from backoffice.audit.dependencies import origin_of
from backoffice.db import SessionDep
from backoffice.devices import enrolment
from backoffice.devices import service as devices_service
from backoffice.devices.models import Device
from backoffice.devices.schemas import (
    DeviceCreate,
    DeviceIssued,
    DevicePublic,
    EnrollmentCodeCreate,
    EnrollmentCodeIssued,
    KioskIdentity,
)
from backoffice.kit.columns import utcnow
from backoffice.kit.pagination import Page, PageDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from shared.contracts.kiosk import KioskHeartbeat
from shared.contracts.provisioning import (
    CredentialChallenge,
    CredentialRotation,
    Enrollment,
    EnrollmentRequest,
    HeartbeatAnswer,
    IssuedCredential,
    KioskConfig,
    KioskConfigChange,
)

devices_router = APIRouter(prefix="/devices", tags=["devices"])
kiosk_router = APIRouter(prefix="/kiosk", tags=["kiosk"])
enrollment_router = APIRouter(tags=["kiosk"])

DeviceManager = Annotated[Actor, Depends(require(Permission.DEVICES_MANAGE))]
Kiosk = Annotated[Actor, Depends(require(Permission.KIOSK))]


def _silent_after(request: Request) -> timedelta:
    return timedelta(minutes=request.app.state.settings.kiosk_silent_after_minutes)


def _public(device: Device, *, now: datetime, silent_after: timedelta) -> DevicePublic:
    public = DevicePublic.model_validate(device)
    public.heartbeat = devices_service.last_heartbeat(device)
    public.silent = devices_service.is_silent(device, now=now, silent_after=silent_after)
    return public


@devices_router.get("", name="devices.list", response_model=Page[DevicePublic])
def list_devices(
    request: Request,
    session: SessionDep,
    actor: DeviceManager,
    page: PageDep,
    kind: Annotated[Literal["kiosk", "display"] | None, Query()] = None,
    silent: Annotated[bool | None, Query(description="Only kiosks gone silent (or not)")] = None,
) -> Page[DevicePublic]:
    """The fleet: every device with its last heartbeat, silent ones flagged."""
    now, after = utcnow(), _silent_after(request)
    rows = devices_service.list_devices(
        session,
        limit=page.limit,
        offset=page.offset,
        kind=kind,
        silent_since=(None if silent is None else (silent, now - after)),
    )
    return Page.from_rows([_public(d, now=now, silent_after=after) for d in rows], page)


@devices_router.post(
    "", name="devices.create", response_model=DeviceIssued, status_code=status.HTTP_201_CREATED
)
def add_kiosk(
    request: Request, session: SessionDep, actor: DeviceManager, body: DeviceCreate
) -> DeviceIssued:
    device, token = devices_service.add_kiosk(session, actor=actor, name=body.name)
    public = _public(device, now=utcnow(), silent_after=_silent_after(request))
    return DeviceIssued(device=public, token=token)


@devices_router.post(
    "/enrollment-codes",
    name="devices.enrollment_code",
    response_model=EnrollmentCodeIssued,
    status_code=status.HTTP_201_CREATED,
)
def create_enrollment_code(
    session: SessionDep, actor: DeviceManager, body: EnrollmentCodeCreate
) -> EnrollmentCodeIssued:
    """A one-time code for the technician's `frontdesk provision enroll`; shown this once."""
    code, text = enrolment.create_enrollment_code(
        session,
        actor=actor,
        location_id=body.location_id,
        now=utcnow(),
        lifetime=timedelta(minutes=body.expires_in_minutes),
        payment_reader_id=body.payment_reader_id,
        device_id=body.device_id,
        device_name=body.device_name,
    )
    return EnrollmentCodeIssued(
        code=text,
        expires_at=code.expires_at,
        location_id=code.location_id,
        payment_reader_id=code.payment_reader_id,
        device_id=code.device_id,
        device_name=code.device_name,
    )


@devices_router.get("/{device_id}", name="devices.get", response_model=DevicePublic)
def get_device(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> DevicePublic:
    device = devices_service.get_device(session, device_id=device_id)
    return _public(device, now=utcnow(), silent_after=_silent_after(request))


@devices_router.post("/{device_id}/revoke", name="devices.revoke", response_model=DevicePublic)
def revoke_device(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> DevicePublic:
    device = devices_service.get_device(session, device_id=device_id)
    devices_service.revoke(session, actor=actor, device=device)
    return _public(device, now=utcnow(), silent_after=_silent_after(request))


@devices_router.post(
    "/{device_id}/rotate-credential",
    name="devices.rotate_credential",
    response_model=DevicePublic,
    status_code=status.HTTP_202_ACCEPTED,
)
def request_rotation(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> DevicePublic:
    """Ask the kiosk to renew its credential; it does on its next heartbeat, no visit."""
    device = devices_service.get_device(session, device_id=device_id)
    now = utcnow()
    enrolment.request_rotation(session, actor=actor, device=device, now=now)
    return _public(device, now=now, silent_after=_silent_after(request))


@devices_router.get("/{device_id}/config", name="devices.config", response_model=KioskConfig)
def device_config(
    request: Request, session: SessionDep, actor: DeviceManager, device_id: uuid.UUID
) -> KioskConfig:
    device = devices_service.get_device(session, device_id=device_id)
    return devices_service.kiosk_config(
        session, device=device, settings=request.app.state.settings, now=utcnow()
    )


@devices_router.patch("/{device_id}/config", name="devices.configure", response_model=KioskConfig)
def configure_device(
    request: Request,
    session: SessionDep,
    actor: DeviceManager,
    device_id: uuid.UUID,
    body: KioskConfigChange,
) -> KioskConfig:
    """Languages, consent forms, idle timeout and card reader for one kiosk; it pulls them
    on its next heartbeat."""
    device = devices_service.get_device(session, device_id=device_id)
    devices_service.change_config(session, actor=actor, device=device, change=body)
    return devices_service.kiosk_config(
        session, device=device, settings=request.app.state.settings, now=utcnow()
    )


# --- the kiosk itself -------------------------------------------------------------------------


@enrollment_router.post(
    "/enrollments",
    name="kiosk.enrol",
    response_model=Enrollment,
    status_code=status.HTTP_201_CREATED,
)
def enrol(request: Request, session: SessionDep, body: EnrollmentRequest) -> Enrollment:
    """`frontdesk provision enroll`: a one-time code and the kiosk's public key in, its
    device credential and configuration out. The code is the only authority needed."""
    now = utcnow()
    device, token = enrolment.enrol(session, request=body, origin=origin_of(request), now=now)
    config = devices_service.kiosk_config(
        session, device=device, settings=request.app.state.settings, now=now
    )
    return Enrollment(device_id=device.id, device_name=device.name, token=token, config=config)


def _this_kiosk(session: Session, actor: Actor) -> Device:
    assert actor.principal.id is not None
    return devices_service.get_device(session, device_id=actor.principal.id)


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


@kiosk_router.get("/config", name="kiosk.config", response_model=KioskConfig)
def kiosk_config(request: Request, session: SessionDep, actor: Kiosk) -> KioskConfig:
    """This kiosk's configuration, pulled at start-up and whenever a heartbeat's answer says
    it changed."""
    return devices_service.kiosk_config(
        session,
        device=_this_kiosk(session, actor),
        settings=request.app.state.settings,
        now=utcnow(),
    )


@kiosk_router.post("/heartbeat", name="kiosk.heartbeat", response_model=HeartbeatAnswer)
def kiosk_heartbeat(
    request: Request, session: SessionDep, actor: Kiosk, body: KioskHeartbeat
) -> HeartbeatAnswer:
    """About once a minute: the kiosk is up, with its version, outbox and peripherals. The
    answer says which configuration is current and whether to renew the credential."""
    now = utcnow()
    device = devices_service.record_heartbeat(
        session, device_id=_this_kiosk(session, actor).id, heartbeat=body, now=now
    )
    config = devices_service.kiosk_config(
        session, device=device, settings=request.app.state.settings, now=now
    )
    return HeartbeatAnswer(
        config_version=config.version,
        rotate_credential=config.rotate_credential,
        server_time=now,
    )


@kiosk_router.post(
    "/credential/challenge",
    name="kiosk.credential_challenge",
    response_model=CredentialChallenge,
)
def credential_challenge(session: SessionDep, actor: Kiosk) -> CredentialChallenge:
    """A one-time challenge for the kiosk to sign with its key: the first half of a rotation."""
    return enrolment.issue_challenge(session, device=_this_kiosk(session, actor), now=utcnow())


@kiosk_router.post("/credential", name="kiosk.rotate_credential", response_model=IssuedCredential)
def rotate_credential(
    session: SessionDep, actor: Kiosk, body: CredentialRotation
) -> IssuedCredential:
    """A new token for the signed challenge; the old one works until the new one is used."""
    return enrolment.rotate_credential(
        session, actor=actor, device=_this_kiosk(session, actor), rotation=body, now=utcnow()
    )
