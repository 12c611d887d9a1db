"""phones in one spelling: every stored phone number in the E.164 form sign-in now looks up.

Sign-in normalises a number as people type it (with or without `+52`, Mexico's old mobile `1`,
US forms) with the phonenumbers library. Numbers stored before were kept as typed, in compact
E.164, which for Mexico could keep the old mobile `1` (`+5219511234567`); they are rewritten to
the one spelling (`+529511234567`). A number that is not a valid one, or whose spelling another
account holds already, is left as it was (sign-in still finds it by its old spelling).

The rule is copied here, not imported, so that this migration keeps doing what it did.

Revision ID: c41f2a9e7b13
Revises: e30038b046ee
Create Date: 2026-12-02 15:30:00+00:00
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision: str = "c41f2a9e7b13"
down_revision: str | None = "e30038b046ee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_spelling(phone: str) -> str | None:
    try:
        number = phonenumbers.parse(phone, "MX")
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if (
        not phonenumbers.is_valid_number(number)
        and number.country_code == 52
        and len(national) == 11
        and national.startswith("1")
    ):
        number = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def upgrade() -> None:
    connection = op.get_bind()
    account = sa.table("account", sa.column("id", sa.Uuid()), sa.column("phone", sa.String()))
    rows = connection.execute(
        sa.select(account.c.id, account.c.phone).where(account.c.phone.is_not(None))
    ).all()
    taken = {phone for _, phone in rows}
    for account_id, phone in rows:
        spelling = _one_spelling(phone)
        if spelling is None or spelling == phone or spelling in taken:
            continue
        connection.execute(
            sa.update(account).where(account.c.id == account_id).values(phone=spelling)
        )
        taken.discard(phone)
        taken.add(spelling)


def downgrade() -> None:
    """Nothing to undo: the one spelling is a valid E.164 number the older code reads too."""
