"""Bad input on every endpoint is answered with RFC 9457 problem JSON, never a 500, and the
value sent is not reflected (it may be a name, a birth date or an SSN).

The endpoints are walked from the application. Cases for path ids, paging and JSON bodies
are derived from what each route declares; the rest are written by hand below. A new endpoint
fails `test_every_endpoint_has_a_valid_request` until it has a row in `VALID`, and a new query
parameter or header fails `test_every_query_parameter_and_header_has_a_bad_value_case` until
a case sends it a bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

import pytest
from fastapi import FastAPI

from backoffice.devices import service as devices_service
from shared.enums import Role
from tests.conftest import bound_to, session_on
from tests.fixtures.builders import (
    TEST_ACTOR,
    create_appointment_type,
    create_location,
    create_patient,
    create_policy,
    create_provider,
    create_user,
)
from tests.fixtures.endpoints import Endpoint, api_endpoints

PROBLEM_JSON = "application/problem+json"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}
# Sent inside bad input wherever a real client would put PHI; it must never come back.
PHI = "Quattlebaum"
FAKE_SSN = "000-12-3456"
SOME_ID = "8d0c2b5e-3f6a-4a8e-9a51-0f3c1e2d4b7a"


# --- the endpoints, as the application declares them --------------------------------------


ENDPOINTS = api_endpoints()
BY_NAME = {e.name: e for e in ENDPOINTS}

# --- valid requests, which the cases spoil one thing at a time ----------------------------

IF_MATCH = {"If-Match": '"1"'}
NEW_USER = {
    "username": "new.nurse",
    "display_name": "New Nurse",
    "role": "nurse",
    "password": "a-long-enough-password",
}
ADDRESS = {"line1": "1 Main St", "city": "Boston", "state": "MA", "postal_code": "02110"}
CONTACT = {"name": "Bo", "relationship": "son", "phone": "+16175550123"}
NEW_PATIENT = {
    "first_name": "Ada",
    "last_name": PHI,
    "date_of_birth": "1985-12-10",
    "sex": "female",
    "phone": "+16175550123",
    "address": ADDRESS,
}
NEW_POLICY = {
    "rank": "secondary",
    "payer_name": "Cigna",
    "payer_id": "62308",
    "member_id": "U12345678",
    "effective_date": "2026-01-01",
}
REFRESH = {"refresh_token": "fdr_" + "0" * 40}
WAIT_LIST_ENTRY = {
    "patient_id": SOME_ID,
    "appointment_type_id": SOME_ID,
    "earliest": "2026-06-01T00:00:00-04:00",
    "latest": "2026-06-08T00:00:00-04:00",
}
NEW_GROUP = {
    "patient_ids": [SOME_ID, "1d0c2b5e-3f6a-4a8e-9a51-0f3c1e2d4b7a"],
    "provider_id": SOME_ID,
    "appointment_type_id": SOME_ID,
    "start": "2026-06-01T09:00:00-04:00",
}
SLOT_QUERY = {
    "appointment_type_id": SOME_ID,
    "start": "2026-06-01T00:00:00-04:00",
    "end": "2026-06-08T00:00:00-04:00",
}
NEW_APPOINTMENT = {
    "patient_id": SOME_ID,
    "provider_id": SOME_ID,
    "appointment_type_id": SOME_ID,
    "start": "2026-06-01T09:00:00-04:00",
}
NEW_LOCATION = {
    "name": "Harbor Clinic",
    "timezone": "America/New_York",
    "address_line1": "1 Harbor St",
    "address_city": "Boston",
    "address_state": "MA",
    "address_postal_code": "02110",
}
NEW_PROVIDER = {
    "first_name": "Ida",
    "last_name": PHI,
    "npi": "1234567893",
    "taxonomy_code": "207Q00000X",
    "specialty": "Family Medicine",
    "location_ids": [SOME_ID],
}
NEW_TYPE = {"code": "LONG", "name": "Long visit", "duration_minutes": 60, "category": "specialist"}
WEEKLY_RULE = {
    "location_id": SOME_ID,
    "weekday": 5,
    "start_time": "09:00",
    "end_time": "12:00",
    "breaks": [["10:00", "10:15"]],
    "effective_date": "2026-01-01",
}
NEW_EXCEPTION = {
    "kind": "pto",
    "provider_id": SOME_ID,
    "start": "2026-06-01T00:00:00-04:00",
    "end": "2026-06-02T00:00:00-04:00",
}
CHECK_IN = {
    "check_in_id": "4f1c2b5e-3f6a-4a8e-9a51-0f3c1e2d4b7a",
    "identification": {"method": "name_dob", "last_name": PHI, "date_of_birth": "1961-04-02"},
    "completed_at": "2026-06-01T09:00:00-04:00",
    "offline": True,
}
HEARTBEAT = {
    "app_version": "0.1.0",
    "outbox_pending": 0,
    "outbox_held": 0,
    "peripherals": {"camera": {"state": "ok"}},
}

NEW_PAYER = {"payer_id": "62308", "name": "Cigna"}
PAYER_CHANGE = {
    "name": "Cigna",
    "eligibility_supported": True,
    "timely_filing_days": 180,
    "filing_indicator": "CI",
}
NEW_FEE = {"procedure_code": "99213", "amount_cents": 14000, "effective_from": "2026-07-01"}
PROCEDURE = {"procedure_code": "36415", "diagnosis_pointers": [1]}
NEW_CHARGE = {"diagnoses": ["I10"], "procedures": [PROCEDURE]}
NEW_PLAN = {"total_cents": 3000, "instalments": 3, "first_due": "2027-01-31"}
EDI = "application/edi-x12"
# A patient's name inside an 835 cut short: the error names the segment, never its content.
TRUNCATED_835 = (
    "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*FRONTDESKCLINIC*251201*1200*^*00501*"
    f"000000201*0*T*:~GS*HP*PAYERSENDER*FRONTDESK*20251201*1200*201*X*005010X221A1~ST*835*0001~"
    f"BPR*I*10.00*C*CHK************20251201~TRN*1*T1*1999999999~CLP*P1*1*10*10**12*X~NM1*QC*1*{PHI}"
)

KEY = "A" * 43  # 32 bytes of base64url
ENROL = {"code": "ABCD-EFGH-JKMN", "public_key": KEY, "hostname": "lobby-pi"}
ROTATION = {"challenge": "c" * 32, "public_key": KEY, "signature": "B" * 86}

VALID: dict[str, dict[str, Any]] = {
    "health": {},
    "auth.token": {"data": {"username": "nobody", "password": "not-the-password"}},
    "auth.refresh": {"json": REFRESH},
    "auth.logout": {"json": REFRESH},
    "auth.me": {},
    "users.list": {},
    "users.create": {"json": NEW_USER},
    "users.read": {},
    "users.update": {"json": {"display_name": "Renamed"}},
    "devices.list": {},
    "devices.create": {"json": {"name": "waiting-room-2"}},
    "devices.revoke": {},
    "devices.get": {},
    "devices.enrollment_code": {"json": {"location_id": SOME_ID}},
    "devices.rotate_credential": {},
    "devices.config": {},
    "devices.configure": {"json": {"idle_timeout_seconds": 120}},
    "kiosk.enrol": {"json": ENROL},
    "kiosk.me": {},
    "kiosk.heartbeat": {"json": HEARTBEAT},
    "kiosk.config": {},
    "kiosk.credential_challenge": {},
    "kiosk.rotate_credential": {"json": ROTATION},
    "patients.search": {},
    "patients.create": {"json": NEW_PATIENT, "params": {"confirm_new": "true"}},
    "patients.read": {},
    "patients.update": {"json": {"middle_name": "Brewster"}, "headers": IF_MATCH},
    "patients.merge": {"json": {"source_id": SOME_ID}, "headers": IF_MATCH},
    "policies.list": {},
    "policies.create": {"json": NEW_POLICY},
    "policies.update": {"json": {"plan_name": "Gold"}, "headers": IF_MATCH},
    "audit.list": {},
    "audit.verify": {},
    "locations.list": {},
    "locations.create": {"json": NEW_LOCATION},
    "locations.read": {},
    "locations.update": {"json": {"phone": "+16175550100"}},
    "providers.list": {},
    "providers.create": {"json": NEW_PROVIDER},
    "providers.read": {},
    "providers.update": {"json": {"max_per_day": 12}},
    "appointment_types.list": {},
    "appointment_types.create": {"json": NEW_TYPE},
    "appointment_types.read": {},
    "appointment_types.update": {"json": {"name": "Longer visit"}},
    "schedule_rules.list": {},
    "schedule_rules.create": {"json": WEEKLY_RULE},
    "schedule_rules.replace": {"json": WEEKLY_RULE},
    "schedule_rules.delete": {},
    "schedule_exceptions.list": {
        "params": {"start": SLOT_QUERY["start"], "end": SLOT_QUERY["end"]}
    },
    "schedule_exceptions.create": {"json": NEW_EXCEPTION},
    "schedule_exceptions.delete": {},
    "slots.search": {"params": SLOT_QUERY},
    "appointments.create": {"json": NEW_APPOINTMENT},
    "appointments.list": {},
    "appointments.read": {},
    "appointments.event": {"json": {"event": "confirm"}, "headers": IF_MATCH},
    "appointments.reschedule": {"json": {"start": NEW_APPOINTMENT["start"]}, "headers": IF_MATCH},
    "appointments.history": {},
    "series.create": {"json": {**NEW_APPOINTMENT, "rrule": "FREQ=WEEKLY;COUNT=2"}},
    "series.cancel": {"json": {"reason": "no longer needed"}},
    "calendar_feeds.create": {},
    "calendar_feeds.revoke": {},
    "calendar_feeds.read": {},
    "wait_list.create": {"json": WAIT_LIST_ENTRY},
    "wait_list.list": {},
    "wait_list.accept": {},
    "wait_list.decline": {},
    "wait_list.cancel": {},
    "groups.create": {"json": NEW_GROUP},
    "providers.calendar": {"params": {"date": "2026-06-01"}},
    "kiosk.lookup": {
        "json": {"method": "name_dob", "last_name": PHI, "date_of_birth": "1961-04-02"}
    },
    "kiosk.verify": {"json": {"date_of_birth": "1961-04-02"}},
    "kiosk.demographics": {},
    "kiosk.consents": {},
    "kiosk.copay": {},
    "kiosk.end_session": {},
    "kiosk.consent_documents": {},
    "kiosk.check_in": {"json": CHECK_IN, "headers": {"Idempotency-Key": CHECK_IN["check_in_id"]}},
    "queue.list": {"params": {"location_id": SOME_ID}},
    "queue.transition": {"json": {"to": "roomed"}},
    "queue.events": {"params": {"max_events": "0"}},
    "alerts.list": {},
    "alerts.acknowledge": {},
    "appointments.check_in_code": {},
    "demographic_changes.list": {},
    "demographic_changes.accept": {},
    "demographic_changes.reject": {},
    "kiosk.payment_start": {"json": {"check_in_id": SOME_ID}},
    "kiosk.payment": {},
    "kiosk.payment_cancel": {"json": {"reason": "abandoned"}},
    "kiosk.payment_test_card": {"json": {"number": "4242424242424242"}},
    "copay.read": {},
    "copay.override": {"json": {"amount_cents": 0, "reason": "waived"}},
    "copay.clear_override": {},
    "ledger.read": {},
    "ledger.adjust": {"json": {"amount_cents": -500, "reason": "write-off"}},
    "payments.read": {},
    "payments.refund": {"json": {"reason": "refund to the card"}},
    "payments.stripe_webhook": {},
    "payers.list": {},
    "payers.create": {"json": NEW_PAYER},
    "payers.update": {"json": PAYER_CHANGE},
    "fees.list": {},
    "fees.create": {"json": NEW_FEE},
    "charges.capture": {"json": NEW_CHARGE},
    "charges.list": {},
    "charges.read": {},
    "charges.review": {},
    "claims.list": {},
    "claims.read": {},
    "claims.make": {},
    "claims.scrub": {},
    "claims.submit": {},
    "claim_batches.file": {},
    "remittances.import": {"content": TRUNCATED_835, "headers": {"Content-Type": EDI}},
    "remittances.list": {},
    "denials.list": {},
    "denials.note": {"json": {"text": "Called the payer"}},
    "denials.resubmit": {"json": {"frequency_code": "7"}},
    "eligibility.check": {},
    "eligibility.list": {},
    "ar.read": {},
    "statements.read": {},
    "payment_plans.create": {"json": NEW_PLAN},
    "payment_plans.list": {},
}

# Routes that take nothing but their caller: no path, query, header or body parameter.
TAKES_NO_INPUT = frozenset(
    {
        "health",
        "auth.me",
        "kiosk.me",
        "kiosk.config",
        "kiosk.credential_challenge",
        "kiosk.consent_documents",
        "audit.verify",
        "payments.stripe_webhook",  # reads the raw body, whose signature it checks
        "payers.list",
        "claims.make",
        "claims.submit",
        "denials.list",
    }
)


def caller(route: str) -> str:
    return "kiosk" if route.startswith("kiosk.") else "admin"


# --- the cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    route: str
    kind: str
    change: dict[str, Any]  # replaces parts of the route's valid request
    status: int = 422
    field: str | None = None  # must be named in the problem's "errors"
    secret: str | None = None  # sent, and must not come back
    path: dict[str, str] = default(default_factory=dict)  # path values instead of real ids

    def request(self) -> dict[str, Any]:
        request = {**VALID[self.route], **self.change}
        return {k: v for k, v in request.items() if v is not None}


def without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def derived_cases() -> list[BadInput]:
    """What every route gets from its declaration: bad ids, bad paging, broken JSON."""
    cases = []
    for e in ENDPOINTS:
        valid = VALID.get(e.name, {})
        for p in e.params("path"):
            cases.append(
                BadInput(
                    e.name,
                    f"{p.name}-not-a-uuid",
                    {},
                    field=p.name,
                    secret=PHI,
                    path={p.name: f"{PHI}-1985"},
                )
            )
        if "limit" in {p.name for p in e.params("query")}:
            for value in ("0", "abc", "201", "-5"):
                cases.append(
                    BadInput(e.name, f"limit={value}", {"params": {"limit": value}}, field="limit")
                )
            cases.append(
                BadInput(e.name, "offset=-1", {"params": {"offset": "-1"}}, field="offset")
            )
        if e.takes_json:
            broken = f'{{"first_name": "{PHI}", '.encode()
            cases += [
                BadInput(
                    e.name,
                    "malformed-json",
                    {
                        "json": None,
                        "content": broken,
                        "headers": {**valid.get("headers", {}), "Content-Type": "application/json"},
                    },
                    field="body",
                    secret=PHI,
                ),
                BadInput(e.name, "body-not-an-object", {"json": [PHI]}, field="body", secret=PHI),
                BadInput(e.name, "no-body", {"json": None}, field="body"),
                BadInput(
                    e.name,
                    "unknown-field",
                    {"json": {**valid.get("json", {}), "nickname": PHI}},
                    field="nickname",
                    secret=PHI,
                ),
            ]
    return cases


# One case a line where it fits: the table reads better than the formatter's layout.
# fmt: off
HAND_CASES = [
    # sign-in, refresh, logout
    BadInput("auth.token", "json-instead-of-form",
             {"data": None, "json": {"username": PHI, "password": "x"}},
             field="username", secret=PHI),
    BadInput("auth.token", "missing-password", {"data": {"username": PHI}},
             field="password", secret=PHI),
    BadInput("auth.token", "grant_type-not-password",
             {"data": {"username": "a", "password": "b", "grant_type": "client_credentials"}},
             field="grant_type"),
    BadInput("auth.token", "unknown-user", {"data": {"username": PHI, "password": "wrong"}},
             status=401, secret=PHI),
    BadInput("auth.refresh", "token-too-short", {"json": {"refresh_token": "fdr_"}},
             field="refresh_token"),
    BadInput("auth.refresh", "token-wrong-type", {"json": {"refresh_token": 12345678901}},
             field="refresh_token"),
    BadInput("auth.refresh", "token-missing", {"json": {}}, field="refresh_token"),
    BadInput("auth.refresh", "token-unknown", {}, status=401),
    BadInput("auth.logout", "token-too-long", {"json": {"refresh_token": "fdr_" + "0" * 197}},
             field="refresh_token"),
    # staff accounts
    BadInput("users.create", "role-unknown", {"json": {**NEW_USER, "role": "superuser"}},
             field="role"),
    BadInput("users.create", "password-missing", {"json": without(NEW_USER, "password")},
             field="password"),
    BadInput("users.create", "password-too-short",
             {"json": {**NEW_USER, "password": "Tr0ub4d0r"}},
             field="password", secret="Tr0ub4d0r"),
    BadInput("users.create", "username-with-space",
             {"json": {**NEW_USER, "username": f"ada {PHI}"}}, field="username", secret=PHI),
    BadInput("users.create", "display_name-too-long",
             {"json": {**NEW_USER, "display_name": PHI * 11}}, field="display_name", secret=PHI),
    BadInput("users.update", "active-not-a-bool", {"json": {"active": "maybe"}}, field="active"),
    BadInput("users.update", "role-wrong-type", {"json": {"role": 5}}, field="role"),
    # devices
    BadInput("devices.create", "name-missing", {"json": {}}, field="name"),
    BadInput("devices.create", "name-too-long", {"json": {"name": "k" * 81}}, field="name"),
    BadInput("devices.create", "name-with-markup", {"json": {"name": "<script>"}}, field="name"),
    # finding a patient
    BadInput("patients.search", "date_of_birth-not-a-date",
             {"params": {"date_of_birth": "not-a-date"}}, field="date_of_birth"),
    BadInput("patients.search", "mrn-not-nine-digits", {"params": {"mrn": "12345"}}, field="mrn"),
    BadInput("patients.search", "mrn-bad-check-digit", {"params": {"mrn": "123456789"}},
             field="mrn"),
    BadInput("patients.search", "phone-not-a-phone", {"params": {"phone": PHI}},
             field="phone", secret=PHI),
    BadInput("patients.search", "name-too-long", {"params": {"name": PHI * 11}},
             field="name", secret=PHI),
    BadInput("patients.search", "status-unknown", {"params": {"status": "deleted"}},
             field="status"),
    # registering a patient
    BadInput("patients.create", "date_of_birth-not-a-date",
             {"json": {**NEW_PATIENT, "date_of_birth": "not-a-date"}}, field="date_of_birth"),
    BadInput("patients.create", "date_of_birth-in-the-future",
             {"json": {**NEW_PATIENT, "date_of_birth": "2999-01-01"}},
             field="date_of_birth", secret="2999-01-01"),
    BadInput("patients.create", "date_of_birth-wrong-type",
             {"json": {**NEW_PATIENT, "date_of_birth": ["1985"]}}, field="date_of_birth"),
    BadInput("patients.create", "ssn-never-issued", {"json": {**NEW_PATIENT, "ssn": FAKE_SSN}},
             field="ssn", secret=FAKE_SSN),
    BadInput("patients.create", "ssn-too-long", {"json": {**NEW_PATIENT, "ssn": "123-45-67890"}},
             field="ssn", secret="123-45-67890"),
    BadInput("patients.create", "first_name-wrong-type",
             {"json": {**NEW_PATIENT, "first_name": 12345}}, field="first_name"),
    BadInput("patients.create", "first_name-too-long",
             {"json": {**NEW_PATIENT, "first_name": PHI * 8}}, field="first_name", secret=PHI),
    BadInput("patients.create", "first_name-blank", {"json": {**NEW_PATIENT, "first_name": "  "}},
             field="first_name"),
    BadInput("patients.create", "preferred_language-longer-than-stored",
             {"json": {**NEW_PATIENT, "preferred_language": "en-abcdefgh-abcdefgh"}},
             field="preferred_language"),
    BadInput("patients.create", "last_name-missing", {"json": without(NEW_PATIENT, "last_name")},
             field="last_name"),
    BadInput("patients.create", "sex-not-a-code", {"json": {**NEW_PATIENT, "sex": "f"}},
             field="sex"),
    BadInput("patients.create", "phone-not-a-phone",
             {"json": {**NEW_PATIENT, "phone": "555-0100"}}, field="phone", secret="555-0100"),
    BadInput("patients.create", "email-not-an-email",
             {"json": {**NEW_PATIENT, "email": f"{PHI}@"}}, field="email", secret=PHI),
    BadInput("patients.create", "postal_code-not-a-zip",
             {"json": {**NEW_PATIENT, "address": {**ADDRESS, "postal_code": "2110"}}},
             field="address.postal_code"),
    BadInput("patients.create", "state-not-a-state",
             {"json": {**NEW_PATIENT, "address": {**ADDRESS, "state": "ZZ"}}},
             field="address.state"),
    BadInput("patients.create", "address-unknown-field",
             {"json": {**NEW_PATIENT, "address": {**ADDRESS, "country": PHI}}},
             field="address.country", secret=PHI),
    BadInput("patients.create", "too-many-emergency-contacts",
             {"json": {**NEW_PATIENT, "emergency_contacts": [CONTACT] * 6}},
             field="emergency_contacts"),
    BadInput("patients.create", "emergency-contact-phone-not-a-phone",
             {"json": {**NEW_PATIENT, "emergency_contacts": [{**CONTACT, "phone": PHI}]}},
             field="emergency_contacts.0.phone", secret=PHI),
    BadInput("patients.create", "sms-without-a-phone",
             {"json": {**without(NEW_PATIENT, "phone"), "preferred_contact_method": "sms"}},
             field="preferred_contact_method"),
    BadInput("patients.create", "confirm_new-not-a-bool", {"params": {"confirm_new": "maybe"}},
             field="confirm_new"),
    # reading, changing and merging a patient
    BadInput("patients.read", "reveal_ssn-not-a-bool", {"params": {"reveal_ssn": "maybe"}},
             field="reveal_ssn"),
    BadInput("patients.update", "if-match-missing", {"headers": None}, status=428),
    BadInput("patients.update", "if-match-not-a-version", {"headers": {"If-Match": '"v1"'}},
             field="If-Match"),
    BadInput("patients.update", "if-match-too-long", {"headers": {"If-Match": "1" * 65}},
             field="If-Match"),
    BadInput("patients.update", "ssn-never-issued", {"json": {"ssn": FAKE_SSN}},
             field="ssn", secret=FAKE_SSN),
    BadInput("patients.update", "first_name-cleared", {"json": {"first_name": None}},
             field="first_name"),
    BadInput("patients.update", "status-unknown", {"json": {"status": "archived"}},
             field="status"),
    BadInput("patients.merge", "source_id-not-a-uuid", {"json": {"source_id": PHI}},
             field="source_id", secret=PHI),
    BadInput("patients.merge", "source_id-missing", {"json": {}}, field="source_id"),
    BadInput("patients.merge", "if-match-missing", {"headers": None}, status=428),
    BadInput("patients.merge", "if-match-not-a-version", {"headers": {"If-Match": "W/latest"}},
             field="If-Match"),
    # insurance
    BadInput("policies.create", "copay-as-a-string",
             {"json": {**NEW_POLICY, "copay_primary_care_cents": "2500"}},
             field="copay_primary_care_cents"),
    BadInput("policies.create", "copay-negative",
             {"json": {**NEW_POLICY, "copay_specialist_cents": -1}},
             field="copay_specialist_cents"),
    BadInput("policies.create", "rank-unknown", {"json": {**NEW_POLICY, "rank": "quaternary"}},
             field="rank"),
    BadInput("policies.create", "rank-missing", {"json": without(NEW_POLICY, "rank")},
             field="rank"),
    BadInput("policies.create", "payer_id-with-punctuation",
             {"json": {**NEW_POLICY, "payer_id": "60-054"}}, field="payer_id"),
    BadInput("policies.create", "member_id-too-long",
             {"json": {**NEW_POLICY, "member_id": "W" * 41}}, field="member_id"),
    BadInput("policies.create", "effective_date-not-a-date",
             {"json": {**NEW_POLICY, "effective_date": "01/01/2026"}}, field="effective_date"),
    BadInput("policies.create", "subscriber-born-in-the-future",
             {"json": {**NEW_POLICY, "subscriber_date_of_birth": "2999-01-01"}},
             field="subscriber_date_of_birth"),
    BadInput("policies.create", "ends-before-it-starts",
             {"json": {**NEW_POLICY, "end_date": "2025-01-01"}}, field="end_date"),
    BadInput("policies.update", "if-match-missing", {"headers": None}, status=428),
    BadInput("policies.update", "if-match-too-long", {"headers": {"If-Match": "1" * 65}},
             field="If-Match"),
    BadInput("policies.update", "active-not-a-bool", {"json": {"active": "perhaps"}},
             field="active"),
    BadInput("policies.update", "payer_name-cleared", {"json": {"payer_name": None}},
             field="payer_name"),
    BadInput("policies.update", "ends-before-it-starts", {"json": {"end_date": "2025-01-01"}},
             field="end_date"),
    # the audit trail
    BadInput("audit.list", "since-without-timezone", {"params": {"since": "2026-01-01T09:00:00"}},
             field="since"),
    BadInput("audit.list", "since-past-year-9999-in-utc",
             {"params": {"since": "9999-12-31T23:00:00-12:00"}}, field="since"),
    BadInput("audit.list", "until-before-year-1-in-utc",
             {"params": {"until": "0001-01-01T00:00:00+14:00"}}, field="until"),
    BadInput("audit.list", "until-not-a-datetime", {"params": {"until": "yesterday"}},
             field="until"),
    BadInput("audit.list", "outcome-unknown", {"params": {"outcome": "maybe"}}, field="outcome"),
    BadInput("audit.list", "action-too-long", {"params": {"action": "a" * 65}}, field="action"),
    BadInput("audit.list", "actor_id-too-long", {"params": {"actor_id": "a" * 37}},
             field="actor_id"),
    BadInput("audit.list", "resource_type-too-long", {"params": {"resource_type": "r" * 41}},
             field="resource_type"),
    BadInput("audit.list", "resource_id-too-long", {"params": {"resource_id": PHI * 4}},
             field="resource_id", secret=PHI),
    # scheduling
    BadInput("slots.search", "appointment_type_id-missing",
             {"params": {k: v for k, v in SLOT_QUERY.items() if k != "appointment_type_id"}},
             field="appointment_type_id"),
    BadInput("slots.search", "start-without-timezone",
             {"params": {**SLOT_QUERY, "start": "2026-06-01T09:00:00"}}, field="start"),
    BadInput("slots.search", "end-not-a-datetime", {"params": {**SLOT_QUERY, "end": "soon"}},
             field="end"),
    BadInput("slots.search", "end-before-start",
             {"params": {**SLOT_QUERY, "end": "2026-05-01T00:00:00-04:00"}}, field="end"),
    BadInput("slots.search", "range-too-long",
             {"params": {**SLOT_QUERY, "end": "2027-06-01T00:00:00-04:00"}}, field="end"),
    BadInput("slots.search", "provider_id-not-a-uuid",
             {"params": {**SLOT_QUERY, "provider_id": PHI}}, field="provider_id", secret=PHI),
    BadInput("slots.search", "location_id-not-a-uuid",
             {"params": {**SLOT_QUERY, "location_id": "downtown"}}, field="location_id"),
    BadInput("appointments.create", "patient_id-missing",
             {"json": without(NEW_APPOINTMENT, "patient_id")}, field="patient_id"),
    BadInput("appointments.create", "start-without-timezone",
             {"json": {**NEW_APPOINTMENT, "start": "2026-06-01T09:00:00"}}, field="start"),
    BadInput("appointments.create", "start-in-year-9999",
             {"json": {**NEW_APPOINTMENT, "start": "9999-06-01T09:00:00+00:00"}}, field="start"),
    BadInput("appointments.create", "provider_id-not-a-uuid",
             {"json": {**NEW_APPOINTMENT, "provider_id": PHI}}, field="provider_id",
             secret=PHI),
    BadInput("appointments.create", "overbook-not-a-bool",
             {"json": {**NEW_APPOINTMENT, "overbook": "perhaps"}}, field="overbook"),
    BadInput("appointments.event", "event-unknown", {"json": {"event": "teleport"}},
             field="event"),
    BadInput("appointments.event", "reason-too-long",
             {"json": {"event": "cancel", "reason": PHI * 60}}, field="reason", secret=PHI),
    BadInput("appointments.event", "if-match-missing", {"headers": None}, status=428),
    BadInput("appointments.event", "if-match-not-a-version", {"headers": {"If-Match": "abc"}},
             field="If-Match"),
    BadInput("appointments.reschedule", "start-without-timezone",
             {"json": {"start": "2026-06-01T09:00:00"}}, field="start"),
    BadInput("appointments.reschedule", "provider_id-not-a-uuid",
             {"json": {"start": NEW_APPOINTMENT["start"], "provider_id": "dr-x"}},
             field="provider_id"),
    BadInput("appointments.reschedule", "if-match-missing", {"headers": None}, status=428),
    BadInput("appointments.reschedule", "if-match-too-long",
             {"headers": {"If-Match": "1" * 65}}, field="If-Match"),
    BadInput("series.create", "rrule-missing", {"json": NEW_APPOINTMENT}, field="rrule"),
    BadInput("series.create", "rrule-too-long",
             {"json": {**NEW_APPOINTMENT, "rrule": "FREQ=WEEKLY;" * 40}}, field="rrule"),
    BadInput("series.create", "all_or_nothing-not-a-bool",
             {"json": {**NEW_APPOINTMENT, "rrule": "FREQ=WEEKLY;COUNT=2",
                       "all_or_nothing": "maybe"}}, field="all_or_nothing"),
    BadInput("series.cancel", "reason-missing", {"json": {}}, field="reason"),
    BadInput("series.cancel", "from_start-without-timezone",
             {"json": {"reason": "x", "from_start": "2026-06-01T09:00:00"}},
             field="from_start"),
    BadInput("wait_list.create", "latest-missing",
             {"json": without(WAIT_LIST_ENTRY, "latest")}, field="latest"),
    BadInput("wait_list.create", "earliest-without-timezone",
             {"json": {**WAIT_LIST_ENTRY, "earliest": "2026-06-01T09:00:00"}}, field="earliest"),
    BadInput("wait_list.list", "status-unknown", {"params": {"status": "sleeping"}},
             field="status"),
    BadInput("groups.create", "one-patient", {"json": {**NEW_GROUP, "patient_ids": [SOME_ID]}},
             field="patient_ids"),
    BadInput("groups.create", "patient-not-a-uuid",
             {"json": {**NEW_GROUP, "patient_ids": [SOME_ID, PHI]}}, field="patient_ids.1",
             secret=PHI),
    BadInput("providers.calendar", "date-missing", {"params": {}}, field="date"),
    BadInput("providers.calendar", "view-unknown",
             {"params": {"date": "2026-06-01", "view": "month"}}, field="view"),
    # the kiosk
    BadInput("kiosk.lookup", "method-unknown", {"json": {"method": "retina", "last_name": PHI}},
             field="body", secret=PHI),
    BadInput("kiosk.lookup", "birth-date-not-a-date",
             {"json": {"method": "name_dob", "last_name": PHI, "date_of_birth": "02/04/1961"}},
             field="name_dob.date_of_birth", secret=PHI),
    BadInput("kiosk.lookup", "token-too-short", {"json": {"method": "qr", "token": "FDQ1"}},
             field="qr.token"),
    BadInput("kiosk.lookup", "licence-without-first-name",
             {"json": {"method": "licence", "last_name": PHI, "date_of_birth": "1961-04-02"}},
             field="licence.first_name", secret=PHI),
    BadInput("kiosk.verify", "birth-date-missing", {"json": {}}, field="date_of_birth"),
    BadInput("kiosk.check_in", "idempotency-key-missing", {"headers": {}},
             field="Idempotency-Key"),
    BadInput("kiosk.check_in", "idempotency-key-with-spaces",
             {"headers": {"Idempotency-Key": "not a key at all"}}, field="Idempotency-Key"),
    BadInput("kiosk.check_in", "completed_at-without-timezone",
             {"json": {**CHECK_IN, "completed_at": "2026-06-01T09:00:00"}}, field="completed_at"),
    BadInput("kiosk.payment_start", "check_in_id-missing", {"json": {}}, field="check_in_id"),
    BadInput("devices.list", "kind-unknown", {"params": {"kind": "toaster"}}, field="kind"),
    BadInput("devices.list", "silent-not-a-boolean", {"params": {"silent": "perhaps"}},
             field="silent"),
    BadInput("devices.enrollment_code", "location_id-missing", {"json": {}},
             field="location_id"),
    BadInput("devices.enrollment_code", "lifetime-too-long",
             {"json": {"location_id": SOME_ID, "expires_in_minutes": 99999}},
             field="expires_in_minutes"),
    BadInput("devices.enrollment_code", "device_name-with-markup",
             {"json": {"location_id": SOME_ID, "device_name": f"<b>{PHI}</b>"}},
             field="device_name", secret=PHI),
    BadInput("devices.configure", "idle-timeout-too-short",
             {"json": {"idle_timeout_seconds": 5}}, field="idle_timeout_seconds"),
    BadInput("devices.configure", "language-not-a-code", {"json": {"languages": [PHI]}},
             field="languages.0", secret=PHI),
    BadInput("devices.configure", "no-language", {"json": {"languages": []}},
             field="languages"),
    BadInput("kiosk.enrol", "code-missing", {"json": without(ENROL, "code")}, field="code"),
    BadInput("kiosk.enrol", "public_key-not-a-key",
             {"json": {**ENROL, "public_key": PHI}}, field="public_key", secret=PHI),
    BadInput("kiosk.enrol", "hostname-too-long", {"json": {**ENROL, "hostname": "h" * 64}},
             field="hostname"),
    BadInput("kiosk.rotate_credential", "signature-not-a-signature",
             {"json": {**ROTATION, "signature": PHI}}, field="signature", secret=PHI),
    BadInput("kiosk.rotate_credential", "challenge-too-short",
             {"json": {**ROTATION, "challenge": "x"}}, field="challenge"),
    BadInput("kiosk.heartbeat", "outbox_pending-negative",
             {"json": {**HEARTBEAT, "outbox_pending": -1}}, field="outbox_pending"),
    BadInput("kiosk.heartbeat", "app_version-missing", {"json": without(HEARTBEAT, "app_version")},
             field="app_version"),
    BadInput("kiosk.heartbeat", "peripheral-state-unknown",
             {"json": {**HEARTBEAT, "peripherals": {"camera": {"state": "on fire"}}}},
             field="peripherals.camera.state"),
    BadInput("kiosk.heartbeat", "peripheral-detail-too-long",
             {"json": {**HEARTBEAT, "peripherals": {"camera": {"state": "error",
                                                               "detail": PHI * 12}}}},
             field="peripherals.camera.detail", secret=PHI),
    BadInput("kiosk.heartbeat", "too-many-peripherals",
             {"json": {**HEARTBEAT, "peripherals": {f"port{n}": {"state": "ok"}
                                                    for n in range(11)}}},
             field="peripherals"),
    BadInput("kiosk.payment_cancel", "reason-unknown", {"json": {"reason": "bored"}},
             field="reason"),
    BadInput("kiosk.payment_test_card", "number-with-letters", {"json": {"number": PHI}},
             field="number", secret=PHI),
    BadInput("copay.override", "amount-negative", {"json": {"amount_cents": -1, "reason": "x y"}},
             field="amount_cents"),
    BadInput("copay.override", "amount-in-dollars", {"json": {"amount_cents": 12.5,
             "reason": "x y"}}, field="amount_cents"),
    BadInput("copay.override", "reason-missing", {"json": {"amount_cents": 0}}, field="reason"),
    BadInput("ledger.adjust", "amount-zero", {"json": {"amount_cents": 0, "reason": "nothing"}},
             field="amount_cents"),
    BadInput("payments.refund", "amount-zero", {"json": {"amount_cents": 0, "reason": "none"}},
             field="amount_cents"),
    BadInput("kiosk.check_in", "copay-negative", {"json": {**CHECK_IN, "copay_paid_cents": -100}},
             field="copay_paid_cents"),
    BadInput("kiosk.check_in", "card-field-unknown",
             {"json": {**CHECK_IN, "insurance_card": {"front_image": "/9j/4AAQSkZJRg==",
                                                     "fields": {"ssn": {"value": PHI,
                                                                        "confidence": 1}}}}},
             field="insurance_card.fields.ssn.[key]", secret=PHI),
    # the queue
    BadInput("queue.list", "location_id-missing", {"params": {}}, field="location_id"),
    BadInput("queue.list", "date-not-a-date", {"params": {"location_id": SOME_ID, "date": "today"}},
             field="date"),
    BadInput("queue.list", "state-unknown",
             {"params": {"location_id": SOME_ID, "state": "teleported"}}, field="state.0"),
    BadInput("queue.transition", "to-unknown", {"json": {"to": "abducted"}}, field="to"),
    BadInput("queue.events", "max_events-negative", {"params": {"max_events": "-1"}},
             field="max_events"),
    BadInput("queue.events", "location_id-not-a-uuid",
             {"params": {"max_events": "0", "location_id": "lobby"}}, field="location_id"),
    BadInput("alerts.list", "open_only-not-a-bool", {"params": {"open_only": "maybe"}},
             field="open_only"),
    BadInput("alerts.list", "location_id-not-a-uuid", {"params": {"location_id": "x"}},
             field="location_id"),
    BadInput("demographic_changes.list", "status-unknown", {"params": {"status": "maybe"}},
             field="status"),
    BadInput("demographic_changes.list", "patient_id-not-a-uuid",
             {"params": {"patient_id": PHI}}, field="patient_id", secret=PHI),
    # the clinic's set-up
    BadInput("locations.list", "active-not-a-bool", {"params": {"active": "maybe"}},
             field="active"),
    BadInput("locations.create", "timezone-unknown",
             {"json": {**NEW_LOCATION, "timezone": "Mars/Olympus_Mons"}}, field="timezone"),
    BadInput("locations.create", "state-unknown", {"json": {**NEW_LOCATION, "address_state": "XX"}},
             field="address_state"),
    BadInput("locations.create", "name-missing", {"json": without(NEW_LOCATION, "name")},
             field="name"),
    BadInput("locations.update", "name-cleared", {"json": {"name": None}}, field="name"),
    BadInput("locations.update", "postal_code-bad",
             {"json": {"address_postal_code": "ABCDE"}}, field="address_postal_code"),
    BadInput("providers.list", "active-not-a-bool", {"params": {"active": "maybe"}},
             field="active"),
    BadInput("providers.list", "location_id-not-a-uuid", {"params": {"location_id": "north"}},
             field="location_id"),
    BadInput("providers.create", "npi-check-digit-wrong",
             {"json": {**NEW_PROVIDER, "npi": "1234567890"}}, field="npi"),
    BadInput("providers.create", "taxonomy-malformed",
             {"json": {**NEW_PROVIDER, "taxonomy_code": "family"}}, field="taxonomy_code"),
    BadInput("providers.create", "no-locations", {"json": {**NEW_PROVIDER, "location_ids": []}},
             field="location_ids"),
    BadInput("providers.create", "unknown-location", {}, field="location_ids"),
    BadInput("providers.update", "overbook_threshold-above-one",
             {"json": {"overbook_threshold": "1.5"}}, field="overbook_threshold"),
    BadInput("providers.update", "max_per_day-zero", {"json": {"max_per_day": 0}},
             field="max_per_day"),
    BadInput("providers.update", "last_name-cleared", {"json": {"last_name": None}},
             field="last_name"),
    BadInput("appointment_types.list", "active-not-a-bool", {"params": {"active": "maybe"}},
             field="active"),
    BadInput("appointment_types.create", "category-unknown",
             {"json": {**NEW_TYPE, "category": "surgery"}}, field="category"),
    BadInput("appointment_types.create", "duration-odd",
             {"json": {**NEW_TYPE, "duration_minutes": 17}}, field="duration_minutes"),
    BadInput("appointment_types.create", "buffer-negative",
             {"json": {**NEW_TYPE, "buffer_before_minutes": -5}}, field="buffer_before_minutes"),
    BadInput("appointment_types.update", "duration-cleared",
             {"json": {"duration_minutes": None}}, field="duration_minutes"),
    BadInput("appointment_types.update", "unknown-provider", {"json": {"provider_ids": [SOME_ID]}},
             field="provider_ids"),
    BadInput("schedule_rules.create", "weekday-seven", {"json": {**WEEKLY_RULE, "weekday": 7}},
             field="weekday"),
    BadInput("schedule_rules.create", "start_time-not-a-time",
             {"json": {**WEEKLY_RULE, "start_time": "nine"}}, field="start_time"),
    BadInput("schedule_rules.replace", "break-not-a-pair",
             {"json": {**WEEKLY_RULE, "breaks": [["10:00"]]}}, field="breaks.0.1"),
    BadInput("schedule_exceptions.list", "start-missing",
             {"params": {"end": SLOT_QUERY["end"]}}, field="start"),
    BadInput("schedule_exceptions.list", "end-without-timezone",
             {"params": {"start": SLOT_QUERY["start"], "end": "2026-06-08T00:00:00"}},
             field="end"),
    BadInput("schedule_exceptions.list", "provider_id-not-a-uuid",
             {"params": {**SLOT_QUERY, "provider_id": PHI}}, field="provider_id", secret=PHI),
    BadInput("schedule_exceptions.list", "location_id-not-a-uuid",
             {"params": {**SLOT_QUERY, "location_id": "x"}}, field="location_id"),
    BadInput("schedule_exceptions.create", "kind-unknown",
             {"json": {**NEW_EXCEPTION, "kind": "sabbatical"}}, field="kind"),
    BadInput("schedule_exceptions.create", "ends-before-it-starts",
             {"json": {**NEW_EXCEPTION, "end": "2026-05-01T00:00:00-04:00"}}, field="end"),
    BadInput("schedule_exceptions.create", "pto-without-provider",
             {"json": without(NEW_EXCEPTION, "provider_id")}, field="provider_id"),
    BadInput("appointments.list", "date-not-a-date", {"params": {"date": "monday"}},
             field="date"),
    BadInput("appointments.list", "provider_id-not-a-uuid", {"params": {"provider_id": "dr"}},
             field="provider_id"),
    BadInput("appointments.list", "patient_id-not-a-uuid", {"params": {"patient_id": PHI}},
             field="patient_id", secret=PHI),
    # billing: reference data
    BadInput("payers.create", "payer_id-with-punctuation",
             {"json": {**NEW_PAYER, "payer_id": "62-308"}}, field="payer_id"),
    BadInput("payers.create", "timely_filing_days-zero",
             {"json": {**NEW_PAYER, "timely_filing_days": 0}}, field="timely_filing_days"),
    BadInput("payers.create", "filing_indicator-one-letter",
             {"json": {**NEW_PAYER, "filing_indicator": "C"}}, field="filing_indicator"),
    BadInput("payers.update", "name-missing", {"json": without(PAYER_CHANGE, "name")},
             field="name"),
    BadInput("fees.list", "procedure_code-too-short", {"params": {"procedure_code": "992"}},
             field="procedure_code"),
    BadInput("fees.list", "payer_id-with-punctuation", {"params": {"payer_id": "60-054"}},
             field="payer_id"),
    BadInput("fees.create", "amount-as-dollars", {"json": {**NEW_FEE, "amount_cents": "140.00"}},
             field="amount_cents"),
    BadInput("fees.create", "ends-before-it-starts",
             {"json": {**NEW_FEE, "effective_to": "2026-06-30"}}, field="effective_to"),
    # billing: charges and claims
    BadInput("charges.capture", "no-diagnoses", {"json": {**NEW_CHARGE, "diagnoses": []}},
             field="diagnoses"),
    BadInput("charges.capture", "pointer-past-twelve",
             {"json": {**NEW_CHARGE, "procedures": [{**PROCEDURE, "diagnosis_pointers": [13]}]}},
             field="procedures.0.diagnosis_pointers.0"),
    BadInput("charges.capture", "modifier-one-character",
             {"json": {**NEW_CHARGE, "procedures": [{**PROCEDURE, "modifiers": ["X"]}]}},
             field="procedures.0.modifiers.0"),
    BadInput("charges.capture", "units-zero",
             {"json": {**NEW_CHARGE, "procedures": [{**PROCEDURE, "units": 0}]}},
             field="procedures.0.units"),
    BadInput("charges.list", "status-unknown", {"params": {"status": "lost"}}, field="status"),
    BadInput("claims.list", "status-unknown", {"params": {"status": "lost"}}, field="status"),
    # billing: remittances and denials
    BadInput("remittances.import", "truncated-835", {}, status=400, secret=PHI),
    BadInput("remittances.import", "sent-as-json",
             {"content": None, "headers": None, "json": {"file": PHI}},
             field="Content-Type", secret=PHI),
    BadInput("remittances.import", "empty-body", {"content": b""}, field="body"),
    BadInput("remittances.import", "latin-1-but-not-x12", {"content": b"ISA*\xff\xfe"},
             status=400),
    BadInput("denials.note", "text-blank", {"json": {"text": "   "}}, field="text"),
    BadInput("denials.note", "appeal-not-a-bool", {"json": {"text": "x", "appeal": "maybe"}},
             field="appeal"),
    BadInput("denials.resubmit", "frequency_code-original",
             {"json": {"frequency_code": "1"}}, field="frequency_code"),
    # billing: A/R, statements, payment plans
    BadInput("ar.read", "as_of-not-a-date", {"params": {"as_of": "yesterday"}}, field="as_of"),
    BadInput("ar.read", "period_days-zero", {"params": {"period_days": "0"}},
             field="period_days"),
    BadInput("statements.read", "format-unknown", {"params": {"format": "docx"}},
             field="format"),
    BadInput("statements.read", "as_of-not-a-date", {"params": {"as_of": "01/02/2026"}},
             field="as_of"),
    BadInput("payment_plans.create", "instalments-past-sixty",
             {"json": {**NEW_PLAN, "instalments": 61}}, field="instalments"),
    BadInput("payment_plans.create", "total-as-dollars",
             {"json": {**NEW_PLAN, "total_cents": "30.00"}}, field="total_cents"),
    BadInput("payment_plans.create", "first_due-not-a-date",
             {"json": {**NEW_PLAN, "first_due": "next month"}}, field="first_due"),
]
# fmt: on

CASES = derived_cases() + HAND_CASES


def _ids(case: BadInput) -> str:
    return f"{case.route}-{case.kind}"


# --- the cases against the application's declaration ---------------------------------------


def test_every_endpoint_has_a_valid_request() -> None:
    assert {e.name for e in ENDPOINTS} == set(VALID)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_endpoint_has_a_bad_input_case(endpoint: Endpoint) -> None:
    """Either it has cases or it is declared to take no input; not both, not neither."""
    covered = {c.route for c in CASES}
    assert (endpoint.name in covered) != (endpoint.name in TAKES_NO_INPUT)


@pytest.mark.parametrize("name", sorted(TAKES_NO_INPUT))
def test_endpoints_said_to_take_no_input_take_none(name: str) -> None:
    endpoint = BY_NAME[name]
    assert [p.name for k in ("path", "query", "header", "body") for p in endpoint.params(k)] == []


@pytest.mark.parametrize(
    ("endpoint", "param"),
    [
        pytest.param(e, p.alias, id=f"{e.name}-{p.alias}")
        for e in ENDPOINTS
        for kind in ("query", "header")
        for p in e.params(kind)
    ],
)
def test_every_query_parameter_and_header_has_a_bad_value_case(endpoint, param) -> None:
    # A list parameter's error names the item: "state.0" covers "state".
    fields = {c.field.lower().split(".")[0] for c in CASES if c.route == endpoint.name and c.field}
    assert param.lower() in fields


# --- the cases against the running application ---------------------------------------------


@pytest.fixture
def app(module_app: FastAPI, connection) -> FastAPI:
    return bound_to(module_app, connection)


@pytest.fixture(scope="module")
def module_connection(database) -> Iterator[object]:
    """One transaction for the module, rolled back at its end: the records behind the path
    are made once in it, and each case runs in a savepoint of it (`connection`)."""
    conn = database.engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def connection(module_connection) -> Iterator[object]:
    savepoint = module_connection.begin_nested()
    yield module_connection
    if savepoint.is_active:
        savepoint.rollback()


@pytest.fixture(scope="module")
def path_values(module_connection, module_app) -> dict[str, str]:
    """Real records behind the path, so a case fails on its bad input and not on a 404."""
    session = session_on(module_connection)
    cipher = module_app.state.cipher
    patient = create_patient(session, cipher)
    policy = create_policy(session, patient)
    user = create_user(session, Role.NURSE)
    device, _ = devices_service.add_kiosk(session, actor=TEST_ACTOR, name="problem-lobby")
    location = create_location(session)
    provider = create_provider(session, location)
    kind = create_appointment_type(session)
    session.commit()
    session.close()
    return {
        "patient_id": str(patient.id),
        "policy_id": str(policy.id),
        "user_id": str(user.id),
        "device_id": str(device.id),
        "appointment_id": SOME_ID,
        "series_id": SOME_ID,
        "provider_id": str(provider.id),
        "feed_id": SOME_ID,
        "token": "fdc_" + "x" * 43,
        "entry_id": SOME_ID,
        "location_id": str(location.id),
        "appointment_type_id": str(kind.id),
        "rule_id": SOME_ID,
        "exception_id": SOME_ID,
        "session_id": SOME_ID,
        "arrival_id": SOME_ID,
        "alert_id": SOME_ID,
        "change_id": SOME_ID,
        "check_in_id": SOME_ID,
        "payment_id": SOME_ID,
        "payer_key": SOME_ID,
        "charge_id": SOME_ID,
        "claim_id": SOME_ID,
        "batch_id": SOME_ID,
        "denial_id": SOME_ID,
    }


@pytest.fixture
def send(client, principals, path_values) -> Callable[[BadInput], Any]:
    def send(case: BadInput) -> Any:
        endpoint = BY_NAME[case.route]
        request = case.request()
        request["headers"] = {
            **request.get("headers", {}),
            **principals.headers_for(caller(case.route)),
        }
        url = endpoint.path.format(**{**path_values, **case.path})
        return client.request(endpoint.method, url, **request)

    return send


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bad_input_gets_problem_json(send, case: BadInput) -> None:
    response = send(case)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body.keys() >= PROBLEM_MEMBERS
    assert body["status"] == response.status_code


@pytest.mark.parametrize("case", [c for c in CASES if c.field], ids=_ids)
def test_validation_problem_names_the_field(send, case: BadInput) -> None:
    fields = [e["field"] for e in send(case).json().get("errors", [])]
    # Inside a tagged union the tag leads: "name_dob.nickname" names "nickname".
    assert any(f == case.field or f.endswith(f".{case.field}") for f in fields), fields


@pytest.mark.parametrize("case", [c for c in CASES if c.secret], ids=_ids)
def test_bad_value_is_not_echoed(send, case: BadInput) -> None:
    assert str(case.secret).lower() not in send(case).text.lower()


# Text that passes validation but that a database may not take as it is: refusing it and
# accepting it are both fine; a crash is not. Only the absence of a 5xx is checked.
# fmt: off
AWKWARD_TEXT = [
    BadInput("auth.token", "nul-in-username", {"data": {"username": "ada\x00", "password": "x"}}),
    BadInput("patients.search", "nul-in-name", {"params": {"name": "Ada\x00"}}),
    BadInput("patients.create", "nul-in-first_name",
             {"json": {**NEW_PATIENT, "first_name": "Ada\x00"}}),
    BadInput("patients.create", "first_name-of-80-sharp-s",  # casefolds to 160 letters
             {"json": {**NEW_PATIENT, "first_name": "\u00df" * 80}}),
    BadInput("patients.update", "last_name-of-80-ffi-ligatures",  # decomposes to 240 letters
             {"json": {"last_name": "\ufb03" * 80}}),
    BadInput("audit.list", "nul-in-action", {"params": {"action": "patient.read\x00"}}),
]
# fmt: on


@pytest.mark.parametrize("case", AWKWARD_TEXT, ids=_ids)
def test_awkward_text_is_never_a_server_error(send, case: BadInput) -> None:
    assert send(case).status_code < 500


# --- bearer tokens that are not ours ------------------------------------------------------

FORGED_TOKENS = {"jwt": f"eyJhbGciOiJIUzI1NiJ9.{PHI}.c2ln", "device": f"fdk_{PHI}"}


@pytest.mark.parametrize(
    ("endpoint", "token"),
    [
        pytest.param(e, token, id=f"{e.name}-{kind}")
        for e in ENDPOINTS
        if e.signed_in_only
        for kind, token in FORGED_TOKENS.items()
    ],
)
def test_forged_token_gets_401_problem_without_echo(client, path_values, endpoint, token) -> None:
    request = dict(VALID[endpoint.name])
    request["headers"] = {**request.get("headers", {}), "Authorization": f"Bearer {token}"}
    response = client.request(endpoint.method, endpoint.path.format(**path_values), **request)
    assert (response.status_code, response.headers["content-type"]) == (401, PROBLEM_JSON)
    assert PHI.lower() not in response.text.lower()


# --- no such route, no such method -----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here", f"/api/v1/patients/{SOME_ID}/visits", "/api/v2/patients", "/nope"],
)
def test_unknown_route_gets_404_problem(client, path: str) -> None:
    response = client.get(path)
    assert (response.status_code, response.headers["content-type"], response.json()["code"]) == (
        404,
        PROBLEM_JSON,
        "not-found",
    )


def test_unknown_route_does_not_echo_the_path(client) -> None:
    response = client.get(f"/api/v1/patients/by-name/{PHI}/1985-12-10")
    assert PHI.lower() not in response.text.lower()


PATHS = sorted({e.path for e in ENDPOINTS})


def _methods(path: str) -> set[str]:
    return {e.method for e in ENDPOINTS if e.path == path}


def _wrong_method(path: str) -> str:
    return next(m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in _methods(path))


@pytest.mark.parametrize("path", PATHS)
def test_wrong_method_gets_405_problem(client, path: str) -> None:
    response = client.request(_wrong_method(path), path.replace("{", "").replace("}", ""))
    assert (response.status_code, response.headers["content-type"], response.json()["code"]) == (
        405,
        PROBLEM_JSON,
        "method-not-allowed",
    )


@pytest.mark.parametrize("path", PATHS)
def test_wrong_method_answer_says_which_methods_are_allowed(client, path: str) -> None:
    response = client.request(_wrong_method(path), path.replace("{", "").replace("}", ""))
    allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
    assert _methods(path) <= allowed
