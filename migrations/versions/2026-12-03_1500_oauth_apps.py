"""oauth apps: the app registry (OAuth2 clients), authorization codes, and which app a sign-in
session and an access-log entry belong to.

`oauth_client` keeps a confidential app's secret only as a keyed hash; `oauth_code` keeps codes
only hashed; `oauth_assertion` the spent `jti`s of `private_key_jwt` assertions (hashed). A
clinic's app (`clinic_id`) acts through its own staff account
(`service_account_id`), made when an admin approves it: never as a member.
`auth_session.client_id` and `access_log.client_id` are plain nullable columns (added with
ALTER TABLE, no table rebuild): None is Tequio's own app, as every row before this.

Revision ID: 4e8a1c7b2d90
Revises: 9c2f7d41a6e3
Create Date: 2026-12-03 15:00:03.482800+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "4e8a1c7b2d90"
down_revision: str | None = "9c2f7d41a6e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("owner_account_id", sa.Uuid(), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("service_account_id", sa.Uuid(), nullable=True),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("secret_set_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('public', 'confidential')", name=op.f("ck_oauth_client_known_kind")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"],
            ["account.id"],
            name=op.f("fk_oauth_client_approved_by_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_account_id"],
            ["account.id"],
            name=op.f("fk_oauth_client_service_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_account_id"],
            ["account.id"],
            name=op.f("fk_oauth_client_owner_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_client")),
    )
    op.create_index(op.f("ix_oauth_client_created_at"), "oauth_client", ["created_at"])
    op.create_index(op.f("ix_oauth_client_owner_account_id"), "oauth_client", ["owner_account_id"])

    op.create_table(
        "oauth_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("code_challenge", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_oauth_code_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.id"],
            name=op.f("fk_oauth_code_client_id_oauth_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oauth_code_code_hash")),
    )
    op.create_index(op.f("ix_oauth_code_client_id"), "oauth_code", ["client_id"])
    op.create_table(
        "oauth_assertion",
        sa.Column("jti_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.id"],
            name=op.f("fk_oauth_assertion_client_id_oauth_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti_hash", name=op.f("pk_oauth_assertion")),
    )
    op.add_column("access_log", sa.Column("client_id", sa.Uuid(), nullable=True))
    op.add_column("auth_session", sa.Column("client_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_auth_session_client_id"), "auth_session", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_session_client_id"), table_name="auth_session")
    op.drop_column("auth_session", "client_id")
    op.drop_column("access_log", "client_id")
    op.drop_table("oauth_assertion")
    op.drop_index(op.f("ix_oauth_code_client_id"), table_name="oauth_code")
    op.drop_table("oauth_code")
    op.drop_index(op.f("ix_oauth_client_owner_account_id"), table_name="oauth_client")
    op.drop_index(op.f("ix_oauth_client_created_at"), table_name="oauth_client")
    op.drop_table("oauth_client")
