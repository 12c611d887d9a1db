"""clinical record: consents to remote care, the doctor's notes (signed ones frozen by the
database itself: a trigger refuses an UPDATE or DELETE of a signed note), the events a consult
room learns for the encounter, and the reason an admin gave for a read in the access log.

Revision ID: fb7a779ff359
Revises: 9e2d4b6a1f38
Create Date: 2026-12-02 19:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "fb7a779ff359"
down_revision: str | None = "9e2d4b6a1f38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES = "clinical_note"
REFUSAL = "a signed clinical note is immutable: write an addendum"


def upgrade() -> None:
    op.create_table(
        "telehealth_consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("patient_account_id", sa.Uuid(), nullable=False),
        sa.Column("dependent_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("text_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("given_by", sa.Uuid(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dependent_id"],
            ["dependent.id"],
            name=op.f("fk_telehealth_consent_dependent_id_dependent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["given_by"],
            ["account.id"],
            name=op.f("fk_telehealth_consent_given_by_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_account_id"],
            ["account.id"],
            name=op.f("fk_telehealth_consent_patient_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telehealth_consent")),
        sa.UniqueConstraint("subject_id", "version", name="uq_telehealth_consent_version"),
    )
    with op.batch_alter_table("telehealth_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telehealth_consent_patient_account_id"),
            ["patient_account_id"],
            unique=False,
        )

    op.create_table(
        "clinical_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("addendum_to", sa.Uuid(), nullable=True),
        sa.Column("patient_account_id", sa.Uuid(), nullable=False),
        sa.Column("dependent_id", sa.Uuid(), nullable=True),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signer_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("signer_licence", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("signer_jurisdiction", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["addendum_to"],
            ["clinical_note.id"],
            name=op.f("fk_clinical_note_addendum_to_clinical_note"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_clinical_note_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_account_id"],
            ["account.id"],
            name=op.f("fk_clinical_note_patient_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_clinical_note_practitioner_id_practitioner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_note")),
    )
    with op.batch_alter_table("clinical_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinical_note_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_clinical_note_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_clinical_note_patient_account_id"), ["patient_account_id"], unique=False
        )
        batch_op.create_index(
            "uq_clinical_note_one_per_consult",
            ["appointment_id"],
            unique=True,
            sqlite_where=sa.text("addendum_to IS NULL"),
            postgresql_where=sa.text("addendum_to IS NULL"),
        )

    # A signed note (or addendum) is never changed or deleted, whoever asks.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION clinical_note_signed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF OLD.signed_at IS NOT NULL THEN RAISE EXCEPTION '{REFUSAL}'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {NOTES}_signed BEFORE UPDATE OR DELETE ON {NOTES} "
            "FOR EACH ROW EXECUTE FUNCTION clinical_note_signed()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {NOTES}_signed_{event.lower()} BEFORE {event} ON {NOTES} "
                f"WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )

    op.create_table(
        "consult_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_consult_event_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_event")),
    )
    with op.batch_alter_table("consult_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consult_event_appointment_id"), ["appointment_id"], unique=False
        )

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("reason")

    with op.batch_alter_table("consult_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_event_appointment_id"))

    op.drop_table("consult_event")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {NOTES}_signed ON {NOTES}")
        op.execute("DROP FUNCTION clinical_note_signed()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER {NOTES}_signed_{event}")
    with op.batch_alter_table("clinical_note", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_clinical_note_one_per_consult",
            sqlite_where=sa.text("addendum_to IS NULL"),
            postgresql_where=sa.text("addendum_to IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_clinical_note_patient_account_id"))
        batch_op.drop_index(batch_op.f("ix_clinical_note_created_at"))
        batch_op.drop_index(batch_op.f("ix_clinical_note_appointment_id"))

    op.drop_table("clinical_note")
    with op.batch_alter_table("telehealth_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telehealth_consent_patient_account_id"))

    op.drop_table("telehealth_consent")
