"""Migrations on both databases: empty to head, agreement with the models, and back down."""

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import backoffice.models_registry  # noqa: F401  (every table, so the metadata is complete)
from backoffice.audit.service import GENESIS_HASH
from backoffice.db import make_engine
from backoffice.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.conftest import fresh_database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    engine = make_engine(fresh_database_url(request.param, tmp_path, "migrations"))
    yield engine
    engine.dispose()


def _downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_takes_an_empty_database_to_head(empty_engine):
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_migrated_schema_matches_the_models(empty_engine):
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_starts_the_audit_chain_at_the_genesis_hash(empty_engine):
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows = connection.execute(text("SELECT id, seq, hash FROM audit_chain_head")).all()
    assert [tuple(r) for r in rows] == [(1, 0, GENESIS_HASH)]


def test_downgrade_to_base_removes_every_table(empty_engine):
    upgrade(empty_engine)
    _downgrade(empty_engine)
    assert _tables(empty_engine) == {"alembic_version"}
    assert current_revision(empty_engine) is None


def test_upgrade_after_a_downgrade_rebuilds_the_schema(empty_engine):
    upgrade(empty_engine)
    expected = _tables(empty_engine)
    _downgrade(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _tables(empty_engine) == expected


def test_upgrade_after_a_downgrade_restores_the_append_only_guard(empty_engine):
    upgrade(empty_engine)
    _downgrade(empty_engine)
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (id, seq, occurred_at, actor_kind, actor_name, action,"
                " outcome, detail, prev_hash, hash) VALUES ('00000000000000000000000000000001',"
                " 1, '2026-01-01 00:00:00', 'system', 'system', 'test.event', 'success', '{}',"
                " :h, :h)"
            ),
            {"h": GENESIS_HASH},
        )
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))


def test_upgrading_twice_changes_nothing(empty_engine):
    upgrade(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
