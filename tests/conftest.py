"""Test set-up: every database test runs on SQLite and on PostgreSQL.

Each test runs inside one outer transaction that is rolled back at the end; the app's own
commits become savepoint releases inside it (Polar's pattern). Each xdist worker has its
own PostgreSQL database. Settings come from the environment, set before the app is imported.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="frontdesk-test-"))
os.environ["FRONTDESK_VAR_DIR"] = str(_VAR)
os.environ["FRONTDESK_SECRET_KEY"] = "test-only-signing-key-0123456789abcdef0123456789"
os.environ.pop("FRONTDESK_DATABASE_URL", None)
os.environ.pop("FRONTDESK_CONFIG", None)

import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from backoffice.app import create_app  # noqa: E402
from backoffice.db import make_engine  # noqa: E402
from backoffice.migrate import upgrade  # noqa: E402
from backoffice.security.crypto import FieldCipher  # noqa: E402
from backoffice.settings import Settings  # noqa: E402
from tests.fixtures.builders import Principals  # noqa: E402

POSTGRES_URL = os.environ.get("FRONTDESK_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("FRONTDESK_TEST_REQUIRE_POSTGRES") == "1"


# Modules of long end-to-end tests (real processes, browsers, Kivy windows) start first, so
# that they are not left to one worker at the end while the other has finished. None of them
# uses the `database` fixture, so moving them does not make a worker set its databases up
# twice.
LONG_MODULES_FIRST = (
    "tests/kiosk/ui/test_touchscreen.py",
    "tests/kiosk/test_end_to_end.py",
    "tests/backoffice/console/test_browser.py",
    "tests/kiosk/test_payment_end_to_end.py",
    "tests/provisioning/test_enrol_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return (
            LONG_MODULES_FIRST.index(path)
            if path in LONG_MODULES_FIRST
            else len(LONG_MODULES_FIRST)
        )

    items.sort(key=rank)  # stable: everything else keeps pytest's order


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine


def _worker() -> str:
    """Names this run's databases: one per xdist worker, and per FRONTDESK_TEST_DB_SUFFIX so
    that runs side by side on one server do not share a database."""
    suffix = os.environ.get("FRONTDESK_TEST_DB_SUFFIX", "")
    return os.environ.get("PYTEST_XDIST_WORKER", "main") + (f"_{suffix}" if suffix else "")


def postgres_admin_engine() -> Engine:
    assert POSTGRES_URL
    return make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")


def fresh_postgres_database(name: str) -> str:
    """Drop and create database `name` on the test server; return its URL."""
    admin = postgres_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name  # type: ignore[union-attr]


def fresh_database_url(backend: str, tmp_path: Path, name: str) -> str:
    """An empty database of the given kind, not migrated."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}"
    _skip_without_postgres()
    return fresh_postgres_database(f"frontdesk_{name}_{_worker()}")


def _skip_without_postgres() -> None:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("FRONTDESK_TEST_POSTGRES_URL is required here but not set")
        pytest.skip("PostgreSQL tests need FRONTDESK_TEST_POSTGRES_URL")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'frontdesk.db'}"
    else:
        _skip_without_postgres()
        url = fresh_postgres_database(f"frontdesk_test_{_worker()}")
    engine = make_engine(url)
    upgrade(engine)
    yield Database(backend, url, engine)
    engine.dispose()


@pytest.fixture
def connection(database: Database) -> Iterator[object]:
    conn = database.engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


def session_on(connection: object) -> Session:
    return Session(
        bind=connection,
        join_transaction_mode="create_savepoint",  # type: ignore[arg-type]
        expire_on_commit=False,
    )


@pytest.fixture
def session(connection: object) -> Iterator[Session]:
    """A session inside the test's transaction, for setting up and checking data."""
    with session_on(connection) as s:
        yield s


@pytest.fixture
def settings() -> Settings:
    return Settings()


def bound_to(app: FastAPI, connection: object) -> FastAPI:
    """Route the app's sessions into the test's transaction."""
    app.state.session_factory = lambda: session_on(connection)
    return app


@pytest.fixture
def app(database: Database, connection: object, settings: Settings) -> FastAPI:
    return bound_to(create_app(settings, engine=database.engine), connection)


@pytest.fixture(scope="module")
def module_app(database: Database) -> FastAPI:
    """One app per test module and database, for modules of many short tests that leave the
    app as they found it (building an app analyses every route: most of a short test's time).
    Such a module overrides `app` with `bound_to(module_app, connection)`."""
    return create_app(Settings(), engine=database.engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def cipher(app: FastAPI) -> FieldCipher:
    return app.state.cipher


@pytest.fixture
def principals(session: Session, app: FastAPI) -> Principals:
    """Signed-in staff of every role and an enrolled kiosk, as request headers."""
    return Principals(session=session, signing_key=app.state.signing_key)
