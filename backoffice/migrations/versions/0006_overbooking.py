"""Overbooking: a provider's no-show threshold for a second booking in a slot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overbook_threshold", sa.Numeric(precision=4, scale=3), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("overbook_threshold")
