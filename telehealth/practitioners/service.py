"""Practitioners, their profiles and licences; slot search across them (their availability is
in `availability`)."""

import heapq
import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel.errors import Forbidden, NotFound
from cooperative.kernel.pagination import Page, page_async, paginate
from cooperative.kernel.principal import Principal, Role
from telehealth.practitioners import availability, rules
from telehealth.practitioners.errors import AlreadyPractitioner, NotADoctor
from telehealth.practitioners.models import Licence, Practitioner
from telehealth.practitioners.schemas import (
    LicenceIn,
    LicencePublic,
    PractitionerCreate,
    PractitionerPublic,
    WindowPublic,
)
from telehealth.scheduling import rules as slots
from telehealth.scheduling.models import Appointment


async def create(session: AsyncSession, data: PractitionerCreate) -> Practitioner:
    account = await accounts_service.get(session, data.account_id)
    if account is None or Role.DOCTOR.value not in account.roles:
        raise NotADoctor()
    practitioner = Practitioner(**data.model_dump())
    try:
        async with session.begin_nested():
            session.add(practitioner)
    except IntegrityError as exc:
        raise AlreadyPractitioner() from exc
    return practitioner


async def get(
    session: AsyncSession, practitioner_id: uuid.UUID, *, lock: bool = False
) -> Practitioner:
    practitioner = await session.get(Practitioner, practitioner_id, with_for_update=lock)
    if practitioner is None or not practitioner.active:
        raise NotFound()
    return practitioner


async def of_account(session: AsyncSession, account_id: uuid.UUID) -> Practitioner | None:
    return (
        await session.execute(
            select(Practitioner).where(col(Practitioner.account_id) == account_id)
        )
    ).scalar_one_or_none()


async def list_active(
    session: AsyncSession, *, cursor: str | None, limit: int | None
) -> Page[PractitionerPublic]:
    rows = await paginate(
        session,
        select(Practitioner).where(col(Practitioner.active)),
        time_column=col(Practitioner.created_at),
        id_column=col(Practitioner.id),
        cursor=cursor,
        limit=limit,
    )
    return await page_async(rows, lambda practitioner: public(session, practitioner))


async def licences(session: AsyncSession, practitioner_id: uuid.UUID) -> list[Licence]:
    rows = await session.execute(
        select(Licence)
        .where(col(Licence.practitioner_id) == practitioner_id)
        .order_by(col(Licence.jurisdiction), col(Licence.expires_on))
    )
    return list(rows.scalars())


async def public(session: AsyncSession, practitioner: Practitioner) -> PractitionerPublic:
    return PractitionerPublic(
        id=practitioner.id,
        display_name=practitioner.display_name,
        specialties=practitioner.specialties,
        languages=practitioner.languages,
        timezone=practitioner.timezone,
        slot_minutes=practitioner.slot_minutes,
        buffer_minutes=practitioner.buffer_minutes,
        min_notice_minutes=practitioner.min_notice_minutes,
        horizon_days=practitioner.horizon_days,
        licences=[
            LicencePublic(
                jurisdiction=lic.jurisdiction, number=lic.number, expires_on=lic.expires_on
            )
            for lic in await licences(session, practitioner.id)
        ],
        windows=[
            WindowPublic(weekday=w.weekday, start=w.start, end=w.end)
            for w in await availability.weekly_windows(session, practitioner.id)
        ],
    )


async def add_licence(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: LicenceIn
) -> Practitioner:
    """Licences are recorded by an admin, who checks the document."""
    if not principal.is_admin:
        raise Forbidden(reason="an admin records licences after checking them")
    practitioner = await get(session, practitioner_id)
    session.add(Licence(practitioner_id=practitioner.id, **data.model_dump()))
    await session.flush()
    return practitioner


