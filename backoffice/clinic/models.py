import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Numeric, String
from sqlmodel import Field, Relationship, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow


class ProviderLocation(SQLModel, table=True):
    __tablename__ = "provider_locations"

    provider_id: uuid.UUID = Field(foreign_key="providers.id", primary_key=True)
    location_id: uuid.UUID = Field(foreign_key="locations.id", primary_key=True)


class Location(SQLModel, table=True):
    __tablename__ = "locations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(120), unique=True, nullable=False))
    timezone: str = Field(max_length=64)
    address_line1: str = Field(max_length=120)
    address_city: str = Field(max_length=80)
    address_state: str = Field(max_length=2)
    address_postal_code: str = Field(max_length=10)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Provider(SQLModel, table=True):
    __tablename__ = "providers"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    first_name: str = Field(max_length=80)
    last_name: str = Field(max_length=80)
    credentials: str | None = Field(default=None, max_length=20)
    npi: str = Field(sa_column=Column(String(10), unique=True, nullable=False))
    taxonomy_code: str = Field(max_length=10)
    specialty: str = Field(max_length=80)
    # Booking rules: at most this many appointments a day; categories (e.g. procedure)
    # that may not be booked one right after another.
    max_per_day: int | None = None
    not_back_to_back: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    # A second booking may share a slot whose patient's predicted no-show probability is at
    # least this; None never overbooks.
    overbook_threshold: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(4, 3), nullable=True)
    )
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    locations: list["Location"] = Relationship(
        link_model=ProviderLocation, sa_relationship_kwargs={"lazy": "selectin"}
    )
