"""Console pages for the patient registry: search, register (with the duplicate check),
the record, editing demographics, and adding and changing insurance policies.

Every page reads and writes through the patients service, which audits each PHI read and
write. Edits carry the version the form was filled from, so a change someone made
meanwhile is shown, never overwritten.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, func, select
from starlette.datastructures import FormData

from backoffice.billing import eligibility_service, statements
from backoffice.billing.models import EligibilityCheck, PaymentPlan, PaymentPlanInstalment
from backoffice.clinic.models import Location, Provider
from backoffice.console.web import attempt, field_errors, page_requires, render, see_other
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.patients import service as patients_service
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.patients.schemas import (
    PatientCreate,
    PatientPublic,
    PatientUpdate,
    PolicyCreate,
    PolicyUpdate,
)
from backoffice.payments import ledger
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher
from backoffice.security.permissions import Permission
from shared.enums import (
    ContactMethod,
    PatientStatus,
    PhoneType,
    PolicyRank,
    Sex,
    SubscriberRelationship,
)
from shared.errors import (
    AppError,
    FieldError,
    InvalidInput,
    PermissionDenied,
    PossibleDuplicate,
    PreconditionFailed,
)
from shared.validators import normalize_phone

patients_pages = APIRouter(prefix="/staff/patients")

Reader = Annotated[Actor, Depends(page_requires(Permission.PATIENTS_READ))]
Writer = Annotated[Actor, Depends(page_requires(Permission.PATIENTS_WRITE))]
EligibilityChecker = Annotated[Actor, Depends(page_requires(Permission.ELIGIBILITY_CHECK))]
BillingReader = Annotated[Actor, Depends(page_requires(Permission.BILLING_READ))]

PAGE_SIZE = 25
UPCOMING_SHOWN = 10
MAX_CONTACTS = 5  # as PatientCreate allows
MAX_COPAY_CENTS = 1_000_000  # as shared.validators.Cents allows
ModelT = TypeVar("ModelT", bound=BaseModel)
STALE_RECORD = "Someone changed this record while you were editing; here is the current record."
STALE_POLICY = "Someone changed this policy while you were editing; here is the current policy."
ELIGIBILITY_NOT_SET_UP = "Eligibility checks are not set up for this clinic."

DEMOGRAPHIC_FIELDS = (
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
)
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code")
CONTACT_FIELDS = ("name", "relationship", "phone")
COPAYS = ("primary_care", "specialist", "urgent_care", "emergency")
POLICY_FIELDS = (
    "rank",
    "payer_name",
    "payer_id",
    "member_id",
    "group_number",
    "plan_name",
    "subscriber_relationship",
    "subscriber_first_name",
    "subscriber_last_name",
    "subscriber_date_of_birth",
    "subscriber_sex",
    "effective_date",
    "end_date",
)

# What the forms offer, as (value, label); the values are the service's enums.
CHOICES: dict[str, list[tuple[str, str]]] = {
    "sex": [(s.value, s.value.capitalize()) for s in Sex],
    "subscriber_sex": [(s.value, s.value.capitalize()) for s in Sex],
    "phone_type": [(t.value, t.value.capitalize()) for t in PhoneType],
    "preferred_contact_method": [
        (ContactMethod.PHONE.value, "Phone call"),
        (ContactMethod.SMS.value, "Text message"),
        (ContactMethod.EMAIL.value, "Email"),
        (ContactMethod.PORTAL.value, "Patient portal"),
    ],
    "status": [(s.value, s.value.capitalize()) for s in PatientStatus if s != PatientStatus.MERGED],
    "rank": [(r.value, r.value.capitalize()) for r in PolicyRank],
    "subscriber_relationship": [
        (SubscriberRelationship.SELF.value, "The patient"),
        (SubscriberRelationship.SPOUSE.value, "Spouse"),
        (SubscriberRelationship.CHILD.value, "The patient is the subscriber's child"),
        (SubscriberRelationship.OTHER.value, "Someone else"),
    ],
}

# Each input's label, also used to name it in the list of problems above a form.
LABELS: dict[str, str] = {
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "suffix": "Suffix",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "ssn": "Social Security number",
    "preferred_language": "Preferred language",
    "phone": "Phone",
    "phone_type": "Phone type",
    "email": "Email",
    "preferred_contact_method": "Preferred contact method",
    "status": "Status",
    "address_line1": "Street address",
    "address_line2": "Apartment, suite (line 2)",
    "address_city": "City",
    "address_state": "State",
    "address_postal_code": "ZIP code",
    **{
        f"contact_{row}_{f}": f"Emergency contact {row + 1}: {f}"
        for row in range(MAX_CONTACTS)
        for f in CONTACT_FIELDS
    },
    "rank": "Rank",
    "payer_name": "Insurance company",
    "payer_id": "Payer ID",
    "member_id": "Member ID",
    "group_number": "Group number",
    "plan_name": "Plan name",
    "subscriber_relationship": "Subscriber",
    "subscriber_first_name": "Subscriber's first name",
    "subscriber_last_name": "Subscriber's last name",
    "subscriber_date_of_birth": "Subscriber's date of birth",
    "subscriber_sex": "Subscriber's sex",
    "effective_date": "Effective from",
    "end_date": "Ends on",
    "copay_primary_care": "Primary care copay ($)",
    "copay_specialist": "Specialist copay ($)",
    "copay_urgent_care": "Urgent care copay ($)",
    "copay_emergency": "Emergency copay ($)",
    "active": "Active",
}

# Friendlier words for pydantic's messages, by error type.
_MESSAGES = {
    "missing": "is required",
    "date_parsing": "enter a date like 1961-04-02",
    "date_from_datetime_parsing": "enter a date like 1961-04-02",
    "date_type": "enter a date like 1961-04-02",
    "enum": "choose one of the options",
    "string_too_long": "is too long",
    "string_too_short": "is required",
}


def _cipher(request: Request) -> FieldCipher:
    return request.app.state.cipher  # type: ignore[no-any-return]


async def form_of(request: Request) -> FormData:
    """The posted form, read once on the event loop so the page itself can stay sync."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(form_of)]


