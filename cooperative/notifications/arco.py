"""The outbox's part of a member's ARCO rights: the messages sent (or to be sent) to them are in
their export, and go with their erasure (nothing the law asks to keep is in them)."""

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel.arco import exported, rows
from cooperative.notifications.models import OutboxMessage

_INTERNAL = frozenset({"claim_token", "claimed_until", "next_attempt_at"})


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    mine = select(OutboxMessage).where(col(OutboxMessage.recipient_account_id) == account_id)
    return [
        exported(message, exclude=_INTERNAL)
        for message in await rows(session, mine.order_by(col(OutboxMessage.not_before)))
    ]


async def erase_of(session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    gone = await session.execute(
        delete(OutboxMessage).where(col(OutboxMessage.recipient_account_id) == account_id)
    )
    return (
        ["the messages sent to you and those waiting to be sent"]
        if getattr(gone, "rowcount", 0)
        else []
    )
