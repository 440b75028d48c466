"""Database set-up: SQLite pragmas, and the audit chain staying linear under concurrent writers."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlmodel import Session

from backoffice.audit.service import record_event, verify_chain
from backoffice.db import make_engine
from backoffice.migrate import upgrade
from backoffice.security.principal import CLI_ORIGIN, SYSTEM
from tests.conftest import fresh_database_url


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_writers_keep_one_unbroken_audit_chain(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path, "chainrace"))
    upgrade(engine)
    writers, events_each = 6, 15

    def append(writer: int) -> None:
        for i in range(events_each):
            with Session(engine) as session:
                record_event(
                    session,
                    principal=SYSTEM,
                    origin=CLI_ORIGIN,
                    action="test.append",
                    detail={"writer": writer, "i": i},
                )
                session.commit()

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(append, range(writers)))
    with Session(engine) as session:
        report = verify_chain(session)
    engine.dispose()
    assert report.ok, report
    assert report.events_checked == writers * events_each == report.head_seq
