from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from backoffice.db import SessionDep
from backoffice.kit.etags import IfMatch, etag, expected_version
from backoffice.kit.pagination import Page, PageDep
from backoffice.patients import service as patients_service
from backoffice.patients.schemas import (
    MergeRequest,
    PatientCreate,
    PatientPublic,
    PatientSummary,
    PatientUpdate,
    PolicyCreate,
    PolicyPublic,
    PolicyUpdate,
)
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from shared.enums import PatientStatus
from shared.errors import FieldError, InvalidInput, PermissionDenied
from shared.validators import normalize_phone

patients_router = APIRouter(prefix="/patients", tags=["patients"])

Reader = Annotated[Actor, Depends(require(Permission.PATIENTS_READ))]
Writer = Annotated[Actor, Depends(require(Permission.PATIENTS_WRITE))]
Merger = Annotated[Actor, Depends(require(Permission.PATIENTS_MERGE))]


def _cipher(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.cipher


@patients_router.get("", name="patients.search", response_model=Page[PatientSummary])
def search_patients(
    session: SessionDep,
    actor: Reader,
    page: PageDep,
    name: Annotated[
        str | None,
        Query(min_length=1, max_length=120, description="Prefix: 'smi', 'smith, jo' or 'jo smith'"),
    ] = None,
    date_of_birth: date | None = None,
    mrn: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    status: PatientStatus | None = None,
) -> Page[PatientSummary]:
    if phone is not None:
        try:
            phone = normalize_phone(phone)
        except ValueError as exc:
            raise InvalidInput(
                "Not a valid phone number.", [FieldError("phone", str(exc))]
            ) from exc
    rows = patients_service.search_patients(
        session,
        actor=actor,
        limit=page.limit,
        offset=page.offset,
        name=name,
        date_of_birth=date_of_birth,
        mrn=mrn,
        phone=phone,
        status=status,
    )
    return Page.from_rows([patients_service.to_summary(p) for p in rows], page)


@patients_router.post(
    "", name="patients.create", response_model=PatientPublic, status_code=status.HTTP_201_CREATED
)
def register_patient(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Writer,
    body: PatientCreate,
    confirm_new: Annotated[bool, Query(description="Register even if near matches exist")] = False,
) -> PatientPublic:
    patient = patients_service.create_patient(
        session, actor=actor, data=body, cipher=_cipher(request), confirm_new=confirm_new
    )
    response.headers["ETag"] = etag(patient.version)
    response.headers["Location"] = f"/api/v1/patients/{patient.id}"
    return patients_service.to_public(patient, cipher=_cipher(request))


@patients_router.get("/{patient_id}", name="patients.read", response_model=PatientPublic)
def read_patient(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Reader,
    patient_id: uuid.UUID,
    reveal_ssn: Annotated[bool, Query(description="Show the full SSN (billing, admin)")] = False,
) -> PatientPublic:
    if reveal_ssn and not actor.principal.can(Permission.PATIENTS_READ_SSN):
        raise PermissionDenied("Your role may see only the last four digits of an SSN.")
    public = patients_service.read_patient(
        session, actor=actor, patient_id=patient_id, cipher=_cipher(request), reveal_ssn=reveal_ssn
    )
    response.headers["ETag"] = etag(public.version)
    return public


@patients_router.patch("/{patient_id}", name="patients.update", response_model=PatientPublic)
def update_patient(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    body: PatientUpdate,
    if_match: IfMatch = None,
) -> PatientPublic:
    version = expected_version(if_match)
    patient = patients_service.get_patient(session, patient_id=patient_id)
    patient = patients_service.update_patient(
        session,
        actor=actor,
        patient=patient,
        data=body,
        expected_version=version,
        cipher=_cipher(request),
    )
    response.headers["ETag"] = etag(patient.version)
    return patients_service.to_public(patient, cipher=_cipher(request))


@patients_router.post("/{patient_id}/merge", name="patients.merge", response_model=PatientPublic)
def merge_patient(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Merger,
    patient_id: uuid.UUID,
    body: MergeRequest,
    if_match: IfMatch = None,
) -> PatientPublic:
    """Fold the duplicate `source_id` into this patient, keeping everything linked to it."""
    version = expected_version(if_match)
    target = patients_service.get_patient(session, patient_id=patient_id)
    source = patients_service.get_patient(session, patient_id=body.source_id)
    merged = patients_service.merge_patients(
        session, actor=actor, target=target, source=source, expected_version=version
    )
    response.headers["ETag"] = etag(merged.version)
    return patients_service.to_public(merged, cipher=_cipher(request))


@patients_router.get(
    "/{patient_id}/policies", name="policies.list", response_model=list[PolicyPublic]
)
def list_policies(session: SessionDep, actor: Reader, patient_id: uuid.UUID) -> list[PolicyPublic]:
    patient = patients_service.get_patient(session, patient_id=patient_id)
    policies = patients_service.list_policies(session, actor=actor, patient=patient)
    return [PolicyPublic.model_validate(p, from_attributes=True) for p in policies]


@patients_router.post(
    "/{patient_id}/policies",
    name="policies.create",
    response_model=PolicyPublic,
    status_code=status.HTTP_201_CREATED,
)
def add_policy(
    response: Response,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    body: PolicyCreate,
) -> PolicyPublic:
    patient = patients_service.get_patient(session, patient_id=patient_id)
    policy = patients_service.add_policy(session, actor=actor, patient=patient, data=body)
    response.headers["ETag"] = etag(policy.version)
    return PolicyPublic.model_validate(policy, from_attributes=True)


@patients_router.patch(
    "/{patient_id}/policies/{policy_id}", name="policies.update", response_model=PolicyPublic
)
def update_policy(
    response: Response,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    policy_id: uuid.UUID,
    body: PolicyUpdate,
    if_match: IfMatch = None,
) -> PolicyPublic:
    version = expected_version(if_match)
    patient = patients_service.get_patient(session, patient_id=patient_id)
    policy = patients_service.get_policy(session, patient=patient, policy_id=policy_id)
    policy = patients_service.update_policy(
        session, actor=actor, patient=patient, policy=policy, data=body, expected_version=version
    )
    response.headers["ETag"] = etag(policy.version)
    return PolicyPublic.model_validate(policy, from_attributes=True)
