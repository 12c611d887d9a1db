"""What searching open slots costs: 500 practitioners × 14 days, on the embedded SQLite database.

A fresh database (migrated with Alembic) is seeded directly with rows, deterministically (seeded):
500 doctors with weekday availability 09:00–17:00 local in America/Mexico_City, America/Tijuana
or America/Los_Angeles, MX and/or US-CA licences valid to 2030, a mix of specialties and of the
languages es, en and nah, and a few thousand booked appointments over the next 14 days.

Prints, for GET /v1/slots through the whole ASGI stack (a signed-in patient's bearer token, 14
days from tomorrow, limit=200) with no filter, a specialty, language=nah and jurisdiction=US-CA:
p50/p95/p99 over 30 requests each (after one warm-up request), the items on the first page,
whether there is a next page, and how many open slots matched in all (counted through the
service). For the unfiltered requests, the time inside the service's search and, within it, in
`generate_slots` is measured during the same requests, which splits a request between the slot
rules, the queries and loop around them, and the framework. Last, the pure `generate_slots`
over all 500 schedules × 14 days without HTTP. Nothing here asserts a time.
"""

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine, create_sessionmaker
from app.main import create_app, password_hasher
from app.migrate import upgrade_on
from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from telehealth.practitioners.models import AvailabilityWindow, Licence, Practitioner
from telehealth.practitioners.rules import SPECIALTIES, Interval, WeeklyWindow
from telehealth.scheduling import agenda
from telehealth.scheduling import rules as slots
from telehealth.scheduling.models import Appointment

PASSWORD = "maiz azul de oaxaca"
SEED = 20260601
PRACTITIONERS = 500
APPOINTMENTS = 3_000
DAYS = 14
REQUESTS = 30
PURE_ROUNDS = 3
COOPERATIVE_ZONE = "America/Mexico_City"
ZONES = ("America/Mexico_City", "America/Tijuana", "America/Los_Angeles")
SPECIALTY = "pediatrics"
LICENCE_EXPIRY = date(2030, 12, 31)

Seeded = tuple[dict[uuid.UUID, slots.Schedule], dict[uuid.UUID, list[Interval]]]


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def _doctor(rng: random.Random, number: int, account_id: uuid.UUID) -> Practitioner:
    zone = rng.choices(ZONES, weights=(50, 25, 25))[0]
    if zone == "America/Los_Angeles":
        languages = ["en", "es"] if rng.random() < 0.6 else ["en"]
    else:
        languages = ["es", "en"] if rng.random() < 0.3 else ["es"]
        if rng.random() < 0.12:
            languages.append("nah")
    codes = list(SPECIALTIES)
    specialties = ["family_medicine"] if rng.random() < 0.4 else [rng.choice(codes)]
    if rng.random() < 0.3:
        specialties.append(rng.choice([c for c in codes if c not in specialties]))
    slot_minutes, buffer_minutes = rng.choice(((30, 0), (30, 0), (20, 10), (45, 15), (20, 0)))
    return Practitioner(
        account_id=account_id,
        display_name=f"Dra. Bench {number:03d}",
        specialties=specialties,
        languages=languages,
        timezone=zone,
        slot_minutes=slot_minutes,
        buffer_minutes=buffer_minutes,
    )


