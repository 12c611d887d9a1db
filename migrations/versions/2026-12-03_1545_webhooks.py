"""webhooks: an app's endpoints (their Standard Webhooks secrets), one delivery per event and
endpoint (unique idempotency key: never two rows for one event at one endpoint), and each
attempt at a delivery (the delivery log).

Revision ID: 7d3b5e9a1c42
Revises: 4e8a1c7b2d90
Create Date: 2026-12-03 15:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7d3b5e9a1c42"
down_revision: str | None = "4e8a1c7b2d90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("url", _text(500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", _text(200), nullable=True),
        sa.Column("secret", _text(100), nullable=False),
        sa.Column("previous_secret", _text(100), nullable=True),
        sa.Column("previous_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", _text(200), nullable=True),
        sa.Column("consecutive_dead", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.id"],
            name=op.f("fk_webhook_endpoint_client_id_oauth_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index(
        op.f("ix_webhook_endpoint_client_id"), "webhook_endpoint", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_endpoint_created_at"), "webhook_endpoint", ["created_at"], unique=False
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", _text(64), nullable=False),
        sa.Column("event_type", _text(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", _text(200), nullable=False),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", _text(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replay_pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("idempotency_key", name="uq_webhook_delivery_idempotency_key"),
    )
    op.create_index(
        "ix_webhook_delivery_due", "webhook_delivery", ["state", "next_attempt_at"], unique=False
    )
    op.create_index(
        "ix_webhook_delivery_endpoint",
        "webhook_delivery",
        ["endpoint_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", _text(300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("replay", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_delivery.id"],
            name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index(
        op.f("ix_webhook_attempt_delivery_id"), "webhook_attempt", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_attempt_delivery_id"), table_name="webhook_attempt")
    op.drop_table("webhook_attempt")
    op.drop_index("ix_webhook_delivery_endpoint", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_webhook_endpoint_created_at"), table_name="webhook_endpoint")
    op.drop_index(op.f("ix_webhook_endpoint_client_id"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
