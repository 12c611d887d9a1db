"""The simplest booking service conceivable on Tequio's stack (FastAPI, uvicorn, asyncpg,
SQLAlchemy's AsyncSession, PostgreSQL), for bench/booking_floor.py: what a booking costs when it
does nothing but its statements.

uvicorn imports this module in each worker (`bench.floor_app:app`); the database comes from
FLOOR_DATABASE_URL (`postgresql+asyncpg://…`). The tables are laid out by `create_tables`:
- GET /healthz/live: the framework alone; GET /healthz/ready: one `SELECT 1`;
- POST /floor/2: BEGIN, lock the doctor's row (FOR UPDATE), INSERT the appointment RETURNING its
  id, COMMIT, on a raw asyncpg pool: 4 round trips;
- POST /floor/6: the caller's sign-in session read by primary key (the bearer token is its id),
  then BEGIN, the lock, the overlapping appointments, the patient's account, the INSERT, COMMIT:
  7 round trips, the shape of a real booking's with none of its rules;
- POST /floor/orm: the same statements as /floor/6, written with SQLAlchemy Core and run through
  an AsyncSession on an AsyncEngine sized and configured as Tequio's (one transaction, committed
  at the end, as app/db.py's request session does): what the session layer adds.

A conflict on (doctor, start) answers 409; a missing doctor or session 404 or 401.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

LENGTH = timedelta(minutes=30)
POOL = 16  # per worker: every connection wrk keeps busy could land on one worker

metadata = MetaData()
account = Table(
    "account",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("verified", Boolean, nullable=False),
)
auth_session = Table(
    "auth_session",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("account.id"), nullable=False),
    Column("revoked", Boolean, nullable=False),
)
doctor = Table(
    "doctor",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String, nullable=False),
)
appointment = Table(
    "appointment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("doctor_id", Uuid, ForeignKey("doctor.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("account.id")),
    Column("start", DateTime(timezone=True), nullable=False),
    Column("end", DateTime(timezone=True), nullable=False),
    Column("status", String, nullable=False),
    Index("appointment_doctor_start", "doctor_id", "start", unique=True),
)

LOCK = "SELECT id FROM doctor WHERE id = $1 FOR UPDATE"
INSERT = (
    'INSERT INTO appointment (id, doctor_id, patient_id, start, "end", status)'
    " VALUES ($1, $2, $3, $4, $5, 'booked') RETURNING id"
)
SESSION = "SELECT account_id FROM auth_session WHERE id = $1 AND NOT revoked"
OVERLAPS = (  # every appointment is LENGTH long: one that overlaps starts less than LENGTH before
    "SELECT id FROM appointment WHERE doctor_id = $1 AND start > $2 AND start < $3"
    " AND status = 'booked' LIMIT 1"
)
ACCOUNT = "SELECT verified FROM account WHERE id = $1"


class Booking(BaseModel):
    doctor_id: uuid.UUID
    start: AwareDatetime


class Booked(BaseModel):
    id: uuid.UUID


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class State:
    pool: Any = None  # asyncpg.Pool (asyncpg ships no types)
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[Any] | None = None


state = State()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["FLOOR_DATABASE_URL"]
    state.pool = await asyncpg.create_pool(asyncpg_url(url), min_size=1, max_size=POOL)
    state.engine = create_async_engine(url, pool_size=POOL, max_overflow=0, pool_recycle=1800)
    state.sessions = async_sessionmaker(state.engine, expire_on_commit=False)
    try:
        yield
    finally:
        await state.pool.close()
        await state.engine.dispose()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


def _session_id(authorization: str) -> uuid.UUID:
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise ValueError(scheme)
        return uuid.UUID(token)
    except ValueError:
        raise HTTPException(401) from None


@app.get("/healthz/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/healthz/ready")
async def ready() -> dict[str, str]:
    await state.pool.fetchval("SELECT 1")
    return {"status": "ok"}


@app.post("/floor/2", status_code=201)
async def floor_2(booking: Booking) -> Booked:
    """Lock the doctor, insert the appointment: the least a booking that cannot double-book does."""
    try:
        async with state.pool.acquire() as connection, connection.transaction():
            if await connection.fetchrow(LOCK, booking.doctor_id) is None:
                raise HTTPException(404)
            row = await connection.fetchrow(
                INSERT, uuid.uuid4(), booking.doctor_id, None, booking.start, booking.start + LENGTH
            )
    except asyncpg.UniqueViolationError:
        raise HTTPException(409) from None
    return Booked(id=row["id"])


@app.post("/floor/6", status_code=201)
async def floor_6(booking: Booking, authorization: Annotated[str, Header()]) -> Booked:
    """A session check, then the lock, two reads and the insert in one transaction."""
    session_id = _session_id(authorization)
    start, end = booking.start, booking.start + LENGTH
    try:
        async with state.pool.acquire() as connection:
            account_id = await connection.fetchval(SESSION, session_id)
            if account_id is None:
                raise HTTPException(401)
            async with connection.transaction():
                if await connection.fetchrow(LOCK, booking.doctor_id) is None:
                    raise HTTPException(404)
                if await connection.fetchrow(OVERLAPS, booking.doctor_id, start - LENGTH, end):
                    raise HTTPException(409)
                if not await connection.fetchval(ACCOUNT, account_id):
                    raise HTTPException(403)
                row = await connection.fetchrow(
                    INSERT, uuid.uuid4(), booking.doctor_id, account_id, start, end
                )
    except asyncpg.UniqueViolationError:
        raise HTTPException(409) from None
    return Booked(id=row["id"])


def _overlapping(doctor_id: uuid.UUID, start: datetime, end: datetime) -> Select[tuple[uuid.UUID]]:
    return (
        select(appointment.c.id)
        .where(
            appointment.c.doctor_id == doctor_id,
            appointment.c.start > start - LENGTH,
            appointment.c.start < end,
            appointment.c.status == "booked",
        )
        .limit(1)
    )


@app.post("/floor/orm", status_code=201)
async def floor_orm(booking: Booking, authorization: Annotated[str, Header()]) -> Booked:
    """/floor/6's statements in SQLAlchemy Core, through an AsyncSession."""
    session_id = _session_id(authorization)
    start, end = booking.start, booking.start + LENGTH
    assert state.sessions is not None
    try:
        async with state.sessions.begin() as session:
            account_id = await session.scalar(
                select(auth_session.c.account_id).where(
                    auth_session.c.id == session_id, auth_session.c.revoked.is_(False)
                )
            )
            if account_id is None:
                raise HTTPException(401)
            locked = select(doctor.c.id).where(doctor.c.id == booking.doctor_id).with_for_update()
            if await session.scalar(locked) is None:
                raise HTTPException(404)
            if await session.scalar(_overlapping(booking.doctor_id, start, end)) is not None:
                raise HTTPException(409)
            if not await session.scalar(
                select(account.c.verified).where(account.c.id == account_id)
            ):
                raise HTTPException(403)
            new = insert(appointment).values(
                id=uuid.uuid4(),
                doctor_id=booking.doctor_id,
                patient_id=account_id,
                start=start,
                end=end,
                status="booked",
            )
            booked_id = (await session.execute(new.returning(appointment.c.id))).scalar_one()
    except IntegrityError:
        raise HTTPException(409) from None
    return Booked(id=booked_id)
