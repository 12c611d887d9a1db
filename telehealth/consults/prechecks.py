"""The pre-call checks' stored results: what each check measured, by whom, for which clinic."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from cooperative.kernel.pagination import paginate
from cooperative.kernel.principal import Principal
from telehealth.clinics import service as clinics_service
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


async def history(
    session: AsyncSession,
    principal: Principal,
    *,
    clinic_id: uuid.UUID | None,
    cursor: str | None,
    limit: int | None,
) -> tuple[list[PrecheckResult], str | None]:
    """The caller's own results, or with `clinic_id` the clinic's (its staff and admins), newest
    first."""
    statement = select(PrecheckResult)
    if clinic_id is not None:
        await clinics_service.visible(session, principal, clinic_id)
        statement = statement.where(col(PrecheckResult.clinic_id) == clinic_id)
    else:
        statement = statement.where(col(PrecheckResult.account_id) == principal.account_id)
    return await paginate(
        session,
        statement,
        time_column=col(PrecheckResult.created_at),
        id_column=col(PrecheckResult.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
