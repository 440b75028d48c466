"""API shapes of the clinic's configuration: its locations and providers."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
)

from backoffice.patients.schemas import Name, Phone, ShortText
from shared.validators import is_valid_npi, normalize_postal_code, normalize_state


def not_cleared(value: object) -> object:
    """For PATCH models: runs only on fields that were sent, where null would mean "clear"."""
    if value is None:
        raise ValueError("cannot be cleared")
    return value


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone, such as America/New_York") from None
    return name


def _valid_npi(npi: str) -> str:
    if not is_valid_npi(npi):
        raise ValueError("not a valid NPI: ten digits ending in its check digit")
    return npi


TimeZoneName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_known_zone)
]
State = Annotated[str, StringConstraints(max_length=2), AfterValidator(normalize_state)]
PostalCode = Annotated[str, StringConstraints(max_length=10), AfterValidator(normalize_postal_code)]
NPI = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_valid_npi)]


def matching(pattern: str, example: str):  # type: ignore[no-untyped-def]
    """An upper-casing check for codes: pydantic tests a pattern before it upper-cases."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        value = value.upper()
        if not compiled.fullmatch(value):
            raise ValueError(f"expected a code like {example}")
        return value

    return AfterValidator(check)


# A Health Care Provider Taxonomy code (NUCC): ten characters, e.g. 207Q00000X.
Taxonomy = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=10),
    matching(r"[0-9]{3}[0-9A-Z]{6}X", "207Q00000X"),
]
Credentials = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
# The predicted no-show probability above which a second booking may share a slot.
OverbookThreshold = Annotated[Decimal, Field(gt=0, lt=1, max_digits=4, decimal_places=3)]
# Three places on both databases (SQLite gives back 0.35 for 0.350).
Probability = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.3f}", return_type=str)]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,20}$")]


class LocationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    timezone: TimeZoneName
    address_line1: ShortText
    address_city: Name
    address_state: State
    address_postal_code: PostalCode
    phone: Phone | None = None


class LocationUpdate(BaseModel):
    """Only the fields sent are changed. `active: false` retires a location; its history
    stays."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    timezone: TimeZoneName | None = None
    address_line1: ShortText | None = None
    address_city: Name | None = None
    address_state: State | None = None
    address_postal_code: PostalCode | None = None
    phone: Phone | None = None
    active: bool | None = None

    _required_stay = field_validator(
        "name",
        "timezone",
        "address_line1",
        "address_city",
        "address_state",
        "address_postal_code",
        "active",
    )(not_cleared)


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


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name
    last_name: Name
    credentials: Credentials | None = None
    npi: NPI
    taxonomy_code: Taxonomy
    specialty: Name
    location_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)]
    max_per_day: Annotated[int, Field(ge=1, le=200)] | None = None
    not_back_to_back: Annotated[list[CategoryCode], Field(max_length=10)] = []
    overbook_threshold: OverbookThreshold | None = None


class ProviderUpdate(BaseModel):
    """Only the fields sent are changed; null clears max_per_day or overbook_threshold."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None
    credentials: Credentials | None = None
    npi: NPI | None = None
    taxonomy_code: Taxonomy | None = None
    specialty: Name | None = None
    location_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)] | None = None
    max_per_day: Annotated[int, Field(ge=1, le=200)] | None = None
    not_back_to_back: Annotated[list[CategoryCode], Field(max_length=10)] | None = None
    overbook_threshold: OverbookThreshold | None = None
    active: bool | None = None

    _required_stay = field_validator(
        "first_name",
        "last_name",
        "npi",
        "taxonomy_code",
        "specialty",
        "location_ids",
        "not_back_to_back",
        "active",
    )(not_cleared)


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
    max_per_day: int | None
    not_back_to_back: list[str]
    overbook_threshold: Probability | None
