"""open slot facets: each open slot again under every value a search filters by (the doctor's
specialties, languages and licence jurisdictions), so that a filtered slot search scans that
value's slots alone. Filled from the open slots already laid out.

Revision ID: 5d0c2f7e9a41
Revises: 5c1e2a7d9f30
Create Date: 2026-12-02 15:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5d0c2f7e9a41"
down_revision: str | None = "5c1e2a7d9f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_slot_facet",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id", "start"],
            ["open_slot.practitioner_id", "open_slot.start"],
            name=op.f("fk_open_slot_facet_practitioner_id_open_slot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "practitioner_id", "start", "kind", "value", name=op.f("pk_open_slot_facet")
        ),
    )
    with op.batch_alter_table("open_slot_facet", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_slot_facet_order",
            ["kind", "value", "start", "rank", "practitioner_id", "closes_at", "opens_at", "end"],
            unique=False,
        )
    op.execute(
        'INSERT INTO open_slot_facet (practitioner_id, start, kind, value, "end", rank, opens_at,'
        ' closes_at) SELECT DISTINCT s.practitioner_id, s.start, t.kind, t.value, s."end",'
        " s.rank, s.opens_at, s.closes_at FROM open_slot s"
        " JOIN practitioner_tag t ON t.practitioner_id = s.practitioner_id"
    )
    op.execute(
        'INSERT INTO open_slot_facet (practitioner_id, start, kind, value, "end", rank, opens_at,'
        " closes_at) SELECT DISTINCT s.practitioner_id, s.start, 'jurisdiction', l.jurisdiction,"
        ' s."end", s.rank, s.opens_at, s.closes_at FROM open_slot s'
        " JOIN licence l ON l.practitioner_id = s.practitioner_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("open_slot_facet", schema=None) as batch_op:
        batch_op.drop_index("ix_open_slot_facet_order")
    op.drop_table("open_slot_facet")
