"""Billing worklists in the staff console: what the billing office works through each day.

    GET  /staff/billing                               counts and links, A/R total
    GET  /staff/billing/charges                       draft charges to review
    POST /staff/billing/charges/{id}/review           mark a draft charge reviewed
    GET  /staff/billing/claims/held                   claims the scrubber held, with findings
    POST /staff/billing/claims/{id}/rescrub           scrub a held claim again
    GET  /staff/billing/claims/ready                  claims ready to send in the next 837P
    POST /staff/billing/claims/make                   claims from the reviewed charges
    POST /staff/billing/claims/submit                 every ready claim in one 837P batch
    GET  /staff/billing/batches                       the 837P batches sent, newest first
    GET  /staff/billing/batches/{id}/837p             a batch's file, as sent (PHI: audited)
    GET  /staff/billing/remittances                   the ERAs posted, and a form to post one
    POST /staff/billing/remittances                   post an 835 file, all of it or nothing
    GET  /staff/billing/denials                       open denials, grouped by reason
    POST /staff/billing/denials/{id}/notes            a note on a denial (or an appeal)
    POST /staff/billing/denials/{id}/resubmit         a replacement (7) or void (8) claim
    GET  /staff/billing/ar                            A/R aging by payer and by patient

The billing services decide; these pages lay out their answers. Every page listing patients
audits the read under their ids; the home page shows counts only, so it names no one.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select as sa_select  # sqlmodel's select takes at most four columns
from sqlmodel import Session, col, func, select

from backoffice.billing import records, remittances, statements
from backoffice.billing import service as billing_service
from backoffice.billing.models import (
    Charge,
    ChargeLine,
    ClaimBatch,
    ClaimRecord,
    DenialNote,
    Payer,
    Remittance,
)
from backoffice.billing.reference import describe_icd10, explain_carc, explain_rarc, icd10_with_dot
from backoffice.billing.x12.reading import x12_text
from backoffice.clinic.models import Provider
from backoffice.console.web import (
    attempt,
    location_zone,
    page_requires,
    parse_date,
    render,
    see_other,
)
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.patients.models import Patient
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from shared.errors import BadRequest

billing_pages = APIRouter(prefix="/staff/billing")

Reader = Annotated[Actor, Depends(page_requires(Permission.BILLING_READ))]
Writer = Annotated[Actor, Depends(page_requires(Permission.BILLING_WRITE))]

LIST_LIMIT = 200  # rows a worklist shows at once: the oldest first, so the queue drains
CHUNK = 500  # ids per IN (...): well under SQLite's limit on bound parameters
FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}  # CLM05-3
T = TypeVar("T")


def clinic_today(request: Request) -> date:
    """Today in the clinic's own zone: a claim's timely filing counts the clinic's days."""
    return utcnow().astimezone(location_zone(request)).date()


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _audit_patients(
    session: Session, actor: Actor, action: str, patient_ids: Iterable[uuid.UUID]
) -> None:
    ids = sorted({str(p) for p in patient_ids})
    if ids:
        actor.audit(session, action, resource_type="patient", detail={"patient_ids": ids})


def _name(patient: Patient) -> str:
    return f"{patient.first_name} {patient.last_name}"


# --- where a scrubber finding is fixed --------------------------------------------------------

# The scrubber says where on the claim a problem is ("coverage.subscriber.member_id",
# "lines[0].modifiers"); staff need the place in Frontdesk to fix it. Longest prefix wins.
FIX_PLACES: tuple[tuple[str, str], ...] = (
    ("billing_provider", "the back office's billing settings (the practice as billing provider)"),
    ("rendering_provider", "the provider's record in the clinic set-up"),
    ("referring_provider", "the referring provider on the charge"),
    ("coverage.payer", "the payer directory, or the payer on the patient's insurance policy"),
    ("coverage.subscriber", "the patient's insurance policy (the subscriber)"),
    ("coverage", "the patient's insurance policy"),
    ("patient", "the patient's record"),
    ("diagnoses", "the charge's diagnoses"),
    ("other_payers", "the earlier payer's remittance"),
    ("patient_control_number", "the claim itself"),
    ("payer_claim_number", "the claim itself"),
    ("place_of_service", "the visit type (telehealth or in person)"),
    ("onset", "the charge"),
)


@dataclass(frozen=True)
class FindingView:
    message: str
    place: str  # where in Frontdesk to fix it, in words
    link: str | None  # a page to fix it on, when there is one


