"""What searching open slots costs through a real server, for 20, 200, 2,000 and 20,000 doctors,
on PostgreSQL and on SQLite (20,000 on PostgreSQL only unless asked: seeding it takes minutes).

For each number of doctors a scratch database is made and migrated with Alembic (PostgreSQL: a
database `tequio_bench_<random>` on 127.0.0.1:5432, created and dropped, `tequio migrate`;
SQLite: a file in a temporary folder, `app.migrate`) and seeded deterministically (seeded rng):
doctors with weekday availability 09:00–17:00 local in America/Mexico_City, America/Tijuana or
America/Los_Angeles, a mix of specialties and of the languages es, en and nah (their tag rows
from `practitioners.tags_of`), MX and/or US-CA licences valid to 2030, and none to twelve booked
appointments each (six on average) over the 14 days searched. The doctors' booking horizon is the
default 60 days, 14 days from 20,000 doctors on (the rows reach a week past it).

Their open slots are then laid out. Up to 200 doctors: `openings.lay_out` for each, the code
path every change goes through, a batch of doctors a transaction. From 2,000 on, in bulk (`Bulk`:
that path takes about a tenth of a second a doctor here): the same readers (`agenda.schedules`,
`agenda.busy_of`), the pure rules laying out each kind of schedule once over the span `lay_out`
covers, each doctor's appointments removing the slots they block as `openings.take` does, each row
ranked by `openings.rank`; the rows go in by COPY on PostgreSQL (its foreign-key triggers off in
that transaction when the user may) and one executemany on SQLite, with the search's index dropped
before and made again after from the model. Either way the rows of 25 doctors are then compared
with what a fresh `openings.lay_out` writes (in a transaction rolled back) and the run stops if
they differ. PostgreSQL's tables are then ANALYZEd (what autovacuum would soon do); SQLite's are
not (the application never runs ANALYZE).

A real `tequio serve` (2 workers) serves each database; a patient signs in through it. For GET
/v1/slots, 14 days from tomorrow with the default limit (50), with no filter,
specialty=pediatrics and jurisdiction=US-CA, it measures (a) one request at a time, p50/p95/p99
over 200 sequential requests from one keep-alive client after a warm-up, and (b) under load with
wrk (`--latency`, 2 threads, 8 connections, a Lua script sets the bearer token): requests per
second, p50/p99, and the rate as a share of GET /healthz/live's on the same server in the same
run (measured first, and one at a time too, as the machine's baseline). In-process (no network,
one worker), the statements one request runs, the time 50 requests spend inside
`openings.search` and `views.slot_page` beside their whole time, and, for the two largest sizes,
the slot query's plan (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite). The figures
are printed side by side, with the machine's load average when each size was measured.

Nothing here asserts a time. Servers, databases and files go away whatever happens (SIGTERM
included). The load generator, the server and the database share the machine's cores: ratios
within one run are what count.

    python -m bench.slot_search [--backends postgresql,sqlite] [--sizes 20,200,2000,20000]
                                [--sqlite-sizes 20,200,2000] [--seconds 10] [--connections 8]
"""

import argparse
import asyncio
import bisect
import contextlib
import dataclasses
import inspect
import os
import random
import secrets
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any, NoReturn
from unittest.mock import patch
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Dialect, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.schema import CreateIndex, DropIndex
from sqlmodel import SQLModel, col

from app.db import create_engine, create_sessionmaker
from app.main import create_app, password_hasher
from app.migrate import upgrade_on
from app.settings import Settings
from bench import wrk
from bench.live_server import (
    PASSWORD,
    Scratch,
    answers,
    scratch_database,
    serving,
    sign_in,
)
from cooperative.accounts.models import Account
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from telehealth.practitioners import service as practitioners
from telehealth.practitioners.models import AvailabilityWindow, Licence, Practitioner
from telehealth.practitioners.rules import SPECIALTIES, Interval, WeeklyWindow
from telehealth.scheduling import agenda, openings, views
from telehealth.scheduling import rules as slots
from telehealth.scheduling.models import Appointment, OpenSlot, SlotCoverage

