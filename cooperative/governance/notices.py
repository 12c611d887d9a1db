"""What members hear of a vote: that it opened, that it closes soon (only those who have not
voted), and that its result is known. Written to the outbox in the transaction of the change.

- **Opened** (`governance.vote_opened`): to every member on the roll taken at the opening, due
  when voting opens (`opens_at`), with the title, the close in the recipient's zone and the link.
- **Closing soon** (`governance.vote_closing_soon`): queued *at the opening* for every member on
  the roll, due `closing_soon` before the close (the setting `TEQUIO_GOVERNANCE_CLOSING_SOON_HOURS`;
  none when the vote is shorter than that). A member's first cast deletes their own waiting
  message in the cast's transaction, with one statement that every first cast sends alike, by
  an idempotency key the cast computes (`DELETE … WHERE idempotency_key = …`): nothing is
  *written* because someone voted — no state, no `cancelled` row, no reason, no time, no log
  line (the statement is sent, and its outcome not read, whether or not a message was there).
  So only those who have not voted get it, and nobody learns from the outbox who has: it is
  never asked "who voted?", and nothing it holds differs by vote but the absence of a row.
  The close deletes the vote's closing-soon messages that remain, sent or not, so that after
  the close the outbox keeps no trace of who had voted by the reminder.
- **Result** (`governance.vote_result`): to every member on the roll, from the closing
  transaction, due at once: the title and the link (the result itself is read in Tequio).

No message carries a ballot, a count or a receipt. Inserts are batched: the roll's accounts are
read in one query and the session's flush writes all the messages of a vote in one statement
(per thousand rows), never one round trip per member.

What this does not hide, honestly: while the vote runs, anyone who can read the database
(an operator) sees which roll members still have a waiting closing-soon message — the same as
the roll's `voted` flag, which the schema already keeps (secrecy protects *what* was voted, not
*whether*). Once the reminder has gone out, the provider (the SMTP server, the SMS gateway) and
its delivery logs necessarily learn who had not voted by then, since only they are sent it; so
do the outbox's `sent` rows until the close deletes them. PostgreSQL's dead row versions and
WAL keep a deleted message until vacuumed, stamped with the casting transaction, which also
marked the roll; the shell's forgetting after the close vacuums the outbox table with the roll.
Counts a metric may show (messages sent per template) are a turnout figure at the reminder's
time, never a name.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock, moments
from cooperative.notifications import service as outbox
from cooperative.notifications.service import OutboxMessage
from cooperative.notifications.templates import VOTE_CLOSING_SOON, VOTE_OPENED, VOTE_RESULT

READ_AT_ONCE = 5000  # accounts per query when a roll is read


def _about(proposal_id: uuid.UUID) -> str:
    return f"proposal:{proposal_id}"


def _closing_about(proposal_id: uuid.UUID) -> str:
    return f"proposal:{proposal_id}:closing_soon"


def closing_soon_key(proposal_id: uuid.UUID, account_id: uuid.UUID) -> str:
    return f"{VOTE_CLOSING_SOON.key}:{proposal_id}:{account_id}"


async def _zones(session: AsyncSession, accounts: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each account's zone (the cooperative's when it has none), a few queries for any roll;
    the accounts stay loaded, so `enqueue` finds them without asking again."""
    default = clock.zone().key
    zones: dict[uuid.UUID, str] = {}
    for start in range(0, len(accounts), READ_AT_ONCE):
        found = await accounts_service.by_ids(session, accounts[start : start + READ_AT_ONCE])
        zones.update({a: account.timezone or default for a, account in found.items()})
    return zones


async def opened(
    session: AsyncSession,
    *,
    proposal_id: uuid.UUID,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    accounts: Sequence[uuid.UUID],
    closing_soon: timedelta,
) -> None:
    """Queue, for every account on the roll, the opening notice (due at the opening) and the
    closing-soon reminder (due `closing_soon` before the close, if that falls after the
    opening). Added to the session: the caller's flush writes them all at once."""
    zones = await _zones(session, accounts)
    reminder_at = closes_at - closing_soon
    closes = moments.stored(closes_at)
    for account in accounts:
        if account not in zones:
            continue
        shown = {"proposal_id": str(proposal_id), "title": title, "closes_at": closes}
        shown["zone"] = zones[account]
        await outbox.enqueue(
            session,
            recipient=account,
            template=VOTE_OPENED.key,
            parameters=shown,
            idempotency_key=f"{VOTE_OPENED.key}:{proposal_id}:{account}",
            not_before=opens_at,
            expires_at=closes_at,
            about=_about(proposal_id),
            fresh=True,  # the roll is taken in this transaction: no message can have the key
        )
        if reminder_at > opens_at:
            await outbox.enqueue(
                session,
                recipient=account,
                template=VOTE_CLOSING_SOON.key,
                parameters=shown,
                idempotency_key=closing_soon_key(proposal_id, account),
                not_before=reminder_at,
                expires_at=closes_at,
                about=_closing_about(proposal_id),
                fresh=True,
            )


async def voted(session: AsyncSession, proposal_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """A member's first cast: their closing-soon reminder is deleted, not cancelled (see the
    module's docstring). The same statement for every first cast; its row count is not read."""
    await session.execute(
        delete(OutboxMessage)
        .where(col(OutboxMessage.idempotency_key) == closing_soon_key(proposal_id, account_id))
        .execution_options(synchronize_session=False)
    )


async def closed(
    session: AsyncSession, *, proposal_id: uuid.UUID, title: str, accounts: Sequence[uuid.UUID]
) -> None:
    """The close: the closing-soon reminders left are deleted, and every account on the roll
    is told the result is known (due now)."""
    await session.execute(
        delete(OutboxMessage)
        .where(col(OutboxMessage.about) == _closing_about(proposal_id))
        .execution_options(synchronize_session=False)
    )
    await _zones(session, accounts)
    now = clock.now()
    for account in accounts:
        await outbox.enqueue(
            session,
            recipient=account,
            template=VOTE_RESULT.key,
            parameters={"proposal_id": str(proposal_id), "title": title},
            idempotency_key=f"{VOTE_RESULT.key}:{proposal_id}:{account}",
            not_before=now,
            about=_about(proposal_id),
            fresh=True,  # a vote closes once, in this transaction
        )
