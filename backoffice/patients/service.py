"""Registering, finding, changing and merging patients, and their insurance policies.

Every read and write of a patient's data is audited here, in the same transaction.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, union, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from backoffice.kit.columns import utcnow
from backoffice.patients.matching import Demographics, rank_candidates, search_key
from backoffice.patients.models import EmergencyContact, InsurancePolicy, Patient
from backoffice.patients.schemas import (
    Address,
    DuplicateCandidate,
    EmergencyContactIn,
    EmergencyContactPublic,
    PatientCreate,
    PatientPublic,
    PatientSummary,
    PatientUpdate,
    PolicyCreate,
    PolicyFields,
    PolicyUpdate,
    contact_method_problem,
    policy_rule_errors,
)
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher
from shared.enums import PatientStatus, PolicyRank
from shared.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PossibleDuplicate,
    PreconditionFailed,
)
from shared.validators import is_valid_mrn, luhn_check_digit, mask_ssn

CANDIDATES_PER_BLOCK = 200
SSN_CONTEXT = "patients.ssn"  # the associated data of the SSN column
_ADDRESS_COLUMNS = {
    "line1": "address_line1",
    "line2": "address_line2",
    "city": "address_city",
    "state": "address_state",
    "postal_code": "address_postal_code",
}
_PLAIN_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "date_of_birth",
    "sex",
    "preferred_language",
    "phone",
    "phone_type",
    "email",
    "preferred_contact_method",
    "status",
)


def new_mrn() -> str:
    body = str(secrets.randbelow(90_000_000) + 10_000_000)
    return body + luhn_check_digit(body)


# --- reading -----------------------------------------------------------------------------


def get_patient(session: Session, *, patient_id: uuid.UUID) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("No patient with that id.")
    return patient


def read_patient(
    session: Session, *, actor: Actor, patient_id: uuid.UUID, cipher: FieldCipher, reveal_ssn: bool
) -> PatientPublic:
    patient = get_patient(session, patient_id=patient_id)
    actor.audit(
        session,
        "patients.read",
        resource_type="patient",
        resource_id=patient.id,
        detail={"ssn_revealed": True} if reveal_ssn and patient.ssn_ciphertext else None,
    )
    return to_public(patient, cipher=cipher, reveal_ssn=reveal_ssn)


def to_public(patient: Patient, *, cipher: FieldCipher, reveal_ssn: bool = False) -> PatientPublic:
    ssn = None
    if patient.ssn_ciphertext:
        plain = cipher.decrypt(patient.ssn_ciphertext, context=SSN_CONTEXT)
        ssn = plain if reveal_ssn else mask_ssn(plain)
    address = None
    if patient.address_line1:
        address = Address.model_construct(
            **{field: getattr(patient, column) for field, column in _ADDRESS_COLUMNS.items()}
        )
    return PatientPublic(
        id=patient.id,
        mrn=patient.mrn,
        first_name=patient.first_name,
        middle_name=patient.middle_name,
        last_name=patient.last_name,
        suffix=patient.suffix,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        ssn=ssn,
        preferred_language=patient.preferred_language,
        phone=patient.phone,
        phone_type=patient.phone_type,
        email=patient.email,
        preferred_contact_method=patient.preferred_contact_method,
        address=address,
        emergency_contacts=[
            EmergencyContactPublic(name=c.name, relationship=c.relationship, phone=c.phone)
            for c in patient.emergency_contacts
        ],
        status=patient.status,
        merged_into_id=patient.merged_into_id,
        version=patient.version,
        created_at=patient.created_at,
        updated_at=patient.updated_at,
    )


def to_summary(patient: Patient) -> PatientSummary:
    return PatientSummary(
        id=patient.id,
        mrn=patient.mrn,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        phone=patient.phone,
        status=patient.status,
    )


def _name_conditions(name: str) -> list[Any]:
    """The ways a typed name can match, each answered by one index range:
    'smi' → last or first name starts with 'smi'; 'smith, jo' → last 'smith…' and first
    'jo…'; 'jo smith' → either order."""
    if "," in name:
        last, _, first = name.partition(",")
        pairs = [(search_key(last), search_key(first))]
    else:
        words = [key for key in map(search_key, name.split()) if key]
        if len(words) == 1:
            return [
                _prefix(col(Patient.last_name_key), words[0]),
                _prefix(col(Patient.first_name_key), words[0]),
            ]
        pairs = [(words[-1], words[0]), (words[0], words[-1])]
    return [
        and_(_prefix(col(Patient.last_name_key), last), _prefix(col(Patient.first_name_key), first))
        for last, first in pairs
    ]


def _prefix(column: Any, key: str) -> Any:
    # A range rather than LIKE: both databases answer it from the b-tree index.
    # U+10FFFF sorts after every other character in UTF-8 byte order (SQLite BINARY and
    # PostgreSQL "C"), so [key, key + U+10FFFF) holds exactly the keys that start with key.
    return and_(column >= key, column < key + "\U0010ffff") if key else column.is_not(None)


def search_patients(
    session: Session,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    name: str | None = None,
    date_of_birth: date | None = None,
    mrn: str | None = None,
    phone: str | None = None,
    status: PatientStatus | None = None,
) -> list[Patient]:
    criteria: list[str] = []
    filters: list[Any] = []
    if date_of_birth:
        filters.append(col(Patient.date_of_birth) == date_of_birth)
        criteria.append("date_of_birth")
    if mrn:
        if not is_valid_mrn(mrn):
            raise InvalidInput(
                "Not a valid MRN.", [FieldError("mrn", "nine digits with a valid check digit")]
            )
        filters.append(col(Patient.mrn) == mrn)
        criteria.append("mrn")
    if phone:
        filters.append(col(Patient.phone) == phone)
        criteria.append("phone")
    filters.append(
        col(Patient.status) == status if status else col(Patient.status) != PatientStatus.MERGED
    )
    order = (
        col(Patient.last_name_key),
        col(Patient.first_name_key),
        col(Patient.date_of_birth),
        col(Patient.id),
    )
    query = select(Patient).order_by(*order).offset(offset).limit(limit + 1)
    if name and not search_key(name):
        raise InvalidInput(
            "Search by name needs letters or digits.",
            [FieldError("name", "needs at least one letter or digit")],
        )
    if name:
        criteria.insert(0, "name")
    conditions = _name_conditions(name) if name else []
    if len(conditions) > 1:
        # One query per way of matching, each taking its first rows from its own index
        # range, then the union: an OR over two indexes makes the planner walk one index
        # from the start of the alphabet instead.
        window = offset + limit + 1
        branches = [
            select(Patient.id).where(condition, *filters).order_by(*order).limit(window).subquery()
            for condition in conditions
        ]
        matching_ids = union(*[select(branch.c.id) for branch in branches])
        query = query.where(col(Patient.id).in_(matching_ids))
    else:
        query = query.where(*conditions, *filters)
    rows = list(session.exec(query))
    actor.audit(
        session,
        "patients.search",
        resource_type="patient",
        detail={"criteria": criteria, "result_ids": [str(p.id) for p in rows[:limit]]},
    )
    return rows


# --- registering ---------------------------------------------------------------------------


def find_duplicates(
    session: Session, *, data: Demographics
) -> list[tuple[Patient, float, tuple[str, ...]]]:
    """Candidates share a birth date, a phone, or the last name and first initial."""
    last_key, first_key = search_key(data.last_name), search_key(data.first_name)
    blocks: list[Any] = [
        col(Patient.date_of_birth) == data.date_of_birth,
        and_(
            col(Patient.last_name_key) == last_key,
            _prefix(col(Patient.first_name_key), first_key[:1]),
        ),
    ]
    if data.phone:
        blocks.append(col(Patient.phone) == data.phone)
    # Each block on its own and bounded, so one crowded block (a clinic's own phone number
    # entered for many patients) cannot crowd the others out.
    found: dict[uuid.UUID, Patient] = {}
    for block in blocks:
        query = (
            select(Patient)
            .where(block, col(Patient.status) != PatientStatus.MERGED)
            .order_by(col(Patient.created_at).desc())
            .limit(CANDIDATES_PER_BLOCK)
        )
        found.update((p.id, p) for p in session.exec(query))
    rows = list(found.values())
    pool = [(p, Demographics(p.first_name, p.last_name, p.date_of_birth, p.phone)) for p in rows]
    return [(p, m.score, m.reasons) for p, m in rank_candidates(data, pool)]


def create_patient(
    session: Session, *, actor: Actor, data: PatientCreate, cipher: FieldCipher, confirm_new: bool
) -> Patient:
    demographics = Demographics(data.first_name, data.last_name, data.date_of_birth, data.phone)
    duplicates = find_duplicates(session, data=demographics)
    if duplicates and not confirm_new:
        candidates = [
            DuplicateCandidate(**to_summary(p).model_dump(), score=score, reasons=list(reasons))
            for p, score, reasons in duplicates
        ]
        raise PossibleDuplicate(
            "This may be a patient already registered. Check the candidates; to register "
            "anyway, send the request again with confirm_new=true.",
            candidates=[c.model_dump(mode="json") for c in candidates],
        )
    patient = Patient(
        mrn="",
        first_name=data.first_name,
        middle_name=data.middle_name,
        last_name=data.last_name,
        suffix=data.suffix,
        first_name_key=search_key(data.first_name),
        last_name_key=search_key(data.last_name),
        date_of_birth=data.date_of_birth,
        sex=data.sex,
        ssn_ciphertext=cipher.encrypt(data.ssn, context=SSN_CONTEXT) if data.ssn else None,
        preferred_language=data.preferred_language,
        phone=data.phone,
        phone_type=data.phone_type,
        email=data.email.lower() if data.email else None,
        preferred_contact_method=data.preferred_contact_method,
    )
    _set_address(patient, data.address)
    patient.emergency_contacts = _contacts(patient.id, data.emergency_contacts)
    _insert_with_unique_mrn(session, patient)
    actor.audit(
        session,
        "patients.create",
        resource_type="patient",
        resource_id=patient.id,
        detail={
            "duplicate_override": bool(duplicates),
            "duplicate_candidate_ids": [str(p.id) for p, _, _ in duplicates],
        },
    )
    return patient


def _insert_with_unique_mrn(session: Session, patient: Patient, attempts: int = 8) -> None:
    """MRNs are random, so no counter row serialises registrations; the unique index settles
    the rare collision and we draw again."""
    for _ in range(attempts):
        patient.mrn = new_mrn()
        try:
            with session.begin_nested():
                session.add(patient)
                session.flush()
            return
        except IntegrityError:
            if session.exec(select(Patient.id).where(Patient.mrn == patient.mrn)).first() is None:
                raise
    raise Conflict("Could not allocate a unique MRN; try again.")


def _set_address(patient: Patient, address: Address | None) -> None:
    for field, column in _ADDRESS_COLUMNS.items():
        setattr(patient, column, getattr(address, field) if address else None)


def _contacts(patient_id: uuid.UUID, contacts: list[EmergencyContactIn]) -> list[EmergencyContact]:
    return [
        EmergencyContact(
            patient_id=patient_id,
            position=i,
            name=c.name,
            relationship=c.relationship,
            phone=c.phone,
        )
        for i, c in enumerate(contacts)
    ]


# --- changing ------------------------------------------------------------------------------


def check_version(current: int, expected: int) -> None:
    if current != expected:
        raise PreconditionFailed(
            f"This record is at version {current}, not {expected}: someone changed it since you "
            "read it. Read it again and re-apply your change.",
            current_version=current,
        )


def update_patient(
    session: Session,
    *,
    actor: Actor,
    patient: Patient,
    data: PatientUpdate,
    expected_version: int,
    cipher: FieldCipher,
) -> Patient:
    check_version(patient.version, expected_version)
    if patient.status == PatientStatus.MERGED:
        raise Conflict(
            "This record was merged into another; change that one instead.",
            merged_into_id=str(patient.merged_into_id),
        )
    sent = data.model_fields_set
    changed: list[str] = []
    for name in _PLAIN_FIELDS:
        if name in sent:
            value = getattr(data, name)
            if name == "email" and value:
                value = value.lower()
            if getattr(patient, name) != value:
                setattr(patient, name, value)
                changed.append(name)
    if "ssn" in sent:
        patient.ssn_ciphertext = cipher.encrypt(data.ssn, context=SSN_CONTEXT) if data.ssn else None
        changed.append("ssn")
    if "address" in sent:
        _set_address(patient, data.address)
        changed.append("address")
    if "emergency_contacts" in sent and data.emergency_contacts is not None:
        patient.emergency_contacts = _contacts(patient.id, data.emergency_contacts)
        changed.append("emergency_contacts")
    if not changed:
        return patient
    problem = contact_method_problem(patient.preferred_contact_method, patient.phone, patient.email)
    if problem:
        culprit = next(
            (f for f in ("preferred_contact_method", "phone", "email") if f in sent),
            "preferred_contact_method",
        )
        raise InvalidInput(
            f"The preferred contact method {problem}.",
            [FieldError(culprit, f"the preferred contact method {problem}")],
        )
    patient.first_name_key = search_key(patient.first_name)
    patient.last_name_key = search_key(patient.last_name)
    patient.updated_at = utcnow()
    session.add(patient)
    session.flush()
    actor.audit(
        session,
        "patients.update",
        resource_type="patient",
        resource_id=patient.id,
        detail={"fields": changed},
    )
    return patient


def merge_patients(
    session: Session, *, actor: Actor, target: Patient, source: Patient, expected_version: int
) -> Patient:
    """Fold `source` into `target`: every row that points at the source is moved to the
    target, empty fields on the target are filled from the source, and the source is kept,
    marked merged, so old references still lead somewhere."""
    check_version(target.version, expected_version)
    if target.id == source.id:
        raise Conflict("A record cannot be merged into itself.")
    if PatientStatus.MERGED in (target.status, source.status):
        raise Conflict("One of these records was merged already.")
    _rerank_policies_for_merge(session, target=target, source=source)
    moved = _repoint_references(session, source_id=source.id, target_id=target.id)
    filled = []
    for name in (
        "middle_name",
        "suffix",
        "phone",
        "phone_type",
        "email",
        "preferred_contact_method",
        "ssn_ciphertext",
        *_ADDRESS_COLUMNS.values(),
    ):
        if getattr(target, name) is None and getattr(source, name) is not None:
            setattr(target, name, getattr(source, name))
            filled.append(name.replace("ssn_ciphertext", "ssn"))
    now = utcnow()
    target.updated_at = source.updated_at = now
    source.status, source.merged_into_id = PatientStatus.MERGED, target.id
    session.add_all([target, source])
    session.flush()
    session.expire_all()
    detail = {
        "source_id": str(source.id),
        "target_id": str(target.id),
        "moved": moved,
        "filled": filled,
    }
    actor.audit(
        session, "patients.merge", resource_type="patient", resource_id=target.id, detail=detail
    )
    actor.audit(
        session,
        "patients.merged_away",
        resource_type="patient",
        resource_id=source.id,
        detail=detail,
    )
    return session.get(Patient, target.id)  # type: ignore[return-value]


def _rerank_policies_for_merge(session: Session, *, target: Patient, source: Patient) -> None:
    """Keep every policy. A copy of one the target holds, or one with no free rank left,
    stays on file inactive."""
    held = {(p.payer_id, p.member_id) for p in target.policies if p.active}
    free = [r for r in PolicyRank if r not in {p.rank for p in target.policies if p.active}]
    for policy in sorted(source.policies, key=lambda p: list(PolicyRank).index(PolicyRank(p.rank))):
        if not policy.active:
            continue
        if (policy.payer_id, policy.member_id) in held or not free:
            policy.active = False
        else:
            policy.rank = free.pop(0)
        session.add(policy)
    session.flush()


def _repoint_references(
    session: Session, *, source_id: uuid.UUID, target_id: uuid.UUID
) -> dict[str, int]:
    """Every foreign key to patients.id, in every domain, present and future."""
    moved: dict[str, int] = {}
    patients_id = Patient.__table__.c.id  # type: ignore[attr-defined]
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is not patients_id or fk.parent is Patient.__table__.c.merged_into_id:  # type: ignore[attr-defined]
                continue
            result = session.execute(
                update(table).where(fk.parent == source_id).values({fk.parent.name: target_id})
            )
            if result.rowcount:  # type: ignore[attr-defined]
                moved[table.name] = moved.get(table.name, 0) + result.rowcount  # type: ignore[attr-defined]
    return moved


# --- insurance -----------------------------------------------------------------------------


def list_policies(session: Session, *, actor: Actor, patient: Patient) -> list[InsurancePolicy]:
    actor.audit(session, "policies.list", resource_type="patient", resource_id=patient.id)
    rank = {r.value: i for i, r in enumerate(PolicyRank)}
    return sorted(patient.policies, key=lambda p: (not p.active, rank[p.rank], p.created_at))


def _ensure_rank_free(patient: Patient, rank: str, *, except_id: uuid.UUID | None = None) -> None:
    for other in patient.policies:
        if other.active and other.rank == rank and other.id != except_id:
            raise Conflict(
                f"The patient already has an active {rank} policy; end it or rank this one "
                "differently.",
                existing_policy_id=str(other.id),
            )


def add_policy(
    session: Session, *, actor: Actor, patient: Patient, data: PolicyCreate
) -> InsurancePolicy:
    errors = policy_rule_errors(data.model_dump())
    if errors:
        raise InvalidInput("Check the policy's fields.", errors)
    _ensure_rank_free(patient, data.rank)
    policy = InsurancePolicy(patient_id=patient.id, **data.model_dump())
    session.add(policy)
    session.flush()
    session.refresh(patient)
    actor.audit(
        session,
        "policies.create",
        resource_type="patient",
        resource_id=patient.id,
        detail={"policy_id": str(policy.id), "rank": policy.rank},
    )
    return policy


def get_policy(session: Session, *, patient: Patient, policy_id: uuid.UUID) -> InsurancePolicy:
    policy = session.get(InsurancePolicy, policy_id)
    if policy is None or policy.patient_id != patient.id:
        raise NotFound("No such policy for this patient.")
    return policy


def update_policy(
    session: Session,
    *,
    actor: Actor,
    patient: Patient,
    policy: InsurancePolicy,
    data: PolicyUpdate,
    expected_version: int,
) -> InsurancePolicy:
    check_version(policy.version, expected_version)
    sent = data.model_fields_set
    merged = {
        **PolicyFields.model_validate(policy, from_attributes=True).model_dump(),
        **{k: getattr(data, k) for k in sent if k in PolicyFields.model_fields},
    }
    errors = [
        FieldError(name, "cannot be cleared")
        for name in (
            "payer_name",
            "payer_id",
            "member_id",
            "effective_date",
            "subscriber_relationship",
            "rank",
            "active",
        )
        if name in sent and getattr(data, name) is None
    ]
    errors += policy_rule_errors(merged)
    if errors:
        raise InvalidInput("Check the policy's fields.", errors)
    rank = data.rank if "rank" in sent and data.rank else policy.rank
    active = data.active if "active" in sent and data.active is not None else policy.active
    if active:
        _ensure_rank_free(patient, rank, except_id=policy.id)
    for name, value in merged.items():
        setattr(policy, name, value)
    policy.rank, policy.active, policy.updated_at = rank, active, utcnow()
    session.add(policy)
    session.flush()
    actor.audit(
        session,
        "policies.update",
        resource_type="patient",
        resource_id=patient.id,
        detail={"policy_id": str(policy.id), "fields": sorted(sent)},
    )
    return policy