SEED = 20260601
SIZES = (20, 200, 2_000, 20_000)
SQLITE_SIZES = (20, 200, 2_000)  # 20,000 on SQLite too with --sqlite-sizes (about 15 min more)
BACKENDS = ("postgresql", "sqlite")
DAYS = 14  # searched, from tomorrow
HORIZON_DAYS = 60  # the doctors' own booking horizon (the default): rows reach 67 days ahead
SHORT_HORIZON_DAYS = 14  # from SHORT_FROM doctors on: rows reach 21 days ahead
SHORT_FROM = 20_000
BULK_FROM = 2_000  # from this many doctors on, laid out in bulk (`Bulk`)
APPOINTMENTS = 6  # booked per doctor on average over the 14 days
CHUNK = 2_000  # doctors seeded per transaction
BATCH = 200  # doctors laid out per transaction
CHECKED = 25  # doctors whose rows are compared with a fresh lay_out
SEQUENTIAL = 200
SPLIT = 50  # in-process requests timed part by part
WORKERS = 2
SECONDS = 10
CONNECTIONS = 8
COOPERATIVE_ZONE = "America/Mexico_City"
ZONES = ("America/Mexico_City", "America/Tijuana", "America/Los_Angeles")
LICENCE_EXPIRY = date(2030, 12, 31)
PATIENT = "paciente.bench@example.org"
QUERIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("no filter", {}),
    ("specialty=pediatrics", {"specialty": "pediatrics"}),
    ("jurisdiction=US-CA", {"jurisdiction": "US-CA"}),
    ("language=en", {"language": "en"}),
    (
        "US-CA, en, pediatrics",
        {"jurisdiction": "US-CA", "language": "en", "specialty": "pediatrics"},
    ),
)
HEALTH = "/healthz/live"
# The tables seeded for each doctor, parents first, and a row of one of them.
TABLES = (
    "account",
    "practitioner",
    "practitioner_tag",
    "availability_window",
    "licence",
    "appointment",
)
Row = dict[str, Any]


@dataclass(frozen=True)
class Size:
    doctors: int
    horizon_days: int
    bulk: bool

    @classmethod
    def of(cls, doctors: int) -> "Size":
        horizon = SHORT_HORIZON_DAYS if doctors >= SHORT_FROM else HORIZON_DAYS
        return cls(doctors, horizon, doctors >= BULK_FROM)


# ---- seeding ----------------------------------------------------------------------------------


def _doctor(rng: random.Random, number: int, account_id: uuid.UUID, size: Size) -> Practitioner:
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
        display_name=f"Dra. Bench {number:05d}",
        specialties=specialties,
        languages=languages,
        timezone=zone,
        slot_minutes=slot_minutes,
        buffer_minutes=buffer_minutes,
        horizon_days=size.horizon_days,
    )


def _licences(rng: random.Random, doctor: Practitioner, like: dict[str, Any]) -> list[Row]:
    if doctor.timezone == "America/Mexico_City":
        held = ["MX"]
    elif doctor.timezone == "America/Tijuana":
        held = ["MX", "US-CA"] if rng.random() < 0.5 else ["MX"]
    else:
        held = ["US-CA", "MX"] if rng.random() < 0.25 else ["US-CA"]
    return [
        like
        | {
            "id": uuid.uuid4(),
            "practitioner_id": doctor.id,
            "jurisdiction": code,
            "number": f"{rng.randrange(10**7):07d}",
        }
        for code in held
    ]


WEEKLY = tuple(WeeklyWindow(day, wall(9), wall(17)) for day in range(5))  # Monday to Friday


def _like(row: SQLModel) -> dict[str, Any]:
    """A row's values, defaults included, as a dictionary: the model is built once, its rows are
    copies with their own values (building millions of models would take most of the seeding)."""
    return row.model_dump()


@dataclass
class Booking:
    """What every seeded row of a table shares, the days the appointments fall on, and the slots
    the pure rules offer over those days, once per kind of schedule (zone, length, buffer)."""

    patient_id: uuid.UUID
    first: date
    last: date
    now: datetime
    like: dict[str, dict[str, Any]]
    offered: dict[tuple[str, int, int], list[slots.Slot]] = field(default_factory=dict)

    def offered_by(self, doctor: Practitioner) -> list[slots.Slot]:
        key = (doctor.timezone, doctor.slot_minutes, doctor.buffer_minutes)
        if key not in self.offered:
            schedule = slots.Schedule(
                timezone=doctor.timezone,
                windows=WEEKLY,
                slot_minutes=doctor.slot_minutes,
                buffer_minutes=doctor.buffer_minutes,
                min_notice_minutes=doctor.min_notice_minutes,
                horizon_days=DAYS + 1,
            )
            self.offered[key] = slots.generate_slots(
                schedule, first_day=self.first, last_day=self.last, now=self.now
            )
        return self.offered[key]


