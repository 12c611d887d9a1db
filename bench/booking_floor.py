"""The floor of a booking on Tequio's stack: how many bookings a second the simplest conceivable
booking reaches, beside GET /healthz/live of the same server in the same run, on this machine.

Issue 13 asks POST /v1/appointments for at least a tenth of /healthz/live's requests per second
(bench/http_load.py measures that). This says whether a tenth is within reach at all: the same
framework, server, driver and database, doing nothing but a booking's statements.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust auth) and wrk (installed from Debian's
package when missing and running as root); without either, says so and returns. A fresh, empty
database `tequio_bench_<random>` gets the tables of bench/floor_app.py (accounts, sign-in
sessions, DOCTORS doctors, appointments unique on doctor and start) and SESSIONS accounts each
signed in once; it is dropped afterwards. bench/floor_app.py then runs under uvicorn with WORKERS
workers (`python -m uvicorn bench.floor_app:app`, as `tequio serve` runs Tequio: uvloop and
httptools when installed, no access log).

wrk keeps CONNECTIONS connections busy for SECONDS, from one thread:
- GET /healthz/live, the framework's ceiling, before the first and after each measured run (the
  ratios are to the mean of those runs; each booking's ratio to the two runs beside it follows);
- POST /floor/2, /floor/6 and /floor/orm (see bench/floor_app.py), from lists written up front:
  every request a distinct (doctor, start), doctors taken in turn, signed-in sessions taken in
  turn, so no booking waits on another's lock or conflicts. A warm-up run on other slots comes
  first, for every endpoint.

Prints each run (requests, requests per second, p50 and p99 latency, ratio to /healthz/live,
CPU milliseconds per request of the server's processes, of PostgreSQL's backends and of the
whole machine, whose excess over the two is wrk's and any other work's), the load averages, the
statuses, and the appointments stored against the 201s answered. wrk, the server and PostgreSQL
share the machine's cores: the figures are the whole machine's. Nothing here asserts a time.
"""

import asyncio
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import floor_app, wrk
from bench.live_server import (
    Server,
    cpu_seconds,
    database_cpu_seconds,
    machine_cpu_seconds,
    scratch_database,
    serving,
    wrk_on_postgresql,
)

CONNECTIONS = 16
DOCTORS = 40
SESSIONS = 1_000
SECONDS = 8
WORKERS = 2
WARM_UP_SECONDS = 2
# Requests written per run: more than any run can send (a booking will not pass 12,500/s here).
WARM_UP_REQUESTS = 25_000
MEASURED_REQUESTS = 100_000
FIRST_START = datetime(2031, 1, 6, 14, tzinfo=UTC)  # any instant: nothing here reads the clock
ENDPOINTS = (
    ("/floor/2", "lock, insert (raw asyncpg)"),
    ("/floor/6", "session check; lock, 2 reads, insert (raw asyncpg)"),
    ("/floor/orm", "/floor/6's statements in SQLAlchemy Core through an AsyncSession"),
)
ROOT = Path(__file__).resolve().parent.parent


async def _lay_out(engine: AsyncEngine) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The tables, DOCTORS doctors and SESSIONS verified accounts signed in once: the doctors'
    ids and the sessions' ids."""
    doctors = [uuid.uuid4() for _ in range(DOCTORS)]
    accounts = [uuid.uuid4() for _ in range(SESSIONS)]
    sessions = [uuid.uuid4() for _ in range(SESSIONS)]
    async with engine.begin() as connection:
        await connection.run_sync(floor_app.metadata.create_all)
        await connection.execute(
            insert(floor_app.doctor),
            [{"id": d, "name": f"Dra. Piso {n:02d}"} for n, d in enumerate(doctors)],
        )
        await connection.execute(
            insert(floor_app.account), [{"id": a, "verified": True} for a in accounts]
        )
        await connection.execute(
            insert(floor_app.auth_session),
            [
                {"id": s, "account_id": a, "revoked": False}
                for s, a in zip(sessions, accounts, strict=True)
            ],
        )
    return doctors, sessions


