"""Import this before defining any table: it fixes constraint names for Alembic."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


def table(model: type[SQLModel]) -> sa.Table:
    """A model's table, for hot statements that read or write columns rather than objects:
    naming `table(Model).c.x` instead of `Model.x` keeps SQLAlchemy's ORM layer out of the
    statement, which then costs about half the CPU to run (rows come back as tuples)."""
    found: sa.Table = model.__table__  # type: ignore[attr-defined]
    return found


class NoneComparison(TypeError):
    """`column == value` where the value is None: SQL would match every NULL row."""


def _refuse_none_equality() -> None:
    """Make `column == None` and `column != None` raise instead of meaning IS (NOT) NULL.

    `col(Invoice.member_id) == member_id` silently became `member_id IS NULL` for an account
    without a membership, and an export returned every household's invoices. In this code base
    `.is_(None)` and `.is_not(None)` say "is null" on purpose; an equality with a Python value
    that happens to be None is always a bug, so it fails loudly (a 500 and a logged trace) rather
    than quietly widening a query to other people's rows.
    """
    from sqlalchemy.sql import default_comparator
    from sqlalchemy.util import immutabledict

    lookup = dict(default_comparator.operator_lookup)
    for name in ("eq", "ne"):
        compare, options = lookup[name]
        if getattr(compare, "_refuses_none", False):
            return

        def guarded(expr: Any, op: Any, obj: Any, *, _compare: Any = compare, **kw: Any) -> Any:
            if obj is None:
                raise NoneComparison(
                    f"{expr} compared with None: write .is_(None) if NULL is meant, else the "
                    "value is missing"
                )
            return _compare(expr, op, obj, **kw)

        guarded._refuses_none = True  # type: ignore[attr-defined]
        lookup[name] = (guarded, options)
    default_comparator.operator_lookup = immutabledict(lookup)


_refuse_none_equality()
