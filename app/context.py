"""Dependencies for domain routes: the bylaws in force and the cooperative's today."""

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from app.db import SessionDep
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.service import InForce


async def _bylaws_in_force(session: SessionDep) -> InForce:
    return await bylaws_service.in_force(session)


def _today(request: Request) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()


LawDep = Annotated[InForce, Depends(_bylaws_in_force)]
TodayDep = Annotated[date, Depends(_today)]
