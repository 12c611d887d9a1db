"""The worker's governance sweep: close proposals whose time is up, announce those closing soon.

Every worker runs it; closing is idempotent (the proposal is locked and closes once), so several
workers, or a request arriving at the same moment, never close a proposal twice.
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import to_completion
from app.settings import Settings
from cooperative.governance import service as governance

log = logging.getLogger("tequio.governance")


async def sweep_once(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        closed, failed = await governance.sweep(
            session, closing_soon=timedelta(hours=settings.governance_closing_soon_hours)
        )
        await session.commit()
    for proposal_id in failed:
        log.warning("proposal could not close", extra={"proposal_id": str(proposal_id)})
    return closed


async def sweep_proposals(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    while True:
        await asyncio.sleep(settings.governance_sweep_seconds)
        try:
            closed = await to_completion(sweep_once(settings, sessionmaker))
        except Exception:  # the next pass tries again; a request may close it meanwhile
            log.warning("governance sweep failed", exc_info=True)
            continue
        if closed:
            log.info("proposals closed", extra={"closed": closed})