def fix_place(where: str) -> tuple[str, str]:
    """(what kind of place, in words) for a finding's `where`; lines get their number."""
    if where.startswith("lines["):
        number = where[len("lines[") :].split("]", 1)[0]
        line = f"line {int(number) + 1}" if number.isdigit() else "a line"
        if ".rendering_provider" in where:
            return "provider", f"the provider's record in the clinic set-up ({line})"
        return "charge", f"the charge, {line}"
    for prefix, words in FIX_PLACES:
        if where == prefix or where.startswith((prefix + ".", prefix + "[")):
            return prefix.split(".", 1)[0], words
    return "claim", "the claim"


def _finding_view(
    finding: dict[str, Any], claim: ClaimRecord, patient_id: uuid.UUID
) -> FindingView:
    kind, place = fix_place(str(finding.get("where", "")))
    link = None
    if kind == "coverage":
        link = f"/staff/patients/{patient_id}/policies/{claim.policy_id}/edit"
    elif kind == "patient":
        link = f"/staff/patients/{patient_id}/edit"
    return FindingView(str(finding.get("message", "")), place, link)


# --- what the pages show ----------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    code: str  # with its dot, as staff read it
    title: str | None


@dataclass(frozen=True)
class ChargeRow:
    charge: Charge
    patient_id: uuid.UUID
    patient_name: str
    provider_name: str
    diagnoses: list[Diagnosis]
    lines: list[ChargeLine]

    @property
    def total_cents(self) -> int:
        return sum(line.fee_cents for line in self.lines)


@dataclass(frozen=True)
class HeldClaim:
    claim: ClaimRecord
    patient_id: uuid.UUID
    patient_name: str
    payer_name: str
    service_date: date
    findings: list[FindingView]


@dataclass(frozen=True)
class DenialView:
    item: remittances.WorklistItem
    patient_id: uuid.UUID
    patient_name: str
    service_date: date
    reasons: list[tuple[str, str]]  # (CARC, explanation)
    remarks: list[tuple[str, str]]  # (RARC, explanation)
    notes: list[DenialNote]


@dataclass(frozen=True)
class DenialGroupView:
    reason: str
    explanation: str
    charge_cents: int
    denials: list[DenialView]


@dataclass(frozen=True)
class AgingRow:
    label: str
    buckets: list[int]

    @property
    def total(self) -> int:
        return sum(self.buckets)


def _diagnosis(code: str) -> Diagnosis:
    return Diagnosis(icd10_with_dot(code), describe_icd10(code))


