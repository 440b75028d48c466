"""Scheduling: appointment types, weekly templates, exceptions, appointments, history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:32:50.493135
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Two live appointments of one provider may not overlap (buffers included) in one lane:
# the database, not a read-then-write check, is what rules out a double booking.
_PG_NO_DOUBLE_BOOKING = """
ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
  EXCLUDE USING gist (
    provider_id WITH =,
    lane WITH =,
    tstzrange(blocked_start, blocked_end, '[)') WITH &&
  ) WHERE (status IN ('scheduled', 'confirmed', 'arrived', 'roomed', 'in_progress'))
"""


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointment_types",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "appointment_type_providers",
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.PrimaryKeyConstraint("appointment_type_id", "provider_id"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("series_id", sa.Uuid(), nullable=True),
        sa.Column("rescheduled_to_id", sa.Uuid(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["rescheduled_to_id"],
            ["appointments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_location_day", ["location_id", "starts_at"], unique=False
        )
        batch_op.create_index("ix_appointments_patient", ["patient_id", "starts_at"], unique=False)
        batch_op.create_index(
            "ix_appointments_provider_span",
            ["provider_id", "blocked_start", "blocked_end"],
            unique=False,
        )
        batch_op.create_index("ix_appointments_series", ["series_id"], unique=False)

    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_schedule_exceptions_span", ["starts_at", "ends_at"], unique=False)

    op.create_table(
        "schedule_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("breaks", sa.JSON(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("expiration_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedule_rules_provider", ["provider_id", "weekday"], unique=False
        )

    op.create_table(
        "appointment_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("undoes", sa.Integer(), nullable=True),
        sa.Column("new_appointment_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointment_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_changes_appointment", ["appointment_id", "seq"], unique=True
        )

    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_per_day", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("not_back_to_back", sa.JSON(), server_default="[]", nullable=False)
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(_PG_NO_DOUBLE_BOOKING)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("not_back_to_back")
        batch_op.drop_column("max_per_day")

    with op.batch_alter_table("appointment_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_changes_appointment")

    op.drop_table("appointment_changes")
    with op.batch_alter_table("schedule_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_rules_provider")

    op.drop_table("schedule_rules")
    with op.batch_alter_table("schedule_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_exceptions_span")

    op.drop_table("schedule_exceptions")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_series")
        batch_op.drop_index("ix_appointments_provider_span")
        batch_op.drop_index("ix_appointments_patient")
        batch_op.drop_index("ix_appointments_location_day")

    op.drop_table("appointments")
    op.drop_table("appointment_type_providers")
    op.drop_table("appointment_types")