def _licences(rng: random.Random, doctor: Practitioner) -> list[Licence]:
    if doctor.timezone == "America/Mexico_City":
        held = ["MX"]
    elif doctor.timezone == "America/Tijuana":
        held = ["MX", "US-CA"] if rng.random() < 0.5 else ["MX"]
    else:
        held = ["US-CA", "MX"] if rng.random() < 0.25 else ["US-CA"]
    return [
        Licence(
            practitioner_id=doctor.id,
            jurisdiction=code,
            number=f"{rng.randrange(10**7):07d}",
            expires_on=LICENCE_EXPIRY,
        )
        for code in held
    ]


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    first: date,
    last: date,
    now: datetime,
) -> Seeded:
    """Rows straight into the database; returns every schedule and its busy intervals."""
    rng = random.Random(SEED)
    password_hash = password_hasher(settings).hash(PASSWORD)
    schedules: dict[uuid.UUID, slots.Schedule] = {}
    busy: dict[uuid.UUID, list[Interval]] = {}
    async with sessionmaker() as session:
        version = await bylaws_service.install(session, default_bylaws(), account_id=None)
        patient = Account(
            email="paciente.bench@example.org",
            display_name="Paciente Bench",
            password_hash=password_hash,
            roles=["patient"],
        )
        session.add(patient)
        # Without ORM relationships the inserts are flushed table by table, parents first.
        accounts, doctors, children = [], [], []
        open_slots: list[tuple[uuid.UUID, slots.Slot]] = []
        for number in range(PRACTITIONERS):
            account = Account(
                email=f"doctora{number:03d}@bench.example.org",
                display_name=f"Dra. Bench {number:03d}",
                password_hash=password_hash,
                roles=["doctor"],
            )
            doctor = _doctor(rng, number, account.id)
            windows = [
                AvailabilityWindow(
                    practitioner_id=doctor.id, weekday=day, start=wall(9), end=wall(17)
                )
                for day in range(5)
            ]
            accounts.append(account)
            doctors.append(doctor)
            children += [*windows, *_licences(rng, doctor)]
            schedule = slots.Schedule(
                timezone=doctor.timezone,
                windows=tuple(WeeklyWindow(w.weekday, w.start, w.end) for w in windows),
                slot_minutes=doctor.slot_minutes,
                buffer_minutes=doctor.buffer_minutes,
                min_notice_minutes=doctor.min_notice_minutes,
                horizon_days=doctor.horizon_days,
            )
            schedules[doctor.id], busy[doctor.id] = schedule, []
            generated = slots.generate_slots(schedule, first_day=first, last_day=last, now=now)
            open_slots += [(doctor.id, slot) for slot in generated]
        for rows in (accounts, doctors, children):
            session.add_all(rows)
            await session.flush()
        for practitioner_id, slot in rng.sample(open_slots, APPOINTMENTS):
            busy[practitioner_id].append(Interval(slot.start, slot.end))
            session.add(
                Appointment(
                    practitioner_id=practitioner_id,
                    patient_account_id=patient.id,
                    booked_by=patient.id,
                    start=slot.start,
                    end=slot.end,
                    patient_jurisdiction="MX-OAX",
                    preferred_language="es",
                    fee_minor=60000,
                    fee_currency="MXN",
                    fee_class="non-member",
                    fee_explanation={"basis": "non-member"},
                    bylaws_version=version.number,
                )
            )
        await session.commit()
    return schedules, busy


@dataclass
class Split:
    """Milliseconds spent inside the service's search and, within it, in the pure slot rules."""

    search: float = 0.0
    rules: float = 0.0


@contextmanager
def _measured(split: Split) -> Iterator[None]:
    """Times `agenda.search` and the `generate_slots` calls it makes, inside requests."""
    search, generate = agenda.search, slots.generate_slots

    async def timed_search(*args: Any, **kwargs: Any) -> list[agenda.FoundSlot]:
        started = time.perf_counter()
        try:
            return await search(*args, **kwargs)
        finally:
            split.search += (time.perf_counter() - started) * 1000

    def timed_generate(*args: Any, **kwargs: Any) -> list[slots.Slot]:
        started = time.perf_counter()
        try:
            return generate(*args, **kwargs)
        finally:
            split.rules += (time.perf_counter() - started) * 1000

    with (
        patch.object(agenda, "search", timed_search),
        patch.object(slots, "generate_slots", timed_generate),
    ):
        yield


