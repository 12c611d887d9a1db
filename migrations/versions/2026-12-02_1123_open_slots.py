"""open slots: kept in a table so that a slot search is an indexed range scan; the values slot
search filters practitioners by, a row each. Practitioners already here get their tags, and a
coverage that is out of date, so that the first search (or the sweep) lays their slots out.

Revision ID: 7446fbffd37a
Revises: bc6eb90432ec
Create Date: 2026-12-02 11:23:39.923842+00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7446fbffd37a"
down_revision: str | None = "bc6eb90432ec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_slot",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_open_slot_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("practitioner_id", "start", name=op.f("pk_open_slot")),
    )
    with op.batch_alter_table("open_slot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_slot_order",
            ["start", "rank", "practitioner_id", "closes_at", "opens_at", "end"],
            unique=False,
        )

    op.create_table(
        "practitioner_tag",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_practitioner_tag_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "practitioner_id", "kind", "value", name=op.f("pk_practitioner_tag")
        ),
    )
    with op.batch_alter_table("practitioner_tag", schema=None) as batch_op:
        batch_op.create_index("ix_practitioner_tag_value", ["kind", "value"], unique=False)

    op.create_table(
        "slot_coverage",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fresh_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_slot_coverage_practitioner_id_practitioner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("practitioner_id", name=op.f("pk_slot_coverage")),
    )
    with op.batch_alter_table("slot_coverage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slot_coverage_fresh_until"), ["fresh_until"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_slot_coverage_since"), ["since"], unique=False)
    _existing_practitioners()


def _existing_practitioners() -> None:
    """Tags from each practitioner's specialties and languages (the primary subtag), and a
    coverage long out of date."""
    practitioner = sa.table(
        "practitioner",
        sa.column("id", sa.Uuid()),
        sa.column("specialties", sa.JSON()),
        sa.column("languages", sa.JSON()),
    )
    rows = op.get_bind().execute(
        sa.select(practitioner.c.id, practitioner.c.specialties, practitioner.c.languages)
    )
    tags, covered = set(), []
    for practitioner_id, specialties, languages in rows:
        tags |= {(practitioner_id, "specialty", code) for code in specialties or []}
        tags |= {
            (practitioner_id, "language", tag.split("-")[0].lower()) for tag in languages or []
        }
        covered.append(practitioner_id)
    long_ago = datetime(1970, 1, 1, tzinfo=UTC)
    op.bulk_insert(
        sa.table(
            "practitioner_tag",
            sa.column("practitioner_id", sa.Uuid()),
            sa.column("kind", sa.String()),
            sa.column("value", sa.String()),
        ),
        [{"practitioner_id": i, "kind": k, "value": v} for i, k, v in sorted(tags)],
    )
    op.bulk_insert(
        sa.table(
            "slot_coverage",
            sa.column("practitioner_id", sa.Uuid()),
            sa.column("since", sa.DateTime(timezone=True)),
            sa.column("until", sa.DateTime(timezone=True)),
            sa.column("fresh_until", sa.DateTime(timezone=True)),
        ),
        [
            {"practitioner_id": i, "since": long_ago, "until": long_ago, "fresh_until": long_ago}
            for i in covered
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("slot_coverage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_coverage_since"))
        batch_op.drop_index(batch_op.f("ix_slot_coverage_fresh_until"))

    op.drop_table("slot_coverage")
    with op.batch_alter_table("practitioner_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_practitioner_tag_value")

    op.drop_table("practitioner_tag")
    with op.batch_alter_table("open_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_open_slot_order")

    op.drop_table("open_slot")