async def busy(
    session: AsyncSession,
    practitioner_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    excluding: uuid.UUID | None = None,
) -> list[slots.Interval]:
    """Spans the practitioner's live appointments hold between `start` and `end`."""
    statement = select(col(Appointment.start), col(Appointment.end)).where(
        col(Appointment.practitioner_id) == practitioner_id,
        col(Appointment.status).in_(slots.HOLDING),
        col(Appointment.start) < end,
        col(Appointment.end) > start,
    )
    if excluding is not None:
        statement = statement.where(col(Appointment.id) != excluding)
    return [slots.Interval(s, e) for s, e in await session.execute(statement)]


@dataclass(frozen=True, slots=True)
class FoundSlot:
    start: datetime
    end: datetime
    practitioner: Practitioner


async def _licences_of(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Licence]]:
    """The licences of several practitioners in one query, by practitioner."""
    rows = await session.execute(select(Licence).where(col(Licence.practitioner_id).in_(ids)))
    grouped: dict[uuid.UUID, list[Licence]] = {i: [] for i in ids}
    for row in rows.scalars():
        grouped[row.practitioner_id].append(row)
    return grouped


async def search(
    session: AsyncSession,
    *,
    specialty: str | None,
    language: str | None,
    jurisdiction: str | None,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    now: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[FoundSlot]:
    """Open slots across practitioners, soonest first (ties by practitioner), after a cursor.

    Everything is read in a fixed number of queries, whatever the number of practitioners."""
    candidates = list(
        (await session.execute(select(Practitioner).where(col(Practitioner.active)))).scalars()
    )
    if specialty:
        candidates = [p for p in candidates if specialty in p.specialties]
    if language:
        wanted = rules.primary_language(language)
        candidates = [
            p for p in candidates if wanted in {rules.primary_language(t) for t in p.languages}
        ]
    ids = [p.id for p in candidates]
    plans = await availability.schedules(session, candidates)
    licence_rows = await _licences_of(session, ids)
    span_start = datetime.combine(first_day, datetime.min.time(), UTC) - timedelta(days=2)
    span_end = datetime.combine(last_day, datetime.min.time(), UTC) + timedelta(days=3)
    taken: dict[uuid.UUID, list[slots.Interval]] = {i: [] for i in ids}
    appointments = await session.execute(
        select(
            col(Appointment.practitioner_id), col(Appointment.start), col(Appointment.end)
        ).where(
            col(Appointment.practitioner_id).in_(ids),
            col(Appointment.status).in_(slots.HOLDING),
            col(Appointment.start) < span_end,
            col(Appointment.end) > span_start,
        )
    )
    for practitioner_id, start, end in appointments:
        taken[practitioner_id].append(slots.Interval(start, end))
    needed = rules.licence_needed(jurisdiction) if jurisdiction else None
    per_practitioner: list[list[FoundSlot]] = []
    for practitioner in candidates:
        facts = [
            rules.LicenceFact(x.jurisdiction, x.expires_on) for x in licence_rows[practitioner.id]
        ]
        if needed and not any(fact.jurisdiction == needed for fact in facts):
            continue  # never licensed there: no need to lay out a single slot
        plan = plans[practitioner.id]
        if plan is None:
            continue  # its settings are broken (logged): it offers nothing, the others do
        key = str(practitioner.id)
        mine: list[FoundSlot] = []
        # the dates are the caller's (in `zone`): ask the doctor's calendar for a day more on
        # each side, then keep the slots whose start falls on the asked dates in `zone`
        for slot in slots.generate_slots(
            plan,
            first_day=first_day - timedelta(days=1),
            last_day=last_day + timedelta(days=1),
            now=now,
            busy=taken[practitioner.id],
        ):
            if not first_day <= slot.start.astimezone(zone).date() <= last_day:
                continue
            if after is not None and (slot.start, key) <= after:
                continue
            if jurisdiction and not rules.licensed_for(
                facts, jurisdiction, rules.date_in(jurisdiction, slot.start)
            ):
                continue
            mine.append(FoundSlot(slot.start, slot.end, practitioner))
            if len(mine) > limit:  # each doctor's slots come sorted: more cannot make the page
                break
        per_practitioner.append(mine)
    merged = heapq.merge(*per_practitioner, key=lambda f: (f.start, str(f.practitioner.id)))
    return list(itertools.islice(merged, limit + 1))
