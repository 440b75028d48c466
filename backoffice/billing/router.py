"""The billing API: reference data, charges, claims and their 837P batches, remittances,
denials, eligibility, A/R, statements and payment plans."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response

from backoffice.billing import records, remittances, statements
from backoffice.billing import service as billing_service
from backoffice.billing.eligibility_service import (
    ReleasingTransport,
    check_eligibility,
    describe,
    transport_from_settings,
)
from backoffice.billing.models import (
    ClaimBatch,
    EligibilityCheck,
    Payer,
    PaymentPlan,
    PaymentPlanInstalment,
)
from backoffice.billing.remittances import MAX_835_BYTES
from backoffice.billing.schemas import (
    AgingPublic,
    AgingRow,
    ChargeCreate,
    ChargePublic,
    ChargeStatus,
    ClaimPublic,
    ClaimsMadePublic,
    ClaimStatus,
    DenialGroupPublic,
    DenialNoteCreate,
    DenialNotePublic,
    DenialPublic,
    EligibilityPublic,
    FeeCreate,
    FeePublic,
    ImportPublic,
    InstalmentPublic,
    PayerCreate,
    PayerPublic,
    PayerUpdate,
    PaymentPlanCreate,
    PaymentPlanPublic,
    RemittancePublic,
    Resubmission,
    SkippedCharge,
    SubmissionPublic,
)
from backoffice.billing.statements import BUCKETS
from backoffice.billing.x12.reading import x12_text
from backoffice.db import SessionDep
from backoffice.kit.pagination import Page, PageDep
from backoffice.patients import service as patients_service
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from backoffice.settings import Settings
from shared.errors import Conflict, FieldError, InvalidInput

billing_router = APIRouter(tags=["billing"])

Reader = Annotated[Actor, Depends(require(Permission.BILLING_READ))]
Writer = Annotated[Actor, Depends(require(Permission.BILLING_WRITE))]
Capturer = Annotated[Actor, Depends(require(Permission.CHARGES_CAPTURE))]
EligibilityChecker = Annotated[Actor, Depends(require(Permission.ELIGIBILITY_CHECK))]

X12_MEDIA_TYPES = ("application/edi-x12", "text/plain", "application/octet-stream")


def _attachment(content: bytes | str, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=media_type, headers=headers)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


def _today(settings: SettingsDep) -> date:
    """The clinic's today, for scrubbing, filing limits and aging."""
    return datetime.now(settings.timezone).date()


Today = Annotated[date, Depends(_today)]


# --- reference data ----------------------------------------------------------------------


@billing_router.get("/billing/payers", name="payers.list", response_model=list[PayerPublic])
def list_payers(session: SessionDep, actor: Reader) -> list[Payer]:
    return records.list_payers(session)


@billing_router.post(
    "/billing/payers",
    name="payers.create",
    response_model=PayerPublic,
    status_code=status.HTTP_201_CREATED,
)
def add_payer(session: SessionDep, actor: Writer, body: PayerCreate) -> Payer:
    return records.add_payer(session, actor, payer=Payer(**body.model_dump()))


@billing_router.put("/billing/payers/{payer_key}", name="payers.update", response_model=PayerPublic)
def change_payer(
    session: SessionDep, actor: Writer, payer_key: uuid.UUID, body: PayerUpdate
) -> Payer:
    return records.change_payer(session, actor, payer_key=payer_key, changes=body.model_dump())


@billing_router.get("/billing/fees", name="fees.list", response_model=list[FeePublic])
def list_fees(
    session: SessionDep,
    actor: Reader,
    procedure_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{5}$")] = None,
    payer_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{2,20}$")] = None,
) -> list[object]:
    """The fee schedule; `payer_id` narrows it to one payer's own fees."""
    return list(
        records.list_fees(
            session,
            procedure_code=procedure_code.upper() if procedure_code else None,
            payer_id=payer_id.upper() if payer_id else None,
        )
    )


@billing_router.post("/billing/fees", name="fees.create", response_model=FeePublic, status_code=201)
def add_fee(session: SessionDep, actor: Writer, body: FeeCreate) -> object:
    return records.add_fee(session, actor, **body.model_dump())


# --- charges -----------------------------------------------------------------------------


def _charge(found: records.ChargeWithLines) -> ChargePublic:
    return ChargePublic.model_validate(
        {**found.charge.model_dump(), "lines": found.lines, "total_cents": found.total_cents},
        from_attributes=True,
    )


