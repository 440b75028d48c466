"""API shapes of the registry: flat snake_case JSON, validated at the edge.

The table keeps the address flat and the SSN encrypted, so the API models here are plain
pydantic models rather than an SQLModel family over the table.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.enums import (
    ContactMethod,
    PatientStatus,
    PhoneType,
    PolicyRank,
    Sex,
    SubscriberRelationship,
)
from shared.errors import FieldError
from shared.validators import (
    Cents,
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


def _printable(value: str) -> str:
    """No control, format or unassigned characters: they cannot be printed on a badge or a
    claim, and PostgreSQL refuses NUL outright."""
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must not contain control or invisible characters")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(_printable),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(_printable),
]
Suffix = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=10), AfterValidator(_printable)
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(normalize_phone)
]
SSN = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=11), AfterValidator(normalize_ssn)
]
BirthDate = Annotated[date, AfterValidator(_not_future)]
LanguageTag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=16, pattern=r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    ),
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
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
        AfterValidator(_printable),
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
    suffix: Suffix | None = None
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

    @field_validator("preferred_contact_method")
    @classmethod
    def _contact_method_is_reachable(
        cls, method: ContactMethod | None, info: ValidationInfo
    ) -> ContactMethod | None:
        problem = contact_method_problem(method, info.data.get("phone"), info.data.get("email"))
        if problem:
            raise ValueError(problem)
        return method


def contact_method_problem(
    method: ContactMethod | str | None, phone: str | None, email: str | None
) -> str | None:
    if method in (ContactMethod.PHONE, ContactMethod.SMS) and not phone:
        return "needs a phone number on file"
    if method == ContactMethod.EMAIL and not email:
        return "needs an email address on file"
    return None


class PatientUpdate(BaseModel):
    """Only the fields sent are changed; null clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    middle_name: Name | None = None
    last_name: Name | None = None
    suffix: Suffix | None = None
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

    @field_validator(
        "first_name",
        "last_name",
        "date_of_birth",
        "sex",
        "preferred_language",
        "status",
        "emergency_contacts",
    )
    @classmethod
    def _not_cleared(cls, value: object) -> object:
        # Runs only for fields that were sent: null here means "clear it".
        if value is None:
            raise ValueError("cannot be cleared")
        if value is PatientStatus.MERGED:
            raise ValueError("'merged' is set only by a merge")
        return value


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


def policy_rule_errors(policy: dict[str, Any]) -> list[FieldError]:
    """Rules across a policy's fields, checked on the policy as it will be stored."""
    errors = []
    end, start = policy.get("end_date"), policy.get("effective_date")
    if end is not None and start is not None and end < start:
        errors.append(FieldError("end_date", "must not be before effective_date"))
    if policy.get("subscriber_relationship", SubscriberRelationship.SELF) != "self":
        errors.extend(
            FieldError(name, "required when the subscriber is not the patient")
            for name in (
                "subscriber_first_name",
                "subscriber_last_name",
                "subscriber_date_of_birth",
            )
            if policy.get(name) is None
        )
    return errors
