"""Eligibility in real time: a 270 for a patient's policy goes to the clearinghouse, its 271
comes back and is recorded; the policy's copay follows what the payer says. The transport is
pluggable (`EligibilityTransport`); the real one speaks CAQH CORE Phase II connectivity
(HTTP POST, multipart/form-data, rule version 2.2.0). Every failure is recorded as an
`EligibilityCheck` outcome and never raised past `check_eligibility`, so a clearinghouse
that is down never breaks a page or a check-in.

    TransportError                     outcome recorded
     ├── TransportTimeout              timeout       (no answer in time)
     ├── TransportUnreachable          unreachable   (connection refused, DNS, TLS)
     ├── TransportRefused              refused       (HTTP 4xx, or a CORE ErrorCode other
     │                                                than Success: credentials, fields)
     └── TransportServerError          server_error  (HTTP 5xx)
    the 271 cannot be read            unreadable
    the payer answers AAA             rejected      (with its reason and follow-up codes)
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import httpx
from sqlmodel import Session, select

from backoffice.billing.claim import Interchange, Party, Person
from backoffice.billing.models import EligibilityCheck, Payer
from backoffice.billing.service import billing_provider
from backoffice.billing.x12.eligibility import EligibilityResponse, build_270, read_271
from backoffice.billing.x12.remit_835 import X12ReadError
from backoffice.billing.x12.segments import X12WriteError
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.security.actor import Actor
from backoffice.settings import Settings, get_settings
from shared.errors import NotFound

__all__ = [
    "CoreConnectivityTransport",
    "EligibilityTransport",
    "ReleasingTransport",
    "TransportError",
    "TransportRefused",
    "TransportServerError",
    "TransportTimeout",
    "TransportUnreachable",
    "check_eligibility",
    "describe",
    "parse_multipart_form",
    "transport_from_settings",
]

log = logging.getLogger(__name__)

REQUEST_PAYLOAD_TYPE = "X12_270_Request_005010X279A1"
RESPONSE_PAYLOAD_TYPE = "X12_271_Response_005010X279A1"
CORE_RULE_VERSION = "2.2.0"
FAILURE_OUTCOMES = frozenset(
    {"timeout", "unreachable", "refused", "server_error", "unreadable", "invalid_request", "failed"}
)
# AAA03 reasons the front desk sees most, in our own words.
AAA_REASONS = {
    "15": "required information missing",
    "42": "the payer cannot answer now",
    "43": "the provider is not on file with the payer",
    "58": "the birth date is wrong",
    "72": "the member id is wrong",
    "73": "the name is wrong",
    "75": "the subscriber was not found",
    "76": "duplicate member id",
    "79": "the payer's system is down",
}
_SEX = {"female": "F", "male": "M"}


class EligibilityTransport(Protocol):
    """Sends one 270 and returns the 271 text; raises a `TransportError` when it cannot."""

    def exchange(self, request_270: str) -> str: ...


class TransportError(Exception):
    outcome = "failed"


class TransportTimeout(TransportError):
    outcome = "timeout"


class TransportUnreachable(TransportError):
    outcome = "unreachable"


class TransportRefused(TransportError):
    outcome = "refused"


class TransportServerError(TransportError):
    outcome = "server_error"


def parse_multipart_form(content_type: str, body: bytes) -> dict[str, str]:
    """The named text parts of a multipart/form-data body (the CORE envelope's fields)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError(f"not multipart/form-data but {content_type[:60]!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("the multipart body has no parts")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode("utf-8") if isinstance(payload, bytes) else ""
    return fields


class CoreConnectivityTransport:
    """CAQH CORE Phase II real-time connectivity: the 270 goes as the Payload field of a
    multipart/form-data POST beside the envelope's metadata; the answer's Payload is the 271."""

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        sender_id: str,
        receiver_id: str,
        timeout_seconds: float = 20.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self._credentials = (username, password)
        self.sender_id, self.receiver_id = sender_id, receiver_id
        self._client = client or httpx.Client(timeout=timeout_seconds, trust_env=False)

    def envelope(self, request_270: str, *, payload_id: str, now: datetime) -> dict[str, str]:
        """The CORE request fields, in the rule's order."""
        username, password = self._credentials
        return {
            "PayloadType": REQUEST_PAYLOAD_TYPE,
            "ProcessingMode": "RealTime",
            "PayloadID": payload_id,
            "TimeStamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "UserName": username,
            "Password": password,
            "SenderID": self.sender_id,
            "ReceiverID": self.receiver_id,
            "CORERuleVersion": CORE_RULE_VERSION,
            "Payload": request_270,
        }

    def exchange(self, request_270: str) -> str:
        payload_id = str(uuid.uuid4())
        fields = self.envelope(request_270, payload_id=payload_id, now=datetime.now(UTC))
        # (None, value): a form-data part without a file name, which is what CORE shows.
        parts = {name: (None, value) for name, value in fields.items()}
        try:
            response = self._client.post(self.url, files=parts)
        except httpx.TimeoutException as exc:
            raise TransportTimeout("the clearinghouse did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise TransportUnreachable(f"the clearinghouse cannot be reached ({exc})") from exc
        if response.status_code >= 500:
            raise TransportServerError(f"the clearinghouse answered HTTP {response.status_code}")
        try:
            answer = parse_multipart_form(
                response.headers.get("content-type", ""), response.content
            )
        except ValueError as exc:
            if response.status_code >= 400:
                raise TransportRefused(
                    f"the clearinghouse refused the request (HTTP {response.status_code})"
                ) from exc
            raise TransportRefused(
                f"the clearinghouse's answer is not a CORE envelope: {exc}"
            ) from exc
        code = answer.get("ErrorCode", "")
        if response.status_code >= 400 or code != "Success":
            message = answer.get("ErrorMessage", "")[:200]
            raise TransportRefused(
                f"the clearinghouse refused the request (HTTP {response.status_code}, "
                f"{code or 'no ErrorCode'}{': ' + message if message else ''})"
            )
        if answer.get("PayloadID") not in (None, payload_id):
            raise TransportRefused("the answer's PayloadID is not the request's")
        if answer.get("PayloadType") != RESPONSE_PAYLOAD_TYPE:
            raise TransportRefused(f"the answer's PayloadType is {answer.get('PayloadType')!r}")
        return answer.get("Payload", "")

    def close(self) -> None:
        self._client.close()


class ReleasingTransport:
    """Ends the session's transaction (read-only so far: the check has only read the policy)
    before waiting on the network, so neither SQLite's write lock (every transaction begins
    IMMEDIATE) nor a PostgreSQL transaction is held while the clearinghouse takes its time.
    The answer is then recorded in a new transaction of the same session."""

    def __init__(self, session: Session, transport: EligibilityTransport) -> None:
        self._session, self._transport = session, transport

    def exchange(self, request_270: str) -> str:
        self._session.commit()
        return self._transport.exchange(request_270)


def transport_from_settings(settings: Settings) -> CoreConnectivityTransport | None:
    """The configured clearinghouse, or None when eligibility is not set up."""
    if not settings.eligibility_url:
        return None
    return CoreConnectivityTransport(
        url=settings.eligibility_url,
        username=settings.eligibility_username or "",
        password=(
            settings.eligibility_password.get_secret_value()
            if settings.eligibility_password
            else ""
        ),
        sender_id=settings.eligibility_sender_id or settings.billing_submitter_id,
        receiver_id=settings.eligibility_receiver_id or settings.billing_receiver_id,
        timeout_seconds=settings.eligibility_timeout_seconds,
    )


class PolicyNotFound(NotFound):
    pass


@dataclass(frozen=True)
class _Benefits:
    active: bool | None
    plan_name: str | None
    copay_cents: int | None
    coinsurance_basis_points: int | None
    deductible_remaining_cents: int | None


def check_eligibility(
    session: Session,
    actor: Actor,
    *,
    policy_id: uuid.UUID,
    transport: EligibilityTransport,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> EligibilityCheck:
    """Ask the payer about a policy and record the answer (or why there is none); when the
    coverage is active and the payer states an office-visit copay, the policy takes it.
    Never commits; only an unknown policy raises."""
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    policy = session.get(InsurancePolicy, policy_id)
    if policy is None:
        raise PolicyNotFound("no such insurance policy")
    check = EligibilityCheck(
        policy_id=policy.id,
        checked_at=now,
        outcome="failed",
        trace_number="",
        checked_by=actor.principal.name[:80],
    )
    check.trace_number = check.id.hex[:30]
    try:
        request = _request_270(session, policy, check=check, settings=settings, now=now)
    except X12WriteError as error:
        check.outcome, check.error = "invalid_request", f"{error.where}: {error}"[:500]
        return _recorded(session, actor, check)
    try:
        answer = transport.exchange(request)
    except TransportError as error:
        check.outcome, check.error = error.outcome, str(error)[:500]
        return _recorded(session, actor, check)
    except Exception as error:  # a plugged-in transport's own bug must not break check-in
        log.warning("eligibility transport failed: %s", type(error).__name__)
        check.outcome, check.error = "failed", f"the transport failed ({type(error).__name__})"
        return _recorded(session, actor, check)
    try:
        response = _response_for(read_271(answer), trace_number=check.trace_number)
        benefits = _benefits(response)
    except (X12ReadError, ValueError) as error:
        check.outcome, check.error = "unreadable", f"the 271 cannot be read: {error}"[:500]
        return _recorded(session, actor, check)
    if benefits.active is None:
        check.outcome = "rejected"
        check.error = (
            "; ".join(
                f"AAA {r.reason} ({AAA_REASONS.get(r.reason, 'see the payer')})"
                + (f", follow-up {r.follow_up}" if r.follow_up else "")
                for r in response.rejections
            )
            or "the payer did not say whether the coverage is active"
        )
        return _recorded(session, actor, check)
    check.outcome = "active" if benefits.active else "inactive"
    check.active = benefits.active
    check.plan_name = (benefits.plan_name or "")[:120] or None
    check.copay_cents = benefits.copay_cents
    check.coinsurance_basis_points = benefits.coinsurance_basis_points
    check.deductible_remaining_cents = benefits.deductible_remaining_cents
    if (
        benefits.active
        and benefits.copay_cents is not None
        and benefits.copay_cents != policy.copay_primary_care_cents
    ):
        policy.copay_primary_care_cents = benefits.copay_cents
        policy.updated_at = now
        session.add(policy)
        check.copay_updated = True
    return _recorded(session, actor, check)


def _recorded(session: Session, actor: Actor, check: EligibilityCheck) -> EligibilityCheck:
    session.add(check)
    session.flush()
    actor.audit(
        session,
        "billing.eligibility.checked",
        resource_type="insurance_policy",
        resource_id=check.policy_id,
        detail={"outcome": check.outcome, "check_id": str(check.id)},
    )
    return check


def _request_270(
    session: Session,
    policy: InsurancePolicy,
    *,
    check: EligibilityCheck,
    settings: Settings,
    now: datetime,
) -> str:
    patient = session.get(Patient, policy.patient_id)
    assert patient is not None
    if policy.subscriber_relationship == "self":
        subscriber = Person(
            last_name=patient.last_name,
            first_name=patient.first_name,
            date_of_birth=patient.date_of_birth,
            sex=_SEX.get(patient.sex, "U"),
            member_id=policy.member_id,
        )
    else:
        # The 270 asks about the subscriber; the payer answers for the whole family.
        if policy.subscriber_date_of_birth is None:
            raise X12WriteError("policy.subscriber_date_of_birth", "is missing")
        subscriber = Person(
            last_name=policy.subscriber_last_name or "",
            first_name=policy.subscriber_first_name or "",
            date_of_birth=policy.subscriber_date_of_birth,
            sex=_SEX.get(policy.subscriber_sex or "", "U"),
            member_id=policy.member_id,
        )
    payer = session.exec(select(Payer).where(Payer.payer_id == policy.payer_id)).first()
    control = check.id.int % 999_999_999 + 1
    interchange = Interchange(
        sender_id=settings.billing_submitter_id,
        receiver_id=settings.billing_receiver_id,
        submitter=Party(settings.billing_practice_name, settings.billing_submitter_id),
        receiver=Party(settings.billing_receiver_name, settings.billing_receiver_id),
        interchange_control_number=control,
        group_control_number=control,
        production=settings.billing_production,
    )
    return build_270(
        interchange,
        payer=Party(payer.name if payer else policy.payer_name, policy.payer_id),
        provider=billing_provider(settings),
        subscriber=subscriber,
        trace_number=check.trace_number,
        service_date=now.astimezone(settings.timezone).date(),
        created=now.astimezone(settings.timezone),
    )


def _response_for(
    responses: list[EligibilityResponse], *, trace_number: str
) -> EligibilityResponse:
    """The answer that echoes our trace number; else the first (payers that drop TRN)."""
    return next((r for r in responses if trace_number in r.trace_numbers), responses[0])


def _cents(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"the amount {amount} is not whole cents")
    return int(cents)


def _benefits(response: EligibilityResponse) -> _Benefits:
    coinsurance = response.coinsurance
    return _Benefits(
        active=response.active,
        plan_name=response.plan_name,
        copay_cents=_cents(response.copay),
        coinsurance_basis_points=(
            int((coinsurance * 10_000).to_integral_value()) if coinsurance is not None else None
        ),
        deductible_remaining_cents=_cents(response.deductible_remaining),
    )


def describe(check: EligibilityCheck) -> str:
    """One line for staff: the outcome and, when active, the benefits (no PHI)."""
    if check.outcome not in {"active", "inactive"}:
        return f"eligibility {check.outcome}: {check.error or 'no detail'} (recorded)"
    parts = [f"coverage {check.outcome}"]
    if check.plan_name:
        parts.append(check.plan_name)
    if check.copay_cents is not None:
        updated = " (policy updated)" if check.copay_updated else ""
        parts.append(f"copay {Decimal(check.copay_cents) / 100:.2f}{updated}")
    if check.coinsurance_basis_points is not None:
        parts.append(f"coinsurance {Decimal(check.coinsurance_basis_points) / 100:g} %")
    if check.deductible_remaining_cents is not None:
        parts.append(f"deductible remaining {Decimal(check.deductible_remaining_cents) / 100:.2f}")
    return ", ".join(parts)
