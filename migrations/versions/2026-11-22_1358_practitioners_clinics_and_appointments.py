"""practitioners clinics and appointments

Revision ID: ea2c706f8b63
Revises: 6c86fedc2360
Create Date: 2026-11-22 13:58:57.787074+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "ea2c706f8b63"
down_revision: str | None = "6c86fedc2360"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinic",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("rural", sa.Boolean(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic")),
    )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clinic_created_at"), ["created_at"], unique=False)

    op.create_table(
        "clinic_patient",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_clinic_patient_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinic_patient_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["account.id"], name=op.f("fk_clinic_patient_registered_by_account")
        ),
        sa.PrimaryKeyConstraint("clinic_id", "account_id", name=op.f("pk_clinic_patient")),
    )
    op.create_table(
        "clinic_staff",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_clinic_staff_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinic_staff_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinic_id", "account_id", name=op.f("pk_clinic_staff")),
    )
    op.create_table(
        "practitioner",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_practitioner_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner")),
        sa.UniqueConstraint("account_id", name=op.f("uq_practitioner_account_id")),
    )
    with op.batch_alter_table("practitioner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practitioner_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "availability_window",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_availability_window_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_window")),
    )
    with op.batch_alter_table("availability_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_window_practitioner_id"), ["practitioner_id"], unique=False
        )

    op.create_table(
        "extra_window",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_extra_window_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extra_window")),
    )
    with op.batch_alter_table("extra_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_extra_window_practitioner_id"), ["practitioner_id"], unique=False
        )

    op.create_table(
        "licence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_licence_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence")),
    )
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_licence_practitioner_id"), ["practitioner_id"], unique=False
        )

    op.create_table(
        "time_off",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_time_off_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_time_off_practitioner_id"), ["practitioner_id"], unique=False
        )

    op.create_table(
        "appointment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("patient_account_id", sa.Uuid(), nullable=False),
        sa.Column("dependent_id", sa.Uuid(), nullable=True),
        sa.Column("booked_by", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "patient_jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False
        ),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("referral_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column(
            "preferred_language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.Column("interpreter_needed", sa.Boolean(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("fee_class", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fee_explanation", sa.JSON(), nullable=False),
        sa.Column("bylaws_version", sa.Integer(), nullable=False),
        sa.Column("needs_reschedule", sa.Boolean(), nullable=False),
        sa.Column("late_cancellation", sa.Boolean(), nullable=False),
        sa.Column("status_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("status_changed_by", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booked_by"], ["account.id"], name=op.f("fk_appointment_booked_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_appointment_bylaws_version_bylaws_version"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_appointment_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["dependent_id"],
            ["dependent.id"],
            name=op.f("fk_appointment_dependent_id_dependent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_account_id"],
            ["account.id"],
            name=op.f("fk_appointment_patient_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_appointment_practitioner_id_practitioner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
        sa.UniqueConstraint("booked_by", "idempotency_key", name="uq_appointment_idempotency"),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_appointment_patient_account_id"), ["patient_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointment_practitioner_id"), ["practitioner_id"], unique=False
        )
        batch_op.create_index(
            "uq_appointment_live_start",
            ["practitioner_id", "start"],
            unique=True,
            sqlite_where=sa.text("status IN ('booked', 'arrived', 'fulfilled')"),
            postgresql_where=sa.text("status IN ('booked', 'arrived', 'fulfilled')"),
        )

    op.create_table(
        "appointment_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_account_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_appointment_event_appointment_id_appointment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_event")),
    )
    with op.batch_alter_table("appointment_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_event_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointment_event_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointment_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_event_at"))
        batch_op.drop_index(batch_op.f("ix_appointment_event_appointment_id"))

    op.drop_table("appointment_event")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_appointment_live_start",
            sqlite_where=sa.text("status IN ('booked', 'arrived', 'fulfilled')"),
            postgresql_where=sa.text("status IN ('booked', 'arrived', 'fulfilled')"),
        )
        batch_op.drop_index(batch_op.f("ix_appointment_practitioner_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_patient_account_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_created_at"))
        batch_op.drop_index(batch_op.f("ix_appointment_clinic_id"))

    op.drop_table("appointment")
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_time_off_practitioner_id"))

    op.drop_table("time_off")
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_practitioner_id"))

    op.drop_table("licence")
    with op.batch_alter_table("extra_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extra_window_practitioner_id"))

    op.drop_table("extra_window")
    with op.batch_alter_table("availability_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_window_practitioner_id"))

    op.drop_table("availability_window")
    with op.batch_alter_table("practitioner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practitioner_created_at"))

    op.drop_table("practitioner")
    op.drop_table("clinic_staff")
    op.drop_table("clinic_patient")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_created_at"))

    op.drop_table("clinic")