@billing_router.post(
    "/appointments/{appointment_id}/charge",
    name="charges.capture",
    response_model=ChargePublic,
    status_code=status.HTTP_201_CREATED,
)
def capture_charge(
    session: SessionDep, actor: Capturer, appointment_id: uuid.UUID, body: ChargeCreate
) -> ChargePublic:
    """The completed visit's charge, as a draft for billing to review: the E/M line from the
    visit (its length, new or established patient), then the procedures, each priced from the
    fee schedule in force on the day."""
    charge = billing_service.capture_charge(
        session,
        actor,
        appointment_id=appointment_id,
        diagnoses=body.diagnoses,
        procedures=[
            billing_service.ProcedureLine(
                p.procedure_code,
                modifiers=tuple(p.modifiers),
                units=p.units,
                diagnosis_pointers=tuple(p.diagnosis_pointers),
            )
            for p in body.procedures
        ],
    )
    return _charge(records.read_charge(session, actor, charge_id=charge.id))


@billing_router.get("/billing/charges", name="charges.list", response_model=Page[ChargePublic])
def list_charges(
    session: SessionDep, actor: Reader, page: PageDep, status: ChargeStatus | None = None
) -> Page[ChargePublic]:
    """Charges by date of service, oldest first: `status=draft` is the review queue."""
    found = records.list_charges(
        session, actor, status=status, limit=page.limit, offset=page.offset
    )
    return Page.from_rows([_charge(c) for c in found], page)


@billing_router.get(
    "/billing/charges/{charge_id}", name="charges.read", response_model=ChargePublic
)
def read_charge(session: SessionDep, actor: Reader, charge_id: uuid.UUID) -> ChargePublic:
    return _charge(records.read_charge(session, actor, charge_id=charge_id))


@billing_router.post(
    "/billing/charges/{charge_id}/review", name="charges.review", response_model=ChargePublic
)
def review_charge(session: SessionDep, actor: Writer, charge_id: uuid.UUID) -> ChargePublic:
    """Mark a draft charge reviewed by the signed-in biller: claims are made only from
    reviewed charges."""
    billing_service.review_charge(session, actor, charge_id=charge_id)
    return _charge(records.read_charge(session, actor, charge_id=charge_id))


# --- claims ------------------------------------------------------------------------------


@billing_router.get("/billing/claims", name="claims.list", response_model=Page[ClaimPublic])
def list_claims(
    session: SessionDep, actor: Reader, page: PageDep, status: ClaimStatus | None = None
) -> Page[ClaimPublic]:
    """Claims, newest first: `status=held` is the scrubber's worklist."""
    found = records.list_claims(session, actor, status=status, limit=page.limit,
                                offset=page.offset)  # fmt: skip
    return Page.from_rows([ClaimPublic.model_validate(c) for c in found], page)


@billing_router.get("/billing/claims/{claim_id}", name="claims.read", response_model=ClaimPublic)
def read_claim(session: SessionDep, actor: Reader, claim_id: uuid.UUID) -> object:
    return records.get_claim(session, actor, claim_id=claim_id)


@billing_router.post("/billing/claims/make", name="claims.make", response_model=ClaimsMadePublic)
def make_claims(
    session: SessionDep, actor: Writer, settings: SettingsDep, today: Today
) -> ClaimsMadePublic:
    """A claim for every reviewed charge, scrubbed: ready to submit, or held with what to fix."""
    made = billing_service.make_claims(session, actor, today=today, settings=settings)
    return ClaimsMadePublic(
        ready=made.ready,
        held=made.held,
        claims=[ClaimPublic.model_validate(c) for c in made.claims],
        skipped=[SkippedCharge(charge_id=c, reason=r) for c, r in made.skipped],
    )


@billing_router.post(
    "/billing/claims/{claim_id}/scrub", name="claims.scrub", response_model=ClaimPublic
)
def scrub_claim(
    session: SessionDep,
    actor: Writer,
    settings: SettingsDep,
    today: Today,
    claim_id: uuid.UUID,
) -> object:
    """Scrub a held (or ready) claim again after its charge, patient or policy was fixed."""
    return billing_service.scrub_again(
        session, actor, claim_id=claim_id, today=today, settings=settings
    )


@billing_router.post(
    "/billing/claims/submit", name="claims.submit", response_model=SubmissionPublic
)
def submit_claims(session: SessionDep, actor: Writer, settings: SettingsDep) -> SubmissionPublic:
    """Every ready claim in one 837P interchange, validated by pyx12 before any claim is
    marked submitted; the file is kept with its batch (`claim_batches.file`)."""
    sent = billing_service.submit(session, actor, out_dir=None, settings=settings)
    if sent is None:
        return SubmissionPublic(claim_count=0)
    batch = session.get(ClaimBatch, sent.batch_id)
    assert batch is not None
    return SubmissionPublic(
        claim_count=sent.claim_count,
        batch_id=batch.id,
        interchange_control_number=sent.control_number,
        file_name=batch.file_name,
    )


