"""Eligibility at check-in: a kiosk check-in asks the loopback clearinghouse about the
patient's primary policy after the answer has gone, alerts the desk when the coverage is not
active, and never fails the check-in whatever the clearinghouse does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from backoffice.billing.eligibility_at_checkin import (
    ALERT_KIND,
    check_after_check_in,
    should_check,
)
from backoffice.billing.models import EligibilityCheck
from backoffice.checkin import service as checkin_service
from backoffice.checkin.models import Arrival, StaffAlert
from backoffice.patients.models import InsurancePolicy
from backoffice.settings import Settings
from shared.enums import Role
from tests.backoffice.billing.test_eligibility_service import closed_port_url
from tests.conftest import session_on
from tests.fixtures.billing import create_payer
from tests.fixtures.builders import TEST_ACTOR, create_policy
from tests.fixtures.checkin import book_today, check_in_through_api, with_policy
from tests.fixtures.clearinghouse_fake import CannedBenefits, FakeClearinghouse
from tests.fixtures.console import console_as

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
DAY = timedelta(hours=24)

# --- should_check (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "supported", "last_checked", "expected"),
    [
        (True, True, None, True),
        (True, True, NOW - DAY, True),
        (True, True, NOW - DAY - timedelta(minutes=1), True),
        (True, True, NOW - timedelta(hours=1), False),
        (True, True, NOW - DAY + timedelta(minutes=1), False),
        (False, True, None, False),
        (True, False, None, False),
        (False, False, NOW - 10 * DAY, False),
    ],
    ids=[
        "never-checked",
        "exactly-a-day-ago",
        "over-a-day-ago",
        "an-hour-ago",
        "just-under-a-day-ago",
        "no-clearinghouse",
        "payer-does-not-answer-270s",
        "neither",
    ],
)
def test_should_check(
    configured: bool, supported: bool, last_checked: datetime | None, expected: bool
) -> None:
    decision = should_check(
        configured=configured,
        payer_supports_eligibility=supported,
        last_checked_at=last_checked,
        now=NOW,
        recheck_after=DAY,
    )
    assert decision is expected


# --- at the kiosk, against the loopback clearinghouse -----------------------------------------


@pytest.fixture(scope="module")
def clearinghouse() -> Iterator[FakeClearinghouse]:
    with FakeClearinghouse() as fake:
        yield fake


@pytest.fixture
def fake(clearinghouse: FakeClearinghouse) -> FakeClearinghouse:
    clearinghouse.members.clear()
    clearinghouse.requests.clear()
    clearinghouse.mode, clearinghouse.delay = "ok", 1.5
    return clearinghouse


@pytest.fixture
def settings(clearinghouse: FakeClearinghouse) -> Settings:
    """The app's settings: the loopback clearinghouse, with a short timeout."""
    return Settings(
        eligibility_url=clearinghouse.url,
        eligibility_username=clearinghouse.username,
        eligibility_password=clearinghouse.password,
        eligibility_timeout_seconds=0.5,
    )


@pytest.fixture
def kiosk(principals):  # type: ignore[no-untyped-def]
    return principals.kiosk()


@pytest.fixture
def visit(session: Session, cipher):  # type: ignore[no-untyped-def]
    """Today's visit of a patient whose primary policy's payer answers 270s."""
    visit = book_today(session, cipher, first_name="Harriet", last_name="Quimby")
    create_payer(session, payer_id="60054", name="Aetna", eligibility_supported=True)
    with_policy(session, visit)
    visit["policy"] = session.exec(
        select(InsurancePolicy).where(InsurancePolicy.patient_id == visit["patient"].id)
    ).one()
    return visit


def checks(session: Session, visit) -> list[EligibilityCheck]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(
        session.exec(
            select(EligibilityCheck).where(EligibilityCheck.policy_id == visit["policy"].id)
        )
    )


def alerts(session: Session) -> list[StaffAlert]:
    return list(session.exec(select(StaffAlert).where(StaffAlert.kind == ALERT_KIND)))


