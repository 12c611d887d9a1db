"""idempotent cancel and reschedule: the event a cancel or a reschedule writes keeps the request's
Idempotency-Key and digest, once per account, so a retry gets the first answer instead of 409.

Revision ID: 9e2d4b6a1f38
Revises: c41f2a9e7b13
Create Date: 2026-12-02 15:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9e2d4b6a1f38"
down_revision: str | None = "c41f2a9e7b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appointment_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("request_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_unique_constraint(
            "uq_appointment_event_idempotency", ["actor_account_id", "idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_appointment_event_idempotency", type_="unique")
        batch_op.drop_column("request_digest")
        batch_op.drop_column("idempotency_key")
