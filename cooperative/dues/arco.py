"""Dues' part of a person's ARCO export: the share, the invoices and the payments they report."""

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.dues.models import Invoice, Payment, ShareSubscription
from cooperative.kernel.arco import exported, rows, rows_of


async def export_of(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    member_id: uuid.UUID | None,
    household_ids: list[uuid.UUID],
) -> dict[str, Any]:
    """The member's share subscription, the invoices of the member and of their households, and
    the payments the account reported (never a request digest)."""
    share = select(ShareSubscription)
    invoices = select(Invoice).where(
        or_(
            col(Invoice.member_id).in_([member_id] if member_id else []),
            col(Invoice.household_id).in_(household_ids),
        )
    )
    payments = select(Payment).where(col(Payment.payer_account_id) == account_id)
    return {
        "share_subscription": [
            exported(s)
            for s in await rows_of(session, share, ShareSubscription.member_id, member_id)
        ],
        "invoices": [exported(i) for i in await rows(session, invoices)],
        "payments": [
            exported(p, exclude=frozenset({"request_digest"}))
            for p in await rows(session, payments)
        ],
    }