def arrived(session: Session, visit) -> bool:  # type: ignore[no-untyped-def]
    session.expire_all()
    appointment_id = visit["appointment"].id
    return (
        session.exec(select(Arrival).where(Arrival.appointment_id == appointment_id)).first()
        is not None
    )


def test_a_check_in_records_an_active_check(client, kiosk, session, visit, fake) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits(copay="25.00")
    check_in_through_api(client, kiosk, visit)
    [check] = checks(session, visit)
    assert (check.outcome, check.active, check.plan_name) == ("active", True, "GOLD 123 PLAN")
    [sent] = fake.requests
    assert f"*MI*{visit['policy'].member_id}~" in sent["Payload"]
    assert alerts(session) == []


def test_inactive_coverage_alerts_the_desk(client, kiosk, session, visit, fake) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits(active=False)
    receipt = check_in_through_api(client, kiosk, visit)
    [check] = checks(session, visit)
    assert check.outcome == "inactive"
    [alert] = alerts(session)
    assert alert.location_id == visit["location"].id
    assert alert.device_id is not None  # the kiosk the patient used
    assert "primary coverage" in alert.message and "not active" in alert.message
    assert f"with {visit['provider'].first_name} {visit['provider'].last_name}" in alert.message
    # No PHI beyond the times and the provider: no name, birth date or member id.
    assert not {"Harriet", "Quimby", "1961", visit["policy"].member_id} & set(
        alert.message.replace(";", " ").replace(",", " ").split()
    )
    assert receipt["first_name"] == "Harriet"


def test_the_desk_sees_the_inactive_alert(client, principals, kiosk, session, visit, fake) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits(active=False)
    check_in_through_api(client, kiosk, visit)
    listed = client.get(
        "/api/v1/alerts",
        params={"location_id": str(visit["location"].id)},
        headers=principals.staff(Role.FRONT_DESK),
    )
    assert listed.status_code == 200, listed.text
    assert [a["kind"] for a in listed.json()["items"]] == [ALERT_KIND]


@pytest.mark.parametrize("trouble", ["timeout", "down"])
def test_a_clearinghouse_in_trouble_never_fails_the_check_in(
    app, client, kiosk, session, visit, fake, settings, trouble
) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits()
    if trouble == "timeout":
        fake.mode, fake.delay = "timeout", 1.5  # the transport waits 0.5 s
    else:
        app.state.settings = settings.model_copy(update={"eligibility_url": closed_port_url()})
    receipt = check_in_through_api(client, kiosk, visit)  # asserts 201
    assert receipt["appointment_id"] == str(visit["appointment"].id)
    assert arrived(session, visit)
    [check] = checks(session, visit)
    expected = {
        "timeout": ("timeout", "did not answer in time"),
        "down": ("unreachable", "cannot be reached"),
    }
    outcome, words = expected[trouble]
    assert check.outcome == outcome
    assert words in (check.error or "")
    assert alerts(session) == []


def test_a_payer_that_does_not_answer_270s_is_not_asked(
    client, kiosk, session, cipher, fake
) -> None:
    visit = book_today(session, cipher, last_name="Nocheck")
    create_payer(session, payer_id="87726", name="Quiet Health", eligibility_supported=False)
    visit["policy"] = create_policy(session, visit["patient"], payer_id="87726")
    check_in_through_api(client, kiosk, visit)
    assert checks(session, visit) == []
    assert fake.requests == []


