"""Every endpoint against every principal: the five staff roles, a kiosk and nobody.

The endpoints are walked from the application, so a new endpoint without a row in
`WHO_MAY_CALL` fails `test_every_endpoint_has_a_matrix_row`. The rows are written by hand
from the rules in the README and checked against the dependencies the routes declare and
the permission table, so the three cannot drift apart silently.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from backoffice.app import create_app
from backoffice.billing import remittances
from backoffice.billing import service as billing_service
from backoffice.billing.models import ClaimBatch, Denial
from backoffice.checkin.models import Arrival, CheckInSession, DemographicChange, StaffAlert
from backoffice.clinic.models import Location, Provider
from backoffice.devices import enrolment
from backoffice.devices import service as devices_service
from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.payments import ledger
from backoffice.payments.models import CopayOverride, Payment
from backoffice.scheduling import configuration, wait_list
from backoffice.scheduling import feeds as feeds_service
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import ScheduleException, WaitListEntry
from backoffice.scheduling.schemas import AppointmentCreate, SeriesCreate
from backoffice.scheduling.wait_list import FreedTime
from backoffice.security.dependencies import authenticate, require_staff
from backoffice.security.permissions import DEVICE_PERMISSIONS, ROLE_PERMISSIONS, Permission
from backoffice.security.tokens import digest
from backoffice.settings import Settings
from backoffice.staff import service as staff_service
from backoffice.staff.models import StaffUser
from shared.contracts.provisioning import rotation_message
from shared.device_credential import new_private_key, public_key_text, sign
from shared.enums import Role
from shared.validators import npi_with_check_digit
from tests.conftest import bound_to, session_on
from tests.fixtures.billing import (
    completed_visit,
    create_payer,
    create_standard_fees,
    ready_claims,
    remittance_835,
    reviewed_charge,
    submitted_claim,
)
from tests.fixtures.builders import (
    TEST_ACTOR,
    TEST_PASSWORD,
    Principals,
    create_patient,
    create_policy,
    create_user,
)
from tests.fixtures.checkin import BIRTH_DATE, book_today, by_name, submission
from tests.fixtures.clearinghouse_fake import FakeClearinghouse
from tests.fixtures.endpoints import Endpoint, api_endpoints, dependency_calls
from tests.fixtures.scheduling import MONDAY_AFTER, at, booking, open_calendar
from tests.fixtures.stripe_fake import FakeStripe

PROBLEM_JSON = "application/problem+json"
PRINCIPALS = ("front_desk", "nurse", "provider", "billing", "admin", "kiosk", "anonymous")
STAFF = frozenset(PRINCIPALS[:5])
EVERYONE = frozenset(PRINCIPALS)
READERS = STAFF
WRITERS = frozenset({"front_desk", "billing", "admin"})
ADMIN = frozenset({"admin"})
KIOSK = frozenset({"kiosk"})
BOOKERS = frozenset({"front_desk", "nurse", "provider", "admin"})
SSN_REVEALERS = frozenset({"billing", "admin"})
CASHIERS = frozenset({"front_desk", "billing", "admin"})  # see and take payments
REFUNDERS = frozenset({"billing", "admin"})
BILLERS = frozenset({"billing", "admin"})  # billing:read and billing:write
CHARGE_CAPTURERS = frozenset({"provider", "billing", "admin"})
ELIGIBILITY_CHECKERS = frozenset({"front_desk", "billing", "admin"})

# Who may call each endpoint, from the README: front desk reads and writes patients; nurses
# and providers read them; billing reads and writes them (and may reveal SSNs, see below);
# admin does everything but the kiosk API; a kiosk reaches only /kiosk/*; nobody signed in
# reaches only health and the sign-in endpoints.
WHO_MAY_CALL: dict[str, frozenset[str]] = {
    "health": EVERYONE,
    "auth.token": EVERYONE,
    "auth.refresh": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.me": STAFF,
    "users.list": ADMIN,
    "users.create": ADMIN,
    "users.read": ADMIN,
    "users.update": ADMIN,
    "devices.list": ADMIN,
    "devices.create": ADMIN,
    "devices.revoke": ADMIN,
    "devices.get": ADMIN,
    "devices.enrollment_code": ADMIN,
    "devices.rotate_credential": ADMIN,
    "devices.config": ADMIN,
    "devices.configure": ADMIN,
    "kiosk.enrol": EVERYONE,  # the one-time code is the authority
    "kiosk.me": KIOSK,
    "kiosk.heartbeat": KIOSK,
    "kiosk.config": KIOSK,
    "kiosk.credential_challenge": KIOSK,
    "kiosk.rotate_credential": KIOSK,
    "patients.search": READERS,
    "patients.create": WRITERS,
    "patients.read": READERS,
    "patients.update": WRITERS,
    "patients.merge": ADMIN,
    "policies.list": READERS,
    "policies.create": WRITERS,
    "policies.update": WRITERS,
    "audit.list": ADMIN,
    "audit.verify": ADMIN,
    "locations.list": STAFF,
    "locations.create": ADMIN,
    "locations.read": STAFF,
    "locations.update": ADMIN,
    "providers.list": STAFF,
    "providers.create": ADMIN,
    "providers.read": STAFF,
    "providers.update": ADMIN,
    "appointment_types.list": STAFF,
    "appointment_types.create": ADMIN,
    "appointment_types.read": STAFF,
    "appointment_types.update": ADMIN,
    "schedule_rules.list": STAFF,
    "schedule_rules.create": ADMIN,
    "schedule_rules.replace": ADMIN,
    "schedule_rules.delete": ADMIN,
    "schedule_exceptions.list": STAFF,
    "schedule_exceptions.create": ADMIN,
    "schedule_exceptions.delete": ADMIN,
    "slots.search": STAFF,
    "appointments.create": BOOKERS,
    "appointments.list": STAFF,
    "appointments.read": STAFF,
    "appointments.event": BOOKERS,
    "appointments.reschedule": BOOKERS,
    "appointments.history": STAFF,
    "series.create": BOOKERS,
    "series.cancel": BOOKERS,
    "calendar_feeds.create": ADMIN,
    "calendar_feeds.revoke": ADMIN,
    "calendar_feeds.read": EVERYONE,  # the token in the URL is the credential
    "wait_list.create": BOOKERS,
    "wait_list.list": STAFF,
    "wait_list.accept": BOOKERS,
    "wait_list.decline": BOOKERS,
    "wait_list.cancel": BOOKERS,
    "groups.create": BOOKERS,
    "providers.calendar": STAFF,
    "kiosk.lookup": KIOSK,
    "kiosk.verify": KIOSK,
    "kiosk.demographics": KIOSK,
    "kiosk.consents": KIOSK,
    "kiosk.copay": KIOSK,
    "kiosk.end_session": KIOSK,
    "kiosk.consent_documents": KIOSK,
    "kiosk.check_in": KIOSK,
    "queue.list": STAFF,
    "queue.transition": BOOKERS,
    "queue.events": STAFF,
    "alerts.list": STAFF,
    "alerts.acknowledge": BOOKERS,
    "appointments.check_in_code": STAFF,
    "demographic_changes.list": READERS,
    "demographic_changes.accept": WRITERS,
    "demographic_changes.reject": WRITERS,
    "kiosk.payment_start": KIOSK,
    "kiosk.payment": KIOSK,
    "kiosk.payment_cancel": KIOSK,
    "kiosk.payment_test_card": KIOSK,
    "copay.read": CASHIERS,
    "copay.override": CASHIERS,
    "copay.clear_override": CASHIERS,
    "ledger.read": CASHIERS,
    "ledger.adjust": REFUNDERS,
    "payments.read": CASHIERS,
    "payments.refund": REFUNDERS,
    "payments.stripe_webhook": EVERYONE,  # signed by Stripe instead
    "payers.list": BILLERS,
    "payers.create": BILLERS,
    "payers.update": BILLERS,
    "fees.list": BILLERS,
    "fees.create": BILLERS,
    "charges.capture": CHARGE_CAPTURERS,
    "charges.list": BILLERS,
    "charges.read": BILLERS,
    "charges.review": BILLERS,
    "claims.list": BILLERS,
    "claims.read": BILLERS,
    "claims.make": BILLERS,
    "claims.scrub": BILLERS,
    "claims.submit": BILLERS,
    "claim_batches.file": BILLERS,
    "remittances.import": BILLERS,
    "remittances.list": BILLERS,
    "denials.list": BILLERS,
    "denials.note": BILLERS,
    "denials.resubmit": BILLERS,
    "eligibility.check": ELIGIBILITY_CHECKERS,
    "eligibility.list": ELIGIBILITY_CHECKERS,
    "ar.read": BILLERS,
    "statements.read": BILLERS,
    "payment_plans.create": BILLERS,
    "payment_plans.list": BILLERS,
}

PUBLIC_ROUTES = frozenset(
    {
        "health",
        "auth.token",
        "auth.refresh",
        "auth.logout",
        "calendar_feeds.read",
        "payments.stripe_webhook",
        "kiosk.enrol",
    }
)


ENDPOINTS = api_endpoints()


def requirement(endpoint: Endpoint) -> Permission | str | None:
    """What the route's dependencies demand: a permission, "staff", "signed-in" or nothing."""
    calls = list(dependency_calls(endpoint.dependant))
    permissions = {c.permission for c in calls if hasattr(c, "permission")}
    assert len(permissions) <= 1, f"{endpoint.name} asks for several permissions: {permissions}"
    if permissions:
        return permissions.pop()
    if require_staff in calls:
        return "staff"
    if authenticate in calls:
        return "signed-in"
    return None


