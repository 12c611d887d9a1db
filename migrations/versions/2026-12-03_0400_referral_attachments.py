"""referral attachments: an attachment belongs to a consult or to a referral (a real foreign
key each, and a check that exactly one is set), so a clinic sends the lab results with the
referral and the specialist who accepts it reads them.

SQLite cannot add a foreign key or a check to a table: batch mode rebuilds `attachment` (copy,
drop, rename); no table points at it, so the rebuild keeps every row as it was. Every existing
attachment is a consult's, so the check holds for them all.

Revision ID: 3f0b2c7d9e41
Revises: 558566d52b58
Create Date: 2026-12-03 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "3f0b2c7d9e41"
down_revision: str | None = "558566d52b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_OWNER = (
    "(appointment_id IS NULL AND referral_id IS NOT NULL)"
    " OR (appointment_id IS NOT NULL AND referral_id IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_attachment_referral_id_referral"),
            "referral",
            ["referral_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            "ix_attachment_referral_created", ["referral_id", "created_at"], unique=False
        )
        batch_op.create_check_constraint("one_owner", ONE_OWNER)


def downgrade() -> None:
    # The older schema knows only consults' attachments: a referral's are dropped (their bytes
    # stay in the store, unreachable).
    op.execute("DELETE FROM attachment WHERE referral_id IS NOT NULL")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_attachment_one_owner"), type_="check")
        batch_op.drop_index("ix_attachment_referral_created")
        batch_op.drop_constraint(
            batch_op.f("fk_attachment_referral_id_referral"), type_="foreignkey"
        )
        batch_op.drop_column("referral_id")
