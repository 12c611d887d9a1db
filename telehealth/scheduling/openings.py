"""Open slots kept in a table, so that a slot search is an indexed range scan whose cost does not
grow with the number of practitioners.

The pure slot rules (`rules.generate_slots`) stay the definition: the rows are what they lay out
for a practitioner over a span, less time off and the live appointments (widened by the
buffer), and they are kept in step in the same transaction as every change that moves them:

- a booking, and the new time of a reschedule, deletes the slots it blocks (`take`);
- a cancellation, a no-show, an entry in error and the old time of a reschedule lay their span
  out again (`free`);
- new weekly windows or settings, an extra window and time off, added or removed, and a new
  licence lay the practitioner out again (`lay_out`).

Each open slot is also written once under each value a search filters by (its doctor's
specialties, languages and licences: `OpenSlotFacet`), and a filtered search scans that value's
slots alone, so that no filter makes a search walk slots it then throws away.

What `now` decides (the minimum notice, the horizon) is in each row's `closes_at` and
`opens_at`, so the same rows answer at every moment. The rows reach a week beyond the horizon;
every worker's sweep lays a practitioner out again before that week is used up (`extend`), and
a search lays out first any practitioner the sweep has not reached (a worker that was down, a
clock moved in a test). A row written by hand in the availability tables takes effect once the
practitioner is laid out again (`tequio slots rebuild`)."""

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import clock, tables
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Principal
from telehealth.practitioners import availability
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.rules import LicenceFact
from telehealth.practitioners.schemas import (
    AvailabilityIn,
    ExtraWindowIn,
    ExtraWindowPublic,
    LicenceIn,
    PractitionerCreate,
    TimeOffIn,
    TimeOffPublic,
)
from telehealth.practitioners.service import Practitioner
from telehealth.scheduling import agenda
from telehealth.scheduling import rules as slots
from telehealth.scheduling.models import OpenSlot, OpenSlotFacet, SlotCoverage

BEHIND = timedelta(days=1)  # laid out before now: a clock set back a little still finds them
SLACK = timedelta(days=7)  # laid out beyond the horizon: a practitioner is laid out about weekly
SWEEP_AHEAD = timedelta(days=2)  # the sweep lays out whoever would be stale within this
_DAY = timedelta(days=1)


def rank(practitioner_id: uuid.UUID, start: datetime) -> int:
    """Where a slot stands among those that start at the same instant: a hash of the
    practitioner and the instant, so that no practitioner is always listed first."""
    moment = int(start.timestamp()).to_bytes(8, "big", signed=True)
    digest = hashlib.blake2b(practitioner_id.bytes + moment, digest_size=4).digest()
    return int.from_bytes(digest, "big") >> 1  # 31 bits: an INTEGER on every database


# ---- laying out -------------------------------------------------------------------------------


