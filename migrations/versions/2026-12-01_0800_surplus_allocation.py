"""surplus allocation: patronage, runs and their lines, an append-only journal

Revision ID: 01fd85b543ec
Revises: cf5438238c13
Create Date: 2026-12-01 07:57:00.992118+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "01fd85b543ec"
down_revision: str | None = "cf5438238c13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOURNAL = ("journal_entry", "journal_line")


def upgrade() -> None:
    op.create_table(
        "allocation_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("net_surplus_minor", sa.BigInteger(), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("bylaws_version", sa.Integer(), nullable=False),
        sa.Column("input_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_allocation_run_bylaws_version_bylaws_version"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["account.id"], name=op.f("fk_allocation_run_created_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposal.id"], name=op.f("fk_allocation_run_proposal_id_proposal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_run")),
    )
    with op.batch_alter_table("allocation_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocation_run_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_allocation_run_fiscal_year"), ["fiscal_year"], unique=False
        )
        batch_op.create_index(
            "uq_allocation_run_posted_year",
            ["fiscal_year"],
            unique=True,
            sqlite_where=sa.text("status = 'posted'"),
            postgresql_where=sa.text("status = 'posted'"),
        )

    op.create_table(
        "patronage_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_patronage_record_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["account.id"], name=op.f("fk_patronage_record_recorded_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["patronage_record.id"],
            name=op.f("fk_patronage_record_reverses_id_patronage_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patronage_record")),
        sa.UniqueConstraint("source", "kind", name="uq_patronage_source_kind"),
    )
    with op.batch_alter_table("patronage_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patronage_record_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patronage_record_fiscal_year"), ["fiscal_year"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patronage_record_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "allocation_line",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("member_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("patronage", sa.BigInteger(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("share_minor", sa.BigInteger(), nullable=False),
        sa.Column("cash_minor", sa.BigInteger(), nullable=False),
        sa.Column("retained_minor", sa.BigInteger(), nullable=False),
        sa.Column("redemption_year", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_allocation_line_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["allocation_run.id"],
            name=op.f("fk_allocation_line_run_id_allocation_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "member_id", name=op.f("pk_allocation_line")),
    )
    with op.batch_alter_table("allocation_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocation_line_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "journal_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("posted_by", sa.Uuid(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["account.id"], name=op.f("fk_journal_entry_posted_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["journal_entry.id"],
            name=op.f("fk_journal_entry_reverses_id_journal_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["allocation_run.id"], name=op.f("fk_journal_entry_run_id_allocation_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entry")),
        sa.UniqueConstraint("run_id", "kind", name="uq_journal_entry_run_kind"),
    )
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_entry_posted_at"), ["posted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_entry_run_id"), ["run_id"], unique=False)

    op.create_table(
        "journal_line",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(debit_minor = 0) <> (credit_minor = 0) AND debit_minor >= 0 AND credit_minor >= 0",
            name=op.f("ck_journal_line_one_side"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entry.id"], name=op.f("fk_journal_line_entry_id_journal_entry")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_journal_line_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_line")),
    )
    with op.batch_alter_table("journal_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_line_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_line_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_line_member_id"), ["member_id"], unique=False)

    # Posted journal rows are never changed: a correction is a reversing entry.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION journal_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'the journal is append-only: post a reversing entry'; END $$"
        )
        for table in JOURNAL:
            op.execute(
                f"CREATE TRIGGER {table}_unchanged BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION journal_unchanged()"
            )
    else:
        for table in JOURNAL:
            op.execute(
                f"CREATE TRIGGER {table}_unchanged BEFORE UPDATE ON {table} BEGIN "
                "SELECT RAISE(ABORT, 'the journal is append-only: post a reversing entry'); END"
            )


def downgrade() -> None:
    for table in JOURNAL:
        op.execute(
            f"DROP TRIGGER {table}_unchanged"
            + (f" ON {table}" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION journal_unchanged()")
    with op.batch_alter_table("journal_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_line_member_id"))
        batch_op.drop_index(batch_op.f("ix_journal_line_entry_id"))
        batch_op.drop_index(batch_op.f("ix_journal_line_account"))

    op.drop_table("journal_line")
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entry_run_id"))
        batch_op.drop_index(batch_op.f("ix_journal_entry_posted_at"))

    op.drop_table("journal_entry")
    with op.batch_alter_table("allocation_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_line_member_id"))

    op.drop_table("allocation_line")
    with op.batch_alter_table("patronage_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patronage_record_member_id"))
        batch_op.drop_index(batch_op.f("ix_patronage_record_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_patronage_record_created_at"))

    op.drop_table("patronage_record")
    with op.batch_alter_table("allocation_run", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_allocation_run_posted_year",
            sqlite_where=sa.text("status = 'posted'"),
            postgresql_where=sa.text("status = 'posted'"),
        )
        batch_op.drop_index(batch_op.f("ix_allocation_run_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_allocation_run_created_at"))

    op.drop_table("allocation_run")