# --- forms ↔ the service's schemas ---------------------------------------------------------


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _typed(form: FormData) -> dict[str, str]:
    """What was typed, to put back in the form when it is shown again."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


class _Names:
    """Maps a schema's error location back to the form's input name."""

    def __init__(self, contact_rows: list[int] | None = None) -> None:
        self.contact_rows = contact_rows or []

    def __call__(self, loc: tuple[Any, ...] | list[Any]) -> str:
        parts = [str(p) for p in loc]
        if not parts:
            return "form"
        head = parts[0]
        if head == "address" and len(parts) > 1:
            return f"address_{parts[1]}"
        if head == "emergency_contacts" and len(parts) > 2 and parts[1].isdigit():
            index = int(parts[1])
            row = self.contact_rows[index] if index < len(self.contact_rows) else index
            return f"contact_{row}_{parts[2]}"
        if head.startswith("copay_") and head.endswith("_cents"):
            return head.removesuffix("_cents")
        return head


def _validate(
    model: type[ModelT], data: dict[str, Any], names: _Names
) -> tuple[ModelT | None, dict[str, str]]:
    """Like `web.parse_form`, but for nested forms (address, contacts) and with None kept,
    since on an edit an emptied input means "clear it"."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            message = _MESSAGES.get(error["type"]) or str(error["msg"])
            errors.setdefault(names(error["loc"]), message.removeprefix("Value error, "))
        return None, errors


def _refusal_errors(exc: AppError, names: _Names) -> dict[str, str]:
    if not isinstance(exc, InvalidInput):
        return {}
    return {names(field.split(".")): message for field, message in field_errors(exc.errors).items()}


def _explained(refusal: AppError, errors: dict[str, str]) -> str | None:
    """The refusal's own words, unless its messages by field already say it all."""
    return None if errors and isinstance(refusal, InvalidInput) else refusal.detail


