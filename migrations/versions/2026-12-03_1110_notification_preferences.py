"""notification preferences: a member's channels with their opt-ins (and when), language, quiet
hours and consent to the household's sponsor receiving their consult reminders
(`cooperative.notifications.preferences`).

Revision ID: 7c2f9e4a1b58
Revises: 4e8a1c6b2d73
Create Date: 2026-12-03 11:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7c2f9e4a1b58"
down_revision: str | None = "4e8a1c6b2d73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "notification_preference",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("email_opted_in", sa.Boolean(), nullable=False),
        _moment("email_opted_in_at"),
        _moment("email_opted_out_at"),
        sa.Column("sms_opted_in", sa.Boolean(), nullable=False),
        _moment("sms_opted_in_at"),
        _moment("sms_opted_out_at"),
        sa.Column("whatsapp_opted_in", sa.Boolean(), nullable=False),
        _moment("whatsapp_opted_in_at"),
        _moment("whatsapp_opted_out_at"),
        sa.Column("channel_order", sa.JSON(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("sponsor_reminders", sa.Boolean(), nullable=False),
        _moment("sponsor_consented_at"),
        _moment("sponsor_withdrawn_at"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_notification_preference_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_notification_preference")),
    )


def downgrade() -> None:
    op.drop_table("notification_preference")
