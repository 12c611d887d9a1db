"""payments are reported, then confirmed by a treasurer; the treasurer's exchange-rate table

Payments already recorded settled invoices when members recorded them: they are kept as
`confirmed`, with no `confirmed_by`. `received_at` becomes `recorded_at` (when it was reported or
recorded); `received_on` is the day the money arrived (null for those older payments).

Revision ID: a11c0de00001
Revises: a11c0de00003
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a11c0de00001"
down_revision: str | None = "a11c0de00003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATES = "exchange_rate"
REFUSAL = "the exchange-rate table is append-only: record a new rate"


@contextmanager
def _allocations_set_aside() -> Iterator[None]:
    """SQLite rebuilds `payment` (copy, drop, rename). With foreign keys on, dropping it while
    allocations point at it counts violations that the renamed copy never clears, and the
    commit fails: the allocations wait in a temporary table meanwhile."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("CREATE TEMP TABLE allocation_aside AS SELECT * FROM payment_allocation")
    op.execute("DELETE FROM payment_allocation")
    yield
    op.execute("INSERT INTO payment_allocation SELECT * FROM allocation_aside")
    op.execute("DROP TABLE allocation_aside")


def upgrade() -> None:
    op.create_table(
        "exchange_rate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("to_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("rate", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("large_change_confirmed", sa.Boolean(), nullable=False),
        sa.Column("entered_by", sa.Uuid(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "from_currency <> to_currency", name=op.f("ck_exchange_rate_two_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["account.id"], name=op.f("fk_exchange_rate_entered_by_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rate")),
    )
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_rate_entered_at"), ["entered_at"], unique=False
        )
        batch_op.create_index(
            "ix_exchange_rate_pair_day",
            ["from_currency", "to_currency", "effective_on"],
            unique=False,
        )
    # A rate is never changed or deleted: a correction is a new row.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION exchange_rate_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {RATES}_unchanged BEFORE UPDATE OR DELETE ON {RATES} "
            "FOR EACH ROW EXECUTE FUNCTION exchange_rate_unchanged()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {RATES}_{event.lower()}_refused BEFORE {event} ON {RATES} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )

    with _allocations_set_aside():
        with op.batch_alter_table("payment", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
            )
            batch_op.add_column(sa.Column("exchange_rate_id", sa.Uuid(), nullable=True))
            batch_op.add_column(
                sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
            )
            batch_op.add_column(sa.Column("received_on", sa.Date(), nullable=True))
            batch_op.add_column(sa.Column("confirmed_by", sa.Uuid(), nullable=True))
            batch_op.add_column(
                sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True)
            )
            batch_op.add_column(sa.Column("rejected_by", sa.Uuid(), nullable=True))
            batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(
                sa.Column(
                    "rejection_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
                )
            )
            batch_op.add_column(
                sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True)
            )
            batch_op.add_column(
                sa.Column(
                    "receipt_media_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True
                )
            )
            batch_op.add_column(sa.Column("receipt_bytes", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column(
                    "receipt_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
                )
            )
            batch_op.add_column(
                sa.Column("receipt_uploaded_at", sa.DateTime(timezone=True), nullable=True)
            )
            batch_op.alter_column("settled_minor", existing_type=sa.BigInteger(), nullable=True)
            batch_op.drop_index(batch_op.f("ix_payment_received_at"))
            batch_op.alter_column(
                "received_at",
                new_column_name="recorded_at",
                existing_type=sa.DateTime(timezone=True),
                existing_nullable=False,
            )
            batch_op.create_foreign_key(
                batch_op.f("fk_payment_exchange_rate_id_exchange_rate"),
                "exchange_rate",
                ["exchange_rate_id"],
                ["id"],
            )
            batch_op.create_foreign_key(
                batch_op.f("fk_payment_rejected_by_account"), "account", ["rejected_by"], ["id"]
            )
            batch_op.create_foreign_key(
                batch_op.f("fk_payment_confirmed_by_account"), "account", ["confirmed_by"], ["id"]
            )

        # They settled invoices when they were recorded: confirmed, by nobody in particular.
        op.execute("UPDATE payment SET status = 'confirmed'")

        with op.batch_alter_table("payment", schema=None) as batch_op:
            batch_op.alter_column(
                "status", existing_type=sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
            )
            batch_op.create_index(
                batch_op.f("ix_payment_recorded_at"), ["recorded_at"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_payment_status"), ["status"], unique=False)
            batch_op.create_check_constraint(
                "known_status", "status IN ('reported', 'confirmed', 'rejected', 'withdrawn')"
            )
            batch_op.create_check_constraint(
                "settled_when_confirmed", "(status = 'confirmed') = (settled_minor IS NOT NULL)"
            )


def downgrade() -> None:
    # The old schema knows only payments that settled: reports that never did are dropped.
    op.execute("DELETE FROM payment WHERE status <> 'confirmed'")
    with _allocations_set_aside():
        with op.batch_alter_table("payment", schema=None) as batch_op:
            batch_op.drop_constraint(op.f("ck_payment_settled_when_confirmed"), type_="check")
            batch_op.drop_constraint(op.f("ck_payment_known_status"), type_="check")
            batch_op.drop_constraint(
                batch_op.f("fk_payment_confirmed_by_account"), type_="foreignkey"
            )
            batch_op.drop_constraint(
                batch_op.f("fk_payment_rejected_by_account"), type_="foreignkey"
            )
            batch_op.drop_constraint(
                batch_op.f("fk_payment_exchange_rate_id_exchange_rate"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f("ix_payment_status"))
            batch_op.drop_index(batch_op.f("ix_payment_recorded_at"))
            batch_op.alter_column(
                "recorded_at",
                new_column_name="received_at",
                existing_type=sa.DateTime(timezone=True),
                existing_nullable=False,
            )
            batch_op.alter_column("settled_minor", existing_type=sa.BigInteger(), nullable=False)
            batch_op.drop_column("receipt_uploaded_at")
            batch_op.drop_column("receipt_sha256")
            batch_op.drop_column("receipt_bytes")
            batch_op.drop_column("receipt_media_type")
            batch_op.drop_column("withdrawn_at")
            batch_op.drop_column("rejection_reason")
            batch_op.drop_column("rejected_at")
            batch_op.drop_column("rejected_by")
            batch_op.drop_column("confirmed_at")
            batch_op.drop_column("confirmed_by")
            batch_op.drop_column("received_on")
            batch_op.drop_column("note")
            batch_op.drop_column("exchange_rate_id")
            batch_op.drop_column("status")
        with op.batch_alter_table("payment", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_payment_received_at"), ["received_at"], unique=False
            )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {RATES}_unchanged ON {RATES}")
        op.execute("DROP FUNCTION exchange_rate_unchanged()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER {RATES}_{event}_refused")
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_rate_pair_day")
        batch_op.drop_index(batch_op.f("ix_exchange_rate_entered_at"))

    op.drop_table("exchange_rate")