def _lines_by_charge(
    session: Session, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ChargeLine]]:
    found: dict[uuid.UUID, list[ChargeLine]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        for line in session.exec(
            select(ChargeLine)
            .where(col(ChargeLine.charge_id).in_(chunk))
            .order_by(col(ChargeLine.charge_id), col(ChargeLine.line_number))
        ):
            found[line.charge_id].append(line)
    return found


def draft_charges(session: Session, *, actor: Actor, limit: int = LIST_LIMIT) -> list[ChargeRow]:
    """Draft charges, oldest visit first, with their lines; the read is audited."""
    rows = session.exec(
        select(Charge, Patient, Provider)
        .join(Patient, col(Patient.id) == Charge.patient_id)
        .join(Provider, col(Provider.id) == Charge.provider_id)
        .where(Charge.status == "draft")
        .order_by(col(Charge.service_date), col(Charge.created_at), col(Charge.id))
        .limit(limit)
    ).all()
    lines = _lines_by_charge(session, [charge.id for charge, _, _ in rows])
    _audit_patients(session, actor, "billing.charges.list", (p.id for _, p, _ in rows))
    return [
        ChargeRow(
            charge=charge,
            patient_id=patient.id,
            patient_name=_name(patient),
            provider_name=f"{provider.first_name} {provider.last_name}"
            + (f", {provider.credentials}" if provider.credentials else ""),
            diagnoses=[_diagnosis(code) for code in charge.diagnoses],
            lines=lines[charge.id],
        )
        for charge, patient, provider in rows
    ]


def held_claims(session: Session, *, actor: Actor, limit: int = LIST_LIMIT) -> list[HeldClaim]:
    """Claims the scrubber held, oldest visit first, each finding with where to fix it."""
    rows = session.exec(
        select(ClaimRecord, Charge, Patient, Payer.name)
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .join(Patient, col(Patient.id) == Charge.patient_id)
        .join(Payer, col(Payer.id) == ClaimRecord.payer_key)
        .where(ClaimRecord.status == "held")
        .order_by(col(Charge.service_date), col(ClaimRecord.created_at), col(ClaimRecord.id))
        .limit(limit)
    ).all()
    _audit_patients(session, actor, "billing.claims.held.list", (p.id for _, _, p, _ in rows))
    return [
        HeldClaim(
            claim=claim,
            patient_id=patient.id,
            patient_name=_name(patient),
            payer_name=payer_name,
            service_date=charge.service_date,
            findings=[_finding_view(f, claim, patient.id) for f in claim.findings],
        )
        for claim, charge, patient, payer_name in rows
    ]


def denial_groups(session: Session, *, actor: Actor) -> list[DenialGroupView]:
    """The denial worklist, each denial with its patient, visit date, reasons and notes."""
    groups = remittances.denial_worklist(session)
    claim_ids = [item.claim_id for g in groups for item in g.items]
    denial_ids = [item.denial_id for g in groups for item in g.items]
    who: dict[uuid.UUID, tuple[Patient, date]] = {}
    for chunk in _chunks(claim_ids):
        for claim_id, patient, served in session.exec(
            select(col(ClaimRecord.id), Patient, col(Charge.service_date))
            .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
            .join(Patient, col(Patient.id) == Charge.patient_id)
            .where(col(ClaimRecord.id).in_(chunk))
        ):
            who[claim_id] = (patient, served)
    notes: dict[uuid.UUID, list[DenialNote]] = {i: [] for i in denial_ids}
    for chunk in _chunks(denial_ids):
        for note in session.exec(
            select(DenialNote)
            .where(col(DenialNote.denial_id).in_(chunk))
            .order_by(col(DenialNote.created_at), col(DenialNote.id))
        ):
            notes[note.denial_id].append(note)
    _audit_patients(session, actor, "billing.denials.list", (p.id for p, _ in who.values()))
    return [
        DenialGroupView(
            reason=group.reason,
            explanation=group.explanation,
            charge_cents=group.charge_cents,
            denials=[
                DenialView(
                    item=item,
                    patient_id=who[item.claim_id][0].id,
                    patient_name=_name(who[item.claim_id][0]),
                    service_date=who[item.claim_id][1],
                    reasons=[(c, explain_carc(c)) for c in item.reasons if c != "none"],
                    remarks=[(c, explain_rarc(c)) for c in item.remarks],
                    notes=notes[item.denial_id],
                )
                for item in group.items
            ],
        )
        for group in groups
    ]


@dataclass(frozen=True)
class ReadyClaim:
    claim: ClaimRecord
    patient_id: uuid.UUID
    patient_name: str
    payer_name: str
    service_date: date

    @property
    def frequency(self) -> str:
        return FREQUENCIES.get(self.claim.frequency_code, self.claim.frequency_code)


@dataclass(frozen=True)
class BatchRow:
    """A batch as listed: its file stays in the database until someone downloads it."""

    id: uuid.UUID
    interchange_control_number: int
    file_name: str
    claim_count: int
    created_by: str | None
    created_at: datetime
    has_file: bool


def claims_to_send(session: Session, *, actor: Actor, limit: int = LIST_LIMIT) -> list[ReadyClaim]:
    """Ready claims in the order the next batch takes them; the read is audited."""
    rows = session.exec(
        select(ClaimRecord, Charge, Patient, Payer.name)
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .join(Patient, col(Patient.id) == Charge.patient_id)
        .join(Payer, col(Payer.id) == ClaimRecord.payer_key)
        .where(ClaimRecord.status == "ready")
        .order_by(col(ClaimRecord.created_at), col(ClaimRecord.patient_control_number))
        .limit(limit)
    ).all()
    _audit_patients(session, actor, "billing.claims.ready.list", (p.id for _, _, p, _ in rows))
    return [
        ReadyClaim(
            claim=claim,
            patient_id=patient.id,
            patient_name=_name(patient),
            payer_name=payer_name,
            service_date=charge.service_date,
        )
        for claim, charge, patient, payer_name in rows
    ]


def claim_batches(session: Session, *, limit: int = LIST_LIMIT) -> list[BatchRow]:
    """Batches, newest first, without their files (a file can run to megabytes)."""
    rows = session.execute(
        sa_select(
            col(ClaimBatch.id),
            col(ClaimBatch.interchange_control_number),
            col(ClaimBatch.file_name),
            col(ClaimBatch.claim_count),
            col(ClaimBatch.created_by),
            col(ClaimBatch.created_at),
            col(ClaimBatch.content).is_not(None),
        )
        .order_by(col(ClaimBatch.interchange_control_number).desc())
        .limit(limit)
    ).all()
    return [BatchRow(*row) for row in rows]


def _made_notice(made: billing_service.ClaimsMade) -> str:
    """Counts, and why charges were skipped (reasons name payers, never patients)."""
    count = len(made.claims)
    notice = (
        f"{count} claim{'s' if count != 1 else ''} made: {made.ready} ready, {made.held} held"
        f" ({made.secondary} to secondary payers)"
    )
    if made.skipped:
        reasons = Counter(reason for _, reason in made.skipped)
        listed = "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common(5))
        if len(reasons) > 5:
            listed += f"; {len(reasons) - 5} other reasons"
        notice += f". {len(made.skipped)} charge{'s' if len(made.skipped) != 1 else ''} skipped: "
        notice += listed
    return notice + "."


def _upload_name(upload: UploadFile) -> str | None:
    """The uploaded file's own name, without the browser's folders (for the audit)."""
    if not upload.filename:
        return None
    return PureWindowsPath(PurePosixPath(upload.filename).name).name[:120] or None


def era_text(upload: UploadFile | None) -> str:
    """The uploaded 835 as text, or BadRequest saying in a line why it cannot be one."""
    if upload is None or (not upload.filename and not upload.size):
        raise BadRequest("choose the 835 file to post")
    data = upload.file.read(remittances.MAX_835_BYTES + 1)
    if len(data) > remittances.MAX_835_BYTES:
        raise BadRequest("the file is larger than 64 MiB; ask the payer to split it")
    if not data.strip():
        raise BadRequest("the file is empty")
    return x12_text(data)


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


# --- pages ------------------------------------------------------------------------------------


@billing_pages.get("", name="console.billing")
def home(request: Request, session: SessionDep, actor: Reader) -> Response:
    """Counts only: names and findings' details are on the (audited) worklists."""
    held_places: Counter[str] = Counter()
    for findings in session.exec(select(ClaimRecord.findings).where(ClaimRecord.status == "held")):
        # A claim counts once under each place it needs fixing in.
        held_places.update({fix_place(str(f.get("where", "")))[1] for f in findings})
    report = statements.aging_report(session, as_of=clinic_today(request))
    return render(
        request,
        "billing/home.html",
        drafts=_count(session, Charge, Charge.status == "draft"),
        held=_count(session, ClaimRecord, ClaimRecord.status == "held"),
        held_places=held_places.most_common(),
        ready=_count(session, ClaimRecord, ClaimRecord.status == "ready"),
        denial_groups=remittances.denial_worklist(session),
        report=report,
    )


def _charges_page(
    request: Request, session: Session, actor: Actor, *, status: int = 200, **messages: Any
) -> Response:
    return render(
        request,
        "billing/charges.html",
        status=status,
        rows=draft_charges(session, actor=actor),
        limit=LIST_LIMIT,
        **messages,
    )


@billing_pages.get("/charges", name="console.billing_charges")
def charges(request: Request, session: SessionDep, actor: Reader) -> Response:
    return _charges_page(request, session, actor)


@billing_pages.post("/charges/{charge_id}/review", name="console.billing_charge_review")
def review_charge(
    request: Request, session: SessionDep, actor: Writer, charge_id: uuid.UUID
) -> Response:
    _, refused = attempt(
        session, lambda: billing_service.review_charge(session, actor, charge_id=charge_id)
    )
    if refused is not None:
        return _charges_page(
            request,
            session,
            actor,
            status=refused.status,
            problem=f"The charge was not marked reviewed: {refused.detail}.",
            problem_charge=charge_id,
        )
    return see_other("/staff/billing/charges", "Charge marked reviewed: it is ready to claim.")


def _held_page(
    request: Request, session: Session, actor: Actor, *, status: int = 200, **messages: Any
) -> Response:
    return render(
        request,
        "billing/held.html",
        status=status,
        claims=held_claims(session, actor=actor),
        limit=LIST_LIMIT,
        **messages,
    )


@billing_pages.get("/claims/held", name="console.billing_held")
def held(request: Request, session: SessionDep, actor: Reader) -> Response:
    return _held_page(request, session, actor)


@billing_pages.post("/claims/{claim_id}/rescrub", name="console.billing_claim_rescrub")
def rescrub(request: Request, session: SessionDep, actor: Writer, claim_id: uuid.UUID) -> Response:
    settings = request.app.state.settings
    today = clinic_today(request)

    def work() -> ClaimRecord:
        return billing_service.scrub_again(
            session, actor, claim_id=claim_id, today=today, settings=settings
        )

    claim, refused = attempt(session, work)
    if refused is not None:
        return _held_page(
            request,
            session,
            actor,
            status=refused.status,
            problem=f"The claim was not scrubbed again: {refused.detail}.",
            problem_claim=claim_id,
        )
    if claim.status == "ready":
        notice = "Scrubbed again: nothing found, the claim is ready to submit."
    else:
        count = len(claim.findings)
        notice = f"Scrubbed again: still held, {count} finding{'s' if count != 1 else ''} to fix."
    return see_other("/staff/billing/claims/held", notice)


def _ready_page(
    request: Request, session: Session, actor: Actor, *, status: int = 200, **messages: Any
) -> Response:
    return render(
        request,
        "billing/ready.html",
        status=status,
        claims=claims_to_send(session, actor=actor),
        reviewed=_count(session, Charge, Charge.status == "reviewed"),
        limit=LIST_LIMIT,
        **messages,
    )


@billing_pages.get("/claims/ready", name="console.billing_ready")
def ready(request: Request, session: SessionDep, actor: Reader) -> Response:
    return _ready_page(request, session, actor)


@billing_pages.post("/claims/make", name="console.billing_claims_make")
def make_claims(request: Request, session: SessionDep, actor: Writer) -> Response:
    settings = request.app.state.settings
    today = clinic_today(request)

    def work() -> billing_service.ClaimsMade:
        return billing_service.make_claims(session, actor, today=today, settings=settings)

    made, refused = attempt(session, work)
    if refused is not None:
        return _ready_page(
            request,
            session,
            actor,
            status=refused.status,
            problem=f"No claims were made: {refused.detail.rstrip('.')}.",
        )
    return see_other("/staff/billing/claims/ready", _made_notice(made))


@billing_pages.post("/claims/submit", name="console.billing_claims_submit")
def submit_claims(request: Request, session: SessionDep, actor: Writer) -> Response:
    """Every ready claim in one 837P, kept with its batch for download. A file pyx12 or the
    builder rejects marks nothing; the refusal names the claims to fix."""
    settings = request.app.state.settings

    def work() -> billing_service.Submitted | None:
        return billing_service.submit(session, actor, out_dir=None, settings=settings)

    sent, refused = attempt(session, work)
    if refused is not None:
        return _ready_page(
            request,
            session,
            actor,
            status=refused.status,
            problem=f"The claims were not sent: {refused.detail.rstrip('.')}.",
        )
    if sent is None:
        return see_other("/staff/billing/claims/ready", "No claim is ready: nothing was sent.")
    count = sent.claim_count
    return see_other(
        "/staff/billing/batches",
        f"{count} claim{'s' if count != 1 else ''} put in batch {sent.control_number}: "
        "download its 837P for the clearinghouse.",
    )


@billing_pages.get("/batches", name="console.billing_batches")
def batches(request: Request, session: SessionDep, actor: Reader) -> Response:
    """Batches name no patient; their files do, so the download is audited."""
    return render(request, "billing/batches.html", batches=claim_batches(session), limit=LIST_LIMIT)


@billing_pages.get("/batches/{batch_id}/837p", name="console.billing_batch_file")
def batch_file(session: SessionDep, actor: Writer, batch_id: uuid.UUID) -> Response:
    """The 837P a batch carried, as sent, to upload to the clearinghouse."""
    name, content = records.read_claim_batch(session, actor, batch_id=batch_id)
    return Response(
        content,
        media_type="application/edi-x12",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _remittances_page(
    request: Request, session: Session, *, status: int = 200, **messages: Any
) -> Response:
    rows: list[Remittance] = records.list_remittances(session, limit=LIST_LIMIT, offset=0)
    return render(
        request,
        "billing/remittances.html",
        status=status,
        remittances=rows[:LIST_LIMIT],
        more=len(rows) > LIST_LIMIT,
        limit=LIST_LIMIT,
        **messages,
    )


@billing_pages.get("/remittances", name="console.billing_remittances")
def remittance_list(request: Request, session: SessionDep, actor: Reader) -> Response:
    """Remittances as posted: payer, trace and amount, no patient."""
    return _remittances_page(request, session)


@billing_pages.post("/remittances", name="console.billing_remittance_import")
def import_remittance(
    request: Request,
    session: SessionDep,
    actor: Writer,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Post an uploaded 835: all of it or, when anything in it is wrong, none of it."""

    def work() -> remittances.ImportResult:
        text = era_text(file)
        name = _upload_name(file) if file is not None else None
        return remittances.import_835(session, actor, text, file_name=name)

    result, refused = attempt(session, work)
    if refused is not None:
        return _remittances_page(
            request,
            session,
            status=refused.status,
            problem=f"Nothing was posted: {refused.detail.rstrip('.')}.",
        )
    return see_other("/staff/billing/remittances", f"ERA posted: {result.summary()}.")


def _denials_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    status: int = 200,
    problem: str | None = None,
    problem_denial: uuid.UUID | None = None,
    typed: str = "",
) -> Response:
    return render(
        request,
        "billing/denials.html",
        status=status,
        groups=denial_groups(session, actor=actor),
        problem=problem,
        problem_denial=problem_denial,
        typed=typed,
    )


@billing_pages.get("/denials", name="console.billing_denials")
def denials(request: Request, session: SessionDep, actor: Reader) -> Response:
    return _denials_page(request, session, actor)


@billing_pages.post("/denials/{denial_id}/notes", name="console.billing_denial_note")
def add_denial_note(
    request: Request,
    session: SessionDep,
    actor: Writer,
    denial_id: uuid.UUID,
    body: Annotated[str, Form(max_length=4000)] = "",
    appeal: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    appealed = appeal in ("on", "true", "1", "yes")
    _, refused = attempt(
        session,
        lambda: remittances.add_note(
            session, actor, denial_id=denial_id, body=body, appeal=appealed
        ),
    )
    if refused is not None:
        return _denials_page(
            request,
            session,
            actor,
            status=refused.status,
            problem=f"The note was not saved: {refused.detail}.",
            problem_denial=denial_id,
            typed=body,
        )
    notice = "Appeal noted: the denial is marked appealed." if appealed else "Note added."
    return see_other("/staff/billing/denials", notice)


@billing_pages.post("/denials/{denial_id}/resubmit", name="console.billing_denial_resubmit")
def resubmit_denial(
    request: Request,
    session: SessionDep,
    actor: Writer,
    denial_id: uuid.UUID,
    frequency_code: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    new, refused = attempt(
        session,
        lambda: remittances.resubmit(
            session,
            actor,
            denial_id=denial_id,
            frequency_code=frequency_code,
            today=clinic_today(request),
            settings=request.app.state.settings,
        ),
    )
    if refused is not None:
        return _denials_page(
            request,
            session,
            actor,
            status=refused.status,
            problem=f"Nothing was resubmitted: {refused.detail}.",
            problem_denial=denial_id,
        )
    what = "Replacement" if new.frequency_code == "7" else "Void"
    if new.status == "ready":
        notice = f"{what} claim {new.patient_control_number} made: it is ready to submit."
    else:
        notice = (
            f"{what} claim {new.patient_control_number} made, but the scrubber holds it: "
            "see the held claims."
        )
    return see_other("/staff/billing/denials", notice)


@billing_pages.get("/ar", name="console.billing_ar")
def accounts_receivable(
    request: Request, session: SessionDep, actor: Reader, as_of: str | None = None
) -> Response:
    """The aging by payer and by patient (MRN); the patients listed are audited."""
    today = clinic_today(request)
    chosen = parse_date(as_of)
    problem = None
    if as_of and chosen is None:
        problem = "That is not a date; showing today's aging."
    report = statements.aging_report(session, as_of=chosen or today)
    mrns = sorted(report.by_patient)
    ids: list[uuid.UUID] = []
    for chunk in _chunks(mrns):
        ids += session.exec(select(Patient.id).where(col(Patient.mrn).in_(chunk))).all()
    _audit_patients(session, actor, "billing.ar.read", ids)
    return render(
        request,
        "billing/ar.html",
        status=422 if problem else 200,
        report=report,
        buckets=statements.BUCKETS,
        by_payer=[AgingRow(k, v) for k, v in sorted(report.by_payer.items())],
        by_patient=[AgingRow(k, v) for k, v in sorted(report.by_patient.items())],
        as_of=report.as_of,
        today=today,
        problem=problem,
    )