def _likes(patient_id: uuid.UUID, password_hash: str, bylaws_version: int) -> dict[str, Any]:
    someone = uuid.uuid4()
    return {
        "account": _like(
            Account(email="-", display_name="-", password_hash=password_hash, roles=["doctor"])
        ),
        "availability_window": _like(
            AvailabilityWindow(practitioner_id=someone, weekday=0, start=wall(9), end=wall(17))
        ),
        "licence": _like(
            Licence(
                practitioner_id=someone, jurisdiction="MX", number="-", expires_on=LICENCE_EXPIRY
            )
        ),
        "appointment": _like(
            Appointment(
                practitioner_id=someone,
                patient_account_id=patient_id,
                booked_by=patient_id,
                start=clock.now(),
                end=clock.now(),
                patient_jurisdiction="MX-OAX",
                preferred_language="es",
                fee_minor=60000,
                fee_currency="MXN",
                fee_class="non-member",
                fee_explanation={"basis": "non-member"},
                bylaws_version=bylaws_version,
            )
        ),
    }


def _appointments(rng: random.Random, doctor: Practitioner, booking: Booking) -> list[Row]:
    """Booked appointments (none to twelve) at slots the rules offer over the days searched."""
    offered = booking.offered_by(doctor)
    taken = rng.sample(offered, min(rng.randint(0, 2 * APPOINTMENTS), len(offered)))
    like = booking.like["appointment"]
    return [
        like | {"id": uuid.uuid4(), "practitioner_id": doctor.id, "start": s.start, "end": s.end}
        for s in taken
    ]


def _one_doctor(
    rng: random.Random, number: int, size: Size, booking: Booking, tables: dict[str, list[Row]]
) -> uuid.UUID:
    """A doctor's rows, appended to `tables`: account, profile, tags, windows, licences and
    appointments."""
    account_id = uuid.uuid4()
    tables["account"].append(
        booking.like["account"]
        | {
            "id": account_id,
            "email": f"doctora{number:05d}@bench.example.org",
            "display_name": f"Dra. Bench {number:05d}",
        }
    )
    doctor = _doctor(rng, number, account_id, size)
    tables["practitioner"].append(doctor.model_dump())
    tables["practitioner_tag"] += [tag.model_dump() for tag in practitioners.tags_of(doctor)]
    window = booking.like["availability_window"]
    tables["availability_window"] += [
        window | {"id": uuid.uuid4(), "practitioner_id": doctor.id, "weekday": w.weekday}
        for w in WEEKLY
    ]
    tables["licence"] += _licences(rng, doctor, booking.like["licence"])
    tables["appointment"] += _appointments(rng, doctor, booking)
    return doctor.id


async def _seed_chunk(
    session: AsyncSession, rng: random.Random, numbers: range, size: Size, booking: Booking
) -> tuple[list[uuid.UUID], int]:
    """Doctors `numbers`, inserted table by table, parents first."""
    tables: dict[str, list[Row]] = {name: [] for name in TABLES}
    ids = [_one_doctor(rng, number, size, booking, tables) for number in numbers]
    for name in TABLES:
        await session.execute(insert(SQLModel.metadata.tables[name]), tables[name])
    return ids, len(tables["appointment"])


@dataclass
class Seeded:
    doctors: list[uuid.UUID]
    appointments: int
    rows: int = 0
    seconds_people: float = 0.0
    seconds_slots: float = 0.0
    checked: int = 0


async def _seed_people(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, size: Size, first: date
) -> Seeded:
    """Bylaws, the patient and every doctor, straight into the database, a chunk a transaction."""
    rng = random.Random(SEED)
    password_hash = password_hasher(settings).hash(PASSWORD)
    async with sessionmaker() as session:
        version = await bylaws_service.install(session, default_bylaws(), account_id=None)
        patient = Account(
            email=PATIENT,
            display_name="Paciente Bench",
            password_hash=password_hash,
            roles=["patient"],
        )
        session.add(patient)
        await session.commit()
    last = first + timedelta(days=DAYS - 1)
    like = _likes(patient.id, password_hash, version.number)
    booking = Booking(patient.id, first, last, clock.now(), like)
    seeded = Seeded([], 0)
    for low in range(0, size.doctors, CHUNK):
        async with sessionmaker() as session:
            numbers = range(low, min(low + CHUNK, size.doctors))
            ids, booked = await _seed_chunk(session, rng, numbers, size, booking)
            await session.commit()
        seeded.doctors += ids
        seeded.appointments += booked
    return seeded


