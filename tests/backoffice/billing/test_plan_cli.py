"""`frontdesk billing plan create` and `plan show`: a patient's balance in monthly instalments,
printed in dollars; refusals are AppErrors, which the `frontdesk` command turns into one line
on stderr (checked once end to end, as test_era_cli runs its commands)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

import backoffice.cli
from backoffice.billing.cli import billing_app
from backoffice.billing.models import PaymentPlan, PaymentPlanInstalment
from backoffice.billing.statements import BadPlan, PatientNotFound
from backoffice.payments import ledger
from shared.errors import AppError, Conflict
from tests.backoffice.billing.test_era_cli import COMMAND, ROOT
from tests.conftest import session_on
from tests.fixtures.builders import create_patient

runner = CliRunner()


@pytest.fixture
def cli_on_test_database(connection, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The commands' one session per run, inside the test's transaction."""

    @contextmanager
    def test_session() -> Iterator[Session]:
        with session_on(connection) as session:
            yield session
            session.commit()

    monkeypatch.setattr(backoffice.cli, "_session", test_session)


def billing(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(billing_app, list(args))


@pytest.fixture
def owing(session: Session, cipher, cli_on_test_database):  # type: ignore[no-untyped-def]
    """A patient owing 100.00: a 120.00 charge, 20.00 paid."""
    patient = create_patient(session, cipher)
    for kind, cents in ((ledger.EntryKind.CHARGE, 12000), (ledger.EntryKind.PAYMENT, -2000)):
        ledger.post(session, patient_id=patient.id, kind=kind, amount_cents=cents,
                    description="Visit")  # fmt: skip
    session.commit()
    return patient


def stored_plans(session: Session, patient) -> list[PaymentPlan]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.exec(select(PaymentPlan).where(PaymentPlan.patient_id == patient.id)))


def test_create_prints_the_schedule_in_dollars_and_stores_it(session: Session, owing) -> None:
    result = billing("plan", "create", owing.mrn, "--instalments", "3", "--first-due", "2027-01-31")
    assert result.exit_code == 0, result.output
    [plan] = stored_plans(session, owing)
    assert result.stdout == (
        f"payment plan {plan.id.hex[:8]} for MRN {owing.mrn}: 100.00 in 3 monthly instalment(s)\n"
        "   1  2027-01-31       33.33\n"
        "   2  2027-02-28       33.33\n"
        "   3  2027-03-31       33.34\n"
    )
    assert (plan.total_cents, plan.instalment_count, plan.status) == (10000, 3, "active")
    rows = session.exec(
        select(PaymentPlanInstalment.amount_cents).where(PaymentPlanInstalment.plan_id == plan.id)
    ).all()
    assert sorted(rows) == [3333, 3333, 3334]


def test_show_lists_each_instalment_paid_and_due(session: Session, owing) -> None:
    assert billing("plan", "create", owing.mrn, "--instalments", "2",
                   "--first-due", "2027-01-15").exit_code == 0  # fmt: skip
    [plan] = stored_plans(session, owing)
    first = session.exec(
        select(PaymentPlanInstalment).where(
            PaymentPlanInstalment.plan_id == plan.id, PaymentPlanInstalment.number == 1
        )
    ).one()
    first.paid_cents = 2000
    session.add(first)
    session.commit()
    result = billing("plan", "show", owing.mrn)
    assert result.exit_code == 0, result.output
    created = plan.created_at.date().isoformat()
    assert result.stdout == (
        f"plan {plan.id.hex[:8]} (active), created {created}: 100.00 in 2 instalment(s), "
        "paid 20.00, due 80.00\n"
        "   1  2027-01-15       50.00  paid      20.00  due      30.00\n"
        "   2  2027-02-15       50.00  paid       0.00  due      50.00\n"
    )


def test_show_without_plans_says_so(owing) -> None:
    result = billing("plan", "show", owing.mrn)
    assert (result.exit_code, result.stdout) == (0, f"no payment plans for MRN {owing.mrn}\n")


def test_a_second_active_plan_is_refused(session: Session, owing) -> None:
    assert billing("plan", "create", owing.mrn, "--instalments", "2").exit_code == 0
    again = billing("plan", "create", owing.mrn, "--instalments", "4")
    assert isinstance(again.exception, Conflict)
    assert "already has an active payment plan" in again.exception.detail
    assert len(stored_plans(session, owing)) == 1


def test_without_first_due_the_first_instalment_is_next_month(session: Session, owing) -> None:
    from datetime import date

    from backoffice.billing.statements import add_months

    assert billing("plan", "create", owing.mrn, "--instalments", "1").exit_code == 0
    [plan] = stored_plans(session, owing)
    [due] = session.exec(
        select(PaymentPlanInstalment.due_date).where(PaymentPlanInstalment.plan_id == plan.id)
    ).all()
    assert due == add_months(date.today(), 1)


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (("--instalments", "0"), BadPlan, "1 to 60 instalments"),
        (("--instalments", "61"), BadPlan, "1 to 60 instalments"),
        (("--instalments", "3", "--first-due", "31/01/2027"), AppError, "not a date"),
    ],
    ids=["no-instalments", "too-many", "bad-date"],
)
def test_bad_arguments_are_refused_and_store_nothing(
    session: Session, owing, args, error, words
) -> None:
    result = billing("plan", "create", owing.mrn, *args)
    assert isinstance(result.exception, error)
    assert words in result.exception.detail
    assert stored_plans(session, owing) == []


def test_a_patient_who_owes_nothing_gets_no_plan(session: Session, cipher, cli_on_test_database):  # type: ignore[no-untyped-def]
    patient = create_patient(session, cipher)
    result = billing("plan", "create", patient.mrn, "--instalments", "3")
    assert isinstance(result.exception, BadPlan)
    assert result.exception.detail == "the patient owes nothing (0.00): there is nothing to plan"
    assert stored_plans(session, patient) == []


@pytest.mark.parametrize("command", ["create", "show"])
def test_an_unknown_mrn_is_not_found(cli_on_test_database, command) -> None:  # type: ignore[no-untyped-def]
    extra = ["--instalments", "3"] if command == "create" else []
    result = billing("plan", command, "000000000", *extra)
    assert isinstance(result.exception, PatientNotFound)
    assert result.exception.detail == "no patient with MRN 000000000"


def test_the_frontdesk_command_says_a_refusal_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """End to end, as test_era_cli runs its commands: an empty migrated SQLite file."""
    import backoffice.models_registry  # noqa: F401  (every table, for foreign keys)
    from backoffice.db import make_engine
    from backoffice.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_VAR_DIR": str(tmp_path),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "FRONTDESK_ENCRYPTION_KEY_FILE": str(tmp_path / "keys.json"),
        "FRONTDESK_SECRET_KEY": "cli-test-signing-key-0123456789abcdef0123456789",
    }
    result = subprocess.run(
        [*COMMAND, "billing", "plan", "show", "000000000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "frontdesk: error: no patient with MRN 000000000\n"
