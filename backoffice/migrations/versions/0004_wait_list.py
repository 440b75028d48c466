"""Wait list and the domain-event outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 20:54:00.142366
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "domain_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_domain_events_unpublished", ["published_at", "created_at"], unique=False
        )

    op.create_table(
        "wait_list_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("earliest", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("offered_provider_id", sa.Uuid(), nullable=True),
        sa.Column("offered_location_id", sa.Uuid(), nullable=True),
        sa.Column("offered_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("passed_over", sa.JSON(), nullable=False),
        sa.Column("booked_appointment_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
        ),
        sa.ForeignKeyConstraint(
            ["booked_appointment_id"],
            ["appointments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["offered_location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["offered_provider_id"],
            ["providers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("wait_list_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wait_list_entries_match", ["status", "appointment_type_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wait_list_entries_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wait_list_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wait_list_entries_patient_id"))
        batch_op.drop_index("ix_wait_list_entries_match")

    op.drop_table("wait_list_entries")
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_index("ix_domain_events_unpublished")

    op.drop_table("domain_events")
