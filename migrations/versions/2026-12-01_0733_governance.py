"""governance: proposals, the roll, secret ballots

Revision ID: cf5438238c13
Revises: 8164478a53da
Create Date: 2026-12-01 07:33:49.088597+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "cf5438238c13"
down_revision: str | None = "8164478a53da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proposal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column("initiative", sa.Boolean(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_date", sa.Date(), nullable=True),
        sa.Column("bylaws_version", sa.Integer(), nullable=True),
        sa.Column("rule", sa.JSON(), nullable=True),
        sa.Column("eligible", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("adopted_bylaws_version", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closing_soon_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adopted_bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_proposal_adopted_bylaws_version_bylaws_version"),
        ),
        sa.ForeignKeyConstraint(
            ["bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_proposal_bylaws_version_bylaws_version"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["account.id"], name=op.f("fk_proposal_proposed_by_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal")),
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_closes_at"), ["closes_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_proposed_by"), ["proposed_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_status"), ["status"], unique=False)

    op.create_table(
        "ballot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("member_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("receipt_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_ballot_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_ballot_receipt_hash")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ballot_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "proposal_comment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_proposal_comment_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_comment_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_comment")),
    )
    with op.batch_alter_table("proposal_comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_comment_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_proposal_comment_proposal_id"), ["proposal_id"], unique=False
        )

    op.create_table(
        "proposal_cosigner",
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_proposal_cosigner_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_cosigner_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", "member_id", name=op.f("pk_proposal_cosigner")),
    )
    op.create_table(
        "proposal_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_event_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_event")),
        sa.UniqueConstraint("proposal_id", "kind", name="uq_proposal_event_once"),
    )
    with op.batch_alter_table("proposal_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_event_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_proposal_event_proposal_id"), ["proposal_id"], unique=False
        )

    op.create_table(
        "proposal_voter",
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("member_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("voted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_proposal_voter_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_proposal_voter_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_voter_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", "member_id", name=op.f("pk_proposal_voter")),
    )
    with op.batch_alter_table("proposal_voter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_voter_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("proposal_voter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_voter_account_id"))

    op.drop_table("proposal_voter")
    with op.batch_alter_table("proposal_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_event_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_event_at"))

    op.drop_table("proposal_event")
    op.drop_table("proposal_cosigner")
    with op.batch_alter_table("proposal_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_comment_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_comment_created_at"))

    op.drop_table("proposal_comment")
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ballot_proposal_id"))

    op.drop_table("ballot")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_status"))
        batch_op.drop_index(batch_op.f("ix_proposal_proposed_by"))
        batch_op.drop_index(batch_op.f("ix_proposal_kind"))
        batch_op.drop_index(batch_op.f("ix_proposal_created_at"))
        batch_op.drop_index(batch_op.f("ix_proposal_closes_at"))

    op.drop_table("proposal")