OPEN_SLOT = SQLModel.metadata.tables["open_slot"]
COLUMNS = ("practitioner_id", "start", "end", "rank", "opens_at", "closes_at")
INSERT = 'INSERT INTO open_slot (practitioner_id, start, "end", rank, opens_at, closes_at) '
SlotRow = tuple[Any, ...]  # COLUMNS' values as the database driver takes them
Laid = tuple[list[datetime], list[tuple[Any, Any, Any, Any]]]


def _same(value: Any) -> Any:
    return value


def _storing(dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    """Each column's bind processing for `dialect` (SQLAlchemy's own, as every statement does),
    to be done once per value rather than once per row; none on PostgreSQL, whose COPY takes
    the Python values."""
    if dialect.name == "postgresql":
        return {column: _same for column in COLUMNS}
    return {c: OPEN_SLOT.c[c].type.bind_processor(dialect) or _same for c in COLUMNS}


@dataclass
class Bulk:
    """The bulk path's laying out: the rows `openings.lay_out` writes, for every doctor at the
    same `now`. The pure rules lay out each kind of schedule once over the span `lay_out` covers
    (the minimum notice and the horizon left to `opens_at` and `closes_at`, as
    `openings._laid_out` does); then each doctor's live appointments remove the slots they
    block, on the same terms as `openings.take` (a slot that overlaps the appointment widened by
    the buffer). `openings.rank` ranks every row."""

    now: datetime
    store: dict[str, Callable[[Any], Any]]
    laid: dict[tuple[slots.Schedule, int, int], Laid] = field(default_factory=dict)

    def _laid(self, doctor: Practitioner, plan: slots.Schedule) -> Laid:
        since = self.now - openings.BEHIND
        until = self.now + timedelta(days=doctor.horizon_days) + openings.SLACK
        anytime = dataclasses.replace(
            plan, min_notice_minutes=0, horizon_days=(until - since).days + 2
        )
        key = (anytime, doctor.horizon_days, doctor.min_notice_minutes)
        if key not in self.laid:
            zone = ZoneInfo(plan.timezone)
            found = slots.generate_slots(
                anytime,
                first_day=since.astimezone(zone).date(),
                last_day=until.astimezone(zone).date(),
                now=since,
            )
            kept = [slot for slot in found if since <= slot.start < until]
            horizon = timedelta(days=doctor.horizon_days)
            notice = timedelta(minutes=doctor.min_notice_minutes)
            at, end = self.store["start"], self.store["end"]
            opens, closes = self.store["opens_at"], self.store["closes_at"]
            values = [
                (at(s.start), end(s.end), opens(s.start - horizon), closes(s.start - notice))
                for s in kept
            ]
            self.laid[key] = ([slot.start for slot in kept], values)
        return self.laid[key]

    def rows(
        self, doctor: Practitioner, plan: slots.Schedule, taken: list[Interval]
    ) -> Iterator[SlotRow]:
        starts, values = self._laid(doctor, plan)
        pad = timedelta(minutes=doctor.buffer_minutes)
        length = timedelta(minutes=doctor.slot_minutes)
        blocked: set[int] = set()
        for interval in taken:  # the slots with start < end + pad and end > start - pad
            low = bisect.bisect_right(starts, interval.start - pad - length)
            blocked.update(range(low, bisect.bisect_left(starts, interval.end + pad)))
        doctor_id = self.store["practitioner_id"](doctor.id)
        for index, (start, end, opens_at, closes_at) in enumerate(values):
            if index not in blocked:
                place = openings.rank(doctor.id, starts[index])
                yield (doctor_id, start, end, place, opens_at, closes_at)


async def _without_foreign_key_checks(session: AsyncSession) -> None:
    """On PostgreSQL as a superuser, this transaction only: no foreign-key trigger per row (the
    rows it writes refer to rows just made)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if await driver.fetchval("SELECT current_setting('is_superuser')") == "on":
            await driver.execute("SET LOCAL session_replication_role = replica")


async def _insert_rows(session: AsyncSession, rows: list[SlotRow]) -> None:
    """Open slot rows: PostgreSQL's COPY, or one statement executed for many rows."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await _without_foreign_key_checks(session)
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table("open_slot", records=rows, columns=list(COLUMNS))
    elif rows:
        await connection.exec_driver_sql(INSERT + "VALUES (?, ?, ?, ?, ?, ?)", rows)


async def _lay_out_in_bulk(session: AsyncSession, bulk: Bulk, doctors: list[Practitioner]) -> None:
    """The batch's rows and coverage as `openings.lay_out` writes them, for doctors that have no
    rows yet; their schedules and appointments read by the readers `lay_out` uses."""
    plans = await agenda.schedules(session, doctors)
    since = bulk.now - openings.BEHIND
    until = bulk.now + timedelta(days=max(d.horizon_days for d in doctors)) + openings.SLACK
    taken = await agenda.busy_of(
        session, [d.id for d in doctors], start=since - timedelta(days=1), end=until
    )
    rows: list[SlotRow] = []
    for doctor in doctors:
        plan = plans[doctor.id]
        if plan is not None:
            rows += bulk.rows(doctor, plan, taken[doctor.id])
    await _insert_rows(session, rows)
    coverage = [
        {
            "practitioner_id": doctor.id,
            "since": since,
            "until": bulk.now + timedelta(days=doctor.horizon_days) + openings.SLACK,
            "fresh_until": bulk.now + openings.SLACK,
        }
        for doctor in doctors
    ]
    await session.execute(insert(SlotCoverage), coverage)


async def _lay_out(engine: AsyncEngine, ids: list[uuid.UUID], *, bulk: bool, now: datetime) -> int:
    """Every doctor's open slots as laid out at `now`, a batch of doctors a transaction: how
    many rows."""
    sessionmaker = create_sessionmaker(engine)
    laying = Bulk(now, _storing(engine.dialect))
    async with _without_order_index(engine, bulk=bulk):
        await _lay_out_batches(sessionmaker, laying, ids, bulk=bulk)
        if bulk:
            async with sessionmaker() as session:
                await _without_foreign_key_checks(session)
                await openings.file_all_under_facets(session)
                await session.commit()
    async with sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(OpenSlot))).scalar_one())


