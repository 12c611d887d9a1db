"""Liveness and readiness for load balancers and container orchestrators."""

import asyncio

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.db import ping
from app.errors import NotReady, problem_responses

router = APIRouter(prefix="/healthz", tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/live", summary="The process is up")
async def live() -> Health:
    """Answers as long as the process serves requests; checks nothing else."""
    return Health(status="ok")


@router.get("/ready", summary="Ready to serve", responses=problem_responses(503))
async def ready(request: Request) -> Health:
    """Ready when the database answers within two seconds; 503 otherwise."""
    try:
        async with asyncio.timeout(2):
            await ping(request.app.state.sessionmaker)
    except Exception as exc:
        raise NotReady() from exc
    return Health(status="ok")
