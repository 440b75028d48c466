from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from backoffice.clinic import service as clinic_service
from backoffice.clinic.schemas import (
    LocationCreate,
    LocationPublic,
    LocationUpdate,
    ProviderCreate,
    ProviderPublic,
    ProviderUpdate,
)
from backoffice.db import SessionDep
from backoffice.kit.pagination import Page, PageDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import StaffActor, require
from backoffice.security.permissions import Permission

clinic_router = APIRouter(tags=["clinic"])

Manager = Annotated[Actor, Depends(require(Permission.SCHEDULE_MANAGE))]


@clinic_router.get("/locations", name="locations.list", response_model=Page[LocationPublic])
def list_locations(
    session: SessionDep, actor: StaffActor, page: PageDep, active: bool | None = None
) -> Page[LocationPublic]:
    rows = clinic_service.list_locations(
        session, active=active, limit=page.limit + 1, offset=page.offset
    )
    return Page.from_rows([LocationPublic.model_validate(x) for x in rows], page)


@clinic_router.post(
    "/locations",
    name="locations.create",
    response_model=LocationPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_location(
    response: Response, session: SessionDep, actor: Manager, body: LocationCreate
) -> LocationPublic:
    location = clinic_service.create_location(session, actor=actor, data=body)
    response.headers["Location"] = f"/api/v1/locations/{location.id}"
    return LocationPublic.model_validate(location)


@clinic_router.get("/locations/{location_id}", name="locations.read", response_model=LocationPublic)
def read_location(session: SessionDep, actor: StaffActor, location_id: uuid.UUID) -> LocationPublic:
    return LocationPublic.model_validate(
        clinic_service.get_location(session, location_id=location_id)
    )


@clinic_router.patch(
    "/locations/{location_id}", name="locations.update", response_model=LocationPublic
)
def update_location(
    session: SessionDep, actor: Manager, location_id: uuid.UUID, body: LocationUpdate
) -> LocationPublic:
    location = clinic_service.get_location(session, location_id=location_id)
    return LocationPublic.model_validate(
        clinic_service.update_location(session, actor=actor, location=location, data=body)
    )


@clinic_router.get("/providers", name="providers.list", response_model=Page[ProviderPublic])
def list_providers(
    session: SessionDep,
    actor: StaffActor,
    page: PageDep,
    active: bool | None = None,
    location_id: uuid.UUID | None = None,
) -> Page[ProviderPublic]:
    rows = clinic_service.list_providers(
        session,
        active=active,
        location_id=location_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page.from_rows([clinic_service.to_public(p) for p in rows], page)


@clinic_router.post(
    "/providers",
    name="providers.create",
    response_model=ProviderPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_provider(
    response: Response, session: SessionDep, actor: Manager, body: ProviderCreate
) -> ProviderPublic:
    provider = clinic_service.create_provider(session, actor=actor, data=body)
    response.headers["Location"] = f"/api/v1/providers/{provider.id}"
    return clinic_service.to_public(provider)


@clinic_router.get("/providers/{provider_id}", name="providers.read", response_model=ProviderPublic)
def read_provider(session: SessionDep, actor: StaffActor, provider_id: uuid.UUID) -> ProviderPublic:
    return clinic_service.to_public(clinic_service.get_provider(session, provider_id=provider_id))


@clinic_router.patch(
    "/providers/{provider_id}", name="providers.update", response_model=ProviderPublic
)
def update_provider(
    session: SessionDep, actor: Manager, provider_id: uuid.UUID, body: ProviderUpdate
) -> ProviderPublic:
    provider = clinic_service.get_provider(session, provider_id=provider_id)
    return clinic_service.to_public(
        clinic_service.update_provider(session, actor=actor, provider=provider, data=body)
    )
