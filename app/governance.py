"""The worker's governance upkeep: close proposals whose time is up, announce those closing soon,
and make the database files forget what the casts of closed votes wrote.

Every worker runs it; closing is idempotent (the proposal is locked and closes once), so several
workers, or a request arriving at the same moment, never close a proposal twice. A request that
closes a vote starts the forgetting in the background once its transaction has committed; the
sweep finishes whatever that could not (the database was busy, the worker stopped).
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import AfterCommit, forget_deleted, in_own_session, to_completion, upkeep_connection
from app.outage import OutageLog, database_unreachable
from app.settings import Settings
from cooperative.governance import service as governance
from cooperative.governance.sealing import BallotKeys

log = logging.getLogger("tequio.governance")

FORGET_PAUSES = (0.0, 0.2, 1.0, 3.0)  # seconds before each attempt while the database is busy


async def sweep_once(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    closed, failed = await in_own_session(
        sessionmaker,
        lambda session: governance.sweep(
            session,
            closing_soon=timedelta(hours=settings.governance_closing_soon_hours),
            keys=BallotKeys(settings.ballot_key),
        ),
    )
    for proposal_id in failed:
        log.warning("proposal could not close", extra={"proposal_id": str(proposal_id)})
    return closed


async def forget_closed_votes(engine: AsyncEngine, settings: Settings) -> int:
    """Once closes have committed, make the files forget what those votes' casts wrote: the
    sealed ballots the close deleted and the roll's earlier versions (see `forget_deleted`), then
    mark the votes done. How many votes it covered; 0 when there were none, or when the database
    stayed busy (the sweep tries again)."""
    for pause in FORGET_PAUSES:
        await asyncio.sleep(pause)
        try:
            async with upkeep_connection(engine, settings.sqlite_busy_timeout_ms) as connection:
                async with AsyncSession(bind=connection) as session:
                    due = await governance.unscrubbed(session)
                    await session.commit()
                if not due:
                    return 0
                if not await forget_deleted(
                    connection,
                    rewrite=["sealed_ballot"],
                    vacuum=["proposal_voter", "outbox_message"],
                ):
                    continue
                async with AsyncSession(bind=connection) as session:
                    await governance.mark_scrubbed(session, due)
                    await session.commit()
                return len(due)
        except DBAPIError:  # busy, or a lock not granted at once: another attempt, or the sweep
            continue
    log.info("closed votes not yet forgotten by the database files; the sweep will retry")
    return 0


def forget_after_close(
    engine: AsyncEngine, settings: Settings, background: set["asyncio.Task[None]"]
) -> AfterCommit:
    """For `app.state.after_commit`: once a request that closed a vote has committed, the files
    forget its casts in the background (the response does not wait for it)."""

    async def forget() -> None:
        try:
            await to_completion(forget_closed_votes(engine, settings))
        except Exception:  # the sweep tries again
            log.warning("forgetting the casts of closed votes failed", exc_info=True)

    def chore(session: AsyncSession) -> None:
        if governance.closed_in(session):
            task = asyncio.create_task(forget())
            background.add(task)
            task.add_done_callback(background.discard)

    return chore


async def sweep_proposals(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    outage: OutageLog,
) -> None:
    """Sweep every `governance_sweep_seconds`; a pass that finds the database gone is counted
    in the worker's outage log (no traceback), and the next pass tries again."""
    while True:
        await asyncio.sleep(settings.governance_sweep_seconds)
        try:
            closed = await sweep_once(settings, sessionmaker)
            await to_completion(forget_closed_votes(engine, settings))
        except Exception as exc:  # the next pass tries again; a request may close it meanwhile
            if database_unreachable(exc):
                outage.failed(exc, "governance sweep")
            else:
                log.warning("governance sweep failed", exc_info=True)
            continue
        if closed:
            log.info("proposals closed", extra={"closed": closed})