@contextlib.asynccontextmanager
async def _without_order_index(engine: AsyncEngine, *, bulk: bool) -> AsyncIterator[None]:
    """For a bulk load, the search's indexes are dropped before and made again, as the models
    define them, after (one sorted build instead of millions of insertions)."""
    if not bulk:
        yield
        return
    indexes = [
        index
        for table in (OPEN_SLOT, SQLModel.metadata.tables["open_slot_facet"])
        for index in table.indexes
        if index.name in ("ix_open_slot_order", "ix_open_slot_facet_order")
    ]
    async with engine.begin() as connection:
        for index in indexes:
            await connection.execute(DropIndex(index))
    yield
    async with engine.begin() as connection:
        for index in indexes:
            await connection.execute(CreateIndex(index))


async def _lay_out_batches(
    sessionmaker: async_sessionmaker[AsyncSession],
    laying: Bulk,
    ids: list[uuid.UUID],
    *,
    bulk: bool,
) -> None:
    for low in range(0, len(ids), BATCH):
        async with sessionmaker() as session:
            found = await practitioners.by_ids(session, ids[low : low + BATCH])
            batch = [found[i] for i in ids[low : low + BATCH]]
            if bulk:
                await _lay_out_in_bulk(session, laying, batch)
            else:
                for doctor in batch:
                    await openings.lay_out(session, doctor)
            await session.commit()


async def _rows_of(session: AsyncSession, doctor: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(
            col(OpenSlot.start),
            col(OpenSlot.end),
            col(OpenSlot.rank),
            col(OpenSlot.opens_at),
            col(OpenSlot.closes_at),
        )
        .where(col(OpenSlot.practitioner_id) == doctor)
        .order_by(col(OpenSlot.start))
    )
    return [tuple(row) for row in rows]


async def _check(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[uuid.UUID], now: datetime
) -> int:
    """The rows of a sample of doctors equal what a fresh `openings.lay_out` at the same `now`
    writes (in a transaction rolled back; a large seeding takes long enough for the laid-out
    span to move); raises otherwise. How many doctors were compared."""
    sample = random.Random(SEED).sample(ids, min(CHECKED, len(ids)))
    with clock.travel(now, frozen=True):
        return await _compare(sessionmaker, sample)


async def _compare(sessionmaker: async_sessionmaker[AsyncSession], sample: list[uuid.UUID]) -> int:
    async with sessionmaker() as session:
        for doctor in sample:
            seeded = await _rows_of(session, doctor)
            await openings.lay_out(session, await practitioners.get(session, doctor))
            again = await _rows_of(session, doctor)
            if seeded != again:
                raise AssertionError(f"doctor {doctor}: the seeded rows differ from a lay_out")
        await session.rollback()
    return len(sample)


