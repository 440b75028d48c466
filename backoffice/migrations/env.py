"""Alembic environment: the URL comes from the caller (`frontdesk db upgrade`) or settings."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from backoffice import models_registry  # noqa: F401  (imports every table)
from backoffice.db import make_engine
from backoffice.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
