"""Review of what the kiosk captured: insurance cards, corrections patients proposed to
their details, and the consents they signed.

A card's fields are shown beside its images, pre-filled as the kiosk read them, the
doubtful ones marked in words; nothing reaches the patient's policies until staff accept
it, and then only through the registry (validated, versioned, audited).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from backoffice.checkin import review as review_service
from backoffice.checkin.models import CardCapture, DemographicChange
from backoffice.checkin.review import (
    COPAY_FIELDS,
    POLICY_FIELD_OF_CARD,
    ArrivalReview,
    PolicyRevision,
    card_amount_cents,
)
from backoffice.console.board import FLAG_LABELS
from backoffice.console.web import (
    attempt,
    field_errors,
    location_zone,
    page_requires,
    parse_form,
    render,
    see_other,
)
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.patients import service as patients_service
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.patients.schemas import PolicyCreate, PolicyUpdate
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from shared.contracts.kiosk import CARD_SURE, CardFieldName
from shared.enums import PolicyRank
from shared.errors import InvalidInput, NotFound

review_pages = APIRouter()

Reader = Annotated[Actor, Depends(page_requires(Permission.PATIENTS_READ))]
Decider = Annotated[Actor, Depends(page_requires(Permission.PATIENTS_WRITE))]
TO_DO_LIMIT = 100

CARD_LABELS: dict[str, str] = {
    CardFieldName.PAYER_NAME: "Payer",
    CardFieldName.PAYER_ID: "Payer ID",
    CardFieldName.MEMBER_ID: "Member ID",
    CardFieldName.GROUP_NUMBER: "Group number",
    CardFieldName.PLAN_NAME: "Plan",
    CardFieldName.COPAY_PRIMARY_CARE: "Copay, primary care ($)",
    CardFieldName.COPAY_SPECIALIST: "Copay, specialist ($)",
    CardFieldName.COPAY_URGENT_CARE: "Copay, urgent care ($)",
    CardFieldName.COPAY_EMERGENCY: "Copay, emergency ($)",
    CardFieldName.MEMBER_NAME: "Member name",
    CardFieldName.RX_BIN: "Rx BIN",
    CardFieldName.RX_PCN: "Rx PCN",
    CardFieldName.RX_GRP: "Rx group",
}
# What a pattern refusal means, in words staff can act on.
PATTERN_MESSAGES = {
    "payer_id": "letters and digits only, 2 to 20 of them",
    "member_id": "letters, digits, spaces and hyphens, starting with a letter or digit",
    "group_number": "letters, digits, spaces and hyphens, starting with a letter or digit",
}
CHANGE_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "email": "Email",
    "address": "Address",
    "preferred_language": "Preferred language",
}
CARD_NAME_OF_POLICY = {policy: str(card) for card, policy in POLICY_FIELD_OF_CARD.items()}


# --- what the pages show ----------------------------------------------------------------------


@dataclass
class CardInput:
    """One field of a card's form: as read, as typed, and what to say about it."""

    name: str
    label: str
    value: str
    read: str | None = None
    confidence: int | None = None  # percent, when read off the card
    unsure: bool = False
    note: str | None = None
    error: str | None = None


@dataclass
class Target:
    value: str
    label: str
    checked: bool
    version: int | None = None


@dataclass
class CardForm:
    capture: CardCapture
    has_back: bool
    inputs: list[CardInput]
    effective_date: CardInput
    other: list[CardInput]  # read off the card, with no place on a policy
    targets: list[Target]
    rank: str | None  # for a new policy: the first rank free
    into_error: str | None = None
    policy: InsurancePolicy | None = None  # the policy a decided card went into


@dataclass
class ChangeView:
    change: DemographicChange
    rows: list[tuple[str, str, str]]  # label, on file, proposed