def holders(need: Permission | str | None) -> frozenset[str]:
    """The principals the permission table lets through for `need`."""
    if need is None:
        return EVERYONE
    if need == "staff":
        return STAFF
    if need == "signed-in":
        return EVERYONE - {"anonymous"}
    roles = {role.value for role, granted in ROLE_PERMISSIONS.items() if need in granted}
    return frozenset(roles | ({"kiosk"} if need in DEVICE_PERMISSIONS["kiosk"] else set()))


def _cells(keep: Callable[[Endpoint, str], bool]) -> list[Any]:
    return [
        pytest.param(e, who, id=f"{e.name}-{who}")
        for e in ENDPOINTS
        if e.name in WHO_MAY_CALL
        for who in PRINCIPALS
        if keep(e, who)
    ]


ALLOWED = _cells(lambda e, who: who in WHO_MAY_CALL[e.name])
DENIED = _cells(lambda e, who: who not in WHO_MAY_CALL[e.name] and who != "anonymous")
ANONYMOUS = _cells(lambda e, who: who not in WHO_MAY_CALL[e.name] and who == "anonymous")


# --- the table against the code ------------------------------------------------------------


def test_every_endpoint_has_a_matrix_row() -> None:
    assert {e.name for e in ENDPOINTS} == set(WHO_MAY_CALL)


