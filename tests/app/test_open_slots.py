"""Slot search reads open slots kept in a table (`telehealth.scheduling.openings`); the pure slot
rules stay the definition. Random schedules, extra windows, time off, bookings, cancellations,
reschedules and licences are made through the API, and every page of the fast search must equal
what the rules lay out from the same rows (the search as it was before the table), now and after
the clock has moved on past what was laid out; equal starts must not always list the same doctor
first; and a search costs the same number of statements for three doctors as for twelve."""

import heapq
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from app.slots import sweep_once
from cooperative.kernel import clock
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.models import Practitioner
from telehealth.scheduling import agenda, openings
from telehealth.scheduling import rules as slots
from tests.factories import (
    bearer,
    book,
    install_bylaws,
    open_slots,
    practitioner,
    signed_up,
)

ZONES = ("America/Mexico_City", "America/Tijuana", "America/Los_Angeles", "America/Cancun")
SCENARIOS = 6

Found = list[tuple[datetime, str]]


async def _reference(
    session: AsyncSession, query: openings.SlotQuery, doctors: list[uuid.UUID], now: datetime
) -> Found:
    """What the pure rules offer across `doctors`: each doctor's slots laid out from the stored
    rows with `generate_slots`, on the asked dates in the asked zone, of the asked specialty
    and language, licensed where asked."""
    found = await practitioners.by_ids(session, doctors)
    active = [
        p
        for p in found.values()
        if p.active
        and (query.specialty is None or query.specialty in p.specialties)
        and (
            query.language is None
            or practitioner_rules.primary_language(query.language)
            in {practitioner_rules.primary_language(tag) for tag in p.languages}
        )
    ]
    plans = await agenda.schedules(session, active)
    licences = await practitioners.licences_of(session, [p.id for p in active])
    low = datetime.combine(query.first_day, datetime.min.time(), UTC) - timedelta(days=2)
    high = datetime.combine(query.last_day, datetime.min.time(), UTC) + timedelta(days=3)
    taken = await agenda.busy_of(session, [p.id for p in active], start=low, end=high)
    offered: list[list[tuple[datetime, str]]] = []
    for doctor in active:
        plan = plans[doctor.id]
        if plan is None:
            continue
        mine = []
        for slot in slots.generate_slots(
            plan,
            first_day=query.first_day - timedelta(days=1),
            last_day=query.last_day + timedelta(days=1),
            now=now,
            busy=taken[doctor.id],
        ):
            if not query.first_day <= slot.start.astimezone(query.zone).date() <= query.last_day:
                continue
            if query.jurisdiction and not practitioner_rules.licensed_for(
                licences[doctor.id],
                query.jurisdiction,
                practitioner_rules.date_in(query.jurisdiction, slot.start),
            ):
                continue
            mine.append((slot.start, str(doctor.id)))
        offered.append(mine)
    return list(heapq.merge(*offered))


async def _fast(session: AsyncSession, query: openings.SlotQuery, limit: int) -> Found:
    """Every page of the search, page after page as a client follows the cursor."""
    found: Found = []
    after = None
    for _ in range(10_000):
        page = await openings.search(
            session,
            openings.SlotQuery(**{**_fields(query), "after": after}),
            now=clock.now(),
            limit=limit,
        )
        found += [(slot.start, str(slot.practitioner.id)) for slot in page[:limit]]
        if len(page) <= limit:
            return found
        after = (page[limit - 1].start, page[limit - 1].practitioner.id)
    raise AssertionError("the cursor never reached the end")


def _fields(query: openings.SlotQuery) -> dict[str, Any]:
    return {
        "first_day": query.first_day,
        "last_day": query.last_day,
        "zone": query.zone,
        "specialty": query.specialty,
        "language": query.language,
        "jurisdiction": query.jurisdiction,
    }


