"""Staff console: browser sign-ins (staff and lobby displays); the review of card captures
(into which policy, by whom); each kiosk's last reported status.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 01:41:53.245916
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_sessions") as batch_op:
        batch_op.create_index("ix_console_sessions_device_id", ["device_id"])
        batch_op.create_index("ix_console_sessions_user_id", ["user_id"])

    with op.batch_alter_table("card_captures") as batch_op:
        batch_op.add_column(sa.Column("policy_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_card_captures_policy_id", "insurance_policies", ["policy_id"], ["id"]
        )

    with op.batch_alter_table("devices") as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_column("status_at")
        batch_op.drop_column("status")

    with op.batch_alter_table("card_captures") as batch_op:
        batch_op.drop_constraint("fk_card_captures_policy_id", type_="foreignkey")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("policy_id")

    with op.batch_alter_table("console_sessions") as batch_op:
        batch_op.drop_index("ix_console_sessions_user_id")
        batch_op.drop_index("ix_console_sessions_device_id")
    op.drop_table("console_sessions")
