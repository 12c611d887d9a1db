"""Surplus's part of a person's ARCO export: their patronage and their allocations of surplus."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.kernel.arco import exported, rows_of
from cooperative.surplus.models import AllocationLine, PatronageRecord


async def export_of(session: AsyncSession, member_id: uuid.UUID | None) -> dict[str, Any]:
    patronage = select(PatronageRecord)
    allocations = select(AllocationLine)
    return {
        "patronage": [
            exported(r)
            for r in await rows_of(session, patronage, PatronageRecord.member_id, member_id)
        ],
        "allocations": [
            exported(a)
            for a in await rows_of(session, allocations, AllocationLine.member_id, member_id)
        ],
    }