def test_a_check_an_hour_ago_is_not_repeated(client, kiosk, session, visit, fake) -> None:
    earlier = EligibilityCheck(
        policy_id=visit["policy"].id,
        checked_at=datetime.now(UTC) - timedelta(hours=1),
        outcome="active",
        trace_number="earlier",
        active=True,
    )
    session.add(earlier)
    session.commit()
    check_in_through_api(client, kiosk, visit)
    assert [c.trace_number for c in checks(session, visit)] == ["earlier"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("hours_ago", "outcome"),
    [(25, "active"), (1, "timeout"), (1, "unreachable")],
    ids=["answered-yesterday", "timed-out-an-hour-ago", "unreachable-an-hour-ago"],
)
def test_an_old_answer_or_a_failed_check_is_asked_again(
    client, kiosk, session, visit, fake, hours_ago, outcome
) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits()
    session.add(
        EligibilityCheck(
            policy_id=visit["policy"].id,
            checked_at=datetime.now(UTC) - timedelta(hours=hours_ago),
            outcome=outcome,
            trace_number="earlier",
        )
    )
    session.commit()
    check_in_through_api(client, kiosk, visit)
    assert sorted(c.outcome for c in checks(session, visit)) == sorted(["active", outcome])
    assert len(fake.requests) == 1


def test_without_a_clearinghouse_nothing_is_asked(
    app, client, kiosk, session, visit, fake, settings
) -> None:
    app.state.settings = settings.model_copy(update={"eligibility_url": None})
    check_in_through_api(client, kiosk, visit)
    assert checks(session, visit) == []
    assert fake.requests == []


def test_a_replayed_check_in_does_not_ask_again(client, kiosk, session, visit, fake) -> None:
    from tests.fixtures.checkin import by_name, submission

    fake.members[visit["policy"].member_id] = CannedBenefits()
    found = client.post("/api/v1/kiosk/lookups", json=by_name(), headers=kiosk).json()
    body = submission(session_id=found["matches"][0]["session_id"])
    headers = {**kiosk, "Idempotency-Key": body["check_in_id"]}
    first = client.post("/api/v1/kiosk/check-ins", json=body, headers=headers)
    again = client.post("/api/v1/kiosk/check-ins", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(checks(session, visit)) == 1
    assert len(fake.requests) == 1


# --- the job itself: a desk check-in, and a job that goes wrong --------------------------------


def test_a_desk_check_in_alert_names_no_kiosk(
    app, connection, session, visit, fake, settings
) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits(active=False)
    appointment = visit["appointment"]
    checkin_service.check_in_at_desk(
        session,
        actor=TEST_ACTOR,
        broadcaster=app.state.queue_broadcaster,
        appointment_id=appointment.id,
        expected_version=appointment.version,
        now=datetime.now(UTC),
    )
    session.commit()
    check = check_after_check_in(
        lambda: session_on(connection),
        actor=TEST_ACTOR,
        settings=settings,
        broadcaster=app.state.queue_broadcaster,
        appointment_id=appointment.id,
    )
    assert check is not None and check.outcome == "inactive"
    [alert] = alerts(session)
    assert alert.device_id is None
    assert "checked in at" in alert.message


def test_a_job_that_fails_is_logged_without_phi_and_never_raises(
    app, settings, visit, caplog
) -> None:
    def broken_factory() -> Session:
        raise RuntimeError(f"database gone while checking {visit['patient'].last_name}")

    result = check_after_check_in(
        broken_factory,
        actor=TEST_ACTOR,
        settings=settings,
        broadcaster=app.state.queue_broadcaster,
        appointment_id=visit["appointment"].id,
    )
    assert result is None
    assert "eligibility at check-in failed: RuntimeError" in caplog.text
    assert "Quimby" not in caplog.text


def test_a_desk_check_in_through_the_console_asks_the_payer_too(app, session, visit, fake) -> None:
    fake.members[visit["policy"].member_id] = CannedBenefits(active=False)
    console = console_as(app, session, Role.FRONT_DESK)
    path = f"/staff/queue/expected/{visit['appointment'].id}/check-in"
    answer = console.post(path, {"version": str(visit["appointment"].version)}, fetch=True)
    assert answer.status_code == 204
    assert [c.outcome for c in checks(session, visit)] == ["inactive"]
    assert [a.kind for a in alerts(session)] == ["coverage_inactive"]
    assert alerts(session)[0].device_id is None