@dataclass
class Typed:
    """A card form sent back with its problems, to show again as it was typed."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def confidence_percent(confidence: float) -> int:
    # Rounded down, so a field below CARD_SURE never reads as "80%".
    return math.floor(round(confidence * 100, 6))


def _cents_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _read(capture: CardCapture, name: str) -> tuple[str | None, float | None]:
    found = capture.fields.get(name)
    if not isinstance(found, dict):
        return None, None
    return str(found.get("value") or ""), float(found.get("confidence") or 0.0)


def _card_input(capture: CardCapture, name: str, typed: Typed | None) -> CardInput:
    read, confidence = _read(capture, name)
    item = CardInput(name=name, label=CARD_LABELS[name], value=read or "", read=read)
    if confidence is not None:
        item.confidence = confidence_percent(confidence)
        item.unsure = confidence < CARD_SURE
    if name in COPAY_FIELDS and read:
        cents = card_amount_cents(read)
        if cents is None:
            item.value = ""
            item.note = f"Read as “{read}”, which is not an amount: enter it from the card."
        else:
            item.value = _cents_text(cents)
    if typed is not None:
        item.value = typed.values.get(name, "")
        item.error = typed.errors.get(name)
        if read and name not in COPAY_FIELDS and item.value != read:
            item.note = f"Read on the card as “{read}”."
    return item


def _free_rank(policies: list[InsurancePolicy]) -> str | None:
    taken = {p.rank for p in policies}
    return next((r.value for r in PolicyRank if r.value not in taken), None)


def _targets(
    capture: CardCapture, policies: list[InsurancePolicy], rank: str | None, chosen: str | None
) -> list[Target]:
    if not policies:
        return []
    if chosen is None:
        payer_id, member_id = (_read(capture, n)[0] for n in ("payer_id", "member_id"))
        same = next(
            (
                p
                for p in policies
                if (p.payer_id, p.member_id)
                == ((payer_id or "").upper(), (member_id or "").upper())
            ),
            policies[0],
        )
        chosen = str(same.id)
    targets = [
        Target(
            value=str(p.id),
            label=f"Update the {p.rank} policy (payer {p.payer_name}, member {p.member_id})",
            checked=chosen == str(p.id),
            version=p.version,
        )
        for p in policies
    ]
    if rank is not None:
        targets.append(Target("new", f"Add as a new policy (rank {rank})", checked=chosen == "new"))
    return targets


def card_form(review: ArrivalReview, capture: CardCapture, typed: Typed | None) -> CardForm:
    rank = _free_rank(review.policies)
    names = [str(n) for n in POLICY_FIELD_OF_CARD]
    visit_day = review.arrival.arrived_at.astimezone(ZoneInfo(review.location.timezone)).date()
    effective = CardInput(
        name="effective_date",
        label="Effective date",
        value="" if review.policies else visit_day.isoformat(),
        note="Needed for a new policy (the visit date is filled in when the patient has "
        "none on file); leave it empty to keep a policy's date.",
    )
    if typed is not None:
        effective.value = typed.values.get("effective_date", "")
        effective.error = typed.errors.get("effective_date")
    policy = None
    if capture.policy_id is not None:
        policy = next((p for p in review.patient.policies if p.id == capture.policy_id), None)
    return CardForm(
        capture=capture,
        has_back=capture.id in review.captures_with_back,
        inputs=[_card_input(capture, name, typed) for name in names],
        effective_date=effective,
        other=[
            _card_input(capture, str(name), None)
            for name in CardFieldName
            if str(name) not in names and str(name) in capture.fields
        ],
        targets=_targets(
            capture, review.policies, rank, typed.values.get("into") if typed else None
        ),
        rank=rank,
        into_error=typed.errors.get("into") if typed else None,
        policy=policy,
    )


def _address_text(address: dict[str, Any] | None) -> str:
    if not address:
        return ""
    parts = [address.get("line1"), address.get("line2"), address.get("city")]
    region = " ".join(p for p in (address.get("state"), address.get("postal_code")) if p)
    return ", ".join(str(p) for p in [*parts, region] if p)


def _on_file(patient: Patient, name: str) -> str:
    if name == "address":
        return _address_text(
            {
                "line1": patient.address_line1,
                "line2": patient.address_line2,
                "city": patient.address_city,
                "state": patient.address_state,
                "postal_code": patient.address_postal_code,
            }
            if patient.address_line1
            else None
        )
    return str(getattr(patient, name, None) or "")


def change_view(patient: Patient, change: DemographicChange) -> ChangeView:
    rows = []
    for name, proposed in change.changes.items():
        shown = _address_text(proposed) if name == "address" else str(proposed or "")
        rows.append((CHANGE_LABELS.get(name, name), _on_file(patient, name), shown))
    return ChangeView(change=change, rows=rows)


def _arrival_page(
    request: Request,
    session: Session,
    actor: Actor,
    arrival_id: uuid.UUID,
    *,
    typed: dict[uuid.UUID, Typed] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    review = review_service.arrival_review(session, actor=actor, arrival_id=arrival_id)
    typed = typed or {}
    return render(
        request,
        "review/arrival.html",
        status=status,
        review=review,
        patient=review.patient,
        zone=ZoneInfo(review.location.timezone),
        cards=[card_form(review, c, typed.get(c.id)) for c in review.captures],
        changes=[change_view(review.patient, c) for c in review.changes],
        flag_labels=FLAG_LABELS,
        problem=problem,
        sure_percent=confidence_percent(CARD_SURE),
    )


# --- pages ------------------------------------------------------------------------------------


@review_pages.get("/staff/review", name="console.review")
def to_do(request: Request, session: SessionDep, actor: Reader) -> Response:
    zone = location_zone(request)
    tomorrow = utcnow().astimezone(zone).date() + timedelta(days=1)
    rows = review_service.review_to_do(
        session,
        actor=actor,
        before=datetime.combine(tomorrow, time(0), tzinfo=zone),
        limit=TO_DO_LIMIT,
    )
    return render(
        request,
        "review/to_do.html",
        rows=rows,
        limit=TO_DO_LIMIT,
        flag_labels=FLAG_LABELS,
    )


@review_pages.get("/staff/arrivals/{arrival_id}", name="console.arrival_review")
def arrival(
    request: Request, session: SessionDep, actor: Reader, arrival_id: uuid.UUID
) -> Response:
    return _arrival_page(request, session, actor, arrival_id)


def _image(content: bytes, media_type: str) -> Response:
    return Response(content, media_type=media_type, headers={"Cache-Control": "no-store"})


@review_pages.get("/staff/card-captures/{capture_id}/{side}", name="console.card_image")
def card_image(
    session: SessionDep, actor: Reader, capture_id: uuid.UUID, side: Literal["front", "back"]
) -> Response:
    content, media_type = review_service.card_image(
        session, actor=actor, capture_id=capture_id, side=side
    )
    return _image(content, media_type)


@review_pages.get("/staff/consent-signatures/{signature_id}/image", name="console.signature_image")
def signature_image(session: SessionDep, actor: Reader, signature_id: uuid.UUID) -> Response:
    content = review_service.signature_image(session, actor=actor, signature_id=signature_id)
    return _image(content, "image/png")


# --- deciding ---------------------------------------------------------------------------------


def _capture(session: Session, capture_id: uuid.UUID) -> tuple[CardCapture, uuid.UUID]:
    capture = session.get(CardCapture, capture_id)
    if capture is None or capture.arrival_id is None:
        raise NotFound("No card capture with that id.")
    return capture, capture.arrival_id


def _form_name(name: str) -> str:
    if name in CARD_NAME_OF_POLICY:
        return CARD_NAME_OF_POLICY[name]
    if name == "rank":
        return "into"
    return name if name == "effective_date" else "form"


def _message(name: str, message: str) -> str:
    if "pattern" in message and name in PATTERN_MESSAGES:
        return PATTERN_MESSAGES[name]
    if message == "Field required":
        return "required"
    return message


def read_card_form(
    values: dict[str, str], policies: list[InsurancePolicy]
) -> tuple[PolicyCreate | PolicyRevision | None, dict[str, str]]:
    """The card form as a new policy or a revision of one on file, or each field's problem.
    An empty field is left out: it neither clears a policy's value nor invents one."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for card_name, policy_name in POLICY_FIELD_OF_CARD.items():
        text = values.get(card_name, "").strip()
        if not text:
            continue
        if card_name in COPAY_FIELDS:
            cents = card_amount_cents(text)
            if cents is None:
                errors[card_name] = "enter an amount such as 25.00"
                continue
            data[policy_name] = cents
        else:
            data[policy_name] = text
    data["effective_date"] = values.get("effective_date", "").strip()
    into = values.get("into", "new")
    model: PolicyCreate | PolicyUpdate | None
    if into == "new":
        model, problems = parse_form(PolicyCreate, {**data, "rank": values.get("rank", "")})
    else:
        model, problems = parse_form(PolicyUpdate, data)
    for name, message in problems.items():
        if name == "rank":
            message = "no rank is free for another policy: update one on file instead"
        errors.setdefault(_form_name(name), _message(name, message))
    if into == "new":
        return (model if isinstance(model, PolicyCreate) and not errors else None), errors
    chosen = next((p for p in policies if str(p.id) == into), None)
    if chosen is None:
        errors["into"] = "choose where the card goes"
    if errors or not isinstance(model, PolicyUpdate) or chosen is None:
        return None, errors
    version = values.get(f"version_{chosen.id}", "")
    expected = int(version) if version.isdigit() else None
    return PolicyRevision(chosen.id, model, expected), errors


