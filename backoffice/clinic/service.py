from __future__ import annotations

from sqlmodel import Session, col, select

from backoffice.clinic.models import Location, Provider
from backoffice.clinic.schemas import ProviderPublic


def list_locations(session: Session) -> list[Location]:
    return list(session.exec(select(Location).order_by(col(Location.name))))


def list_providers(session: Session) -> list[ProviderPublic]:
    providers = session.exec(select(Provider).order_by(col(Provider.last_name)))
    return [
        ProviderPublic.model_validate(
            {**p.model_dump(), "location_ids": [loc.id for loc in p.locations]}
        )
        for p in providers
    ]
