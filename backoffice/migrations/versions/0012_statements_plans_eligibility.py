"""Billing: payment plans with their instalments, and eligibility checks (270/271) with
what each found.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 06:20:05.645513
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("instalment_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_plans") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_plans_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("trace_number", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("plan_name", sa.String(length=120), nullable=True),
        sa.Column("copay_cents", sa.Integer(), nullable=True),
        sa.Column("coinsurance_basis_points", sa.Integer(), nullable=True),
        sa.Column("deductible_remaining_cents", sa.Integer(), nullable=True),
        sa.Column("copay_updated", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["insurance_policies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("eligibility_checks") as batch_op:
        batch_op.create_index(
            "ix_eligibility_checks_policy", ["policy_id", "checked_at"], unique=False
        )

    op.create_table(
        "payment_plan_instalments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("paid_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["payment_plans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "number"),
    )
    with op.batch_alter_table("payment_plan_instalments") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_plan_instalments_plan_id"), ["plan_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_plan_instalments") as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_plan_instalments_plan_id"))

    op.drop_table("payment_plan_instalments")
    with op.batch_alter_table("eligibility_checks") as batch_op:
        batch_op.drop_index("ix_eligibility_checks_policy")

    op.drop_table("eligibility_checks")
    with op.batch_alter_table("payment_plans") as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_plans_patient_id"))

    op.drop_table("payment_plans")
