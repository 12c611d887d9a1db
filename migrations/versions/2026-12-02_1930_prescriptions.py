"""prescriptions: the receta a consult's treating doctor issues, immutable once issued (the
database refuses any change but its revocation and verification count, and its deletion); and
the specialty cédula on a doctor's Mexican licence

Revision ID: 5c1e7a3b9d20
Revises: 7a3c9e15d2b8
Create Date: 2026-12-02 19:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5c1e7a3b9d20"
down_revision: str | None = "7a3c9e15d2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What may change once a prescription is issued: its revocation (once) and its verifications.
CHANGING = (
    "revoked_at",
    "revoked_by",
    "revocation_reason",
    "verification_count",
    "last_verified_at",
)
REVOCATION = CHANGING[:3]
FIXED = (
    "id",
    "code",
    "appointment_id",
    "practitioner_id",
    "patient_account_id",
    "dependent_id",
    "issued_by",
    "issued_at",
    "issued_on",
    "prescriber_name",
    "prescriber_cedula",
    "prescriber_specialty",
    "prescriber_specialty_cedula",
    "institution_name",
    "institution_address",
    "patient_name",
    "language",
    "lines",
    "indications",
    "digest",
)
REFUSAL = "an issued prescription is immutable: only its revocation and verifications change"


def _changed(postgresql: bool) -> str:
    """The SQL condition of a forbidden update (NULL-safe on both databases; JSON compared as
    text, PostgreSQL's json having no equality)."""
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"

    def column(name: str, row: str) -> str:
        return f"{row}.{name}::text" if postgresql and name == "lines" else f"{row}.{name}"

    fixed = [f"{column(c, 'NEW')} {differs} {column(c, 'OLD')}" for c in FIXED]
    revocation = " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in REVOCATION)
    return " OR ".join(
        [
            *fixed,
            f"(OLD.revoked_at IS NOT NULL AND ({revocation}))",
            "NEW.verification_count < OLD.verification_count",
        ]
    )


def upgrade() -> None:
    op.create_table(
        "prescription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("patient_account_id", sa.Uuid(), nullable=False),
        sa.Column("dependent_id", sa.Uuid(), nullable=True),
        sa.Column("issued_by", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("prescriber_name", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("prescriber_cedula", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "prescriber_specialty", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True
        ),
        sa.Column(
            "prescriber_specialty_cedula",
            sqlmodel.sql.sqltypes.AutoString(length=40),
            nullable=True,
        ),
        sa.Column("institution_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "institution_address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False
        ),
        sa.Column("patient_name", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("indications", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("revocation_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("verification_count", sa.BigInteger(), nullable=False),
        sa.Column("last_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_prescription_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["dependent_id"],
            ["dependent.id"],
            name=op.f("fk_prescription_dependent_id_dependent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["account.id"], name=op.f("fk_prescription_issued_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["patient_account_id"],
            ["account.id"],
            name=op.f("fk_prescription_patient_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_prescription_practitioner_id_practitioner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription")),
        sa.UniqueConstraint("code", name=op.f("uq_prescription_code")),
    )
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescription_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_prescription_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_prescription_patient_account_id"), ["patient_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prescription_practitioner_id"), ["practitioner_id"], unique=False
        )

    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "specialty_cedula", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True
            )
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION prescription_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' OR {_changed(True)} THEN "
            f"RAISE EXCEPTION '{REFUSAL}'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER prescription_unchanged BEFORE UPDATE OR DELETE ON prescription "
            "FOR EACH ROW EXECUTE FUNCTION prescription_unchanged()"
        )
    else:
        op.execute(
            "CREATE TRIGGER prescription_unchanged BEFORE UPDATE ON prescription "
            f"WHEN {_changed(False)} BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )
        op.execute(
            "CREATE TRIGGER prescription_delete_refused BEFORE DELETE ON prescription "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER prescription_unchanged ON prescription")
        op.execute("DROP FUNCTION prescription_unchanged()")
    else:
        op.execute("DROP TRIGGER prescription_unchanged")
        op.execute("DROP TRIGGER prescription_delete_refused")
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_column("specialty_cedula")

    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_practitioner_id"))
        batch_op.drop_index(batch_op.f("ix_prescription_patient_account_id"))
        batch_op.drop_index(batch_op.f("ix_prescription_issued_at"))
        batch_op.drop_index(batch_op.f("ix_prescription_appointment_id"))

    op.drop_table("prescription")
