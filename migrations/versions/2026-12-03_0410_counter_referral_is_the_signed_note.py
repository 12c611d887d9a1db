"""counter-referral is the signed note: typed counter-referrals become written answers.

A referral's counter-referral used to be typed by the specialist when completing it (findings,
diagnostic impression, plan, follow-up, as a written answer is). It is now the snapshot of the
consult's signed note (`{"returned_at": …, "note": {…}}`), taken when the note is signed. A
counter-referral stored the old way is moved to the referral's `answer`, which has its shape and
is shown as the specialist's written answer; the referral stays completed, with no
counter-referral. Nothing else changes, so the downgrade has nothing to undo.

Revision ID: 9c2d4e6f8a10
Revises: 3f0b2c7d9e41
Create Date: 2026-12-03 04:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c2d4e6f8a10"
down_revision: str | None = "3f0b2c7d9e41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_referral = sa.table(
    "referral",
    sa.column("id", sa.Uuid),
    sa.column("answer", sa.JSON),
    sa.column("counter_referral", sa.JSON),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_referral.c.id, _referral.c.answer, _referral.c.counter_referral)
    ).all()
    for row in rows:
        typed = row.counter_referral
        if not isinstance(typed, dict) or "note" in typed:
            continue
        bind.execute(
            sa.update(_referral)
            .where(_referral.c.id == row.id)
            .values(answer=row.answer or typed, counter_referral=sa.null())
        )


def downgrade() -> None:
    pass
