"""Kiosk enrolment: one-time enrolment codes; each kiosk's public key, credential history
(rotations, the token it replaced) and the configuration an admin set for it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 04:34:34.633129
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("payment_reader_id", sa.String(length=80), nullable=True),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("device_name", sa.String(length=80), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("expires_at", MOMENT, nullable=False),
        sa.Column("used_at", MOMENT, nullable=True),
        sa.Column("used_by_device_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["staff_users.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["used_by_device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    with op.batch_alter_table("devices") as batch_op:
        batch_op.add_column(sa.Column("public_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hostname", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("enrolled_at", MOMENT, nullable=True))
        batch_op.add_column(sa.Column("credential_rotated_at", MOMENT, nullable=True))
        batch_op.add_column(sa.Column("rotation_requested_at", MOMENT, nullable=True))
        batch_op.add_column(sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_token_until", MOMENT, nullable=True))
        batch_op.add_column(sa.Column("previous_public_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("challenge_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("challenge_expires_at", MOMENT, nullable=True))
        batch_op.add_column(
            sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.create_index("ix_devices_previous_token_hash", ["previous_token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_index("ix_devices_previous_token_hash")
        for column in (
            "settings",
            "challenge_expires_at",
            "challenge_hash",
            "previous_public_key",
            "previous_token_until",
            "previous_token_hash",
            "rotation_requested_at",
            "credential_rotated_at",
            "enrolled_at",
            "hostname",
            "public_key",
        ):
            batch_op.drop_column(column)
    op.drop_table("enrollment_codes")