@billing_router.get("/billing/claim-batches/{batch_id}/837p", name="claim_batches.file")
def claim_batch_file(session: SessionDep, actor: Writer, batch_id: uuid.UUID) -> Response:
    """The 837P file a batch carried, as sent, to upload to the clearinghouse."""
    name, content = records.read_claim_batch(session, actor, batch_id=batch_id)
    return _attachment(content, "application/edi-x12", name)


# --- remittances and denials -------------------------------------------------------------


async def _x12_body(request: Request) -> str:
    """The raw body as X12 text, refused plainly when it cannot be one."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in X12_MEDIA_TYPES:
        raise InvalidInput(
            "send the 835 as the body, with Content-Type application/edi-x12",
            [FieldError("Content-Type", "expected application/edi-x12")],
        )
    body = await request.body()
    if len(body) > MAX_835_BYTES:
        raise InvalidInput("the file is too large", [FieldError("body", "at most 64 MiB")])
    if not body.strip():
        raise InvalidInput("the body is empty", [FieldError("body", "send the 835 file")])
    return x12_text(body)


@billing_router.post(
    "/billing/remittances",
    name="remittances.import",
    response_model=ImportPublic,
    status_code=status.HTTP_201_CREATED,
)
def import_remittance(
    session: SessionDep, actor: Writer, text: Annotated[str, Depends(_x12_body)]
) -> ImportPublic:
    """Post an 835 sent as the request body (`Content-Type: application/edi-x12`): all of it
    or, when anything in it is wrong, none of it."""
    result = remittances.import_835(session, actor, text)
    return ImportPublic(**vars(result), summary=result.summary())


@billing_router.get(
    "/billing/remittances", name="remittances.list", response_model=Page[RemittancePublic]
)
def list_remittances(session: SessionDep, actor: Reader, page: PageDep) -> Page[RemittancePublic]:
    rows = records.list_remittances(session, limit=page.limit, offset=page.offset)
    return Page.from_rows([RemittancePublic.model_validate(r) for r in rows], page)


@billing_router.get("/billing/denials", name="denials.list", response_model=list[DenialGroupPublic])
def denial_worklist(session: SessionDep, actor: Reader) -> list[DenialGroupPublic]:
    """Open and appealed denials grouped by reason (CARC, explained), the largest sum first."""
    groups = remittances.denial_worklist(session)
    actor.audit(session, "billing.denials.list", detail={"groups": len(groups)})
    return [
        DenialGroupPublic(
            reason=group.reason,
            explanation=group.explanation,
            charge_cents=group.charge_cents,
            items=[
                DenialPublic(
                    **{**vars(item), "reasons": list(item.reasons), "remarks": list(item.remarks)}
                )
                for item in group.items
            ],
        )
        for group in groups
    ]


@billing_router.post(
    "/billing/denials/{denial_id}/notes",
    name="denials.note",
    response_model=DenialNotePublic,
    status_code=status.HTTP_201_CREATED,
)
def note_denial(
    session: SessionDep, actor: Writer, denial_id: uuid.UUID, body: DenialNoteCreate
) -> object:
    """A note on a denial (a call to the payer); an appeal note also marks it appealed."""
    return remittances.add_note(session, actor, denial_id=denial_id, body=body.text,
                                appeal=body.appeal)  # fmt: skip


@billing_router.post(
    "/billing/denials/{denial_id}/resubmit",
    name="denials.resubmit",
    response_model=ClaimPublic,
    status_code=status.HTTP_201_CREATED,
)
def resubmit_denial(
    session: SessionDep,
    actor: Writer,
    settings: SettingsDep,
    today: Today,
    denial_id: uuid.UUID,
    body: Resubmission,
) -> object:
    """A corrected claim for a denied one: a replacement (7) or a void (8), quoting the
    payer's claim number; a replacement is scrubbed (ready, or held with its findings) and
    goes out with the next submit."""
    return remittances.resubmit(
        session,
        actor,
        denial_id=denial_id,
        frequency_code=body.frequency_code,
        today=today,
        settings=settings,
    )


# --- eligibility -------------------------------------------------------------------------


class EligibilityNotSetUp(Conflict):
    code = "eligibility-not-set-up"


def _eligibility(check: EligibilityCheck) -> EligibilityPublic:
    return EligibilityPublic.model_validate(
        {**check.model_dump(), "summary": describe(check)}, from_attributes=True
    )


@billing_router.post(
    "/policies/{policy_id}/eligibility",
    name="eligibility.check",
    response_model=EligibilityPublic,
    status_code=status.HTTP_201_CREATED,
)
def check_policy_eligibility(
    session: SessionDep, actor: EligibilityChecker, settings: SettingsDep, policy_id: uuid.UUID
) -> EligibilityPublic:
    """Ask the payer now (270/271). Whatever happens is recorded and answered: a payer that
    times out or refuses gives a check with that outcome, not an error."""
    transport = transport_from_settings(settings)
    if transport is None:
        raise EligibilityNotSetUp(
            "eligibility checks are not set up: the clearinghouse's address and credentials "
            "go in FRONTDESK_ELIGIBILITY_URL, _USERNAME and _PASSWORD"
        )
    try:
        check = check_eligibility(
            session,
            actor,
            policy_id=policy_id,
            transport=ReleasingTransport(session, transport),
            settings=settings,
        )
    finally:
        transport.close()
    return _eligibility(check)


@billing_router.get(
    "/policies/{policy_id}/eligibility",
    name="eligibility.list",
    response_model=list[EligibilityPublic],
)
def eligibility_history(
    session: SessionDep, actor: EligibilityChecker, policy_id: uuid.UUID
) -> list[EligibilityPublic]:
    """The policy's last 20 checks, newest first."""
    return [
        _eligibility(c) for c in records.eligibility_history(session, actor, policy_id=policy_id)
    ]


