"""Billing: the payer directory and fee schedules, charges and their lines, claims and the
837P batches that carried them, remittances with what they posted, and the denial worklist.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 05:44:06.739310
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("interchange_control_number", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interchange_control_number"),
    )
    op.create_table(
        "payers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payer_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("eligibility_supported", sa.Boolean(), nullable=False),
        sa.Column("timely_filing_days", sa.Integer(), nullable=False),
        sa.Column("filing_indicator", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payer_id"),
    )
    op.create_table(
        "remittances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("trace_number", sa.String(length=50), nullable=False),
        sa.Column("payer_name", sa.String(length=120), nullable=False),
        sa.Column("payer_identifier", sa.String(length=20), nullable=True),
        sa.Column("payment_cents", sa.Integer(), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("imported_by", sa.String(length=80), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("remittances") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remittances_file_sha256"), ["file_sha256"], unique=False
        )

    op.create_table(
        "fee_schedule_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payer_key", sa.Uuid(), nullable=True),
        sa.Column("procedure_code", sa.String(length=5), nullable=False),
        sa.Column("modifier", sa.String(length=2), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["payer_key"],
            ["payers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payer_key", "procedure_code", "modifier", "effective_from"),
    )
    with op.batch_alter_table("fee_schedule_entries") as batch_op:
        batch_op.create_index(
            "ix_fee_schedule_code", ["procedure_code", "effective_from"], unique=False
        )

    op.create_table(
        "charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
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
            ["reviewed_by"],
            ["staff_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
    )
    with op.batch_alter_table("charges") as batch_op:
        batch_op.create_index(batch_op.f("ix_charges_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "charge_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(length=5), nullable=False),
        sa.Column("modifiers", sa.JSON(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("diagnosis_pointers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["charges.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("charge_id", "line_number"),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("payer_key", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.String(length=10), nullable=False),
        sa.Column("patient_control_number", sa.String(length=20), nullable=False),
        sa.Column("frequency_code", sa.String(length=1), nullable=False),
        sa.Column("replaces_claim_id", sa.Uuid(), nullable=True),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("paid_cents", sa.Integer(), nullable=False),
        sa.Column("adjusted_cents", sa.Integer(), nullable=False),
        sa.Column("patient_responsibility_cents", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["claim_batches.id"],
        ),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["charges.id"],
        ),
        sa.ForeignKeyConstraint(
            ["payer_key"],
            ["payers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["insurance_policies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["replaces_claim_id"],
            ["claims.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_control_number"),
    )
    with op.batch_alter_table("claims") as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index("ix_claims_status", ["status", "created_at"], unique=False)

    op.create_table(
        "denials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("remittance_id", sa.Uuid(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("remarks", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("denials") as batch_op:
        batch_op.create_index(batch_op.f("ix_denials_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index("ix_denials_status", ["status", "created_at"], unique=False)

    op.create_table(
        "remittance_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("remittance_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("patient_control_number", sa.String(length=38), nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("group_code", sa.String(length=2), nullable=True),
        sa.Column("reason", sa.String(length=5), nullable=True),
        sa.Column("note", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("remittance_entries") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remittance_entries_claim_id"), ["claim_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_remittance_entries_remittance_id"), ["remittance_id"], unique=False
        )

    op.create_table(
        "denial_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("denial_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["denial_id"],
            ["denials.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("denial_notes") as batch_op:
        batch_op.create_index(batch_op.f("ix_denial_notes_denial_id"), ["denial_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("denial_notes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_denial_notes_denial_id"))

    op.drop_table("denial_notes")
    with op.batch_alter_table("remittance_entries") as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittance_entries_remittance_id"))
        batch_op.drop_index(batch_op.f("ix_remittance_entries_claim_id"))

    op.drop_table("remittance_entries")
    with op.batch_alter_table("denials") as batch_op:
        batch_op.drop_index("ix_denials_status")
        batch_op.drop_index(batch_op.f("ix_denials_claim_id"))

    op.drop_table("denials")
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_index("ix_claims_status")
        batch_op.drop_index(batch_op.f("ix_claims_charge_id"))

    op.drop_table("claims")
    op.drop_table("charge_lines")
    with op.batch_alter_table("charges") as batch_op:
        batch_op.drop_index(batch_op.f("ix_charges_patient_id"))

    op.drop_table("charges")
    with op.batch_alter_table("fee_schedule_entries") as batch_op:
        batch_op.drop_index("ix_fee_schedule_code")

    op.drop_table("fee_schedule_entries")
    with op.batch_alter_table("remittances") as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittances_file_sha256"))

    op.drop_table("remittances")
    op.drop_table("payers")
    op.drop_table("claim_batches")
