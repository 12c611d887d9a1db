"""consult media, consents and recordings

Revision ID: 8164478a53da
Revises: 414606de7ac0
Create Date: 2026-11-30 10:06:19.516093+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8164478a53da"
down_revision: str | None = "414606de7ac0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consult_participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    op.create_table(
        "consult_recording",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_consult_recording_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_recording")),
    )
    with op.batch_alter_table("consult_recording", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consult_recording_appointment_id"), ["appointment_id"], unique=False
        )

    op.create_table(
        "consult_room",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("relay_owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("relay_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recording_requested_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_consult_room_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_consult_room")),
    )
    op.create_table(
        "recording_consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_recording_consent_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_recording_consent_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_consent")),
    )
    with op.batch_alter_table("recording_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_consent_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            "uq_recording_consent_standing",
            ["appointment_id", "account_id"],
            unique=True,
            sqlite_where=sa.text("withdrawn_at IS NULL"),
            postgresql_where=sa.text("withdrawn_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("consult_participant", schema=None) as batch_op:
        batch_op.drop_column("connection")
    with op.batch_alter_table("recording_consent", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recording_consent_standing",
            sqlite_where=sa.text("withdrawn_at IS NULL"),
            postgresql_where=sa.text("withdrawn_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_recording_consent_appointment_id"))

    op.drop_table("recording_consent")
    op.drop_table("consult_room")
    with op.batch_alter_table("consult_recording", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_recording_appointment_id"))

    op.drop_table("consult_recording")