def test_matrix_has_a_column_for_every_role() -> None:
    assert {r.value for r in Role} == STAFF


def test_endpoint_names_are_unique() -> None:
    names = [e.name for e in ENDPOINTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_matrix_row_agrees_with_the_permission_table(endpoint: Endpoint) -> None:
    assert WHO_MAY_CALL.get(endpoint.name) == holders(requirement(endpoint))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_only_the_sign_in_endpoints_and_health_are_public(endpoint: Endpoint) -> None:
    assert (requirement(endpoint) is None) == (endpoint.name in PUBLIC_ROUTES)


# --- the table against the running application ---------------------------------------------


@pytest.fixture(scope="module")
def stripe(database) -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="module")
def clearinghouse() -> Iterator[FakeClearinghouse]:
    with FakeClearinghouse() as fake:
        yield fake


@pytest.fixture(scope="module")
def module_app(database, stripe, clearinghouse) -> FastAPI:
    """Payments through Stripe (its loopback fake), so the webhook has a signature to check;
    eligibility through a loopback clearinghouse."""
    settings = Settings(
        payments_provider="stripe",
        stripe_secret_key=stripe.api_key,
        stripe_webhook_secret=stripe.webhook_secret,
        stripe_api_base=stripe.url,
        eligibility_url=clearinghouse.url,
        eligibility_username=clearinghouse.username,
        eligibility_password=clearinghouse.password,
    )
    return create_app(settings, engine=database.engine)


# The world is built once per database, in a transaction that lasts the module; each cell
# runs in a savepoint of it (and with the fake Stripe's state put back), so what one cell
# does is gone before the next.


@pytest.fixture(scope="module")
def module_connection(database) -> Iterator[object]:
    conn = database.engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture(scope="module")
