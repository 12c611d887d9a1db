"""one-time codes: verified contacts, the codes themselves (hashed), and a message's own address.

Accounts get `email_verified_at` and `phone_verified_at`. Every account that exists before this
revision predates verification: its contacts are taken as verified (at the account's creation),
so nobody already signed up, and no demo account, is locked out of booking or voting. From now
on a self sign-up is unverified until its owner types the code sent to the contact.

`one_time_code` keeps each code as a keyed hash (HMAC-SHA256 with the server's secret), never
in clear. `outbox_message.address` lets a message go to an address that is not (yet) the
account's, such as the new phone of a contact change.

Revision ID: 9c2f7d41a6e3
Revises: 7d3f0a9c2b51
Create Date: 2026-12-03 11:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9c2f7d41a6e3"
down_revision: str | None = "7d3f0a9c2b51"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account", sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    op.add_column("account", sa.Column("phone_verified_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE account SET email_verified_at = created_at WHERE email IS NOT NULL")
    op.execute("UPDATE account SET phone_verified_at = created_at WHERE phone IS NOT NULL")
    op.add_column(
        "outbox_message",
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    )
    op.create_table(
        "one_time_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_one_time_code_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_code")),
    )
    op.create_index(
        "ix_one_time_code_account",
        "one_time_code",
        ["account_id", "purpose", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_one_time_code_account", table_name="one_time_code")
    op.drop_table("one_time_code")
    # plain ALTER TABLE (SQLite 3.35+), not a batch copy: on SQLite a copy of `account` would
    # drop the original table, and with foreign keys on that cascades to its dependants
    op.execute("ALTER TABLE outbox_message DROP COLUMN address")
    op.execute("ALTER TABLE account DROP COLUMN phone_verified_at")
    op.execute("ALTER TABLE account DROP COLUMN email_verified_at")
