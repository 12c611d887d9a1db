"""The outbox's part of a member's ARCO rights: the messages sent (or to be sent) to them and
their notification preferences (with when each opt-in and consent was given or withdrawn) are
in their export, and go with their erasure (nothing the law asks to keep is in them)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import moments
from cooperative.kernel.arco import exported, rows
from cooperative.notifications import templates
from cooperative.notifications.models import NotificationPreference, OutboxMessage

_INTERNAL = frozenset({"claim_token", "claimed_until", "next_attempt_at", "idempotency_key"})


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The member's messages, each with what fills it (`parameters`), whose instants are given
    in the reader's zone like every other instant of the export."""
    mine = select(OutboxMessage).where(col(OutboxMessage.recipient_account_id) == account_id)
    return [
        {
            **exported(message, exclude=_INTERNAL),
            "parameters": {
                name: templates.MASK if name in _secret(message.template) else _shown(value)
                for name, value in (message.parameters or {}).items()
            },
        }
        for message in await rows(session, mine.order_by(col(OutboxMessage.not_before)))
    ]


def _secret(template: str) -> frozenset[str]:
    """What the export masks as every log does (a one-time code: not a second way to read it)."""
    known = templates.TEMPLATES.get(template)
    return known.secret if known is not None else frozenset()


def _shown(value: Any) -> Any:
    """A parameter as the export shows it: an instant (stored as UTC text) in the reader's
    zone, anything else as stored."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moments.shown(moment).isoformat() if moment.tzinfo is not None else value


async def preferences_of(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any] | None:
    """The member's notification preferences as stored (None: they never chose)."""
    mine = select(NotificationPreference).where(
        col(NotificationPreference.account_id) == account_id
    )
    found = await rows(session, mine)
    return exported(found[0]) if found else None


async def erase_of(session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    gone = await session.execute(
        delete(OutboxMessage).where(col(OutboxMessage.recipient_account_id) == account_id)
    )
    chosen = await session.execute(
        delete(NotificationPreference).where(col(NotificationPreference.account_id) == account_id)
    )
    session.info.pop("notification_preferences", None)
    erased: list[str] = []
    if getattr(gone, "rowcount", 0):
        erased.append("the messages sent to you and those waiting to be sent")
    if getattr(chosen, "rowcount", 0):
        erased.append("your notification preferences and the record of your opt-ins")
    return erased