def module_client(module_app, module_connection) -> Iterator[TestClient]:
    with TestClient(bound_to(module_app, module_connection), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def module_principals(module_app, module_connection) -> Principals:
    principals = Principals(
        session=session_on(module_connection), signing_key=module_app.state.signing_key
    )
    for who in set(PRINCIPALS) - {"anonymous"}:
        principals.headers_for(who)  # made now, outside any cell's savepoint
    return principals


@pytest.fixture
def connection(module_connection, stripe) -> Iterator[object]:
    savepoint = module_connection.begin_nested()
    state = stripe.snapshot()
    yield module_connection
    stripe.restore(state)
    if savepoint.is_active:
        savepoint.rollback()


@pytest.fixture
def app(module_app: FastAPI, connection) -> FastAPI:
    return module_app  # bound to the module's connection by module_client


@pytest.fixture
def client(module_client, connection) -> TestClient:
    return module_client


@pytest.fixture
def principals(module_principals, connection) -> Principals:
    return module_principals


@dataclass
class World:
    """Real records behind every path parameter, so an allowed call is not a 404."""

    patient: Patient
    duplicate: Patient
    policy: InsurancePolicy
    user: StaffUser
    device: Device
    refresh_token: str
    booking: dict[str, Any]
    appointment_id: str
    series_id: str
    provider_id: str
    feed_id: str
    feed_token: str
    wait_list_entry_id: str
    location_id: str
    rule_id: str
    exception_id: str
    today: dict[str, Any]
    stripe: FakeStripe
    enrollment_code: str = ""
    rotation: dict[str, Any] | None = None
    billing: dict[str, str] = field(default_factory=dict)

    def path_values(self) -> dict[str, str]:
        return {
            "session_id": self.today["session_id"],
            "arrival_id": self.today["arrival_id"],
            "alert_id": self.today["alert_id"],
            "change_id": self.today["change_id"],
            "location_id": self.location_id,
            "appointment_type_id": self.booking["appointment_type_id"],
            "rule_id": self.rule_id,
            "exception_id": self.exception_id,
            "appointment_id": self.appointment_id,
            "series_id": self.series_id,
            "provider_id": self.provider_id,
            "feed_id": self.feed_id,
            "token": self.feed_token,
            "entry_id": self.wait_list_entry_id,
            "patient_id": str(self.patient.id),
            "policy_id": str(self.policy.id),
            "user_id": str(self.user.id),
            "device_id": str(self.device.id),
            "check_in_id": self.today["waiting_check_in_id"],
            "payment_id": self.today["paid_payment_id"],
            **self.billing,
        }


def checked_in_today(session, cipher, principals, client, stripe) -> dict[str, Any]:
    """For the kiosk: a verified session of the matrix kiosk on an appointment today, with a
    payment waiting on its reader. For staff: an arrival on today's queue, paid for by card,
    and an open alert."""
    token = principals.kiosk()["Authorization"].removeprefix("Bearer ")
    device = session.exec(select(Device).where(Device.token_hash == digest(token))).one()
    device.payment_reader_id = stripe.add_reader()
    waiting = book_today(session, cipher, last_name="Arrived")
    visit = book_today(session, cipher)
    device.location_id = visit["location"].id  # its "today" is that late-morning lobby's
    held = CheckInSession(
        device_id=device.id,
        appointment_id=visit["appointment"].id,
        patient_id=visit["patient"].id,
        method="name_dob",
        verified=True,
        expires_at=utcnow() + timedelta(minutes=10),
    )
    arrival = Arrival(
        appointment_id=waiting["appointment"].id,
        check_in_id=uuid.uuid4(),
        patient_id=waiting["patient"].id,
        location_id=waiting["location"].id,
        arrived_at=utcnow(),
    )
    scheduling_service.record_event(
        session, actor=TEST_ACTOR, appointment=waiting["appointment"], event="arrive",
        expected_version=waiting["appointment"].version,
    )  # fmt: skip
    paid_session = CheckInSession(
        device_id=device.id,
        appointment_id=waiting["appointment"].id,
        patient_id=waiting["patient"].id,
        method="name_dob",
        verified=True,
        expires_at=utcnow() + timedelta(minutes=10),
    )
    for appointment in (waiting["appointment"], visit["appointment"]):
        session.add(CopayOverride(appointment_id=appointment.id, amount_cents=2000, reason="x"))
    alert = StaffAlert(kind="kiosk_throttled", message="Kiosk paused")
    change = DemographicChange(
        patient_id=waiting["patient"].id, arrival_id=arrival.id, changes={"phone": "+16175550142"}
    )
    session.add_all([held, paid_session, arrival, alert, change])
    session.commit()
    kiosk, paid, waiting_payment = principals.kiosk(), str(uuid.uuid4()), str(uuid.uuid4())

    def pay(session_id: uuid.UUID, check_in_id: str) -> dict[str, Any]:
        return client.post(
            f"/api/v1/kiosk/sessions/{session_id}/payment",
            json={"check_in_id": check_in_id},
            headers=kiosk,
        ).json()

    # One reader: the first payment is finished before the second waits on it.
    assert pay(paid_session.id, paid)["status"] == "waiting_for_card"
    tapped = client.post(
        f"/api/v1/kiosk/payments/{paid}/test-card",
        json={"number": "4242424242424242"},
        headers=kiosk,
    )
    assert tapped.json()["status"] == "succeeded", tapped.text
    assert pay(held.id, waiting_payment)["status"] == "waiting_for_card"
    payment = session.exec(select(Payment).where(Payment.check_in_id == uuid.UUID(paid))).one()
    return {
        "waiting_check_in_id": waiting_payment,
        "paid_payment_id": str(payment.id),
        "session_id": str(held.id),
        "arrival_id": str(arrival.id),
        "alert_id": str(alert.id),
        "change_id": str(change.id),
        "location_id": str(waiting["location"].id),
        "appointment_id": str(visit["appointment"].id),
    }


@pytest.fixture(scope="module")
def world(module_connection, module_app, module_principals, module_client, stripe) -> World:
    session = session_on(module_connection)
    return build_world(
        session, module_app.state.cipher, module_app, module_principals, module_client, stripe
    )


def build_world(session, cipher, app, principals, client, stripe) -> World:
    patient = create_patient(session, cipher, ssn="123-45-6789")
    duplicate = create_patient(session, cipher)
    policy = create_policy(session, patient)
    user = create_user(session, Role.NURSE)
    device, _ = devices_service.add_kiosk(session, actor=TEST_ACTOR, name="matrix-lobby")
    tokens = staff_service.issue_tokens(
        session, user=user, settings=app.state.settings, signing_key=app.state.signing_key
    )
    session.commit()
    request, appointment_id, series_id = book_a_calendar(session, cipher)
    provider_id = uuid.UUID(request["provider_id"])
    feed, feed_token = feeds_service.issue_feed(session, actor=TEST_ACTOR, provider_id=provider_id)
    provider = session.get(Provider, provider_id)
    monday_rule = next(r for r in configuration.list_rules(session, provider_id=provider_id))
    day_off = ScheduleException(
        kind="pto",
        provider_id=provider_id,
        starts_at=at(MONDAY_AFTER, 0) + timedelta(days=14),
        ends_at=at(MONDAY_AFTER, 0) + timedelta(days=15),
    )
    session.add(day_off)
    session.commit()
    world = World(
        patient,
        duplicate,
        policy,
        user,
        device,
        tokens.refresh_token,
        request,
        appointment_id,
        series_id,
        request["provider_id"],
        str(feed.id),
        feed_token,
        offered_wait_list_entry(session, patient, request),
        str(provider.locations[0].id),
        str(monday_rule.id),
        str(day_off.id),
        checked_in_today(session, cipher, principals, client, stripe),
        stripe,
        *keys_and_codes(session, principals, device),
    )
    world.billing = billing_world(session, cipher, patient)
    return world


def billing_world(session, cipher, patient: Patient) -> dict[str, str]:
    """A completed visit to charge, a draft charge to review, a ready claim, a sent batch, an
    open denial, and a balance on the matrix patient's ledger for a payment plan."""
    create_standard_fees(session)
    payer = create_payer(session)
    to_charge = completed_visit(session, cipher)
    draft = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=completed_visit(session, cipher).appointment.id,
        diagnoses=["I10"],
    )  # fmt: skip
    reviewed_charge(session, completed_visit(session, cipher))
    claim = ready_claims(session)[0]
    batch = ClaimBatch(interchange_control_number=990001, file_name="837P-990001.x12",
                       sha256="0" * 64, claim_count=0, content="ISA*...~")  # fmt: skip
    denied = submitted_claim(session, cipher, payer, number="FDMATRIX1", on=date(2026, 10, 1),
                             lines=(("99213", (), 13000),))  # fmt: skip
    remittances.import_835(
        session, TEST_ACTOR, remittance_835(["CLP*FDMATRIX1*4*130.00*0.00**12*PAYERM1~"
                                             "CAS*CO*50*130.00~"], trace="MATRIX1"),
    )  # fmt: skip
    denial = session.exec(select(Denial).where(Denial.claim_id == denied.claim_id)).one()
    ledger.post(session, patient_id=patient.id, kind=ledger.EntryKind.CHARGE, amount_cents=5000,
                description="Office visit", entry_key="matrix-balance")  # fmt: skip
    session.add(batch)
    session.commit()
    return {
        "visit_to_charge": str(to_charge.appointment.id),
        "charge_id": str(draft.id),
        "claim_id": str(claim.id),
        "batch_id": str(batch.id),
        "denial_id": str(denial.id),
        "payer_key": str(payer.id),
    }


