from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class LocationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    timezone: str
    address_line1: str
    address_city: str
    address_state: str
    address_postal_code: str
    phone: str | None
    active: bool


class ProviderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    first_name: str
    last_name: str
    credentials: str | None
    npi: str
    taxonomy_code: str
    specialty: str
    active: bool
    location_ids: list[uuid.UUID]
