"""sealed ballots: a cast stores its ballot sealed; the files forget the casts after the close

Revision ID: a11c0de00002
Revises: a11c0de00004
Create Date: 2026-12-02 09:10:00.000000+00:00

Ballots cast before this revision stay in `ballot` until their vote closes, and are counted
then as before. Going back refuses while any vote holds sealed ballots: the previous schema has
nowhere to keep them, and only the server's secret could open them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a11c0de00002"
down_revision: str | None = "a11c0de00004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sealed_ballot",
        sa.Column("lookup", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_sealed_ballot_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lookup", name=op.f("pk_sealed_ballot")),
    )
    with op.batch_alter_table("sealed_ballot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sealed_ballot_proposal_id"), ["proposal_id"], unique=False
        )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seal_check", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("scrubbed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    sealed = op.get_bind().execute(sa.text("SELECT count(*) FROM sealed_ballot")).scalar_one()
    if sealed:
        raise RuntimeError(
            f"{sealed} sealed ballots of open votes would be lost: close those votes first"
        )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("scrubbed_at")
        batch_op.drop_column("seal_check")
    with op.batch_alter_table("sealed_ballot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sealed_ballot_proposal_id"))
    op.drop_table("sealed_ballot")