async def _run() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        settings = Settings(
            _env_file=None,
            environment="test",
            database_url=url,
            secret_key="benchmark-secret-key-long-enough-for-hs256",
        )
        engine = create_engine(settings)
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on)
            await connection.commit()
        sessionmaker = create_sessionmaker(engine)

        tomorrow = datetime.now(ZoneInfo(COOPERATIVE_ZONE)).date() + timedelta(days=1)
        last = tomorrow + timedelta(days=DAYS - 1)
        started = time.perf_counter()
        schedules, busy = await _seed(
            sessionmaker, settings, first=tomorrow, last=last, now=clock.now()
        )
        seconds = time.perf_counter() - started
        zones = Counter(s.timezone for s in schedules.values())
        print(
            f"seeded {PRACTITIONERS} practitioners and {APPOINTMENTS:,} booked appointments "
            f"in {seconds:.1f} s (seed {SEED}; "
            + ", ".join(f"{zone} {count}" for zone, count in sorted(zones.items()))
            + ")"
        )
        print(f"search: {tomorrow} to {last} ({DAYS} days), limit=200, zone {COOPERATIVE_ZONE}")

        filters: list[tuple[str, dict[str, str]]] = [
            ("no filter", {}),
            (f"specialty={SPECIALTY}", {"specialty": SPECIALTY}),
            ("language=nah", {"language": "nah"}),
            ("jurisdiction=US-CA", {"jurisdiction": "US-CA"}),
        ]
        base: dict[str, str | int] = {
            "from": tomorrow.isoformat(),
            "to": last.isoformat(),
            "limit": 200,
        }
        totals: list[float] = []
        splits: list[Split] = []
        app = create_app(settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            registered = await client.post(
                "/v1/auth/register",
                json={"email": "bench@example.org", "password": PASSWORD, "display_name": "B"},
            )
            registered.raise_for_status()
            login = await client.post(
                "/v1/auth/token", json={"username": "bench@example.org", "password": PASSWORD}
            )
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            print(
                f"GET /v1/slots, {REQUESTS} sequential requests each    "
                "p50 ms   p95 ms   p99 ms   page  next   matched"
            )
            for label, extra in filters:
                params = base | extra
                first_page = await client.get("/v1/slots", params=params, headers=headers)
                first_page.raise_for_status()
                timings = []
                for _ in range(REQUESTS):
                    split = Split()
                    with _measured(split):
                        started = time.perf_counter()
                        response = await client.get("/v1/slots", params=params, headers=headers)
                        timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    if not extra:
                        splits.append(split)
                if not extra:
                    totals = timings
                async with sessionmaker() as session:
                    matched = await agenda.search(
                        session,
                        agenda.SlotQuery(
                            first_day=tomorrow,
                            last_day=last,
                            zone=ZoneInfo(COOPERATIVE_ZONE),
                            specialty=extra.get("specialty"),
                            language=extra.get("language"),
                            jurisdiction=extra.get("jurisdiction"),
                        ),
                        now=clock.now(),
                        limit=10**7,
                    )
                p50, p95, p99 = _percentiles(timings)
                body = first_page.json()
                more = "yes" if body["next_cursor"] else "no"
                print(
                    f"  {label:<40} {p50:8.1f} {p95:8.1f} {p99:8.1f}   {len(body['items']):4d}"
                    f"  {more:<4} {len(matched):9,}"
                )

        pure_timings = []
        generated = 0
        now = clock.now()
        for _ in range(PURE_ROUNDS):
            started = time.perf_counter()
            generated = sum(
                len(
                    slots.generate_slots(
                        schedule, first_day=tomorrow, last_day=last, now=now, busy=busy[key]
                    )
                )
                for key, schedule in schedules.items()
            )
            pure_timings.append((time.perf_counter() - started) * 1000)

        total = sum(totals)
        search = sum(split.search for split in splits)
        rules = sum(split.rules for split in splits)
        print(f"where an unfiltered request's time goes (the same {REQUESTS} requests, summed):")
        print(
            f"  slot rules (generate_slots inside the search): {rules / total:4.0%}  "
            f"({rules / REQUESTS:7.1f} ms a request)"
        )
        print(
            f"  queries and the search loop around the rules:  {(search - rules) / total:4.0%}  "
            f"({(search - rules) / REQUESTS:7.1f} ms a request)"
        )
        print(
            f"  framework (auth, validation, JSON, ASGI):      {(total - search) / total:4.0%}  "
            f"({(total - search) / REQUESTS:7.1f} ms a request)"
        )
        pure = min(pure_timings)
        print(
            f"pure generate_slots, {len(schedules)} schedules × {DAYS} days, no HTTP: "
            f"{pure:.1f} ms (best of {PURE_ROUNDS}; {generated:,} open slots, "
            f"{pure / max(generated, 1) * 1000:.1f} µs each)"
        )
        await engine.dispose()


def run() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    run()
