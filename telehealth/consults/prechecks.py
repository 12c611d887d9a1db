"""The pre-call checks' stored results: what each check measured, by whom, for which clinic."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.consults import rules
from telehealth.consults.models import PrecheckResult


async def record(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    result: rules.LinkQuality,
    relayed: bool | None,
) -> None:
    session.add(
        PrecheckResult(
            account_id=account_id,
            clinic_id=clinic_id,
            round_trip_ms=result.round_trip_ms,
            packet_loss_pct=result.packet_loss_pct,
            jitter_ms=result.jitter_ms,
            received_kbps=result.received_kbps,
            relayed=relayed,
            video_ok=result.video_ok,
        )
    )
    await session.flush()
