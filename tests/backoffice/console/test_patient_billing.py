"""Eligibility and the patient's account on the record page: the last check of each policy
and a button to ask the payer now (over the real CORE client to a loopback clearinghouse),
failures shown and recorded without breaking the page, and the billing box with the
statement as PDF or CSV; in-process on both databases."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from backoffice.app import create_app
from backoffice.audit.models import AuditEvent
from backoffice.billing import statements
from backoffice.billing.models import EligibilityCheck
from backoffice.console.patients import ELIGIBILITY_NOT_SET_UP
from backoffice.payments import ledger
from backoffice.settings import Settings
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import TEST_ACTOR, create_patient, create_policy
from tests.fixtures.clearinghouse_fake import CannedBenefits, FakeClearinghouse
from tests.fixtures.console import console_as, text_of

CLINIC_ZONE = ZoneInfo(Settings().clinic_timezone)
BUTTON = "Check eligibility now"


@pytest.fixture(scope="module")
def clearinghouse() -> Iterator[FakeClearinghouse]:
    with FakeClearinghouse() as fake:
        yield fake


@pytest.fixture
def fake(clearinghouse: FakeClearinghouse) -> FakeClearinghouse:
    clearinghouse.members.clear()
    clearinghouse.requests.clear()
    clearinghouse.mode = "ok"
    return clearinghouse


@pytest.fixture(scope="module")
def module_eligibility_app(database, clearinghouse):  # type: ignore[no-untyped-def]
    """An app whose settings point eligibility at the loopback clearinghouse."""
    settings = Settings(
        eligibility_url=clearinghouse.url,
        eligibility_username=clearinghouse.username,
        eligibility_password=clearinghouse.password,
        eligibility_timeout_seconds=2,
    )
    return create_app(settings, engine=database.engine)


@pytest.fixture
def app(module_app, connection):  # type: ignore[no-untyped-def]
    """The default app: no clearinghouse configured."""
    return bound_to(module_app, connection)


@pytest.fixture
def eligibility_app(module_eligibility_app, connection):  # type: ignore[no-untyped-def]
    return bound_to(module_eligibility_app, connection)


@pytest.fixture
def patient(session: Session, cipher):  # type: ignore[no-untyped-def]
    return create_patient(session, cipher, first_name="Bessie", last_name="Coleman")


@pytest.fixture
def policy(session: Session, patient):  # type: ignore[no-untyped-def]
    return create_policy(session, patient, copay_primary_care_cents=2500)


def record_path(patient) -> str:  # type: ignore[no-untyped-def]
    return f"/staff/patients/{patient.id}"


def check_path(patient, policy) -> str:  # type: ignore[no-untyped-def]
    return f"/staff/patients/{patient.id}/policies/{policy.id}/eligibility"


def checks_of(session: Session, policy_id: uuid.UUID) -> list[EligibilityCheck]:
    session.expire_all()
    return list(
        session.exec(select(EligibilityCheck).where(EligibilityCheck.policy_id == policy_id))
    )


def audited(session: Session, action: str, patient_id: uuid.UUID) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.resource_id == str(patient_id)
            )
        ).all()
    )


# --- eligibility ------------------------------------------------------------------------------


def test_an_unchecked_policy_says_so_and_offers_the_button(
    eligibility_app, session, patient, policy
) -> None:
    desk = console_as(eligibility_app, session, Role.FRONT_DESK)
    page = desk.get(record_path(patient))
    assert page.status_code == 200
    assert "Not checked" in text_of(page.text)
    assert f'action="{check_path(patient, policy)}"' in page.text
    assert BUTTON in page.text


def test_an_active_answer_is_the_notice_and_the_policys_last_check(
    eligibility_app, session, patient, policy, fake
) -> None:
    fake.members[policy.member_id] = CannedBenefits(copay="30.00")
    desk = console_as(eligibility_app, session, Role.FRONT_DESK)

    response = desk.post(check_path(patient, policy))

    assert response.status_code == 303
    assert response.headers["location"] == record_path(patient)
    [check] = checks_of(session, policy.id)
    assert check.outcome == "active"
    summary = "coverage active, GOLD 123 PLAN, copay 30.00 (policy updated)"
    page = text_of(desk.get(record_path(patient)).text)
    assert page.count(summary) == 2  # the notice, and the policy's row
    when = check.checked_at.astimezone(CLINIC_ZONE).strftime("%m/%d/%Y %H:%M")
    assert f"checked {when}" in page
    assert "Not checked" not in page


def test_a_clearinghouse_error_is_recorded_and_the_page_still_renders(
    eligibility_app, session, patient, policy, fake
) -> None:
    fake.mode = "500"
    desk = console_as(eligibility_app, session, Role.FRONT_DESK)

    response = desk.post(check_path(patient, policy))

    assert response.status_code == 303
    [check] = checks_of(session, policy.id)
    assert check.outcome == "server_error"
    page = desk.get(record_path(patient))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "eligibility server_error: the clearinghouse answered HTTP 500 (recorded)" in words
    assert "Coleman" in words and policy.member_id in words  # the rest of the record is there


def test_without_a_clearinghouse_there_is_no_button_and_a_post_says_why(
    app, session, patient, policy
) -> None:
    desk = console_as(app, session, Role.FRONT_DESK)
    page = desk.get(record_path(patient))
    assert page.status_code == 200
    assert BUTTON not in page.text
    assert ELIGIBILITY_NOT_SET_UP in text_of(page.text)

    response = desk.post(check_path(patient, policy))

    assert response.status_code == 303
    assert response.headers["location"] == record_path(patient)
    assert ELIGIBILITY_NOT_SET_UP in text_of(desk.get(record_path(patient)).text)
    assert checks_of(session, policy.id) == []


def test_a_nurse_sees_no_eligibility_and_cannot_ask(
    eligibility_app, session, patient, policy, fake
) -> None:
    nurse = console_as(eligibility_app, session, Role.NURSE)
    page = nurse.get(record_path(patient))
    assert page.status_code == 200
    assert BUTTON not in page.text
    assert "Eligibility" not in text_of(page.text)

    assert nurse.post(check_path(patient, policy)).status_code == 403
    assert checks_of(session, policy.id) == []
    assert fake.requests == []


def test_another_patients_policy_is_not_found(
    eligibility_app, session, cipher, patient, policy, fake
) -> None:
    other = create_patient(session, cipher, first_name="Jackie", last_name="Cochran")
    desk = console_as(eligibility_app, session, Role.FRONT_DESK)
    assert desk.post(check_path(other, policy)).status_code == 404
    assert fake.requests == []


def _record_check(session: Session, policy_id: uuid.UUID, at: datetime, plan: str) -> None:
    session.add(
        EligibilityCheck(
            policy_id=policy_id,
            checked_at=at,
            outcome="active",
            trace_number=uuid.uuid4().hex[:30],
            active=True,
            plan_name=plan,
        )
    )
    session.commit()


def test_the_latest_check_of_every_policy_comes_from_one_query(
    app, database, session, patient, policy
) -> None:
    second = create_policy(session, patient, rank="secondary", payer_name="Cigna")
    noon = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    for shown, plan in ((policy, "PRIMARY"), (second, "SECONDARY")):
        _record_check(session, shown.id, noon - timedelta(days=30), f"OLD {plan}")
        _record_check(session, shown.id, noon, f"NEW {plan}")
    desk = console_as(app, session, Role.FRONT_DESK)
    statements_seen: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements_seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        page = desk.get(record_path(patient))
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)

    assert page.status_code == 200
    reads = [s for s in statements_seen if "FROM eligibility_checks" in s]
    assert len(reads) == 1
    words = text_of(page.text)
    assert "coverage active, NEW PRIMARY" in words
    assert "coverage active, NEW SECONDARY" in words
    assert "OLD" not in words
    assert "checked 03/02/2026 12:00" in words  # 17:00 UTC in the clinic's zone
    assert audited(session, "billing.eligibility.read", patient.id)


# --- the billing box and the statement ------------------------------------------------------


@pytest.fixture
def owing(session: Session, patient):  # type: ignore[no-untyped-def]
    """The patient owes $150.00 of a $200.00 visit and pays it in three instalments."""
    posted = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
    for minutes, kind, cents, what in (
        (0, ledger.EntryKind.CHARGE, 20000, "Office visit"),
        (20, ledger.EntryKind.PAYMENT, -5000, "Card payment"),
    ):
        ledger.post(
            session,
            patient_id=patient.id,
            kind=kind,
            amount_cents=cents,
            description=what,
            posted_at=posted + timedelta(minutes=minutes),
        )
    statements.create_payment_plan(
        session, TEST_ACTOR, patient_id=patient.id, count=3, first_due=date(2026, 3, 1)
    )
    session.commit()
    return patient


def test_billing_sees_the_balance_and_the_instalments_due(app, session, owing) -> None:
    billing = console_as(app, session, Role.BILLING)
    page = billing.get(record_path(owing))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Balance due $150.00" in words
    assert "$150.00 in 3 instalments" in words
    assert "1 of 3 03/01/2026 $50.00 $50.00" in words
    assert "3 of 3 05/01/2026 $50.00 $50.00" in words
    assert f"/staff/patients/{owing.id}/statement?format=pdf" in page.text
    assert f"/staff/patients/{owing.id}/statement?format=csv" in page.text


def test_the_front_desk_sees_no_billing_box_and_gets_no_statement(app, session, owing) -> None:
    desk = console_as(app, session, Role.FRONT_DESK)
    page = desk.get(record_path(owing))
    assert page.status_code == 200
    assert 'id="billing-title"' not in page.text
    assert "Balance due" not in text_of(page.text)
    assert "/statement" not in page.text
    assert desk.get(f"/staff/patients/{owing.id}/statement").status_code == 403


def test_the_statement_pdf_is_an_attachment_and_audited(app, session, owing) -> None:
    billing = console_as(app, session, Role.BILLING)
    response = billing.get(f"/staff/patients/{owing.id}/statement", format="pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"statement-{owing.mrn}-" in disposition and disposition.endswith('.pdf"')
    assert response.content.startswith(b"%PDF")
    [read] = audited(session, "billing.statement.read", owing.id)
    assert read.resource_type == "patient"
    assert read.actor_role == Role.BILLING.value


def test_the_statement_csv_ends_with_the_balance_due(app, session, owing) -> None:
    billing = console_as(app, session, Role.BILLING)
    response = billing.get(f"/staff/patients/{owing.id}/statement", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[-1][1:] == ["Balance due", "balance", "150.00", "yes"]
    assert [r[1] for r in rows[1:-1]] == ["Office visit", "Card payment"]


def test_a_statement_in_another_format_is_refused(app, session, owing) -> None:
    billing = console_as(app, session, Role.BILLING)
    response = billing.get(f"/staff/patients/{owing.id}/statement", format="json")
    assert response.status_code == 422
    assert audited(session, "billing.statement.read", owing.id) == []
