"""consult rooms and pre-call checks

Revision ID: 414606de7ac0
Revises: ea2c706f8b63
Create Date: 2026-11-22 14:52:00.481926+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "414606de7ac0"
down_revision: str | None = "ea2c706f8b63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "precheck_result",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("round_trip_ms", sa.Float(), nullable=True),
        sa.Column("packet_loss_pct", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("received_kbps", sa.Float(), nullable=True),
        sa.Column("relayed", sa.Boolean(), nullable=True),
        sa.Column("video_ok", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_precheck_result_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_precheck_result_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_precheck_result")),
    )
    with op.batch_alter_table("precheck_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_precheck_result_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_precheck_result_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_precheck_result_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "consult_participant",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_consult_participant_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_consult_participant_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "appointment_id", "account_id", name=op.f("pk_consult_participant")
        ),
    )
    op.create_table(
        "signal_memo",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("to_account_id", sa.Uuid(), nullable=False),
        sa.Column("from_account_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_signal_memo_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "appointment_id",
            "to_account_id",
            "from_account_id",
            "kind",
            name=op.f("pk_signal_memo"),
        ),
    )


def downgrade() -> None:
    op.drop_table("signal_memo")
    op.drop_table("consult_participant")
    with op.batch_alter_table("precheck_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_precheck_result_created_at"))
        batch_op.drop_index(batch_op.f("ix_precheck_result_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_precheck_result_account_id"))

    op.drop_table("precheck_result")