async def _seed(scratch: Scratch, size: Size, first: date) -> Seeded:
    settings = scratch.settings()
    engine = create_engine(settings)
    try:
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        seeded = await _seed_people(sessionmaker, settings, size, first)
        laid = time.perf_counter()
        now = clock.now()
        with clock.travel(now, frozen=True):  # every doctor laid out at the same moment
            seeded.rows = await _lay_out(engine, seeded.doctors, bulk=size.bulk, now=now)
        seeded.seconds_slots = time.perf_counter() - laid
        seeded.seconds_people = laid - started
        seeded.checked = await _check(sessionmaker, seeded.doctors, now)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return seeded


# ---- databases --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _database(backend: str, folder: str) -> AsyncIterator[Scratch]:
    """A fresh migrated database: a scratch PostgreSQL database (dropped afterwards) or a SQLite
    file in `folder` (removed with it)."""
    if backend == "postgresql":
        async with scratch_database(folder) as scratch:
            yield scratch
        return
    path = Path(folder) / f"bench-{secrets.token_hex(4)}.db"
    scratch = Scratch(path.name, f"sqlite+aiosqlite:///{path}", secrets.token_urlsafe(36))
    engine = create_engine(scratch.settings())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on)
            await connection.commit()
    finally:
        await engine.dispose()
    try:
        yield scratch
    finally:
        for suffix in ("", "-wal", "-shm"):  # the folder holds every size's file till the end
            await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)


# ---- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sequential:
    p50: float
    p95: float
    p99: float
    items: int
    more: bool


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