async def _laid_out(
    session: AsyncSession, practitioner: Practitioner, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The practitioner's open slots that start from `start` to before `end`, as rows, whatever
    `now` is (the rows keep when `now` lets each be booked)."""
    plan = await agenda.schedule(session, practitioner)
    if plan is None:  # its settings are broken (logged): it offers nothing
        return []
    zone = ZoneInfo(plan.timezone)
    anytime = dataclasses.replace(plan, min_notice_minutes=0, horizon_days=(end - start).days + 2)
    taken = await agenda.busy(session, practitioner.id, start=start - _DAY, end=end + _DAY)
    found = slots.generate_slots(
        anytime,
        first_day=start.astimezone(zone).date(),
        last_day=end.astimezone(zone).date(),
        now=start,
        busy=taken,
    )
    horizon = timedelta(days=practitioner.horizon_days)
    notice = timedelta(minutes=practitioner.min_notice_minutes)
    return [
        {
            "practitioner_id": practitioner.id,
            "start": slot.start,
            "end": slot.end,
            "rank": rank(practitioner.id, slot.start),
            "opens_at": slot.start - horizon,
            "closes_at": slot.start - notice,
        }
        for slot in found
        if start <= slot.start < end
    ]


async def _replace(
    session: AsyncSession, practitioner: Practitioner, start: datetime, end: datetime
) -> None:
    """The rows of the slots starting from `start` to before `end`, laid out again."""
    await session.execute(
        delete(OpenSlot).where(
            col(OpenSlot.practitioner_id) == practitioner.id,
            col(OpenSlot.start) >= start,
            col(OpenSlot.start) < end,
        )
    )
    rows = await _laid_out(session, practitioner, start, end)
    await _insert(session, practitioner, rows)


async def _facets(session: AsyncSession, practitioner: Practitioner) -> list[dict[str, str]]:
    """The values a search may find the practitioner's slots by."""
    rows = await session.execute(practitioners.facets(practitioner.id))
    return [{"kind": kind, "value": value} for _, kind, value in map(tuple, rows)]


async def _insert(
    session: AsyncSession, practitioner: Practitioner, rows: list[dict[str, Any]]
) -> None:
    """The open slots' rows, and each again under every value of the practitioner's facets."""
    if not rows:
        return
    await session.execute(insert(OpenSlot), rows)
    facets = await _facets(session, practitioner)
    if facets:
        await session.execute(
            insert(OpenSlotFacet), [row | facet for row in rows for facet in facets]
        )


async def lay_out(session: AsyncSession, practitioner: Practitioner) -> None:
    """Lay the practitioner's open slots out again, from a day ago to a week past the horizon.
    The caller holds the practitioner's lock (bookings queue behind it)."""
    now = clock.now()
    since, until = now - BEHIND, now + timedelta(days=practitioner.horizon_days) + SLACK
    await session.execute(delete(OpenSlot).where(col(OpenSlot.practitioner_id) == practitioner.id))
    await _insert(session, practitioner, await _laid_out(session, practitioner, since, until))
    await session.execute(
        delete(SlotCoverage).where(col(SlotCoverage.practitioner_id) == practitioner.id)
    )
    await session.execute(
        insert(SlotCoverage).values(
            practitioner_id=practitioner.id, since=since, until=until, fresh_until=now + SLACK
        )
    )


# The booking's two statements, built once (building one cost as much as running it).
_SLOT = tables.table(OpenSlot).c
_BOOKABLE = select(_SLOT.end).where(
    _SLOT.practitioner_id == bindparam("practitioner_id"),
    _SLOT.start == bindparam("start"),
    _SLOT.opens_at < bindparam("now"),
    _SLOT.closes_at >= bindparam("now"),
)
TAKE = delete(tables.table(OpenSlot)).where(
    _SLOT.practitioner_id == bindparam("practitioner_id"),
    _SLOT.start < bindparam("until"),
    _SLOT.end > bindparam("since"),
)


async def bookable(
    session: AsyncSession, practitioner_id: uuid.UUID, start: datetime, *, now: datetime
) -> datetime | None:
    """The end of the open slot at `start` if its row says it may be booked now; None when
    there is no such row (the rules then say why, or find it open after all: a practitioner
    the sweep has not reached). The caller holds the practitioner's lock, so the row is what
    every change made of it. One statement."""
    parameters = {"practitioner_id": practitioner_id, "start": start, "now": now}
    row: datetime | None = (await session.execute(_BOOKABLE, parameters)).scalar_one_or_none()
    return row


async def take(
    session: AsyncSession, practitioner: Practitioner, start: datetime, end: datetime
) -> None:
    """A live appointment now holds `start` to `end`: the slots it blocks (it, widened by the
    buffer) are no longer open. One statement."""
    await session.execute(TAKE, taking(practitioner, start, end))


def taking(practitioner: Practitioner, start: datetime, end: datetime) -> dict[str, object]:
    """The parameters of `TAKE`, the statement that takes the open slots `start` to `end`
    blocks (for a writer that runs it within a statement of its own)."""
    pad = timedelta(minutes=practitioner.buffer_minutes)
    return {"practitioner_id": practitioner.id, "until": end + pad, "since": start - pad}


async def free(
    session: AsyncSession, practitioner: Practitioner, start: datetime, end: datetime
) -> None:
    """No appointment holds `start` to `end` any more: the slots it may have blocked are laid
    out again (those that overlap it widened by the buffer)."""
    coverage = await session.get(SlotCoverage, practitioner.id, populate_existing=True)
    if coverage is None:  # never laid out: the next search lays it out whole
        return
    pad = timedelta(minutes=practitioner.buffer_minutes + practitioner.slot_minutes)
    low, high = max(start - pad, coverage.since), min(end + pad, coverage.until)
    if low < high:
        await _replace(session, practitioner, low, high)


async def _stale(
    session: AsyncSession, now: datetime, *, ahead: timedelta, limit: int | None
) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(SlotCoverage.practitioner_id))
        .where(or_(col(SlotCoverage.fresh_until) < now + ahead, col(SlotCoverage.since) > now))
        .order_by(col(SlotCoverage.practitioner_id))  # every worker locks them in one order
        .limit(limit)
    )
    return list(rows.scalars())