def keys_and_codes(session, principals, device: Device) -> tuple[str, dict[str, Any]]:
    """Both kiosks hold keys (so one can be asked to rotate, and the matrix kiosk can sign a
    rotation), and a fresh enrolment code waits to be used."""
    token = principals.kiosk()["Authorization"].removeprefix("Bearer ")
    kiosk = session.exec(select(Device).where(Device.token_hash == digest(token))).one()
    key = new_private_key()
    kiosk.public_key = public_key_text(key)
    device.public_key = public_key_text(new_private_key())
    challenge = enrolment.issue_challenge(session, device=kiosk, now=utcnow()).challenge
    message = rotation_message(kiosk.id, challenge, kiosk.public_key)
    rotation = {
        "challenge": challenge,
        "public_key": kiosk.public_key,
        "signature": sign(key, message),
    }
    _, code = enrolment.create_enrollment_code(
        session, actor=TEST_ACTOR, location_id=kiosk_location(session), now=utcnow()
    )
    session.commit()
    return code, rotation


def kiosk_location(session) -> uuid.UUID:
    return session.exec(select(Location)).first().id


def offered_wait_list_entry(session, patient: Patient, request: dict[str, Any]) -> str:
    """A wait-list entry that has just been offered 10:30 on the booking's Monday."""
    entry = WaitListEntry(
        patient_id=patient.id,
        appointment_type_id=uuid.UUID(request["appointment_type_id"]),
        earliest=at(MONDAY_AFTER, 0),
        latest=at(MONDAY_AFTER, 23),
        created_by="matrix",
    )
    session.add(entry)
    session.flush()
    wait_list.offer(
        session,
        time=FreedTime(
            provider_id=uuid.UUID(request["provider_id"]),
            location_id=session.get(Provider, uuid.UUID(request["provider_id"])).locations[0].id,
            appointment_type_id=entry.appointment_type_id,
            start=at(MONDAY_AFTER, 10, 30),
            end=at(MONDAY_AFTER, 11),
            freed_by_patient_id=uuid.uuid4(),
        ),
        now=at(MONDAY_AFTER, 0) - timedelta(days=1),
    )
    session.commit()
    return str(entry.id)