@review_pages.post("/staff/card-captures/{capture_id}/accept", name="console.card_accept")
async def accept_card(
    request: Request, session: SessionDep, actor: Decider, capture_id: uuid.UUID
) -> Response:
    capture, arrival_id = _capture(session, capture_id)
    values = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    patient = patients_service.get_patient(session, patient_id=capture.patient_id)
    into, errors = read_card_form(values, review_service.active_policies(patient))
    problem = None
    status = 422
    if into is not None:
        _, refused = attempt(
            session,
            lambda: review_service.accept_card_capture(
                session,
                actor=actor,
                broadcaster=request.app.state.queue_broadcaster,
                capture_id=capture_id,
                into=into,
                now=utcnow(),
            ),
        )
        if refused is None:
            return see_other(f"/staff/arrivals/{arrival_id}", "Card accepted into the policy.")
        if isinstance(refused, InvalidInput) and refused.errors:
            for name, message in field_errors(refused.errors).items():
                errors.setdefault(_form_name(name), message)
        status = refused.status
        problem = refused.detail
    if "form" in errors:
        problem = f"{problem or 'Check the card'}: {errors['form']}"
    return _arrival_page(
        request,
        session,
        actor,
        arrival_id,
        typed={capture_id: Typed(values, errors)},
        problem=problem or "Check the fields marked below; nothing was saved.",
        status=status,
    )


