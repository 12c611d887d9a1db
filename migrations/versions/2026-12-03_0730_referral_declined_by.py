"""referral declined_by, and answers kept as given.

A specialist who declined a referral they had not accepted used to be stored as its
practitioner, which made them its specialist: they saw the patient's name and account. Who
declined is now `declined_by`, and `practitioner_id` stays the specialist who accepted (if
anyone did). Referrals declined without an `referral.accepted` event in their history are moved
over.

Once given, a referral's written answer and its counter-referral are never changed: a trigger
refuses an UPDATE that changes either once set (JSON compared as text: PostgreSQL's `json` has
no equality; an unset one is SQL NULL or the JSON `null` SQLAlchemy writes for None).

Revision ID: 6b1e5a7c3d20
Revises: 9c2d4e6f8a10
Create Date: 2026-12-03 07:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6b1e5a7c3d20"
down_revision: str | None = "9c2d4e6f8a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "the written answer and counter-referral of a referral are kept as given"


def upgrade() -> None:
    op.add_column("referral", sa.Column("declined_by", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE referral SET declined_by = practitioner_id, practitioner_id = NULL "
        "WHERE state = 'declined' AND practitioner_id IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM referral_event e WHERE e.referral_id = referral.id "
        "AND e.type = 'referral.accepted')"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION referral_answer_kept() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF (COALESCE(OLD.answer::text, 'null') <> 'null' "
            "AND NEW.answer::text IS DISTINCT FROM OLD.answer::text) "
            "OR (COALESCE(OLD.counter_referral::text, 'null') <> 'null' "
            "AND NEW.counter_referral::text IS DISTINCT FROM OLD.counter_referral::text) "
            f"THEN RAISE EXCEPTION '{REFUSAL}'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER referral_answer_kept BEFORE UPDATE ON referral "
            "FOR EACH ROW EXECUTE FUNCTION referral_answer_kept()"
        )
    else:
        op.execute(
            "CREATE TRIGGER referral_answer_kept BEFORE UPDATE ON referral "
            "WHEN (COALESCE(OLD.answer, 'null') <> 'null' AND NEW.answer IS NOT OLD.answer) "
            "OR (COALESCE(OLD.counter_referral, 'null') <> 'null' "
            "AND NEW.counter_referral IS NOT OLD.counter_referral) "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER referral_answer_kept" + (" ON referral" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION referral_answer_kept()")
    # The older schema knows the decliner only as the practitioner. The column goes with
    # ALTER TABLE on both databases (SQLite since 3.35): a batch rebuild would drop the table
    # that referral_event and attachment point at.
    op.execute(
        "UPDATE referral SET practitioner_id = declined_by "
        "WHERE declined_by IS NOT NULL AND practitioner_id IS NULL"
    )
    op.execute("ALTER TABLE referral DROP COLUMN declined_by")