def book_a_calendar(session, cipher) -> tuple[dict[str, Any], str, str]:
    """An appointment at 09:00, a weekly series at 11:00, and a valid request to book 10:00
    the same morning."""
    calendar = open_calendar(session, cipher)
    first = scheduling_service.book_appointment(
        session,
        actor=TEST_ACTOR,
        data=AppointmentCreate.model_validate(booking(calendar, at(MONDAY_AFTER, 9))),
    )
    weekly = scheduling_service.book_series(
        session,
        actor=TEST_ACTOR,
        data=SeriesCreate.model_validate(
            {**booking(calendar, at(MONDAY_AFTER, 11)), "rrule": "FREQ=WEEKLY;COUNT=2"}
        ),
    )
    session.commit()
    return booking(calendar, at(MONDAY_AFTER, 10)), str(first.id), str(weekly.series_id)


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


# A minimal valid request per endpoint (beyond its path), so that an allowed caller succeeds.
VALID_CALLS: dict[str, Callable[[World], dict[str, Any]]] = {
    "auth.token": lambda w: {"data": {"username": w.user.username, "password": TEST_PASSWORD}},
    "auth.refresh": lambda w: {"json": {"refresh_token": w.refresh_token}},
    "auth.logout": lambda w: {"json": {"refresh_token": w.refresh_token}},
    "users.create": lambda w: {
        "json": {
            "username": "matrix.newcomer",
            "display_name": "New Comer",
            "role": "nurse",
            "password": "a-long-enough-password",
        }
    },
    "users.update": lambda w: {"json": {"display_name": "Renamed Nurse"}},
    "devices.create": lambda w: {"json": {"name": "matrix-waiting-room"}},
    "patients.create": lambda w: {
        "json": {
            "first_name": "Grace",
            "last_name": "Hopper",
            "date_of_birth": "1906-12-09",
            "sex": "female",
        },
        "params": {"confirm_new": "true"},
    },
    "patients.update": lambda w: {
        "json": {"middle_name": "Brewster"},
        "headers": _if_match(w.patient.version),
    },
    "patients.merge": lambda w: {
        "json": {"source_id": str(w.duplicate.id)},
        "headers": _if_match(w.patient.version),
    },
    "policies.create": lambda w: {
        "json": {
            "rank": "secondary",
            "payer_name": "Cigna",
            "payer_id": "62308",
            "member_id": "U12345678",
            "effective_date": "2026-01-01",
        }
    },
    "policies.update": lambda w: {
        "json": {"plan_name": "Open Access Plus"},
        "headers": _if_match(w.policy.version),
    },
}


