"""practitioner windows: extra windows record when they were added, so a doctor can list them

Revision ID: a11c0de00003
Revises: 3558cb304d53
Create Date: 2026-12-02 09:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a11c0de00003"
down_revision: str | None = "3558cb304d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("extra_window", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    # windows added before this revision: as if added now (their order among themselves is lost)
    op.execute(sa.text("UPDATE extra_window SET created_at = CURRENT_TIMESTAMP"))
    with op.batch_alter_table("extra_window", schema=None) as batch_op:
        batch_op.alter_column(
            "created_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("extra_window", schema=None) as batch_op:
        batch_op.drop_column("created_at")
