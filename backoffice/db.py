"""Engine and session set-up for SQLite (embedded) and PostgreSQL (production).

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
BEGIN IMMEDIATE: nearly every request writes (each PHI read appends an audit event),
so taking the write lock up front avoids the busy errors of upgrading a read lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the endpoint returns.

    When the endpoint fails, the work is rolled back (unless the error says it keeps it) and
    the failure is written to the audit trail in its own transaction before the error goes on
    to its handler.
    """
    factory = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
        except Exception as exc:
            # A refusal that must leave a trace (a failed lookup counts toward the kiosk's
            # throttle) keeps its writes; anything else is undone.
            if getattr(exc, "keeps_work", False):
                session.commit()
            else:
                session.rollback()
            request.app.state.on_request_failure(session, request, exc)
            raise
        else:
            session.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
