"""Liveness and readiness for load balancers and container orchestrators."""

import asyncio
import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.db import ping
from app.errors import NotReady, problem_responses
from app.outage import RETRY_AFTER_SECONDS, OutageLog, database_unreachable

router = APIRouter(prefix="/healthz", tags=["health"])
log = logging.getLogger("tequio.health")


class Health(BaseModel):
    status: str


@router.get("/live", summary="The process is up")
async def live() -> Health:
    """Answers as long as the process serves requests; checks nothing else."""
    return Health(status="ok")


@router.get("/ready", summary="Ready to serve", responses=problem_responses(503))
async def ready(request: Request) -> Health:
    """Ready when the database answers within two seconds; otherwise 503 `not-ready`, with
    `Retry-After`."""
    try:
        async with asyncio.timeout(2):
            await ping(request.app.state.sessionmaker)
    except Exception as exc:
        if database_unreachable(exc) or isinstance(exc, TimeoutError):
            outage: OutageLog = request.app.state.outage
            outage.failed(exc, "readiness probe")
        else:
            log.warning("the readiness probe failed", exc_info=True)
        raise NotReady(headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from exc
    return Health(status="ok")
