"""API shapes of the registry: flat snake_case JSON, validated at the edge.

The table keeps the address flat and the SSN encrypted, so the API models here are plain
pydantic models rather than an SQLModel family over the table.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from shared.enums import (
    ContactMethod,
    PatientStatus,
    PhoneType,
    PolicyRank,
    Sex,
    SubscriberRelationship,
)
from shared.validators import (
    normalize_phone,
    normalize_postal_code,
    normalize_ssn,
    normalize_state,
)


def _not_future(value: date) -> date:
    if value > date.today():
        raise ValueError("must not be in the future")
    if value.year < 1900:
        raise ValueError("must be in 1900 or later")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Phone = Annotated[str, StringConstraints(max_length=32), AfterValidator(normalize_phone)]
SSN = Annotated[str, StringConstraints(max_length=11), AfterValidator(normalize_ssn)]
BirthDate = Annotated[date, AfterValidator(_not_future)]
LanguageTag = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$")
]
Identifier = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
    ),
]
Cents = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: ShortText
    line2: ShortText | None = None
    city: Name
    state: Annotated[str, StringConstraints(max_length=2), AfterValidator(normalize_state)]
    postal_code: Annotated[
        str, StringConstraints(max_length=10), AfterValidator(normalize_postal_code)
    ]


class EmergencyContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    relationship: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ]
    phone: Phone


class EmergencyContactPublic(BaseModel):
    name: str
    relationship: str
    phone: str


class PatientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name
    middle_name: Name | None = None
    last_name: Name
    suffix: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    date_of_birth: BirthDate
    sex: Sex
    ssn: SSN | None = None
    preferred_language: LanguageTag = "en"
    phone: Phone | None = None
    phone_type: PhoneType | None = None
    email: EmailStr | None = None
    preferred_contact_method: ContactMethod | None = None
    address: Address | None = None
    emergency_contacts: Annotated[list[EmergencyContactIn], Field(max_length=5)] = []

    @model_validator(mode="after")
    def _contact_method_is_reachable(self) -> Self:
        method = self.preferred_contact_method
        if method in (ContactMethod.PHONE, ContactMethod.SMS) and not self.phone:
            raise ValueError("preferred_contact_method needs a phone number")
        if method is ContactMethod.EMAIL and not self.email:
            raise ValueError("preferred_contact_method needs an email address")
        return self


class PatientUpdate(BaseModel):
    """Only the fields sent are changed; null clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    middle_name: Name | None = None
    last_name: Name | None = None
    suffix: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    date_of_birth: BirthDate | None = None
    sex: Sex | None = None
    ssn: SSN | None = None
    preferred_language: LanguageTag | None = None
    phone: Phone | None = None
    phone_type: PhoneType | None = None
    email: EmailStr | None = None
    preferred_contact_method: ContactMethod | None = None
    address: Address | None = None
    emergency_contacts: Annotated[list[EmergencyContactIn], Field(max_length=5)] | None = None
    status: PatientStatus | None = None

    @model_validator(mode="after")
    def _required_fields_not_cleared(self) -> Self:
        for name in (
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "preferred_language",
            "status",
            "emergency_contacts",
        ):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        if self.status is PatientStatus.MERGED:
            raise ValueError("status 'merged' is set only by a merge")
        return self


class PatientPublic(BaseModel):
    id: uuid.UUID
    mrn: str
    first_name: str
    middle_name: str | None
    last_name: str
    suffix: str | None
    date_of_birth: date
    sex: Sex
    ssn: str | None = Field(description="Masked (***-**-1234) unless revealed by a role that may.")
    preferred_language: str
    phone: str | None
    phone_type: PhoneType | None
    email: str | None
    preferred_contact_method: ContactMethod | None
    address: Address | None
    emergency_contacts: list[EmergencyContactPublic]
    status: PatientStatus
    merged_into_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class PatientSummary(BaseModel):
    """One search hit: enough to pick the right person, nothing more."""

    id: uuid.UUID
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: Sex
    phone: str | None
    status: PatientStatus


class DuplicateCandidate(PatientSummary):
    score: float
    reasons: list[str]


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_id: uuid.UUID = Field(description="The duplicate record, folded into this one.")


class PolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payer_name: ShortText
    payer_id: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9]{2,20}$")
    ]
    member_id: Identifier
    group_number: Identifier | None = None
    plan_name: ShortText | None = None
    subscriber_relationship: SubscriberRelationship = SubscriberRelationship.SELF
    subscriber_first_name: Name | None = None
    subscriber_last_name: Name | None = None
    subscriber_date_of_birth: BirthDate | None = None
    subscriber_sex: Sex | None = None
    effective_date: date
    end_date: date | None = None
    copay_primary_care_cents: Cents | None = None
    copay_specialist_cents: Cents | None = None
    copay_urgent_care_cents: Cents | None = None
    copay_emergency_cents: Cents | None = None


class PolicyCreate(PolicyFields):
    rank: PolicyRank

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        check_policy_rules(self)
        return self


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: PolicyRank | None = None
    active: bool | None = None
    payer_name: ShortText | None = None
    payer_id: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9]{2,20}$"),
        ]
        | None
    ) = None
    member_id: Identifier | None = None
    group_number: Identifier | None = None
    plan_name: ShortText | None = None
    subscriber_relationship: SubscriberRelationship | None = None
    subscriber_first_name: Name | None = None
    subscriber_last_name: Name | None = None
    subscriber_date_of_birth: BirthDate | None = None
    subscriber_sex: Sex | None = None
    effective_date: date | None = None
    end_date: date | None = None
    copay_primary_care_cents: Cents | None = None
    copay_specialist_cents: Cents | None = None
    copay_urgent_care_cents: Cents | None = None
    copay_emergency_cents: Cents | None = None


class PolicyPublic(PolicyFields):
    id: uuid.UUID
    patient_id: uuid.UUID
    rank: PolicyRank
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


def check_policy_rules(policy: PolicyFields) -> None:
    """Rules across fields, for a new policy and for one after an update."""
    if policy.end_date is not None and policy.end_date < policy.effective_date:
        raise ValueError("end_date must not be before effective_date")
    if policy.subscriber_relationship is not SubscriberRelationship.SELF:
        missing = [
            name
            for name in (
                "subscriber_first_name",
                "subscriber_last_name",
                "subscriber_date_of_birth",
            )
            if getattr(policy, name) is None
        ]
        if missing:
            raise ValueError("a subscriber other than the patient needs " + ", ".join(missing))
