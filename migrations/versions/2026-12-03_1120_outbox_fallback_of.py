"""outbox fallback_of: an SMS sent because a WhatsApp message failed names the message it
stands in for, so the member's list shows why a second message came.

Revision ID: 7d3f0a9c2b51
Revises: 7c2f9e4a1b58
Create Date: 2026-12-03 11:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3f0a9c2b51"
down_revision: str | None = "7c2f9e4a1b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_message", sa.Column("fallback_of", sa.Uuid(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both databases (SQLite since 3.35): no batch rebuild
    op.execute("ALTER TABLE outbox_message DROP COLUMN fallback_of")
