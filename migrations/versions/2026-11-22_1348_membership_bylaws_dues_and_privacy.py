"""membership bylaws dues and privacy

Revision ID: 6c86fedc2360
Revises: 6290dc716323
Create Date: 2026-11-22 13:48:18.293780+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "6c86fedc2360"
down_revision: str | None = "6290dc716323"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_account_id", sa.Uuid(), nullable=False),
        sa.Column("accessor_account_id", sa.Uuid(), nullable=True),
        sa.Column("accessor_role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("resource", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accessor_account_id"],
            ["account.id"],
            name=op.f("fk_access_log_accessor_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_account_id"],
            ["account.id"],
            name=op.f("fk_access_log_subject_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_log_subject_account_id"), ["subject_account_id"], unique=False
        )

    op.create_table(
        "bylaws_version",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("adopted_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("adopted_by_account_id", sa.Uuid(), nullable=True),
        sa.Column("proposal_id", sa.Uuid(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adopted_by_account_id"],
            ["account.id"],
            name=op.f("fk_bylaws_version_adopted_by_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_bylaws_version")),
    )
    with op.batch_alter_table("bylaws_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bylaws_version_effective_from"), ["effective_from"], unique=False
        )

    op.create_table(
        "member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("member_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("curp", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("matricula_consular", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("bylaws_version", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("status_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_member_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_member_bylaws_version_bylaws_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("account_id", name=op.f("uq_member_account_id")),
        sa.UniqueConstraint("curp", name=op.f("uq_member_curp")),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_member_class"), ["member_class"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_status"), ["status"], unique=False)

    op.create_table(
        "household",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("subdivision", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("sponsor_member_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["account.id"], name=op.f("fk_household_created_by_account")
        ),
        sa.ForeignKeyConstraint(
            ["sponsor_member_id"],
            ["member.id"],
            name=op.f("fk_household_sponsor_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_household_sponsor_member_id"), ["sponsor_member_id"], unique=False
        )

    op.create_table(
        "share_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("instalments", sa.Integer(), nullable=False),
        sa.Column("bylaws_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_share_subscription_bylaws_version_bylaws_version"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_share_subscription_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_subscription")),
        sa.UniqueConstraint("member_id", name=op.f("uq_share_subscription_member_id")),
    )
    op.create_table(
        "dependent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("relationship", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("curp", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_dependent_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependent")),
    )
    with op.batch_alter_table("dependent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dependent_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dependent_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "household_member",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_member_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_household_member_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("household_id", "member_id", name=op.f("pk_household_member")),
        sa.UniqueConstraint("member_id", name=op.f("uq_household_member_member_id")),
    )
    op.create_table(
        "income_attestation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("income_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("attested_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("household_size >= 1", name=op.f("ck_income_attestation_size_positive")),
        sa.ForeignKeyConstraint(
            ["attested_by"],
            ["account.id"],
            name=op.f("fk_income_attestation_attested_by_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_income_attestation_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_income_attestation")),
    )
    with op.batch_alter_table("income_attestation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_income_attestation_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_income_attestation_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "invoice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("fee_class", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("bylaws_version", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("paid_minor <= amount_minor", name=op.f("ck_invoice_not_overpaid")),
        sa.ForeignKeyConstraint(
            ["bylaws_version"],
            ["bylaws_version.number"],
            name=op.f("fk_invoice_bylaws_version_bylaws_version"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_invoice_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_invoice_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_invoice_dedupe_key")),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_member_id"), ["member_id"], unique=False)

    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payer_account_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("exchange_rate", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("settled_minor", sa.BigInteger(), nullable=False),
        sa.Column("settled_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_payment_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_payment_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["payer_account_id"], ["account.id"], name=op.f("fk_payment_payer_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("payer_account_id", "idempotency_key", name="uq_payment_idempotency"),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payment_payer_account_id"), ["payer_account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payment_received_at"), ["received_at"], unique=False)

    op.create_table(
        "payment_allocation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_payment_allocation_invoice_id_invoice")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_payment_allocation_payment_id_payment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocation")),
    )
    with op.batch_alter_table("payment_allocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_allocation_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_allocation_payment_id"), ["payment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_allocation_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocation_invoice_id"))

    op.drop_table("payment_allocation")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_received_at"))
        batch_op.drop_index(batch_op.f("ix_payment_payer_account_id"))
        batch_op.drop_index(batch_op.f("ix_payment_member_id"))
        batch_op.drop_index(batch_op.f("ix_payment_household_id"))

    op.drop_table("payment")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_member_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_issued_at"))
        batch_op.drop_index(batch_op.f("ix_invoice_household_id"))

    op.drop_table("invoice")
    with op.batch_alter_table("income_attestation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_income_attestation_household_id"))
        batch_op.drop_index(batch_op.f("ix_income_attestation_created_at"))

    op.drop_table("income_attestation")
    op.drop_table("household_member")
    with op.batch_alter_table("dependent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dependent_household_id"))
        batch_op.drop_index(batch_op.f("ix_dependent_created_at"))

    op.drop_table("dependent")
    op.drop_table("share_subscription")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_sponsor_member_id"))
        batch_op.drop_index(batch_op.f("ix_household_created_at"))

    op.drop_table("household")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_status"))
        batch_op.drop_index(batch_op.f("ix_member_member_class"))
        batch_op.drop_index(batch_op.f("ix_member_created_at"))

    op.drop_table("member")
    with op.batch_alter_table("bylaws_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bylaws_version_effective_from"))

    op.drop_table("bylaws_version")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_subject_account_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))

    op.drop_table("access_log")
