"""The cheapest authenticated read and a booking under wrk, each beside GET /healthz/live of the
same server in the same run.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust auth) and wrk (installed from Debian's
package when missing and running as root); without either, says so and returns. A fresh database
`tequio_bench_<random>` is migrated (`tequio migrate`) and seeded directly: bylaws, an admin,
PRACTITIONERS doctors available all week 08:00–20:00 (America/Mexico_City, MX licences) and
PATIENTS patients, each an active patient-owner with an attested household (booking takes the
sliding-scale path, the one that reads the most). Each patient gets a sign-in session and an
access token minted as the token endpoint would (no argon2 hash each). A real server then runs
(`tequio serve`, WORKERS workers, logging warnings only).

wrk keeps CONNECTIONS connections busy for SECONDS, from one thread:
- GET /healthz/live, the framework's ceiling on this machine, before and after each measured run
  (the ratios are to the mean of those runs);
- GET /v1/me, each connection taking the patients' tokens in turn;
- POST /v1/appointments from a list written up front: every request a distinct open slot (doctors
  taken in turn, so the bookings in flight are for different doctors, as when many patients book
  at once), a patient taken in turn, and its own Idempotency-Key. A warm-up run on other slots
  comes first, for every endpoint.

Prints each run (requests, requests per second, p50 and p99 latency, ratio to /healthz/live),
the statuses, and the double bookings found by a SQL self-join (overlapping live appointments of
one practitioner): it must be 0, and the script exits non-zero otherwise. wrk, the server and
PostgreSQL share the machine's cores: the figures are the whole machine's. Nothing here asserts
a time.
"""

import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine, create_sessionmaker
from app.settings import Settings
from bench import wrk
from bench.live_server import (
    People,
    Server,
    cpu_seconds,
    database_cpu_seconds,
    make_members,
    mint_tokens,
    scratch_database,
    seed,
    serving,
    wrk_on_postgresql,
)
from cooperative.kernel import clock

CONNECTIONS = 16
PRACTITIONERS = 40
PATIENTS = 2_000
SECONDS = 10
WORKERS = 2
ZONE = ZoneInfo("America/Mexico_City")
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
LIVE_APPOINTMENTS = text(
    "SELECT count(*) FROM appointment WHERE status IN ('booked', 'arrived', 'fulfilled')"
)


def _slots(people: People) -> list[tuple[str, str]]:
    """Every open slot from the day after tomorrow for 26 days (30 minutes, 08:00–20:00 in
    Mexico City, which keeps no summer time), doctors taken in turn: (practitioner, start)."""
    today = clock.today()
    starts = [
        datetime.combine(today + timedelta(days=day), datetime.min.time(), ZONE)
        + timedelta(hours=8, minutes=30 * n)
        for day in range(2, 28)
        for n in range(24)
    ]
    return [
        (str(practitioner), start.astimezone(UTC).isoformat())
        for start in starts
        for practitioner in people.practitioner_ids
    ]


def _bookings(people: People, tokens: list[str]) -> list[wrk.Line]:
    lines = []
    for n, (practitioner_id, start) in enumerate(_slots(people)):
        body = {
            "practitioner_id": practitioner_id,
            "start": start,
            "patient_jurisdiction": "MX-OAX",
            "reason": "benchmark",
        }
        lines.append(
            wrk.Line(
                "POST",
                "/v1/appointments",
                token=tokens[n % len(tokens)],
                idempotency_key=f"bench-{n}",
                body=json.dumps(body, separators=(",", ":")),
            )
        )
    return lines


async def _seeded(engine: AsyncEngine, settings: Settings) -> tuple[People, list[str]]:
    sessions = create_sessionmaker(engine)
    people = await seed(sessions, settings, practitioners=PRACTITIONERS, patients=PATIENTS)
    await make_members(sessions, people.patients)
    return people, await mint_tokens(sessions, settings, people.patients)


def _measure(
    wrk_path: str, server: Server, database: str, folder: Path, people: People, tokens: list[str]
) -> None:
    """Warm up, then each measured run beside /healthz/live; prints the table."""
    me = wrk.write_requests(folder / "me.txt", [wrk.Line("GET", "/v1/me", token=t) for t in tokens])
    bookings = _bookings(people, tokens)
    warm = len(bookings) // 10  # the first days' slots warm up; the others are measured
    warm_up = wrk.write_requests(folder / "warm-up.txt", bookings[:warm])
    measured = wrk.write_requests(folder / "bookings.txt", bookings[warm:])
    from_file = wrk.file_script(folder)
    live = wrk.get_script(folder, "/healthz/live")
    for lua, args in ((live, ()), (from_file, (str(me),)), (from_file, (str(warm_up),))):
        wrk.measure(
            wrk_path, server.base, "warm-up", lua, connections=CONNECTIONS, seconds=2, args=args
        )
    meters: wrk.Meters = {
        "server": lambda: cpu_seconds([server]),
        "database": lambda: database_cpu_seconds(database),
    }
    runs: list[tuple[str, Path, tuple[str, ...]]] = [
        ("GET /v1/me", from_file, (str(me),)),
        ("POST /v1/appointments", from_file, (str(measured),)),
    ]
    results, ceiling = wrk.beside_live(
        wrk_path,
        server.base,
        folder,
        runs,
        connections=CONNECTIONS,
        seconds=SECONDS,
        meters=meters,
    )
    _report(results, ceiling, meters)


def _report(results: list[wrk.Result], ceiling: float, meters: wrk.Meters) -> None:
    print(wrk.header(meters))
    for result in results:
        print(result.row(ceiling))
    for result in results:
        if result.label != wrk.LIVE:
            print(f"  {result.label}: {result.outcome()}")
            print(f"    {result.rate / ceiling:.1%} of /healthz/live's requests per second")


async def _run(folder: str, wrk_path: str) -> int:
    async with scratch_database(folder) as scratch:
        settings = scratch.settings()
        engine = create_engine(settings)
        try:
            started = time.perf_counter()
            people, tokens = await _seeded(engine, settings)
            print(
                f"database {scratch.name}: migrated and seeded in "
                f"{time.perf_counter() - started:.1f} s ({PRACTITIONERS} practitioners, "
                f"{PATIENTS:,} patient-owners with attested households and access tokens)"
            )
            print(
                f"wrk: 1 thread, {CONNECTIONS} connections, {SECONDS} s a run; server: {WORKERS} "
                f"uvicorn workers; {os.cpu_count()} cores shared by wrk, the server and PostgreSQL"
            )
            env = scratch.environment(workers=str(WORKERS))
            async with serving(env, folder) as server:
                await asyncio.to_thread(
                    _measure, wrk_path, server, scratch.name, Path(folder), people, tokens
                )
            async with engine.connect() as connection:
                doubles = (await connection.execute(DOUBLE_BOOKINGS)).scalar_one()
                stored = (await connection.execute(LIVE_APPOINTMENTS)).scalar_one()
            print(f"  live appointments in the database: {stored:,}")
            print(
                f"  double bookings (overlapping live appointments of one practitioner): {doubles}"
            )
            return int(doubles)
        finally:
            await engine.dispose()


def run() -> None:
    wrk_path = wrk_on_postgresql("the HTTP load benchmark")
    if wrk_path is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        doubles = asyncio.run(_run(folder, wrk_path))
    if doubles:
        print(f"FAILED: {doubles} double bookings", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    run()