def _windows(rng: random.Random) -> list[dict[str, Any]]:
    """A few weekly windows, some through the small hours a clock change moves."""
    windows = []
    for weekday in rng.sample(range(7), rng.randint(1, 7)):
        start = rng.choice((0, 1, 2, 8, 9, 13, 22)) * 60 + rng.choice((0, 15, 30))
        end = min(start + rng.choice((60, 95, 180, 300)), 24 * 60 - 1)
        windows.append({"weekday": weekday, "start": _hhmm(start), "end": _hhmm(end)})
    return windows


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def _doctor(
    rng: random.Random,
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> tuple[str, dict[str, Any], str]:
    zone = rng.choice(ZONES)
    expires = clock.today() + timedelta(days=rng.choice((2, 5, 400)))
    profile, tokens = await practitioner(
        client,
        admin,
        sessionmaker,
        settings,
        timezone=zone,
        windows=_windows(rng),
        slot_minutes=rng.choice((15, 20, 30, 45)),
        buffer_minutes=rng.choice((0, 0, 5, 10)),
        min_notice_minutes=rng.choice((0, 60, 240)),
        horizon_days=rng.choice((3, 9, 20)),
        licences=(("MX", expires.isoformat()), ("US-CA", "2030-12-31"))[: rng.randint(1, 2)],
        specialties=(rng.choice(("family_medicine", "pediatrics")),),
        languages=rng.choice((("es",), ("en",), ("es-MX", "en"), ("nah", "es"))),
    )
    return str(profile["id"]), tokens, zone


async def _entries(
    rng: random.Random, client: httpx.AsyncClient, doctor: str, tokens: dict[str, Any], zone: str
) -> None:
    """Extra windows and time off, some of each."""
    today = clock.now().astimezone(ZoneInfo(zone)).date()
    for _ in range(rng.randint(0, 2)):
        day = today + timedelta(days=rng.randint(0, 10))
        start = rng.randint(0, 20) * 60
        response = await client.post(
            f"/v1/practitioners/{doctor}/extra-windows",
            json={"day": day.isoformat(), "start": _hhmm(start), "end": _hhmm(start + 150)},
            headers=bearer(tokens),
        )
        assert response.status_code in (201, 409), response.text
    for _ in range(rng.randint(0, 2)):
        away = clock.now() + timedelta(hours=rng.randint(1, 200))
        response = await client.post(
            f"/v1/practitioners/{doctor}/time-off",
            json={
                "start": away.isoformat(),
                "end": (away + timedelta(minutes=rng.choice((30, 90, 600)))).isoformat(),
                "reason": "congreso",
            },
            headers=bearer(tokens),
        )
        assert response.status_code == 201, response.text


async def _bookings(
    rng: random.Random, client: httpx.AsyncClient, patient: dict[str, Any], first: date
) -> None:
    """Book some open slots; cancel, reschedule and mark some of them."""
    offered = await open_slots(
        client,
        patient,
        timezone="UTC",
        jurisdiction="MX-OAX",  # where the patient books from
        **{"from": first.isoformat(), "to": (first + timedelta(days=9)).isoformat()},
    )
    booked = []
    for slot in rng.sample(offered, min(len(offered), rng.randint(1, 6))):
        response = await book(client, patient, slot["practitioner_id"], slot["start"])
        if response.status_code == 201:  # a slot next to one just booked may be gone
            booked.append((response.json(), slot))
        else:  # licensed elsewhere, or next to one just booked
            assert response.status_code in (409, 422), response.text
    assert booked or not offered
    for appointment, slot in booked:
        path = f"/v1/appointments/{appointment['id']}"
        action = rng.choice(("keep", "cancel", "reschedule"))
        if action == "cancel":
            response = await client.post(
                f"{path}/cancel", json={"reason": "ya no puedo"}, headers=bearer(patient)
            )
            assert response.status_code == 200, response.text
        elif action == "reschedule":
            same = [s for s in offered if s["practitioner_id"] == slot["practitioner_id"]]
            target = rng.choice(same)["start"]
            response = await client.post(
                f"{path}/reschedule", json={"start": target}, headers=bearer(patient)
            )
            assert response.status_code in (200, 409, 422), response.text


async def _compare(
    sessionmaker: async_sessionmaker[AsyncSession],
    rng: random.Random,
    doctors: list[uuid.UUID],
) -> None:
    zone = ZoneInfo(rng.choice((*ZONES, "UTC", "Asia/Tokyo")))
    first = clock.now().astimezone(zone).date() + timedelta(days=rng.randint(-1, 3))
    query = openings.SlotQuery(
        first_day=first,
        last_day=first + timedelta(days=rng.randint(0, 13)),
        zone=zone,
        jurisdiction=rng.choice((None, "MX-OAX", "US-CA")),
        specialty=rng.choice((None, None, "pediatrics")),
        language=rng.choice((None, None, "es", "en-US")),
    )
    async with sessionmaker() as session:
        fast = [s for s in await _fast(session, query, rng.randint(1, 40)) if _ours(s, doctors)]
        expected = await _reference(session, query, doctors, clock.now())
        await session.commit()
    assert sorted(fast) == expected, (query, len(fast), len(expected))
    assert [start for start, _ in fast] == sorted(start for start, _ in fast)


def _ours(found: tuple[datetime, str], doctors: list[uuid.UUID]) -> bool:
    return uuid.UUID(found[1]) in doctors


async def _retire(sessionmaker: async_sessionmaker[AsyncSession], doctors: list[uuid.UUID]) -> None:
    """The scenario's doctors stop practising, so that the next scenario's search is its own."""
    async with sessionmaker() as session:
        await session.execute(
            update(Practitioner).where(col(Practitioner.id).in_(doctors)).values(active=False)
        )
        await session.commit()


@pytest.mark.parametrize("seed", range(SCENARIOS))
async def test_the_fast_search_offers_what_the_rules_lay_out(
    seed: int,
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    rng = random.Random(seed)
    await install_bylaws(sessionmaker)
    made = [
        await _doctor(rng, client, admin, sessionmaker, settings) for _ in range(rng.randint(2, 4))
    ]
    for doctor, tokens, zone in made:
        await _entries(rng, client, doctor, tokens, zone)
    _, patient = await signed_up(client)
    await _bookings(rng, client, patient, clock.today())
    doctors = [uuid.UUID(doctor) for doctor, _, _ in made]
    for _ in range(3):
        await _compare(sessionmaker, rng, doctors)
    # past the week laid out beyond the horizon: the search lays the doctors out again itself
    with clock.travel(clock.now() + timedelta(days=rng.randint(3, 12), hours=rng.randint(0, 23))):
        for _ in range(2):
            await _compare(sessionmaker, rng, doctors)
    await _retire(sessionmaker, doctors)


async def test_slots_that_start_together_do_not_always_list_the_same_doctor_first(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    made = [
        (await practitioner(client, admin, sessionmaker, settings, min_notice_minutes=0))[0]["id"]
        for _ in range(3)
    ]
    _, patient = await signed_up(client)
    day = clock.today() + timedelta(days=2)
    found = await open_slots(client, patient, **{"from": day.isoformat(), "to": day.isoformat()})
    first_at: dict[str, str] = {}
    for slot in found:
        if slot["practitioner_id"] in made:
            first_at.setdefault(slot["start"], slot["practitioner_id"])
    assert len(first_at) == 24  # 08:00 to 20:00, every half hour, all three doctors free
    assert set(first_at.values()) == set(made)


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        statement = str(args[2])
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # the test's transaction
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def _search_statements(
    client: httpx.AsyncClient, engine: AsyncEngine, patient: dict[str, Any], **query: Any
) -> list[str]:
    day = clock.today() + timedelta(days=1)
    params = {"from": day.isoformat(), "to": (day + timedelta(days=13)).isoformat(), **query}
    with _statements(engine) as seen:
        response = await client.get("/v1/slots", params=params, headers=bearer(patient))
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is not None  # a full page
    return seen


async def test_a_search_costs_the_same_statements_for_three_doctors_as_for_twelve(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    database: Any,
) -> None:
    """The sign-in check (which loads the searcher's account and zone), the laid-out check, one
    page of slots, the page's doctors, the bylaws' late-cancellation window (until when a
    booking would be free to cancel); and with a jurisdiction, their licences (each page of
    slots is checked exactly)."""
    _, patient = await signed_up(client)
    made = 0
    for doctors in (3, 12):
        while made < doctors:
            await practitioner(client, admin, sessionmaker, settings, specialties=("pediatrics",))
            made += 1
        plain = await _search_statements(client, database.engine, patient, limit=20)
        filtered = await _search_statements(
            client,
            database.engine,
            patient,
            limit=20,
            specialty="pediatrics",
            language="es",
            jurisdiction="MX-OAX",
        )
        assert (len(plain), len(filtered)) == (5, 6), (plain, filtered)


async def test_a_filtered_search_reads_only_the_slots_filed_under_its_filter(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    database: Any,
) -> None:
    """Mexico City's mornings come before the first Pacific-time slot in UTC: a search for
    doctors licensed in California must not walk them. Each filter scans the slots filed under
    its value (the jurisdiction before the language before the specialty)."""
    _, patient = await signed_up(client)
    for _ in range(3):
        await practitioner(client, admin, sessionmaker, settings, specialties=("pediatrics",))
    pacific, _ = await practitioner(
        client,
        admin,
        sessionmaker,
        settings,
        timezone="America/Los_Angeles",
        licences=(("US-CA", "2030-12-31"),),
        languages=("en",),
        specialties=("pediatrics",),
    )
    for query in (
        {"jurisdiction": "US-CA", "language": "en", "specialty": "pediatrics"},
        {"language": "en-US"},
        {"specialty": "pediatrics"},
        {},
    ):
        seen = await _search_statements(client, database.engine, patient, limit=5, **query)
        (scan,) = [sql for sql in seen if "FROM open_slot" in sql]
        assert ("FROM open_slot_facet" in scan) == bool(query), (query, scan)
    found = await open_slots(client, patient, jurisdiction="US-CA", limit=50)
    assert found
    assert {slot["practitioner_id"] for slot in found} == {pacific["id"]}


async def test_the_sweep_lays_doctors_out_before_a_search_has_to(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await practitioner(client, admin, sessionmaker, settings)
    with clock.travel(clock.now() + timedelta(days=6)):  # within two days of the laid-out end
        assert await sweep_once(sessionmaker) >= 1
        async with sessionmaker() as session:
            assert await openings.extend(session, ahead=openings.SWEEP_AHEAD) == 0
            await session.commit()
