"""Dependencies for domain routes: the bylaws in force, the cooperative's today, the ballot
keys."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Header, Request, Response, status

from app.db import SessionDep
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.service import InForce
from cooperative.governance.sealing import BallotKeys
from cooperative.kernel import clock


async def _bylaws_in_force(session: SessionDep) -> InForce:
    return await bylaws_service.in_force(session)


def _today() -> date:
    return clock.today()


def _ballot_keys(request: Request) -> BallotKeys:
    keys: BallotKeys = request.app.state.ballot_keys
    return keys


LawDep = Annotated[InForce, Depends(_bylaws_in_force)]
TodayDep = Annotated[date, Depends(_today)]
BallotKeysDep = Annotated[BallotKeys, Depends(_ballot_keys)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string; a retry with the same key returns the first result.",
    ),
]


def mark_replayed(response: Response, replayed: bool) -> None:
    """A retry answers 200 with the first result, and says so."""
    if replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