async def extend(
    session: AsyncSession, *, ahead: timedelta = timedelta(0), limit: int | None = None
) -> int:
    """Lay out again the practitioners whose rows would not answer every search within `ahead`
    of now (the sweep looks ahead; a search looks at now). How many were laid out."""
    now = clock.now()
    done = 0
    for practitioner_id in await _stale(session, now, ahead=ahead, limit=limit):
        try:
            practitioner = await practitioners.get(session, practitioner_id, lock=True)
        except NotFound:  # no longer practising: its rows go with its coverage
            await _forget(session, practitioner_id)
            continue
        coverage = await session.get(SlotCoverage, practitioner_id, populate_existing=True)
        if coverage is not None and coverage.since <= now < coverage.fresh_until - ahead:
            continue  # another worker laid it out meanwhile
        await lay_out(session, practitioner)
        done += 1
    return done


async def _forget(session: AsyncSession, practitioner_id: uuid.UUID) -> None:
    for model in (OpenSlot, SlotCoverage):
        await session.execute(delete(model).where(col(model.practitioner_id) == practitioner_id))


async def file_all_under_facets(session: AsyncSession) -> None:
    """Every open slot filed under its practitioner's facets, in one statement: after open
    slots were loaded in bulk (as `bench.slot_search` does) rather than by `lay_out`."""
    facets = practitioners.facets().subquery()
    every = select(
        col(OpenSlot.practitioner_id),
        col(OpenSlot.start),
        col(OpenSlot.end),
        col(OpenSlot.rank),
        col(OpenSlot.opens_at),
        col(OpenSlot.closes_at),
        facets.c.kind,
        facets.c.value,
    ).join(facets, facets.c.practitioner_id == col(OpenSlot.practitioner_id))
    names = ["practitioner_id", "start", "end", "rank", "opens_at", "closes_at", "kind", "value"]
    await session.execute(insert(OpenSlotFacet).from_select(names, every))


async def lay_out_all(session: AsyncSession) -> int:
    """Every active practitioner laid out again (after rows were written by hand, or a time-zone
    database update): how many."""
    ids = await practitioners.active_ids(session)
    for practitioner_id in ids:
        await lay_out(session, await practitioners.get(session, practitioner_id, lock=True))
    return len(ids)


# ---- the changes that move slots --------------------------------------------------------------


async def create_practitioner(session: AsyncSession, data: PractitionerCreate) -> Practitioner:
    """A new practitioner, laid out (no windows yet: no slots, but the search knows it is
    current)."""
    practitioner = await practitioners.create(session, data)
    await lay_out(session, practitioner)
    return practitioner


async def set_availability(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: AvailabilityIn
) -> Practitioner:
    practitioner = await availability.set_availability(session, principal, practitioner_id, data)
    await lay_out(session, practitioner)
    return practitioner


async def add_extra(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: ExtraWindowIn
) -> ExtraWindowPublic:
    window = await availability.add_extra(session, principal, practitioner_id, data)
    await lay_out(session, await practitioners.get(session, practitioner_id))
    return availability.extra_window_public(window)


async def delete_extra(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, window_id: uuid.UUID
) -> None:
    await availability.delete_extra(session, principal, practitioner_id, window_id)
    await lay_out(session, await practitioners.get(session, practitioner_id))


async def add_time_off(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: TimeOffIn
) -> TimeOffPublic:
    added = await agenda.add_time_off(session, principal, practitioner_id, data)
    await lay_out(session, await practitioners.get(session, practitioner_id))
    return added


