"""Billing: each 837P batch keeps its file, so any instance can hand it out again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 07:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_batches") as batch_op:
        batch_op.add_column(sa.Column("content", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_batches") as batch_op:
        batch_op.drop_column("content")
