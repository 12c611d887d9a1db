"""The worker's slot upkeep: lay out ahead of time the practitioners whose open slots would soon
stop answering every search (`telehealth.scheduling.openings`), so that no search has to.

Every worker runs it; laying out locks the practitioner and checks again, so several workers
never lay one out twice at once, and a search that meets a practitioner the sweep has not
reached lays it out itself."""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import in_own_session
from app.settings import Settings
from telehealth.scheduling import openings

log = logging.getLogger("tequio.slots")

BATCH = 50  # practitioners laid out per transaction


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Lay out, a batch per transaction, everyone who would be stale soon: how many."""
    done = 0
    while True:
        laid = await in_own_session(
            sessionmaker,
            lambda session: openings.extend(session, ahead=openings.SWEEP_AHEAD, limit=BATCH),
        )
        done += laid
        if laid < BATCH:
            return done


async def sweep_slots(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    while True:
        await asyncio.sleep(settings.slot_sweep_seconds)
        try:
            done = await sweep_once(sessionmaker)
        except Exception:  # the next pass tries again; a search lays out what it needs
            log.warning("slot sweep failed", exc_info=True)
            continue
        if done:
            log.info("open slots laid out ahead", extra={"practitioners": done})