async def delete_time_off(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    await availability.delete_time_off(session, principal, practitioner_id, time_off_id)
    await lay_out(session, await practitioners.get(session, practitioner_id))


async def add_licence(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID, data: LicenceIn
) -> Practitioner:
    """A new licence: the practitioner's slots are found under its jurisdiction from now on."""
    practitioner = await practitioners.add_licence(session, principal, practitioner_id, data)
    await lay_out(session, await practitioners.get(session, practitioner_id, lock=True))
    return practitioner


# ---- search -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """A slot search: the dates are the caller's, in `zone`; `jurisdiction` is where the patient
    will be (only doctors licensed there on the day count); `after` is the (start, practitioner
    id) of the last slot of the page before."""

    first_day: date
    last_day: date
    zone: ZoneInfo
    specialty: str | None = None
    language: str | None = None
    jurisdiction: str | None = None
    after: tuple[datetime, uuid.UUID] | None = None


@dataclass(frozen=True, slots=True)
class FoundSlot:
    start: datetime
    end: datetime
    practitioner: Practitioner


def _first_instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


Slots = type[OpenSlot] | type[OpenSlotFacet]


def _source(query: SlotQuery) -> tuple[Slots, list[ColumnElement[bool]]]:
    """Where a search reads its slots: under the value of its filter that most goes with where
    and so when a doctor works (the jurisdiction's licence, then the language, then the
    specialty), or all of them when it has none; the other filters are checked per row."""
    jurisdiction, language = query.jurisdiction, query.language
    for kind, value in (
        ("jurisdiction", practitioner_rules.licence_needed(jurisdiction) if jurisdiction else None),
        ("language", practitioner_rules.primary_language(language) if language else None),
        ("specialty", query.specialty),
    ):
        if value:
            return OpenSlotFacet, [
                col(OpenSlotFacet.kind) == kind,
                col(OpenSlotFacet.value) == value,
            ]
    return OpenSlot, []


def _after(table: Slots, start: datetime, practitioner_id: uuid.UUID) -> ColumnElement[bool]:
    """Rows after this slot in the search's order: start, then rank, then practitioner."""
    place = rank(practitioner_id, start)
    return and_(
        col(table.start) >= start,
        or_(
            col(table.start) > start,
            col(table.rank) > place,
            and_(col(table.rank) == place, col(table.practitioner_id) > practitioner_id),
        ),
    )


async def search(
    session: AsyncSession, query: SlotQuery, *, now: datetime, limit: int
) -> list[FoundSlot]:
    """Open slots across practitioners, soonest first (at one start, in an order that differs
    from one start to the next), after the query's cursor: `limit` of them, and one more when
    there are more. A few statements, whatever the number of practitioners."""
    await extend(session)
    low = max(_first_instant(query.first_day, query.zone), now)
    high = _first_instant(query.last_day + _DAY, query.zone)
    table, facet = _source(query)
    where = [
        *facet,
        col(table.start) >= low,
        col(table.start) < high,
        col(table.opens_at) < now,
        col(table.closes_at) >= now,
        *practitioners.offering(
            col(table.practitioner_id),
            specialty=query.specialty,
            language=query.language,
            jurisdiction=query.jurisdiction,
            licensed_on=_licence_day(query.jurisdiction, low),
        ),
    ]
    found: list[tuple[datetime, datetime, uuid.UUID]] = []
    after = query.after
    while len(found) <= limit:
        wanted = limit + 1 - len(found)
        statement = select(col(table.start), col(table.end), col(table.practitioner_id)).where(
            *where
        )
        if after is not None:
            statement = statement.where(_after(table, *after))
        statement = statement.order_by(
            col(table.start), col(table.rank), col(table.practitioner_id)
        ).limit(wanted)
        batch = [(row[0], row[1], row[2]) for row in await session.execute(statement)]
        found += await _licensed(session, query.jurisdiction, batch)
        if len(batch) < wanted:
            break
        after = (batch[-1][0], batch[-1][2])
    doctors = await practitioners.by_ids(session, list({row[2] for row in found}))
    return [FoundSlot(start, end, doctors[doctor]) for start, end, doctor in found]


def _licence_day(jurisdiction: str | None, moment: datetime) -> date:
    return practitioner_rules.date_in(jurisdiction, moment) if jurisdiction else moment.date()


async def _licensed(
    session: AsyncSession,
    jurisdiction: str | None,
    batch: list[tuple[datetime, datetime, uuid.UUID]],
) -> list[tuple[datetime, datetime, uuid.UUID]]:
    """The slots of the batch whose day a licence covers (the query only knew that one is still
    valid on the first day searched)."""
    if jurisdiction is None or not batch:
        return batch
    facts: dict[uuid.UUID, list[LicenceFact]] = await practitioners.licences_of(
        session, list({row[2] for row in batch})
    )
    return [
        row
        for row in batch
        if practitioner_rules.licensed_for(
            facts[row[2]], jurisdiction, practitioner_rules.date_in(jurisdiction, row[0])
        )
    ]
