"""enumeration and invitations: pending CURP claims, household invitations, clinic registrations

Pending household invitations move out of `household_member` (where a member could be in only
one row, so an invitation blocked joining any other household) into `household_invitation`.
Clinic registrations not yet accepted move out of `clinic_patient` into `clinic_registration`,
which keeps a keyed hash of the contact staff gave instead of an account. A CURP already on file
with another membership waits in `member.curp_pending` for an admin.

Downgrading puts back what the old tables can hold: one pending invitation per member not
covered by a household, and the registrations made for a known account; the rest is dropped.

Revision ID: a11c0de00004
Revises: a11c0de00001
Create Date: 2026-12-02 09:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a11c0de00004"
down_revision: str | None = "a11c0de00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


MEMBER_COLUMNS = ("curp_pending", "curp_reviewed_at", "curp_reviewed_by")


def _new_id() -> str:
    """A new uuid in SQL, stored the way sa.Uuid stores it on each database."""
    if op.get_bind().dialect.name == "postgresql":
        return "gen_random_uuid()"  # built in since PostgreSQL 13
    return "lower(hex(randomblob(16)))"


def upgrade() -> None:
    op.create_table(
        "clinic_registration",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("contact_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("registered_by", sa.Uuid(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "contact_hash IS NOT NULL OR account_id IS NOT NULL",
            name=op.f("ck_clinic_registration_has_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_clinic_registration_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinic_registration_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"],
            ["account.id"],
            name=op.f("fk_clinic_registration_registered_by_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_registration")),
        sa.UniqueConstraint("clinic_id", "contact_hash", name="uq_clinic_registration_contact"),
    )
    with op.batch_alter_table("clinic_registration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinic_registration_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_clinic_registration_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_clinic_registration_contact_hash"), ["contact_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_clinic_registration_registered_at"), ["registered_at"], unique=False
        )

    op.create_table(
        "household_invitation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_invitation_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["account.id"],
            name=op.f("fk_household_invitation_invited_by_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_household_invitation_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_invitation")),
    )
    with op.batch_alter_table("household_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_invitation_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_household_invitation_invited_at"), ["invited_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_household_invitation_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "uq_household_invitation_pending",
            ["household_id", "member_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("curp_pending", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True)
        )
        batch_op.add_column(
            sa.Column("curp_reviewed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("curp_reviewed_by", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_member_curp_pending"), ["curp_pending"], unique=False)

    op.execute(
        "INSERT INTO household_invitation "  # noqa: S608  (no input: constants only)
        "(id, household_id, member_id, invited_by, status, invited_at, answered_at) "
        f"SELECT {_new_id()}, household_id, member_id, NULL, 'pending', joined_at, NULL "
        "FROM household_member WHERE accepted_at IS NULL"
    )
    op.execute("DELETE FROM household_member WHERE accepted_at IS NULL")
    op.execute(
        "INSERT INTO clinic_registration "  # noqa: S608  (no input: constants only)
        "(id, clinic_id, contact_hash, account_id, registered_by, registered_at) "
        f"SELECT {_new_id()}, clinic_id, NULL, account_id, registered_by, registered_at "
        "FROM clinic_patient WHERE accepted_at IS NULL"
    )
    op.execute("DELETE FROM clinic_patient WHERE accepted_at IS NULL")


def downgrade() -> None:
    op.execute(
        "INSERT INTO clinic_patient (clinic_id, account_id, registered_by, registered_at, "
        "accepted_at) "
        "SELECT clinic_id, account_id, registered_by, registered_at, NULL "
        "FROM clinic_registration r WHERE account_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM clinic_patient p "
        "WHERE p.clinic_id = r.clinic_id AND p.account_id = r.account_id)"
    )
    op.execute(
        "INSERT INTO household_member (household_id, member_id, joined_at, accepted_at) "
        "SELECT household_id, member_id, invited_at, NULL FROM household_invitation i "
        "WHERE status = 'pending' "
        "AND NOT EXISTS (SELECT 1 FROM household_member m WHERE m.member_id = i.member_id) "
        "AND i.id = (SELECT j.id FROM household_invitation j "
        "WHERE j.member_id = i.member_id AND j.status = 'pending' "
        "ORDER BY j.invited_at, j.id LIMIT 1)"
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_curp_pending"))
    # plain ALTER TABLE (SQLite 3.35+), not a batch copy: on SQLite a copy of `member` would
    # drop the original table, and with foreign keys on that cascades to its dependants
    for column in MEMBER_COLUMNS:
        op.execute(f"ALTER TABLE member DROP COLUMN {column}")

    with op.batch_alter_table("household_invitation", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_household_invitation_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_household_invitation_member_id"))
        batch_op.drop_index(batch_op.f("ix_household_invitation_invited_at"))
        batch_op.drop_index(batch_op.f("ix_household_invitation_household_id"))

    op.drop_table("household_invitation")
    with op.batch_alter_table("clinic_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_registration_registered_at"))
        batch_op.drop_index(batch_op.f("ix_clinic_registration_contact_hash"))
        batch_op.drop_index(batch_op.f("ix_clinic_registration_clinic_id"))
        batch_op.drop_index(batch_op.f("ix_clinic_registration_account_id"))

    op.drop_table("clinic_registration")
