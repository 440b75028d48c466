"""Eligibility over the wire: the real CAQH CORE client against a loopback clearinghouse, and
`check_eligibility` recording every outcome (the policy's copay following an active answer)
without ever raising a transport failure."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backoffice.audit.models import AuditEvent
from backoffice.billing.eligibility_service import (
    CORE_RULE_VERSION,
    CoreConnectivityTransport,
    ReleasingTransport,
    TransportRefused,
    TransportServerError,
    TransportTimeout,
    TransportUnreachable,
    check_eligibility,
    describe,
)
from backoffice.billing.models import EligibilityCheck
from backoffice.billing.x12.eligibility import read_271
from tests.backoffice.billing.test_eligibility import build
from tests.backoffice.billing.test_era_cli import COMMAND, ROOT, query
from tests.fixtures.builders import TEST_ACTOR, create_patient, create_policy
from tests.fixtures.clearinghouse_fake import CannedBenefits, FakeClearinghouse

SUBSCRIBER_MEMBER_ID = "11122333301"  # the member in test_eligibility's 270


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


def transport_to(fake: FakeClearinghouse, **changes: object) -> CoreConnectivityTransport:
    arguments: dict = {
        "url": fake.url,
        "username": fake.username,
        "password": fake.password,
        "sender_id": "FRONTDESK01",
        "receiver_id": "CLEARHOUSE",
        "timeout_seconds": 0.5,
    }
    return CoreConnectivityTransport(**{**arguments, **changes})


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/core/realtime"


# --- the transport ------------------------------------------------------------------------


def test_the_270_goes_as_a_core_real_time_envelope(fake: FakeClearinghouse) -> None:
    fake.members[SUBSCRIBER_MEMBER_ID] = CannedBenefits()
    request = build()
    transport_to(fake).exchange(request)
    [sent] = fake.requests
    assert sent["PayloadType"] == "X12_270_Request_005010X279A1"
    assert sent["ProcessingMode"] == "RealTime"
    assert sent["CORERuleVersion"] == CORE_RULE_VERSION == "2.2.0"
    assert (sent["SenderID"], sent["ReceiverID"]) == ("FRONTDESK01", "CLEARHOUSE")
    assert len(sent["PayloadID"]) == 36  # a UUID
    assert sent["TimeStamp"].endswith("Z")
    assert sent["Payload"] == request


def test_the_answers_payload_is_the_271(fake: FakeClearinghouse) -> None:
    fake.members[SUBSCRIBER_MEMBER_ID] = CannedBenefits(copay="40.00")
    [response] = read_271(transport_to(fake).exchange(build()))
    assert response.active is True
    assert response.copay == 40
    assert response.trace_numbers == ("93175-012547",)


@pytest.mark.parametrize(
    ("setup", "changes", "error", "words"),
    [
        ({"mode": "timeout"}, {}, TransportTimeout, "in time"),
        ({"mode": "500"}, {}, TransportServerError, "HTTP 500"),
        ({}, {"password": "wrong"}, TransportRefused, "UnAuthorized"),
        ({}, {"url": None}, TransportUnreachable, "cannot be reached"),
    ],
    ids=["timeout", "server-error", "bad-credentials", "nobody-listening"],
)
def test_transport_failures_are_told_apart(
    fake: FakeClearinghouse, setup: dict, changes: dict, error: type, words: str
) -> None:
    for name, value in setup.items():
        setattr(fake, name, value)
    if "url" in changes:
        changes = {"url": closed_port_url()}
    with pytest.raises(error, match=words):
        transport_to(fake, **changes).exchange(build())


# --- check_eligibility --------------------------------------------------------------------


@pytest.fixture
def policy(session: Session, cipher):  # type: ignore[no-untyped-def]
    patient = create_patient(session, cipher)
    return create_policy(session, patient, copay_primary_care_cents=2500)


def checks(session: Session, policy_id) -> list[EligibilityCheck]:  # type: ignore[no-untyped-def]
    return list(
        session.exec(select(EligibilityCheck).where(EligibilityCheck.policy_id == policy_id))
    )


def test_an_active_answer_is_recorded_and_updates_the_copay(
    session: Session, policy, fake: FakeClearinghouse
) -> None:
    fake.members[policy.member_id] = CannedBenefits(
        copay="30.00", coinsurance="0.2", deductible_remaining="350.00"
    )
    check = check_eligibility(
        session, TEST_ACTOR, policy_id=policy.id, transport=transport_to(fake)
    )
    assert (check.outcome, check.active, check.plan_name) == ("active", True, "GOLD 123 PLAN")
    assert (check.copay_cents, check.coinsurance_basis_points) == (3000, 2000)
    assert check.deductible_remaining_cents == 35000
    assert check.copay_updated is True
    session.refresh(policy)
    assert policy.copay_primary_care_cents == 3000
    [sent] = fake.requests
    assert f"*MI*{policy.member_id}~" in sent["Payload"]
    assert f"TRN*1*{check.trace_number}*" in sent["Payload"]
    assert describe(check) == (
        "coverage active, GOLD 123 PLAN, copay 30.00 (policy updated), coinsurance 20 %, "
        "deductible remaining 350.00"
    )
    [event] = session.exec(
        select(AuditEvent).where(AuditEvent.action == "billing.eligibility.checked")
    )
    assert event.detail["outcome"] == "active"


def test_the_same_copay_leaves_the_policy_alone(
    session: Session, policy, fake: FakeClearinghouse
) -> None:
    fake.members[policy.member_id] = CannedBenefits(copay="25.00")
    check = check_eligibility(
        session, TEST_ACTOR, policy_id=policy.id, transport=transport_to(fake)
    )
    assert (check.outcome, check.copay_cents, check.copay_updated) == ("active", 2500, False)


def test_inactive_coverage_is_recorded_and_keeps_the_copay(
    session: Session, policy, fake: FakeClearinghouse
) -> None:
    fake.members[policy.member_id] = CannedBenefits(active=False)
    check = check_eligibility(
        session, TEST_ACTOR, policy_id=policy.id, transport=transport_to(fake)
    )
    assert (check.outcome, check.active, check.copay_updated) == ("inactive", False, False)
    session.refresh(policy)
    assert policy.copay_primary_care_cents == 2500


def test_an_aaa_rejection_is_recorded_with_its_reason(
    session: Session, policy, fake: FakeClearinghouse
) -> None:
    check = check_eligibility(  # nobody in the canned table: AAA*N**75*C
        session, TEST_ACTOR, policy_id=policy.id, transport=transport_to(fake)
    )
    assert check.outcome == "rejected"
    assert check.active is None
    assert check.error == "AAA 75 (the subscriber was not found), follow-up C"


@pytest.mark.parametrize(
    ("mode", "changes", "outcome", "words"),
    [
        ("timeout", {}, "timeout", "did not answer in time"),
        ("500", {}, "server_error", "HTTP 500"),
        ("garbage", {}, "unreadable", "the 271 cannot be read"),
        ("ok", {"password": "wrong"}, "refused", "UnAuthorized"),
        ("ok", {"url": None}, "unreachable", "cannot be reached"),
    ],
)
def test_every_failure_is_recorded_never_raised(
    session: Session, policy, fake: FakeClearinghouse, mode, changes, outcome, words
) -> None:
    fake.mode = mode
    fake.members[policy.member_id] = CannedBenefits(copay="99.00")
    if "url" in changes:
        changes = {"url": closed_port_url()}
    check = check_eligibility(
        session, TEST_ACTOR, policy_id=policy.id, transport=transport_to(fake, **changes)
    )
    assert check.outcome == outcome
    assert words in (check.error or "")
    assert [c.id for c in checks(session, policy.id)] == [check.id]
    session.refresh(policy)
    assert policy.copay_primary_care_cents == 2500


def test_a_broken_plugged_in_transport_is_recorded_as_failed(session: Session, policy) -> None:
    class Broken:
        def exchange(self, request_270: str) -> str:
            raise RuntimeError("bug")

    check = check_eligibility(session, TEST_ACTOR, policy_id=policy.id, transport=Broken())
    assert (check.outcome, check.error) == ("failed", "the transport failed (RuntimeError)")


def test_a_policy_that_cannot_make_a_270_sends_nothing(
    session: Session, cipher, fake: FakeClearinghouse
) -> None:
    patient = create_patient(session, cipher)
    policy = create_policy(
        session,
        patient,
        subscriber_relationship="spouse",
        subscriber_first_name="Sam",
        subscriber_last_name="Doe",
        subscriber_date_of_birth=date(1979, 4, 2),
        effective_date=date(2026, 1, 1),
    )
    policy.subscriber_date_of_birth = None  # a row from before the rule that asks for it
    session.add(policy)
    session.commit()
    check = check_eligibility(
        session, TEST_ACTOR, policy_id=policy.id, transport=transport_to(fake)
    )
    assert check.outcome == "invalid_request"
    assert "subscriber_date_of_birth" in (check.error or "")
    assert fake.requests == []


# --- frontdesk billing eligibility check -----------------------------------------------------


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, clearinghouse: FakeClearinghouse) -> dict[str, object]:
    """The console command, three times on one SQLite file: answered, a 5xx, not set up."""
    import backoffice.models_registry  # noqa: F401  (every table, for foreign keys)
    from backoffice.db import make_engine
    from backoffice.migrate import upgrade
    from backoffice.security.crypto import FieldCipher, load_keyring

    var_dir = tmp_path_factory.mktemp("eligibility")
    engine = make_engine(f"sqlite:///{var_dir / 'x.db'}")
    upgrade(engine)
    cipher = FieldCipher(load_keyring(var_dir / "keys.json", create=True))
    with Session(engine, expire_on_commit=False) as session:
        policy = create_policy(session, create_patient(session, cipher))
    engine.dispose()
    policy_id = str(policy.id)
    clearinghouse.members.clear()
    clearinghouse.members[policy.member_id] = CannedBenefits(copay="35.00")
    clearinghouse.mode = "ok"
    settings_env = {
        "FRONTDESK_ELIGIBILITY_URL": clearinghouse.url,
        "FRONTDESK_ELIGIBILITY_USERNAME": clearinghouse.username,
        "FRONTDESK_ELIGIBILITY_PASSWORD": clearinghouse.password,
    }
    found: dict[str, object] = {"not_set_up": run(var_dir, policy_id)}
    found["active"] = run(var_dir, policy_id, env=settings_env)
    clearinghouse.mode = "500"
    found["server_error"] = run(var_dir, policy_id, env=settings_env)
    clearinghouse.mode = "ok"
    found["rows"] = query(
        var_dir, "SELECT outcome, copay_cents FROM eligibility_checks ORDER BY checked_at"
    )
    found["copay"] = query(var_dir, "SELECT copay_primary_care_cents FROM insurance_policies")
    return found


def run(
    var_dir: Path, policy_id: str, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`frontdesk billing eligibility check POLICY_ID` as test_era_cli runs its commands."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    clean |= {
        "FRONTDESK_VAR_DIR": str(var_dir),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{var_dir / 'x.db'}",
        "FRONTDESK_ENCRYPTION_KEY_FILE": str(var_dir / "keys.json"),
        "FRONTDESK_SECRET_KEY": "cli-test-signing-key-0123456789abcdef0123456789",
        **(env or {}),
    }
    return subprocess.run(
        [*COMMAND, "billing", "eligibility", "check", policy_id],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_prints_the_benefits_and_updates_the_copay(cli_runs) -> None:
    active = cli_runs["active"]
    assert (active.returncode, active.stderr) == (0, "")
    assert active.stdout == (
        "coverage active, GOLD 123 PLAN, copay 35.00 (policy updated), coinsurance 20 %, "
        "deductible remaining 350.00\n"
    )
    assert cli_runs["copay"] == [(3500,)]


def test_a_failed_check_is_one_line_exit_1_and_recorded(cli_runs) -> None:
    failed = cli_runs["server_error"]
    assert failed.returncode == 1
    assert failed.stdout == (
        "eligibility server_error: the clearinghouse answered HTTP 500 (recorded)\n"
    )
    assert cli_runs["rows"] == [("active", 3500), ("server_error", None)]


def test_without_a_clearinghouse_the_command_says_what_to_set(cli_runs) -> None:
    not_set_up = cli_runs["not_set_up"]
    assert not_set_up.returncode == 1
    assert "FRONTDESK_ELIGIBILITY_URL" in not_set_up.stdout + not_set_up.stderr


def test_no_transaction_is_held_while_the_clearinghouse_answers(
    session: Session, policy, fake: FakeClearinghouse
) -> None:
    """The request's transaction ends before the network wait (SQLite's write lock is not held
    for up to the timeout), and the answer is still recorded."""
    fake.members[policy.member_id] = CannedBenefits()
    seen: list[bool] = []

    class Watching:
        def exchange(self, request_270: str) -> str:
            seen.append(session.in_transaction())
            return transport_to(fake).exchange(request_270)

    check = check_eligibility(
        session, TEST_ACTOR, policy_id=policy.id,
        transport=ReleasingTransport(session, Watching()),
    )  # fmt: skip
    session.commit()
    assert seen == [False]
    assert check.outcome == "active"
    assert [c.id for c in checks(session, policy.id)] == [check.id]