class Slots:
    """Distinct (doctor, start) pairs, doctors taken in turn, handed out once each."""

    def __init__(self, doctors: list[uuid.UUID]) -> None:
        self.doctors = doctors
        self.taken = 0

    def requests(self, path: str, sessions: list[uuid.UUID], count: int) -> list[wrk.Line]:
        lines = []
        for n in range(self.taken, self.taken + count):
            doctor = self.doctors[n % len(self.doctors)]
            start = FIRST_START + (n // len(self.doctors)) * floor_app.LENGTH
            body = f'{{"doctor_id":"{doctor}","start":"{start:%Y-%m-%dT%H:%M:%SZ}"}}'
            lines.append(wrk.Line("POST", path, token=str(sessions[n % len(sessions)]), body=body))
        self.taken += count
        return lines


def _measure(
    wrk_path: str,
    server: Server,
    database: str,
    folder: Path,
    doctors: list[uuid.UUID],
    sessions: list[uuid.UUID],
) -> int:
    """Warm up, then each endpoint beside /healthz/live; prints the table. The 201s answered."""
    slots = Slots(doctors)
    from_file = wrk.file_script(folder)
    live = wrk.get_script(folder, "/healthz/live")
    warm_ups = [
        wrk.measure(
            wrk_path, server.base, "warm-up", live, connections=CONNECTIONS, seconds=WARM_UP_SECONDS
        )
    ]
    runs: list[tuple[str, Path, tuple[str, ...]]] = []
    for path, _ in ENDPOINTS:
        name = path.strip("/").replace("/", "-")
        warm = wrk.write_requests(
            folder / f"{name}-warm-up.txt", slots.requests(path, sessions, WARM_UP_REQUESTS)
        )
        measured = wrk.write_requests(
            folder / f"{name}.txt", slots.requests(path, sessions, MEASURED_REQUESTS)
        )
        warm_ups.append(
            wrk.measure(
                wrk_path,
                server.base,
                "warm-up",
                from_file,
                connections=CONNECTIONS,
                seconds=WARM_UP_SECONDS,
                args=(str(warm),),
            )
        )
        runs.append((f"POST {path}", from_file, (str(measured),)))
    meters: wrk.Meters = {
        "server": lambda: cpu_seconds([server]),
        "database": lambda: database_cpu_seconds(database),
        # every process's, wrk's and others' too: well above the two, the machine was shared
        "machine": machine_cpu_seconds,
    }
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
    return sum(r.statuses["201"] for r in [*warm_ups, *results])


def _report(results: list[wrk.Result], ceiling: float, meters: wrk.Meters) -> None:
    print(wrk.header(meters))
    for result in results:
        print(result.row(ceiling))
    for n, result in enumerate(results):
        if result.label == wrk.LIVE:
            continue
        what = dict(ENDPOINTS)[result.label.removeprefix("POST ")]
        beside = sorted(result.rate / results[m].rate for m in (n - 1, n + 1))
        print(f"  {result.label}: {what}")
        print(f"    {result.outcome()}")
        print(
            f"    {result.rate / ceiling:.1%} of /healthz/live's requests per second "
            f"({beside[0]:.1%}–{beside[1]:.1%} of the live runs just before and after it)"
        )


def _load_averages() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


async def _run(folder: str, wrk_path: str) -> bool:
    async with scratch_database(folder, migrated=False) as scratch:
        engine = create_async_engine(scratch.url)
        try:
            doctors, sessions = await _lay_out(engine)
            print(
                f"database {scratch.name}: {DOCTORS} doctors, {SESSIONS:,} signed-in accounts, "
                "appointments unique on (doctor, start)"
            )
            print("load averages (1, 5, 15 min) before: " + _load_averages())
            print(
                f"wrk: 1 thread, {CONNECTIONS} connections, {SECONDS} s a run; server: {WORKERS} "
                f"uvicorn workers; {os.cpu_count()} cores shared by wrk, the server and PostgreSQL"
            )
            command = (
                *(sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--app-dir", str(ROOT)),
                *("--host", "127.0.0.1", "--workers", str(WORKERS), "--log-level", "warning"),
                *("--no-access-log", "--no-server-header"),
            )
            env = {**os.environ, "FLOOR_DATABASE_URL": scratch.url}
            async with serving(env, folder, "floor", command) as server:
                answered = await asyncio.to_thread(
                    _measure, wrk_path, server, scratch.name, Path(folder), doctors, sessions
                )
            print("  load averages (1, 5, 15 min) after: " + _load_averages())
            async with engine.connect() as connection:
                count = select(func.count()).select_from(floor_app.appointment)
                stored = (await connection.execute(count)).scalar_one()
            # wrk stops without reading the answers in flight: up to CONNECTIONS a run unseen
            unseen = CONNECTIONS * 2 * len(ENDPOINTS)
            print(
                f"  appointments stored: {stored:,}; 201s wrk read: {answered:,} (it stops "
                f"without reading the answers in flight, up to {CONNECTIONS} a run)"
            )
            return bool(answered <= stored <= answered + unseen)
        finally:
            await engine.dispose()


def run() -> None:
    wrk_path = wrk_on_postgresql("the booking floor benchmark")
    if wrk_path is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        agreed = asyncio.run(_run(folder, wrk_path))
    if not agreed:
        print("FAILED: the appointments stored are not the 201s answered", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    run()