def _demographics(form: FormData) -> tuple[dict[str, Any], _Names]:
    """The demographics form as the service's shape; empty inputs are None."""
    data: dict[str, Any] = {name: _text(form, name) for name in DEMOGRAPHIC_FIELDS}
    address = {f: _text(form, f"address_{f}") for f in ADDRESS_FIELDS}
    data["address"] = address if any(address.values()) else None
    contacts, rows = [], []
    for row in range(MAX_CONTACTS):
        contact = {f: _text(form, f"contact_{row}_{f}") for f in CONTACT_FIELDS}
        if any(contact.values()):
            contacts.append(contact)
            rows.append(row)
    data["emergency_contacts"] = contacts
    return data, _Names(rows)


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value


def dollars_to_cents(text: str) -> int:
    """'25', '25.00', '$1,250.5' → cents, exactly (Decimal, never float)."""
    match = re.fullmatch(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?", text.strip())
    if match is None:
        raise ValueError("enter dollars and cents, like 25.00")
    whole, fraction = match.group(1).replace(",", ""), match.group(2) or "0"
    cents = int(Decimal(f"{whole}.{fraction}") * 100)
    if cents > MAX_COPAY_CENTS:
        raise ValueError("must be at most $10,000.00")
    return cents


def cents_to_dollars(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"


def _policy(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    data: dict[str, Any] = {name: _text(form, name) for name in POLICY_FIELDS}
    errors: dict[str, str] = {}
    for kind in COPAYS:
        typed = _text(form, f"copay_{kind}")
        cents = None
        if typed is not None:
            try:
                cents = dollars_to_cents(typed)
            except ValueError as exc:
                errors[f"copay_{kind}"] = str(exc)
        data[f"copay_{kind}_cents"] = cents
    return data, errors


def _policy_values(policy: InsurancePolicy) -> dict[str, str]:
    values = {
        name: "" if getattr(policy, name) is None else str(getattr(policy, name))
        for name in POLICY_FIELDS
    }
    for kind in COPAYS:
        values[f"copay_{kind}"] = cents_to_dollars(getattr(policy, f"copay_{kind}_cents"))
    values["active"] = "yes" if policy.active else ""
    values["version"] = str(policy.version)
    return values


def _patient_values(patient: PatientPublic) -> dict[str, str]:
    values = {
        name: "" if getattr(patient, name) is None else str(getattr(patient, name))
        for name in DEMOGRAPHIC_FIELDS
    }
    if patient.address is not None:
        for f in ADDRESS_FIELDS:
            values[f"address_{f}"] = getattr(patient.address, f) or ""
    for row, contact in enumerate(patient.emergency_contacts):
        for f in CONTACT_FIELDS:
            values[f"contact_{row}_{f}"] = getattr(contact, f)
    values["status"] = patient.status.value
    values["version"] = str(patient.version)
    return values


def _contact_rows(values: dict[str, str]) -> int:
    """The contact rows to offer: those filled in, one blank more, at least two."""
    filled = [
        row
        for row in range(MAX_CONTACTS)
        if any(values.get(f"contact_{row}_{f}") for f in CONTACT_FIELDS)
    ]
    return min(MAX_CONTACTS, max(2, (max(filled) + 2) if filled else 0))


def _version(form: FormData) -> int:
    """The version the form was filled from; a form without one counts as stale."""
    value = _text(form, "version") or ""
    return int(value) if value.isdigit() else -1


# --- search ------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y")


def _as_date(word: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(word, fmt).date()
        except ValueError:
            continue
    return None


def search_terms(q: str) -> dict[str, Any]:
    """One search box: a date anywhere in it is the birth date; nine digits are an MRN; a
    phone-looking number is a phone; the rest is a name ('smi', 'smith, jo', 'jo smith')."""
    terms: dict[str, Any] = {}
    words = []
    for word in q.split():
        born = _as_date(word)
        if born is not None and "date_of_birth" not in terms:
            terms["date_of_birth"] = born
        else:
            words.append(word)
    rest = " ".join(words).strip()
    digits = re.sub(r"\D", "", rest)
    if re.fullmatch(r"\d{9}", rest):
        terms["mrn"] = rest
    elif rest and re.fullmatch(r"[\d\s().+-]+", rest) and len(digits) >= 7:
        try:
            terms["phone"] = normalize_phone(rest)
        except ValueError as exc:
            raise InvalidInput(
                "Not a valid phone number.", [FieldError("phone", "not a valid phone number")]
            ) from exc
    elif rest:
        terms["name"] = rest
    return terms


_SEARCH_PROBLEMS = {
    "mrn": "An MRN is nine digits with a valid check digit; check the number.",
    "phone": "That is not a valid phone number; check the digits.",
    "name": "Type at least one letter or digit of the name.",
}


@patients_pages.get("", name="console.patients")
def search(
    request: Request, session: SessionDep, actor: Reader, q: str = "", offset: int = 0
) -> Response:
    q = q.strip()[:120]
    offset = max(0, offset)
    rows: list[Patient] | None = None
    error = None
    if q:
        try:
            rows = patients_service.search_patients(
                session, actor=actor, limit=PAGE_SIZE, offset=offset, **search_terms(q)
            )
        except InvalidInput as exc:
            field = exc.errors[0].field if exc.errors else "name"
            error = _SEARCH_PROBLEMS.get(field, exc.detail)
    return render(
        request,
        "patients/search.html",
        status=422 if error else 200,
        q=q,
        error=error,
        rows=(rows or [])[:PAGE_SIZE],
        searched=rows is not None,
        more=rows is not None and len(rows) > PAGE_SIZE,
        offset=offset,
        page_size=PAGE_SIZE,
    )


# --- registering -------------------------------------------------------------------------


def _register_form(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    candidates: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "patients/register.html",
        status=status,
        editing=False,
        values=values,
        errors=errors or {},
        message=message,
        candidates=candidates or [],
        choices=CHOICES,
        labels=LABELS,
        contact_rows=_contact_rows(values),
    )


@patients_pages.get("/new", name="console.patient_new")
def register_form(request: Request, actor: Writer) -> Response:
    return _register_form(request, values={"preferred_language": "en"})


@patients_pages.post("/new", name="console.patient_register")
def register(request: Request, session: SessionDep, actor: Writer, form: PostedForm) -> Response:
    values = _typed(form)
    payload, names = _demographics(form)
    payload["ssn"] = _text(form, "ssn")
    data, errors = _validate(PatientCreate, _without_nones(payload), names)
    if data is None:
        return _register_form(request, values=values, errors=errors, status=422)
    # "Register anyway" covers the matches the clerk was shown, and only those: a match
    # that appeared since (or one the changed details now find) is shown first.
    seen = {v for v in form.getlist("seen") if isinstance(v, str)}
    override = form.get("confirm_new") == "yes"
    cipher = _cipher(request)

    def register_patient() -> Patient:
        try:
            return patients_service.create_patient(
                session, actor=actor, data=data, cipher=cipher, confirm_new=False
            )
        except PossibleDuplicate as exc:
            shown = {str(c["id"]) for c in exc.extensions.get("candidates", [])}
            if not override or not shown <= seen:
                raise
        return patients_service.create_patient(
            session, actor=actor, data=data, cipher=cipher, confirm_new=True
        )

    patient, refusal = attempt(session, register_patient)
    if isinstance(refusal, PossibleDuplicate):
        candidates = refusal.extensions.get("candidates", [])
        for c in candidates:
            c["date_of_birth"] = date.fromisoformat(c["date_of_birth"])
        values.pop("confirm_new", None)
        return _register_form(
            request,
            values=values,
            candidates=candidates,
            message="This may be someone already registered. Check the records below.",
            status=409,
        )
    if refusal is not None:
        errors = _refusal_errors(refusal, names)
        return _register_form(
            request,
            values=values,
            errors=errors,
            message=_explained(refusal, errors),
            status=refusal.status,
        )
    return see_other(f"/staff/patients/{patient.id}", "Patient registered.")


# --- the record --------------------------------------------------------------------------


def upcoming_appointments(
    session: Session, *, actor: Actor, patient_id: uuid.UUID, now: datetime
) -> list[tuple[Appointment, Provider, AppointmentType, Location]]:
    """The patient's next booked visits, soonest first."""
    rows = session.exec(
        select(Appointment, Provider, AppointmentType, Location)
        .join(Provider, col(Provider.id) == Appointment.provider_id)
        .join(AppointmentType, col(AppointmentType.id) == Appointment.appointment_type_id)
        .join(Location, col(Location.id) == Appointment.location_id)
        .where(
            Appointment.patient_id == patient_id,
            col(Appointment.starts_at) >= now - timedelta(hours=1),
            col(Appointment.status).in_(("scheduled", "confirmed")),
        )
        .order_by(col(Appointment.starts_at))
        .limit(UPCOMING_SHOWN)
    ).all()
    if rows:
        actor.audit(
            session,
            "appointments.list",
            resource_type="patient",
            resource_id=patient_id,
            detail={"appointment_ids": [str(a.id) for a, _, _, _ in rows]},
        )
    return list(rows)


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@patients_pages.get("/{patient_id}", name="console.patient")
def record(
    request: Request,
    session: SessionDep,
    actor: Reader,
    patient_id: uuid.UUID,
    show: str | None = None,
) -> Response:
    reveal_ssn = show == "ssn"
    if reveal_ssn and not actor.principal.can(Permission.PATIENTS_READ_SSN):
        raise PermissionDenied("Your role may see only the last four digits of an SSN.")
    patient = patients_service.read_patient(
        session, actor=actor, patient_id=patient_id, cipher=_cipher(request), reveal_ssn=reveal_ssn
    )
    row = patients_service.get_patient(session, patient_id=patient_id)
    policies = patients_service.list_policies(session, actor=actor, patient=row)
    now = utcnow()
    appointments = (
        upcoming_appointments(session, actor=actor, patient_id=patient_id, now=now)
        if actor.principal.can(Permission.SCHEDULE_READ)
        else []
    )
    today = now.astimezone(request.app.state.settings.timezone).date()
    checks_shown = actor.principal.can(Permission.ELIGIBILITY_CHECK)
    return render(
        request,
        "patients/record.html",
        p=patient,
        age=_age(patient.date_of_birth, today),
        ssn_revealed=reveal_ssn,
        policies=policies,
        last_checks=(
            last_eligibility_checks(
                session, actor=actor, patient_id=patient_id, policy_ids=[p.id for p in policies]
            )
            if checks_shown
            else {}
        ),
        eligibility_set_up=_eligibility_set_up(request),
        eligibility_not_set_up=ELIGIBILITY_NOT_SET_UP,
        describe_check=eligibility_service.describe,
        account=(
            billing_account(session, actor=actor, patient_id=patient_id)
            if actor.principal.can(Permission.BILLING_READ)
            else None
        ),
        appointments=appointments,
        merged=patient.status == PatientStatus.MERGED,
        contact_methods=dict(CHOICES["preferred_contact_method"]),
        relationships=dict(CHOICES["subscriber_relationship"]),
    )


# --- eligibility and the patient's account, on the record ------------------------------------


def _eligibility_set_up(request: Request) -> bool:
    """As `transport_from_settings` decides it, without opening a connection to ask."""
    return bool(request.app.state.settings.eligibility_url)


def last_eligibility_checks(
    session: Session, *, actor: Actor, patient_id: uuid.UUID, policy_ids: list[uuid.UUID]
) -> dict[uuid.UUID, EligibilityCheck]:
    """Each policy's latest check, in one query however many policies the page shows."""
    if not policy_ids:
        return {}
    ranked = (
        select(
            col(EligibilityCheck.id).label("check_id"),
            func.row_number()
            .over(
                partition_by=col(EligibilityCheck.policy_id),
                order_by=(col(EligibilityCheck.checked_at).desc(), col(EligibilityCheck.id)),
            )
            .label("newest"),
        )
        .where(col(EligibilityCheck.policy_id).in_(policy_ids))
        .subquery()
    )
    rows = session.exec(
        select(EligibilityCheck)
        .join(ranked, ranked.c.check_id == EligibilityCheck.id)
        .where(ranked.c.newest == 1)
    ).all()
    if rows:
        actor.audit(
            session,
            "billing.eligibility.read",
            resource_type="patient",
            resource_id=patient_id,
            detail={"check_ids": sorted(str(c.id) for c in rows)},
        )
    return {check.policy_id: check for check in rows}


def billing_account(session: Session, *, actor: Actor, patient_id: uuid.UUID) -> dict[str, Any]:
    """What the patient owes and the active payment plan's instalments still due."""
    balance_cents = ledger.balance(session, patient_id=patient_id)
    actor.audit(session, "patients.ledger_read", resource_type="patient", resource_id=patient_id)
    plan: PaymentPlan | None = None
    due: list[PaymentPlanInstalment] = []
    plans = statements.payment_plans_for(session, patient_id=patient_id)
    actor.audit(session, "billing.payment_plans.read", resource_type="patient",
                resource_id=patient_id)  # fmt: skip
    for candidate, instalments in plans:
        if candidate.status == "active":
            plan = candidate
            due = [i for i in instalments if i.paid_cents < i.amount_cents]
            break
    return {"balance_cents": balance_cents, "plan": plan, "due": due}


@patients_pages.post(
    "/{patient_id}/policies/{policy_id}/eligibility", name="console.policy_eligibility"
)
def policy_eligibility(
    request: Request,
    session: SessionDep,
    actor: EligibilityChecker,
    patient_id: uuid.UUID,
    policy_id: uuid.UUID,
) -> Response:
    """Ask the payer now. Whatever happens (an answer, a timeout, the clearinghouse down) is
    recorded by `check_eligibility` and comes back as the record's notice, never an error."""
    row = patients_service.get_patient(session, patient_id=patient_id)
    patients_service.get_policy(session, patient=row, policy_id=policy_id)
    settings = request.app.state.settings
    transport = eligibility_service.transport_from_settings(settings)
    if transport is None:
        return see_other(f"/staff/patients/{patient_id}", ELIGIBILITY_NOT_SET_UP)
    try:
        check = eligibility_service.check_eligibility(
            session,
            actor,
            policy_id=policy_id,
            transport=eligibility_service.ReleasingTransport(session, transport),
            settings=settings,
        )
    finally:
        transport.close()
    return see_other(f"/staff/patients/{patient_id}", eligibility_service.describe(check))


@patients_pages.get("/{patient_id}/statement", name="console.patient_statement")
def statement(
    request: Request,
    session: SessionDep,
    actor: BillingReader,
    patient_id: uuid.UUID,
    format: Literal["pdf", "csv"] = "pdf",
) -> Response:
    """The patient's statement to hand over or mail (PDF) or to open in a spreadsheet (CSV),
    as of the clinic's today."""
    settings = request.app.state.settings
    row = patients_service.get_patient(session, patient_id=patient_id)
    found = statements.statement_file(
        session,
        actor,
        patient=row,
        as_of=utcnow().astimezone(settings.timezone).date(),
        format=format,
        practice_name=settings.billing_practice_name,
    )
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.name}"'},
    )


# --- editing demographics ----------------------------------------------------------------


def _edit_form(
    request: Request,
    *,
    patient: PatientPublic,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "patients/edit.html",
        status=status,
        editing=True,
        p=patient,
        values=values,
        errors=errors or {},
        message=message,
        choices=CHOICES,
        labels=LABELS,
        contact_rows=_contact_rows(values),
    )


@patients_pages.get("/{patient_id}/edit", name="console.patient_edit_form")
def edit_form(
    request: Request, session: SessionDep, actor: Writer, patient_id: uuid.UUID
) -> Response:
    patient = patients_service.read_patient(
        session, actor=actor, patient_id=patient_id, cipher=_cipher(request), reveal_ssn=False
    )
    return _edit_form(request, patient=patient, values=_patient_values(patient))


def _update_payload(payload: dict[str, Any], form: FormData) -> dict[str, Any]:
    """The whole form as an update; the SSN only when one was typed or its removal asked
    for (the form never holds the one on file)."""
    changes = {**payload, "status": _text(form, "status")}
    ssn = _text(form, "ssn")
    if ssn is not None:
        changes["ssn"] = ssn
    elif form.get("remove_ssn") == "yes":
        changes["ssn"] = None
    return changes


def _only_changed(data: PatientUpdate, patient: Patient) -> PatientUpdate:
    """Leave out the address and contacts when they are as on file: the service replaces
    those whole, and would record (and version) a change that is none. Plain fields it
    compares itself."""
    address = {f: getattr(patient, f"address_{f}") for f in ADDRESS_FIELDS}
    contacts = [{f: getattr(c, f) for f in CONTACT_FIELDS} for c in patient.emergency_contacts]
    same = set()
    if (data.address.model_dump() if data.address else None) == (
        address if patient.address_line1 else None
    ):
        same.add("address")
    if [c.model_dump() for c in data.emergency_contacts or []] == contacts:
        same.add("emergency_contacts")
    if not same:
        return data
    return PatientUpdate.model_validate(data.model_dump(exclude_unset=True, exclude=same))


@patients_pages.post("/{patient_id}/edit", name="console.patient_edit")
def edit(
    request: Request,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    form: PostedForm,
) -> Response:
    cipher = _cipher(request)
    patient = patients_service.get_patient(session, patient_id=patient_id)
    values = _typed(form)
    payload, names = _demographics(form)
    data, errors = _validate(PatientUpdate, _update_payload(payload, form), names)

    def shown() -> PatientPublic:
        return patients_service.read_patient(
            session, actor=actor, patient_id=patient_id, cipher=cipher, reveal_ssn=False
        )

    if data is None:
        return _edit_form(request, patient=shown(), values=values, errors=errors, status=422)
    _, refusal = attempt(
        session,
        lambda: patients_service.update_patient(
            session,
            actor=actor,
            patient=patient,
            data=_only_changed(data, patient),
            expected_version=_version(form),
            cipher=cipher,
        ),
    )
    if isinstance(refusal, PreconditionFailed):
        current = shown()
        return _edit_form(
            request,
            patient=current,
            values=_patient_values(current),
            message=STALE_RECORD,
            status=refusal.status,
        )
    if refusal is not None:
        errors = _refusal_errors(refusal, names)
        return _edit_form(
            request,
            patient=shown(),
            values=values,
            errors=errors,
            message=_explained(refusal, errors),
            status=refusal.status,
        )
    return see_other(f"/staff/patients/{patient_id}", "Record updated.")


# --- insurance policies ------------------------------------------------------------------


def _policy_form(
    request: Request,
    *,
    patient: PatientPublic,
    policy: InsurancePolicy | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "patients/policy_form.html",
        status=status,
        p=patient,
        policy=policy,
        values=values,
        errors=errors or {},
        message=message,
        choices=CHOICES,
        labels=LABELS,
        copays=COPAYS,
    )


def _read_for_form(
    request: Request, session: Session, actor: Actor, patient_id: uuid.UUID
) -> PatientPublic:
    """The patient named at the top of a policy form, read (and audited) as any other."""
    return patients_service.read_patient(
        session, actor=actor, patient_id=patient_id, cipher=_cipher(request), reveal_ssn=False
    )


@patients_pages.get("/{patient_id}/policies/new", name="console.policy_new")
def policy_new_form(
    request: Request, session: SessionDep, actor: Writer, patient_id: uuid.UUID
) -> Response:
    patient = _read_for_form(request, session, actor, patient_id)
    values = {"rank": PolicyRank.PRIMARY.value, "subscriber_relationship": "self"}
    return _policy_form(request, patient=patient, policy=None, values=values)


@patients_pages.post("/{patient_id}/policies/new", name="console.policy_add")
def policy_add(
    request: Request,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    form: PostedForm,
) -> Response:
    row = patients_service.get_patient(session, patient_id=patient_id)
    values = _typed(form)
    payload, copay_errors = _policy(form)
    data, errors = _validate(PolicyCreate, _without_nones(payload), _Names())
    errors = {**errors, **copay_errors}
    if data is None or errors:
        patient = _read_for_form(request, session, actor, patient_id)
        return _policy_form(
            request, patient=patient, policy=None, values=values, errors=errors, status=422
        )
    _, refusal = attempt(
        session,
        lambda: patients_service.add_policy(session, actor=actor, patient=row, data=data),
    )
    if refusal is not None:
        patient = _read_for_form(request, session, actor, patient_id)
        errors = _policy_refusal_errors(refusal)
        return _policy_form(
            request,
            patient=patient,
            policy=None,
            values=values,
            errors=errors,
            message=_explained(refusal, errors),
            status=refusal.status,
        )
    return see_other(f"/staff/patients/{patient_id}", "Policy added.")


def _policy_refusal_errors(exc: AppError) -> dict[str, str]:
    errors = _refusal_errors(exc, _Names())
    if "existing_policy_id" in exc.extensions:  # the rank is taken by an active policy
        errors["rank"] = "another active policy has this rank"
    return errors


def _policy_of(
    session: Session, actor: Actor, patient_id: uuid.UUID, policy_id: uuid.UUID
) -> tuple[Patient, InsurancePolicy]:
    """The policy, read through the service's (audited) list of the patient's policies."""
    row = patients_service.get_patient(session, patient_id=patient_id)
    patients_service.list_policies(session, actor=actor, patient=row)
    return row, patients_service.get_policy(session, patient=row, policy_id=policy_id)


@patients_pages.get("/{patient_id}/policies/{policy_id}/edit", name="console.policy_edit_form")
def policy_edit_form(
    request: Request,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    policy_id: uuid.UUID,
) -> Response:
    _, policy = _policy_of(session, actor, patient_id, policy_id)
    patient = _read_for_form(request, session, actor, patient_id)
    return _policy_form(request, patient=patient, policy=policy, values=_policy_values(policy))


@patients_pages.post("/{patient_id}/policies/{policy_id}/edit", name="console.policy_edit")
def policy_edit(
    request: Request,
    session: SessionDep,
    actor: Writer,
    patient_id: uuid.UUID,
    policy_id: uuid.UUID,
    form: PostedForm,
) -> Response:
    row = patients_service.get_patient(session, patient_id=patient_id)
    policy = patients_service.get_policy(session, patient=row, policy_id=policy_id)
    values = _typed(form)
    payload, copay_errors = _policy(form)
    payload["active"] = form.get("active") == "yes"
    data, errors = _validate(PolicyUpdate, payload, _Names())
    errors = {**errors, **copay_errors}
    if data is None or errors:
        patient = _read_for_form(request, session, actor, patient_id)
        return _policy_form(
            request, patient=patient, policy=policy, values=values, errors=errors, status=422
        )
    _, refusal = attempt(
        session,
        lambda: patients_service.update_policy(
            session,
            actor=actor,
            patient=row,
            policy=policy,
            data=data,
            expected_version=_version(form),
        ),
    )
    if isinstance(refusal, PreconditionFailed):
        return _policy_form(
            request,
            patient=_read_for_form(request, session, actor, patient_id),
            policy=policy,
            values=_policy_values(policy),
            message=STALE_POLICY,
            status=refusal.status,
        )
    if refusal is not None:
        errors = _policy_refusal_errors(refusal)
        return _policy_form(
            request,
            patient=_read_for_form(request, session, actor, patient_id),
            policy=policy,
            values=values,
            errors=errors,
            message=_explained(refusal, errors),
            status=refusal.status,
        )
    return see_other(f"/staff/patients/{patient_id}", "Policy updated.")