SATURDAY_MORNINGS = {
    "weekday": 5,
    "start_time": "09:00",
    "end_time": "12:00",
    "effective_date": "2026-01-01",
}
VALID_CALLS["locations.create"] = lambda w: {
    "json": {
        "name": "Matrix Annex",
        "timezone": "America/Chicago",
        "address_line1": "1 Annex Way",
        "address_city": "Chicago",
        "address_state": "IL",
        "address_postal_code": "60601",
    }
}
VALID_CALLS["locations.update"] = lambda w: {"json": {"phone": "+13125550100"}}
VALID_CALLS["providers.create"] = lambda w: {
    "json": {
        "first_name": "Ida",
        "last_name": "Matrix",
        "npi": npi_with_check_digit("198765432"),
        "taxonomy_code": "207Q00000X",
        "specialty": "Family Medicine",
        "location_ids": [w.location_id],
    }
}
VALID_CALLS["providers.update"] = lambda w: {"json": {"max_per_day": 12}}
VALID_CALLS["appointment_types.create"] = lambda w: {
    "json": {
        "code": "MTX",
        "name": "Matrix visit",
        "duration_minutes": 20,
        "category": "specialist",
    }
}
VALID_CALLS["appointment_types.update"] = lambda w: {"json": {"buffer_after_minutes": 5}}
VALID_CALLS["schedule_rules.create"] = lambda w: {
    "json": {**SATURDAY_MORNINGS, "location_id": w.location_id}
}
VALID_CALLS["schedule_rules.replace"] = lambda w: {
    "json": {**SATURDAY_MORNINGS, "weekday": 0, "start_time": "08:00", "location_id": w.location_id}
}
VALID_CALLS["schedule_exceptions.list"] = lambda w: {
    "params": {"start": w.booking["start"], "end": "2027-12-31T00:00:00-05:00"}
}
VALID_CALLS["schedule_exceptions.create"] = lambda w: {
    "json": {
        "kind": "closure",
        "location_id": w.location_id,
        "start": "2027-07-04T00:00:00-04:00",
        "end": "2027-07-05T00:00:00-04:00",
        "reason": "Independence Day",
    }
}
VALID_CALLS["kiosk.lookup"] = lambda w: {"json": by_name()}
VALID_CALLS["kiosk.verify"] = lambda w: {"json": {"date_of_birth": BIRTH_DATE.isoformat()}}
VALID_CALLS["kiosk.rotate_credential"] = lambda w: {"json": w.rotation}
VALID_CALLS["kiosk.enrol"] = lambda w: {
    "json": {
        "code": w.enrollment_code,
        "public_key": public_key_text(new_private_key()),
        "hostname": "matrix-pi",
    }
}
VALID_CALLS["devices.enrollment_code"] = lambda w: {"json": {"location_id": w.location_id}}
VALID_CALLS["devices.configure"] = lambda w: {"json": {"idle_timeout_seconds": 120}}
VALID_CALLS["kiosk.heartbeat"] = lambda w: {
    "json": {"app_version": "0.1.0", "outbox_pending": 0, "outbox_held": 0}
}
VALID_CALLS["kiosk.check_in"] = lambda w: {
    "json": (body := submission(session_id=w.today["session_id"])),
    "headers": {"Idempotency-Key": body["check_in_id"]},
}
VALID_CALLS["queue.list"] = lambda w: {"params": {"location_id": w.today["location_id"]}}
VALID_CALLS["queue.transition"] = lambda w: {"json": {"to": "roomed"}}
VALID_CALLS["queue.events"] = lambda w: {"params": {"max_events": 0}}
VALID_CALLS["appointments.create"] = lambda w: {"json": w.booking}
VALID_CALLS["series.create"] = lambda w: {"json": {**w.booking, "rrule": "FREQ=WEEKLY;COUNT=2"}}
VALID_CALLS["wait_list.create"] = lambda w: {
    "json": {
        "patient_id": str(w.patient.id),
        "appointment_type_id": w.booking["appointment_type_id"],
        "earliest": w.booking["start"],
        "latest": (datetime.fromisoformat(w.booking["start"]) + timedelta(days=7)).isoformat(),
    }
}
VALID_CALLS["groups.create"] = lambda w: {
    "json": {
        **{k: v for k, v in w.booking.items() if k != "patient_id"},
        "patient_ids": [str(w.patient.id), str(w.duplicate.id)],
    }
}
VALID_CALLS["providers.calendar"] = lambda w: {"params": {"date": w.booking["start"][:10]}}
VALID_CALLS["series.cancel"] = lambda w: {"json": {"reason": "no longer needed"}}
VALID_CALLS["appointments.event"] = lambda w: {
    "json": {"event": "confirm"},
    "headers": _if_match(1),
}
VALID_CALLS["appointments.reschedule"] = lambda w: {
    "json": {"start": w.booking["start"]},
    "headers": _if_match(1),
}
VALID_CALLS["slots.search"] = lambda w: {
    "params": {
        "appointment_type_id": w.booking["appointment_type_id"],
        "start": w.booking["start"],
        "end": (datetime.fromisoformat(w.booking["start"]) + timedelta(days=7)).isoformat(),
    }
}


def _signed_event(stripe: FakeStripe) -> dict[str, Any]:
    """An event about no payment of ours: verified, recorded, and nothing else."""
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "payment_intent.created",
             "data": {"object": {"id": "pi_elsewhere", "object": "payment_intent"}}}  # fmt: skip
    payload = json.dumps(event).encode()
    return {"content": payload, "headers": {"Stripe-Signature": stripe.sign(payload)}}