async def _sequential(base: str, token: str, path: str, params: dict[str, str]) -> Sequential:
    """SEQUENTIAL requests one after another from one keep-alive client, after a warm-up."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=120) as client:
        first = await client.get(path, params=params, headers=headers)
        first.raise_for_status()
        timings = []
        for _ in range(SEQUENTIAL):
            started = time.perf_counter()
            response = await client.get(path, params=params, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    body = first.json()
    items, more = len(body.get("items", ())), bool(body.get("next_cursor"))
    return Sequential(*_percentiles(timings), items, more)


@contextlib.contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) run on `engine` meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:  # connection, cursor, statement, parameters, context, many
        seen.append((str(args[2]), args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@dataclass
class Split:
    """Milliseconds a request, in-process: in all, inside `openings.search` (its statements and
    the loop around them) and inside `views.slot_page` (the page's objects)."""

    total: float = 0.0
    search: float = 0.0
    page: float = 0.0


@dataclass
class Inspection:
    statements: dict[str, list[str]] = field(default_factory=dict)
    plans: dict[str, list[str]] = field(default_factory=dict)
    splits: dict[str, Split] = field(default_factory=dict)


def _timed(split: Split, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                setattr(split, name, getattr(split, name) + time.perf_counter() - started)

        return timed_async

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            setattr(split, name, getattr(split, name) + time.perf_counter() - started)

    return timed


async def _split(client: httpx.AsyncClient, params: dict[str, str], headers: Row) -> Split:
    """Where SPLIT requests' time goes, in-process (no network, no second worker)."""
    split = Split()
    with (
        patch.object(openings, "search", _timed(split, "search", openings.search)),
        patch.object(views, "slot_page", _timed(split, "page", views.slot_page)),
    ):
        started = time.perf_counter()
        for _ in range(SPLIT):
            (await client.get("/v1/slots", params=params, headers=headers)).raise_for_status()
        split.total = time.perf_counter() - started
    return Split(*(1000 * value / SPLIT for value in (split.total, split.search, split.page)))


async def _plan(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    """The slot query's plan: run and timed on PostgreSQL, as chosen on SQLite."""
    how = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    async with engine.connect() as connection:
        rows = await connection.exec_driver_sql(how + statement, parameters)
        return [str(row[-1]) for row in rows]


async def _inspect(
    scratch: Scratch, token: str, params: dict[str, str], *, explain: bool
) -> Inspection:
    """One request of each query in-process (after a warm-up): the statements it runs and, when
    asked, the plan of its slot query."""
    settings = scratch.settings()
    engine = create_engine(settings)
    found = Inspection()
    try:
        app = create_app(settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, extra in QUERIES:
                (
                    await client.get("/v1/slots", params=params | extra, headers=headers)
                ).raise_for_status()
                with _statements(engine) as seen:
                    response = await client.get("/v1/slots", params=params | extra, headers=headers)
                    response.raise_for_status()
                found.statements[label] = [statement for statement, _ in seen]
                slot_query = [(s, p) for s, p in seen if "FROM open_slot" in s]
                if explain and slot_query:
                    found.plans[label] = await _plan(engine, *slot_query[0])
                found.splits[label] = await _split(client, params | extra, headers)
    finally:
        await engine.dispose()
    return found


@dataclass
class Figures:
    size: Size
    seeded: Seeded
    inspection: Inspection
    sequential: dict[str, Sequential] = field(default_factory=dict)
    load: dict[str, wrk.Result] = field(default_factory=dict)
    load_average: float = 0.0


def _search_params() -> dict[str, str]:
    tomorrow = clock.today() + timedelta(days=1)
    last = tomorrow + timedelta(days=DAYS - 1)
    return {"from": tomorrow.isoformat(), "to": last.isoformat()}


@dataclass(frozen=True)
class Options:
    backends: tuple[str, ...]
    sizes: tuple[int, ...]
    sqlite_sizes: tuple[int, ...]
    seconds: int
    connections: int


async def _under_load(
    wrk_path: str, base: str, lua: Path, params: dict[str, str], options: Options
) -> dict[str, wrk.Result]:
    """/healthz/live, then each query, for `options.seconds` each."""
    results = {}
    for label, path in [(HEALTH, HEALTH)] + [
        (label, "/v1/slots?" + str(httpx.QueryParams(params | extra))) for label, extra in QUERIES
    ]:
        results[label] = await asyncio.to_thread(
            wrk.measure,
            wrk_path,
            base + path,
            label,
            lua,
            seconds=options.seconds,
            connections=options.connections,
            threads=2,
        )
    return results


async def _measure(
    backend: str,
    size: Size,
    sizes: tuple[int, ...],
    options: Options,
    wrk_path: str | None,
    folder: str,
) -> Figures:
    """Seed a database for `size`, serve it, measure; the plans for the two largest `sizes`."""
    params = _search_params()
    async with _database(backend, folder) as scratch:
        seeded = await _seed(scratch, size, date.fromisoformat(params["from"]))
        print(
            f"  {size.doctors:,} doctors: {seeded.appointments:,} appointments, "
            f"{seeded.rows:,} open slots laid out {'in bulk' if size.bulk else 'by lay_out'} "
            f"(horizon {size.horizon_days} days) in {seeded.seconds_people:.0f} + "
            f"{seeded.seconds_slots:.0f} s; {seeded.checked} doctors' rows checked",
            flush=True,
        )
        env = scratch.environment(workers=str(WORKERS), access_token_minutes="240")
        async with serving(env, folder, f"{backend}-{size.doctors}") as server:
            [token] = await sign_in(server.base, [PATIENT])
            explain = size.doctors in sizes[-2:]
            figures = Figures(size, seeded, await _inspect(scratch, token, params, explain=explain))
            figures.load_average = os.getloadavg()[0]
            figures.sequential[HEALTH] = await _sequential(server.base, token, HEALTH, {})
            for label, extra in QUERIES:
                figures.sequential[label] = await _sequential(
                    server.base, token, "/v1/slots", params | extra
                )
            if wrk_path is not None:
                lua = wrk.script(
                    Path(folder), "slots", f'wrk.headers["Authorization"] = "Bearer {token}"\n'
                )
                figures.load = await _under_load(wrk_path, server.base, lua, params, options)
    return figures


# ---- reporting --------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _failures(result: wrk.Result) -> str:
    """Socket errors, then answers that were not 2xx or 3xx."""
    not_ok = sum(n for status, n in result.statuses.items() if not status.startswith(("2", "3")))
    return f"{sum(result.errors.values())}, {not_ok}"


def _rate(result: wrk.Result, health: wrk.Result) -> str:
    return f"{result.rate:,.0f} ({result.rate / health.rate:.0%})"


def _rows(figures: list[Figures]) -> Iterator[tuple[str, list[str]]]:
    """The table's rows: a label and a cell per size."""
    yield "open slots (rows)", [f"{f.seeded.rows:,}" for f in figures]
    yield "machine load (1-minute average)", [f"{f.load_average:.1f}" for f in figures]
    yield (
        "doctors' horizon, laid out",
        [f"{f.size.horizon_days} d, {'bulk' if f.size.bulk else 'lay_out'}" for f in figures],
    )
    for label, _ in QUERIES:
        yield f"GET /v1/slots {label}", ["" for _ in figures]
        yield (
            "  one at a time p50/p95/p99 ms",
            [
                "/".join(_ms(v) for v in (s.p50, s.p95, s.p99))
                for s in (f.sequential[label] for f in figures)
            ],
        )
        if all(f.load for f in figures):
            yield (
                "  wrk req/s (of /healthz/live)",
                [_rate(f.load[label], f.load[HEALTH]) for f in figures],
            )
            yield (
                "  wrk p50/p99 ms",
                [f"{_ms(f.load[label].p50_ms)}/{_ms(f.load[label].p99_ms)}" for f in figures],
            )
            yield (
                "  wrk errors, not 2xx",
                [_failures(f.load[label]) for f in figures],
            )
        yield (
            "  in-process ms: all/search/page",
            [
                "/".join(_ms(v) for v in (s.total, s.search, s.page))
                for s in (f.inspection.splits[label] for f in figures)
            ],
        )
        yield (
            "  page, next, statements",
            [
                f"{f.sequential[label].items}, {'yes' if f.sequential[label].more else 'no'}, "
                f"{len(f.inspection.statements[label])}"
                for f in figures
            ],
        )
    yield f"GET {HEALTH}", ["" for _ in figures]
    yield (
        "  one at a time p50/p95/p99 ms",
        [
            "/".join(_ms(v) for v in (s.p50, s.p95, s.p99))
            for s in (f.sequential[HEALTH] for f in figures)
        ],
    )
    if all(f.load for f in figures):
        yield "  wrk req/s", [f"{f.load[HEALTH].rate:,.0f}" for f in figures]
        yield (
            "  wrk p50/p99 ms",
            [f"{_ms(f.load[HEALTH].p50_ms)}/{_ms(f.load[HEALTH].p99_ms)}" for f in figures],
        )


def _table(backend: str, figures: list[Figures], options: Options) -> None:
    print(
        f"\n{backend}: tequio serve, {WORKERS} workers; {SEQUENTIAL} sequential requests; "
        f"wrk 2 threads × {options.connections} connections, {options.seconds} s a run"
    )
    print(f"{'':34}" + "".join(f"{f.size.doctors:>18,}" for f in figures))
    for label, cells in _rows(figures):
        print(f"{label:34}" + "".join(f"{cell:>18}" for cell in cells))


def _details(backend: str, figures: list[Figures]) -> None:
    """The statements of one search, and the slot query's plans at the largest sizes."""
    first = figures[0]
    for label, statements in first.inspection.statements.items():
        print(f"\n{backend}, {first.size.doctors:,} doctors, {label}: {len(statements)} statements")
        for statement in statements:
            print("  " + " ".join(statement.split())[:160])
    for each in figures:
        for label, plan in each.inspection.plans.items():
            print(f"\n{backend}, {each.size.doctors:,} doctors, {label}: the slot query's plan")
            for line in plan:
                print("  " + line)


async def _run(options: Options) -> None:
    wrk_path = wrk.ensure()
    for backend in options.backends:
        if backend == "postgresql" and not answers(5432):
            print("no PostgreSQL on 127.0.0.1:5432: skipped")
            continue
        print(f"{backend}: seeding (seed {SEED}; {DAYS} days searched from tomorrow)", flush=True)
        sizes = options.sizes if backend == "postgresql" else options.sqlite_sizes
        figures = []
        with tempfile.TemporaryDirectory() as folder:
            for doctors in sizes:
                size = Size.of(doctors)
                figures.append(await _measure(backend, size, sizes, options, wrk_path, folder))
        _table(backend, figures, options)
        _details(backend, figures)


def _interrupted(*_: Any) -> NoReturn:
    raise KeyboardInterrupt  # asyncio cancels the run: servers stop, databases are dropped


def _options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.slot_search")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--sqlite-sizes", default=",".join(str(n) for n in SQLITE_SIZES))
    parser.add_argument("--seconds", type=int, default=SECONDS, help="each wrk run, 1–30")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args(argv)
    backends = tuple(args.backends.split(","))
    if not set(backends) <= set(BACKENDS):
        parser.error(f"backends: {', '.join(BACKENDS)}")
    return Options(
        backends=backends,
        sizes=tuple(sorted(int(n) for n in args.sizes.split(","))),
        sqlite_sizes=tuple(sorted(int(n) for n in args.sqlite_sizes.split(","))),
        seconds=max(1, min(args.seconds, 30)),
        connections=args.connections,
    )


def run(argv: Sequence[str] | None = ()) -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    asyncio.run(_run(_options(argv)))


if __name__ == "__main__":
    run(None)
