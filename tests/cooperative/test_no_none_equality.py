"""`column == value` with a value that is None fails loudly instead of matching every NULL row."""

import uuid

import pytest
from sqlmodel import col, select

from cooperative.dues.models import Invoice
from cooperative.kernel.tables import NoneComparison


def test_an_equality_with_none_is_refused_and_is_none_still_says_is_null() -> None:
    missing: uuid.UUID | None = None
    with pytest.raises(NoneComparison):
        select(Invoice).where(col(Invoice.member_id) == missing)
    with pytest.raises(NoneComparison):
        select(Invoice).where(col(Invoice.member_id) != missing)
    meant = str(select(Invoice).where(col(Invoice.member_id).is_(None)))
    assert "member_id IS NULL" in meant
    present = str(select(Invoice).where(col(Invoice.member_id) == uuid.uuid4()))
    assert "invoice.member_id = :member_id_1" in present
