"""Booking under load: 64 concurrent clients against a running server on PostgreSQL.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust auth); without it, says so and returns. A
fresh database `tequio_bench_<random>` is migrated (`tequio migrate`) and seeded directly:
bylaws, an admin, 20 practitioners available all week 08:00–20:00 (America/Mexico_City, MX
licences) and 64 patients. A real server then runs (`tequio serve`, 2 workers) and the patients
sign in through it. Each of 64 clients (one connection each, all on 127.0.0.1) books slots drawn
at random from one page of 200 open slots fetched up front, so attempts collide: 2,000 attempts
in all. Then the same clients send as many GET /healthz/live, the framework's ceiling on this
machine. Prints both side by side (requests per second, p50/p99 latency), the statuses, and the
number of double bookings found by a SQL self-join (overlapping live appointments of one
practitioner): it must be 0, and the script exits non-zero otherwise. The server is stopped and
the database dropped whatever happens. Nothing here asserts a time.

The load generator shares the machine's cores with the server and PostgreSQL: the figures are
the whole machine's, not the server's alone.
"""

import asyncio
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine, create_sessionmaker
from bench.live_server import answers, scratch_database, seed, serving, sign_in

CLIENTS = 64
PRACTITIONERS = 20
ATTEMPTS = 2_000
WORKERS = 2
SEED = 20260601
DOUBLE_BOOKINGS = text(
    """
    SELECT count(*) FROM appointment AS a
    JOIN appointment AS b
      ON a.practitioner_id = b.practitioner_id
     AND a.id < b.id
     AND a.start < b."end"
     AND b.start < a."end"
    WHERE a.status IN ('booked', 'arrived', 'fulfilled')
      AND b.status IN ('booked', 'arrived', 'fulfilled')
    """
)

Request = Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]


def _outcome(response: httpx.Response) -> str:
    if response.status_code < 400:
        return str(response.status_code)
    try:
        slug = str(response.json().get("type", "")).rsplit("/", 1)[-1]
    except ValueError:
        slug = ""
    return f"{response.status_code} {slug}".strip()


async def _load(
    clients: list[httpx.AsyncClient], total: int, send: Request
) -> tuple[float, list[float], Counter[str]]:
    """`total` requests from all the clients at once, each client one request at a time."""
    issued = itertools.count()
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()

    async def client_loop(client: httpx.AsyncClient, rng: random.Random) -> None:
        while next(issued) < total:
            started = time.perf_counter()
            try:
                response = await send(client, rng)
                outcomes[_outcome(response)] += 1
            except httpx.HTTPError as exc:
                outcomes[type(exc).__name__] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(c, random.Random(SEED + n)) for n, c in enumerate(clients)))
    return time.perf_counter() - started, latencies, outcomes


def _row(label: str, seconds: float, latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return (
        f"  {label:<24} {len(latencies):>8,} {seconds:8.2f} {len(latencies) / seconds:9.0f} "
        f"{cuts[49]:8.1f} {cuts[98]:8.1f}"
    )


async def _run(folder: str) -> int:
    async with scratch_database(folder) as scratch:
        settings = scratch.settings()
        engine = create_engine(settings)
        try:
            started = time.perf_counter()
            people = await seed(
                create_sessionmaker(engine),
                settings,
                practitioners=PRACTITIONERS,
                patients=CLIENTS,
            )
            seeded = time.perf_counter() - started
            async with serving(scratch.environment(workers=str(WORKERS)), folder) as server:
                started = time.perf_counter()
                emails = [p.email for p in people.patients] + [people.admin.email]
                *patient_tokens, admin_token = await sign_in(server.base, emails)
                signed_in = time.perf_counter() - started
                print(
                    f"database {scratch.name}: migrated, seeded in {seeded:.1f} s "
                    f"({PRACTITIONERS} practitioners, {CLIENTS} patients, an admin); "
                    f"{len(emails)} sign-ins through the server in {signed_in:.1f} s"
                )
                return await _measure(server.base, engine, patient_tokens, admin_token)
        finally:
            await engine.dispose()


async def _measure(
    base: str, engine: AsyncEngine, patient_tokens: list[str], admin_token: str
) -> int:
    """The booking load and the framework's ceiling; returns the double bookings found."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as client:
        response = await client.get("/v1/slots", params={"limit": 200}, headers=admin)
        response.raise_for_status()
    open_slots = [(s["practitioner"]["id"], s["start"]) for s in response.json()["items"]]
    print(
        f"{CLIENTS} clients, {ATTEMPTS:,} booking attempts on {len(open_slots)} open slots "
        f"(the first page of GET /v1/slots); server: {WORKERS} uvicorn workers, "
        f"{os.cpu_count()} cores shared with PostgreSQL and this load generator"
    )

    async def book(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        practitioner_id, start = rng.choice(open_slots)
        return await client.post(
            "/v1/appointments",
            json={
                "practitioner_id": practitioner_id,
                "start": start,
                "patient_jurisdiction": "MX-OAX",
                "reason": "benchmark",
            },
        )

    async def live(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        return await client.get("/healthz/live")

    clients = [
        httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
            timeout=60,
            limits=httpx.Limits(max_connections=1),
        )
        for token in patient_tokens
    ]
    try:
        await asyncio.gather(*(c.get("/healthz/live") for c in clients))  # connect first
        book_seconds, book_latencies, outcomes = await _load(clients, ATTEMPTS, book)
        live_seconds, live_latencies, live_outcomes = await _load(clients, ATTEMPTS, live)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))

    print(f"  {'':<24} {'requests':>8} {'seconds':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(_row("POST /v1/appointments", book_seconds, book_latencies))
    print(_row("GET /healthz/live", live_seconds, live_latencies))
    book_rate, live_rate = ATTEMPTS / book_seconds, ATTEMPTS / live_seconds
    print(
        f"  booking runs at {book_rate / live_rate:.1%} of the framework's ceiling "
        f"(/healthz/live answers {live_rate / book_rate:.1f}x as many requests a second)"
    )
    print(
        "  booking outcomes: "
        + ", ".join(f"{label} × {count:,}" for label, count in sorted(outcomes.items()))
    )
    if set(live_outcomes) != {"200"}:
        print(f"  /healthz/live outcomes: {dict(live_outcomes)}")

    async with engine.connect() as connection:
        doubles = (await connection.execute(DOUBLE_BOOKINGS)).scalar_one()
        stored = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM appointment "
                    "WHERE status IN ('booked', 'arrived', 'fulfilled')"
                )
            )
        ).scalar_one()
    print(
        f"  live appointments in the database: {stored:,} "
        f"(201 responses: {outcomes.get('201', 0):,})"
    )
    print(f"  double bookings (overlapping live appointments of one practitioner): {doubles}")
    return int(doubles)


def run() -> None:
    if not answers(5432):
        print("PostgreSQL does not answer on 127.0.0.1:5432: booking load benchmark not run")
        return
    with tempfile.TemporaryDirectory() as folder:
        doubles = asyncio.run(_run(folder))
    if doubles:
        print(f"FAILED: {doubles} double bookings", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    run()