# --- A/R, statements, payment plans ------------------------------------------------------


def _row(name: str, cents: list[int]) -> AgingRow:
    return AgingRow(name=name, buckets_cents=cents, total_cents=sum(cents))


@billing_router.get("/billing/ar", name="ar.read", response_model=AgingPublic)
def accounts_receivable(
    session: SessionDep,
    actor: Reader,
    today: Today,
    as_of: date | None = None,
    period_days: Annotated[int, Query(ge=1, le=365)] = 90,
) -> AgingPublic:
    """What payers and patients owe, aged from the date of service, with days in A/R over
    the `period_days` before `as_of` (the clinic's today unless given)."""
    report = statements.aging_report(session, as_of=as_of or today, period_days=period_days)
    actor.audit(session, "billing.ar.read")
    return AgingPublic(
        as_of=report.as_of,
        buckets=list(BUCKETS),
        by_payer=[_row(k, v) for k, v in sorted(report.by_payer.items())],
        by_patient=[_row(k, v) for k, v in sorted(report.by_patient.items())],
        totals=_row("total", report.totals),
        days_in_ar=None if report.days_in_ar is None else str(report.days_in_ar),
    )


@billing_router.get("/patients/{patient_id}/statement", name="statements.read")
def patient_statement(
    request: Request,
    session: SessionDep,
    actor: Reader,
    settings: SettingsDep,
    today: Today,
    patient_id: uuid.UUID,
    as_of: date | None = None,
    format: Literal["pdf", "json", "csv"] = "pdf",
) -> Response:
    """The patient's statement: charges, insurance payments and adjustments, the balance and
    its aging, as a PDF to mail or hand over, or as JSON or CSV."""
    found = statements.statement_file(
        session,
        actor,
        patient=patients_service.get_patient(session, patient_id=patient_id),
        as_of=as_of or today,
        format=format,
        practice_name=settings.billing_practice_name,
    )
    return _attachment(found.content, found.media_type, found.name)


def _plan(plan: PaymentPlan, instalments: list[PaymentPlanInstalment]) -> PaymentPlanPublic:
    return PaymentPlanPublic(
        **plan.model_dump(),
        instalments=[InstalmentPublic.model_validate(row) for row in instalments],
    )


@billing_router.post(
    "/patients/{patient_id}/payment-plans",
    name="payment_plans.create",
    response_model=PaymentPlanPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_payment_plan(
    session: SessionDep, actor: Writer, patient_id: uuid.UUID, body: PaymentPlanCreate
) -> PaymentPlanPublic:
    """Split what the patient owes (all of it, or `total_cents` of it) into monthly
    instalments; one active plan per patient."""
    patients_service.get_patient(session, patient_id=patient_id)
    plan = statements.create_payment_plan(
        session,
        actor,
        patient_id=patient_id,
        total_cents=body.total_cents,
        count=body.instalments,
        first_due=body.first_due,
    )
    plans = statements.payment_plans_for(session, patient_id=patient_id)
    return next(_plan(p, rows) for p, rows in plans if p.id == plan.id)


@billing_router.get(
    "/patients/{patient_id}/payment-plans",
    name="payment_plans.list",
    response_model=list[PaymentPlanPublic],
)
def list_payment_plans(
    session: SessionDep, actor: Reader, patient_id: uuid.UUID
) -> list[PaymentPlanPublic]:
    patients_service.get_patient(session, patient_id=patient_id)
    actor.audit(session, "billing.payment_plans.read", resource_type="patient",
                resource_id=patient_id)  # fmt: skip
    plans = statements.payment_plans_for(session, patient_id=patient_id)
    return [_plan(p, rows) for p, rows in plans]
