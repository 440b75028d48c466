from __future__ import annotations

from fastapi import APIRouter

from backoffice.clinic import service as clinic_service
from backoffice.clinic.schemas import LocationPublic, ProviderPublic
from backoffice.db import SessionDep
from backoffice.security.dependencies import StaffActor

clinic_router = APIRouter(tags=["clinic"])


@clinic_router.get("/locations", name="locations.list", response_model=list[LocationPublic])
def list_locations(session: SessionDep, actor: StaffActor) -> list[LocationPublic]:
    return [LocationPublic.model_validate(x) for x in clinic_service.list_locations(session)]


@clinic_router.get("/providers", name="providers.list", response_model=list[ProviderPublic])
def list_providers(session: SessionDep, actor: StaffActor) -> list[ProviderPublic]:
    return clinic_service.list_providers(session)