@review_pages.post("/staff/card-captures/{capture_id}/reject", name="console.card_reject")
def reject_card(
    request: Request, session: SessionDep, actor: Decider, capture_id: uuid.UUID
) -> Response:
    _, arrival_id = _capture(session, capture_id)
    _, refused = attempt(
        session,
        lambda: review_service.reject_card_capture(
            session,
            actor=actor,
            broadcaster=request.app.state.queue_broadcaster,
            capture_id=capture_id,
            now=utcnow(),
        ),
    )
    if refused is not None:
        return _arrival_page(
            request, session, actor, arrival_id, problem=refused.detail, status=refused.status
        )
    return see_other(f"/staff/arrivals/{arrival_id}", "Card capture rejected.")


def _decide_change(
    request: Request, session: Session, actor: Actor, change_id: uuid.UUID, accept: bool
) -> Response:
    change = session.get(DemographicChange, change_id)
    if change is None:
        raise NotFound("No proposed change with that id.")
    back = f"/staff/arrivals/{change.arrival_id}" if change.arrival_id else "/staff/review"

    def work() -> DemographicChange:
        return review_service.decide(
            session,
            actor=actor,
            broadcaster=request.app.state.queue_broadcaster,
            change_id=change_id,
            accept=accept,
            cipher=request.app.state.cipher,
            now=utcnow(),
        )

    _, refused = attempt(session, work)
    if refused is None:
        return see_other(back, "Change accepted." if accept else "Change rejected.")
    if change.arrival_id is None:
        raise refused
    detail = refused.detail
    if isinstance(refused, InvalidInput) and refused.errors:
        detail += " " + "; ".join(f"{e.field}: {e.message}" for e in refused.errors)
    return _arrival_page(
        request, session, actor, change.arrival_id, problem=detail, status=refused.status
    )


@review_pages.post(
    "/staff/demographic-changes/{change_id}/accept", name="console.demographic_accept"
)
def accept_change(
    request: Request, session: SessionDep, actor: Decider, change_id: uuid.UUID
) -> Response:
    return _decide_change(request, session, actor, change_id, accept=True)


@review_pages.post(
    "/staff/demographic-changes/{change_id}/reject", name="console.demographic_reject"
)
def reject_change(
    request: Request, session: SessionDep, actor: Decider, change_id: uuid.UUID
) -> Response:
    return _decide_change(request, session, actor, change_id, accept=False)
