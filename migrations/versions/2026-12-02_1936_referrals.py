"""referrals: a clinic's referral of a registered patient to a specialty, the specialist's
answer in writing or consult and counter-referral, and an event for every change.

Revision ID: 558566d52b58
Revises: 5c1e7a3b9d20
Create Date: 2026-12-02 19:36:50.738891+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "558566d52b58"
down_revision: str | None = "5c1e7a3b9d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("patient_account_id", sa.Uuid(), nullable=False),
        sa.Column("referred_by", sa.Uuid(), nullable=True),
        sa.Column("specialty", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("urgency", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column(
            "clinical_summary", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False
        ),
        sa.Column(
            "diagnostic_impression", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.Column("treatment_given", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "interpreter_language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True
        ),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("decline_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("counter_referral", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_referral_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_referral_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["patient_account_id"],
            ["account.id"],
            name=op.f("fk_referral_patient_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_referral_practitioner_id_practitioner"),
        ),
        sa.ForeignKeyConstraint(
            ["referred_by"],
            ["account.id"],
            name=op.f("fk_referral_referred_by_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_referral_appointment_id")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            "ix_referral_open", ["state", "specialty", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_patient_account_id"), ["patient_account_id"], unique=False
        )

    op.create_table(
        "referral_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_account_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
            name=op.f("fk_referral_event_referral_id_referral"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_event")),
    )
    with op.batch_alter_table("referral_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_event_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referral_event_referral_id"), ["referral_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_event_referral_id"))
        batch_op.drop_index(batch_op.f("ix_referral_event_at"))

    op.drop_table("referral_event")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_patient_account_id"))
        batch_op.drop_index("ix_referral_open")
        batch_op.drop_index(batch_op.f("ix_referral_clinic_id"))

    op.drop_table("referral")