VALID_CALLS["kiosk.payment_start"] = lambda w: {
    "json": {"check_in_id": w.today["waiting_check_in_id"]}  # the same payment, carried on
}
VALID_CALLS["kiosk.payment_cancel"] = lambda w: {"json": {"reason": "abandoned"}}
VALID_CALLS["kiosk.payment_test_card"] = lambda w: {"json": {"number": "4000000000000002"}}
VALID_CALLS["copay.override"] = lambda w: {"json": {"amount_cents": 0, "reason": "waived"}}
VALID_CALLS["ledger.adjust"] = lambda w: {"json": {"amount_cents": -500, "reason": "write-off"}}
VALID_CALLS["payments.refund"] = lambda w: {"json": {"reason": "refund to the card"}}
VALID_CALLS["payments.stripe_webhook"] = lambda w: _signed_event(w.stripe)
VALID_CALLS["payers.create"] = lambda w: {"json": {"payer_id": "62308", "name": "Cigna"}}
VALID_CALLS["payers.update"] = lambda w: {
    "json": {"name": "Aetna", "eligibility_supported": True, "timely_filing_days": 120,
             "filing_indicator": "CI"}
}  # fmt: skip
VALID_CALLS["fees.create"] = lambda w: {
    "json": {"procedure_code": "99213", "amount_cents": 14000, "effective_from": "2026-07-01"}
}
VALID_CALLS["charges.capture"] = lambda w: {
    "json": {"diagnoses": ["I10"]},
    "path": {"appointment_id": w.billing["visit_to_charge"]},
}
VALID_CALLS["remittances.import"] = lambda w: {
    "content": remittance_835(["CLP*FDNOTOURS*1*100.00*100.00**12*PAYERX~"], trace="MATRIX2"),
    "headers": {"Content-Type": "application/edi-x12"},
}
VALID_CALLS["denials.note"] = lambda w: {"json": {"text": "Called the payer", "appeal": True}}
VALID_CALLS["denials.resubmit"] = lambda w: {"json": {"frequency_code": "7"}}
VALID_CALLS["payment_plans.create"] = lambda w: {
    "json": {"total_cents": 3000, "instalments": 3, "first_due": "2027-01-31"}
}


def call(client, endpoint: Endpoint, world: World, headers: dict[str, str]) -> Any:
    request = VALID_CALLS.get(endpoint.name, lambda w: {})(world)
    request["headers"] = {**request.get("headers", {}), **headers}
    url = endpoint.path.format(**{**world.path_values(), **request.pop("path", {})})
    return client.request(endpoint.method, url, **request)


@pytest.mark.parametrize(("endpoint", "who"), ALLOWED)
def test_allowed_principal_gets_through(client, principals, world, endpoint, who) -> None:
    response = call(client, endpoint, world, principals.headers_for(who))
    assert 200 <= response.status_code < 300, response.text


class _AnyId(dict):  # type: ignore[type-arg]
    def __missing__(self, name: str) -> str:
        return "0b6f3c1e-5d2a-4c8e-9f71-2a4b6c8d0e13"


def call_with_nothing(client, endpoint: Endpoint, headers: dict[str, str]) -> Any:
    """The endpoint with a made-up id in its path and no body: who may call it is settled
    before anything the request says is looked at (so a refusal tells nothing about it), and
    these cells need no world built for them."""
    return client.request(endpoint.method, endpoint.path.format_map(_AnyId()), headers=headers)


@pytest.mark.parametrize(("endpoint", "who"), DENIED)
def test_denied_principal_gets_403_problem(client, principals, endpoint, who) -> None:
    response = call_with_nothing(client, endpoint, principals.headers_for(who))
    assert (response.status_code, response.headers["content-type"], response.json()["code"]) == (
        403,
        PROBLEM_JSON,
        "permission-denied",
    )


@pytest.mark.parametrize(("endpoint", "who"), ANONYMOUS)
def test_anonymous_caller_is_asked_to_sign_in(client, endpoint, who) -> None:
    response = call_with_nothing(client, endpoint, {})
    assert (
        response.status_code,
        response.headers["content-type"],
        response.headers.get("www-authenticate"),
    ) == (401, PROBLEM_JSON, "Bearer")


# --- the full SSN ------------------------------------------------------------------------


def test_ssn_revealers_agree_with_the_permission_table() -> None:
    assert holders(Permission.PATIENTS_READ_SSN) == SSN_REVEALERS


@pytest.mark.parametrize("who", sorted(READERS - SSN_REVEALERS))
def test_revealing_the_ssn_is_refused_without_read_ssn(client, principals, world, who) -> None:
    response = client.get(
        f"/api/v1/patients/{world.patient.id}",
        params={"reveal_ssn": "true"},
        headers=principals.headers_for(who),
    )
    assert (response.status_code, response.headers["content-type"], response.json()["code"]) == (
        403,
        PROBLEM_JSON,
        "permission-denied",
    )


@pytest.mark.parametrize("who", sorted(SSN_REVEALERS))
def test_revealing_the_ssn_shows_it_in_full_with_read_ssn(client, principals, world, who) -> None:
    response = client.get(
        f"/api/v1/patients/{world.patient.id}",
        params={"reveal_ssn": "true"},
        headers=principals.headers_for(who),
    )
    assert (response.status_code, response.json()["ssn"]) == (200, "123-45-6789")


@pytest.mark.parametrize("who", sorted(READERS))
def test_without_reveal_every_reader_sees_the_ssn_masked(client, principals, world, who) -> None:
    response = client.get(
        f"/api/v1/patients/{world.patient.id}", headers=principals.headers_for(who)
    )
    assert (response.status_code, response.json()["ssn"]) == (200, "***-**-6789")
