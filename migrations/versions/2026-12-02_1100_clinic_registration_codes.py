"""clinic registration codes: a patient accepts a clinic's registration with the one-time code
its staff give them (registrations made before have none: staff register those again)

Revision ID: bc6eb90432ec
Revises: a11c0de00002
Create Date: 2026-12-02 09:43:52.692902+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "bc6eb90432ec"
down_revision: str | None = "a11c0de00002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic_registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic_registration", schema=None) as batch_op:
        batch_op.drop_column("failed_attempts")
        batch_op.drop_column("code_expires_at")
        batch_op.drop_column("code_hash")
