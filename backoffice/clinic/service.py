"""The clinic's locations and providers. Neither is ever deleted: appointments, claims and
the audit trail point at them, so retiring one sets `active` to false."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from backoffice.clinic.models import Location, Provider
from backoffice.clinic.schemas import (
    LocationCreate,
    LocationUpdate,
    ProviderCreate,
    ProviderPublic,
    ProviderUpdate,
)
from backoffice.kit.unique import ensure_unique
from backoffice.security.actor import Actor
from shared.errors import FieldError, InvalidInput, NotFound


def list_locations(
    session: Session, *, active: bool | None = None, limit: int = 200, offset: int = 0
) -> list[Location]:
    query = select(Location).order_by(col(Location.name), col(Location.id))
    if active is not None:
        query = query.where(Location.active == active)
    return list(session.exec(query.offset(offset).limit(limit)))


def get_location(session: Session, *, location_id: uuid.UUID) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound("No location with that id.")
    return location


def create_location(session: Session, *, actor: Actor, data: LocationCreate) -> Location:
    ensure_unique(session, Location.name, data.name, own_id=None, field="name")
    location = Location(**data.model_dump())
    session.add(location)
    session.flush()
    actor.audit(session, "locations.create", resource_type="location", resource_id=location.id)
    return location


def update_location(
    session: Session, *, actor: Actor, location: Location, data: LocationUpdate
) -> Location:
    """A changed time zone moves no booked appointment (they are instants); it changes how
    the location's weekly templates fall from now on."""
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        ensure_unique(session, Location.name, changes["name"], own_id=location.id, field="name")
    for name, value in changes.items():
        setattr(location, name, value)
    session.add(location)
    session.flush()
    actor.audit(
        session,
        "locations.update",
        resource_type="location",
        resource_id=location.id,
        detail={"fields": sorted(changes)},
    )
    return location


def to_public(provider: Provider) -> ProviderPublic:
    return ProviderPublic.model_validate(
        {**provider.model_dump(), "location_ids": [loc.id for loc in provider.locations]}
    )


def list_providers(
    session: Session,
    *,
    active: bool | None = None,
    location_id: uuid.UUID | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Provider]:
    query = select(Provider).order_by(col(Provider.last_name), col(Provider.id))
    if active is not None:
        query = query.where(Provider.active == active)
    if location_id is not None:
        query = query.where(col(Provider.locations).any(col(Location.id) == location_id))
    return list(session.exec(query.offset(offset).limit(limit)))


def get_provider(session: Session, *, provider_id: uuid.UUID) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("No provider with that id.")
    return provider


def _active_locations(session: Session, location_ids: list[uuid.UUID]) -> list[Location]:
    wanted = set(location_ids)
    found = list(session.exec(select(Location).where(col(Location.id).in_(wanted))))
    missing = wanted - {loc.id for loc in found if loc.active}
    if missing:
        raise InvalidInput(
            "Some locations do not exist or are retired.",
            [
                FieldError("location_ids", f"no active location {m}")
                for m in sorted(map(str, missing))
            ],
        )
    return sorted(found, key=lambda loc: loc.name)


def create_provider(session: Session, *, actor: Actor, data: ProviderCreate) -> Provider:
    ensure_unique(session, Provider.npi, data.npi, own_id=None, field="npi")
    locations = _active_locations(session, data.location_ids)
    provider = Provider(**data.model_dump(exclude={"location_ids"}))
    provider.not_back_to_back = sorted(set(data.not_back_to_back))
    provider.locations = locations
    session.add(provider)
    session.flush()
    actor.audit(session, "providers.create", resource_type="provider", resource_id=provider.id)
    return provider


def update_provider(
    session: Session, *, actor: Actor, provider: Provider, data: ProviderUpdate
) -> Provider:
    """Taking a location away leaves booked appointments there alone; the provider's weekly
    templates at that location simply stop producing slots."""
    changes = data.model_dump(exclude_unset=True)
    if "npi" in changes:
        ensure_unique(session, Provider.npi, changes["npi"], own_id=provider.id, field="npi")
    if "location_ids" in changes:
        provider.locations = _active_locations(session, changes.pop("location_ids"))
        changes["location_ids"] = True  # for the audit line's list of fields
    if "not_back_to_back" in changes:
        changes["not_back_to_back"] = sorted(set(changes["not_back_to_back"]))
    for name, value in changes.items():
        if name != "location_ids":
            setattr(provider, name, value)
    session.add(provider)
    session.flush()
    actor.audit(
        session,
        "providers.update",
        resource_type="provider",
        resource_id=provider.id,
        detail={"fields": sorted(changes)},
    )
    return provider
