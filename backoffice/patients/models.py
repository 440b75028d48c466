import uuid
from datetime import date, datetime

from sqlalchemy import Column, Index, Integer, String, Text
from sqlmodel import Field, Relationship, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, search_key_type, utcnow
from shared.enums import PatientStatus


def _version_column() -> Column[int]:
    """Optimistic locking: every UPDATE says "WHERE version = <the version read>", so two
    writers racing past the If-Match check cannot both win."""
    return Column("version", Integer, nullable=False, default=1)


_patient_version = _version_column()
_policy_version = _version_column()


class Patient(SQLModel, table=True):
    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_name_key", "last_name_key", "first_name_key"),
        Index("ix_patients_first_name_key", "first_name_key"),
        Index("ix_patients_date_of_birth", "date_of_birth"),
        Index("ix_patients_phone", "phone"),
    )
    __mapper_args__ = {"version_id_col": _patient_version}

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    mrn: str = Field(sa_column=Column(String(9), unique=True, nullable=False))
    first_name: str = Field(max_length=80)
    middle_name: str | None = Field(default=None, max_length=80)
    last_name: str = Field(max_length=80)
    suffix: str | None = Field(default=None, max_length=10)
    # Lower-cased, accent-free copies of the names, for prefix search.
    first_name_key: str = Field(sa_column=Column(search_key_type(80), nullable=False))
    last_name_key: str = Field(sa_column=Column(search_key_type(80), nullable=False))
    date_of_birth: date
    sex: str = Field(max_length=10)
    ssn_ciphertext: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    preferred_language: str = Field(default="en", max_length=16)
    phone: str | None = Field(default=None, max_length=20)
    phone_type: str | None = Field(default=None, max_length=10)
    email: str | None = Field(default=None, max_length=254)
    preferred_contact_method: str | None = Field(default=None, max_length=10)
    address_line1: str | None = Field(default=None, max_length=120)
    address_line2: str | None = Field(default=None, max_length=120)
    address_city: str | None = Field(default=None, max_length=80)
    address_state: str | None = Field(default=None, max_length=2)
    address_postal_code: str | None = Field(default=None, max_length=10)
    status: str = Field(default=PatientStatus.ACTIVE, max_length=10)
    merged_into_id: uuid.UUID | None = Field(default=None, foreign_key="patients.id")
    version: int = Field(default=1, sa_column=_patient_version)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    emergency_contacts: list["EmergencyContact"] = Relationship(
        sa_relationship_kwargs={
            "order_by": "EmergencyContact.position",
            # Contacts are replaced as a list; the ones dropped from it are deleted.
            "cascade": "all, delete-orphan",
        }
    )
    policies: list["InsurancePolicy"] = Relationship(
        sa_relationship_kwargs={"order_by": "InsurancePolicy.created_at"}
    )


class EmergencyContact(SQLModel, table=True):
    __tablename__ = "emergency_contacts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    position: int = 0
    name: str = Field(max_length=120)
    relationship: str = Field(max_length=40)
    phone: str = Field(max_length=20)


class InsurancePolicy(SQLModel, table=True):
    __tablename__ = "insurance_policies"
    __table_args__ = (Index("ix_insurance_policies_member", "payer_id", "member_id"),)
    __mapper_args__ = {"version_id_col": _policy_version}

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    rank: str = Field(max_length=10)
    active: bool = True
    payer_name: str = Field(max_length=120)
    payer_id: str = Field(max_length=20)
    member_id: str = Field(max_length=40)
    group_number: str | None = Field(default=None, max_length=40)
    plan_name: str | None = Field(default=None, max_length=120)
    subscriber_relationship: str = Field(default="self", max_length=10)
    subscriber_first_name: str | None = Field(default=None, max_length=80)
    subscriber_last_name: str | None = Field(default=None, max_length=80)
    subscriber_date_of_birth: date | None = None
    subscriber_sex: str | None = Field(default=None, max_length=10)
    effective_date: date
    end_date: date | None = None
    copay_primary_care_cents: int | None = None
    copay_specialist_cents: int | None = None
    copay_urgent_care_cents: int | None = None
    copay_emergency_cents: int | None = None
    version: int = Field(default=1, sa_column=_policy_version)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
