"""Losing the database under load: what clients see, what is kept, what the log gets.

Starts a PostgreSQL cluster of its own (initdb into a temporary folder, its own free port; see
tools/private_postgres.py — the shared server on 127.0.0.1:5432 is never stopped), migrates it,
seeds 16 practitioners and 16 patients, and runs `tequio serve` with 2 workers on it (JSON logs at
INFO, as shipped). Each of 16 clients books its own practitioner's slots one after another, each
booking with an Idempotency-Key, retrying with the same key after a 503 (waiting what
Retry-After says), a 500 (1 s) or a transport error (0.5 s) until it gets an answer that
settles it. Meanwhile the database is restarted (`pg_ctl restart -m fast`) and stopped
(`pg_ctl stop -m fast`, started again after a while) a few times.

Prints: bookings acknowledged (201, or 200 for a replayed key), bookings in the database, the
lost (acknowledged but absent) and the phantom (present but never acknowledged), every status
the clients met, and for each outage how long the database was away, how long after its return
the first booking was acknowledged, and what the server wrote to its log meanwhile (lines,
bytes, tracebacks). Exits non-zero if an acknowledged booking was lost. Asserts nothing about
times; the machine's cores are shared with PostgreSQL and the clients.

Durations come from the environment (defaults in brackets): BENCH_OUTAGE_RESTARTS [3],
BENCH_OUTAGE_STOPS [3], BENCH_OUTAGE_STOP_SECONDS [15], BENCH_OUTAGE_GAP_SECONDS [8] (load
between two outages, and before the first), BENCH_OUTAGE_THINK_SECONDS [0.1] (each client's
pause between two bookings).
"""

import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as wall
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from app.db import create_engine, create_sessionmaker
from bench.live_server import Server, private_database, seed, serving, sign_in
from cooperative.kernel import clock
from tools.private_postgres import Cluster, binaries

CLIENTS = 16
WORKERS = 2
ZONE = ZoneInfo("America/Mexico_City")  # the seeded practitioners' zone: 08:00–20:00, 30 min


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(f"BENCH_OUTAGE_{name}", default))


@dataclass(frozen=True)
class Plan:
    restarts: int = int(_setting("RESTARTS", 3))
    stops: int = int(_setting("STOPS", 3))
    stop_seconds: float = _setting("STOP_SECONDS", 15)
    gap_seconds: float = _setting("GAP_SECONDS", 8)
    think_seconds: float = _setting("THINK_SECONDS", 0.1)

    def describe(self) -> str:
        return (
            f"{self.restarts} fast restarts and {self.stops} stops of {self.stop_seconds:g} s, "
            f"{self.gap_seconds:g} s of load before each and after the last; each client pauses "
            f"{self.think_seconds:g} s between bookings (BENCH_OUTAGE_* to change)"
        )


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[str] = field(default_factory=Counter)
    connections: int = 0  # TCP connections the clients opened: 16 if the server closes none
    acknowledged: set[str] = field(default_factory=set)  # appointment ids
    ack_times: list[float] = field(default_factory=list)  # monotonic, in order
    done: bool = False


@dataclass
class Outage:
    label: str
    began: float
    returned: float = 0.0
    recovered: float | None = None
    log: tuple[int, int, int] = (0, 0, 0)  # lines, bytes, tracebacks


def _slots(days: int = 25) -> list[str]:
    """The seeded schedule's slots from the day after tomorrow on, in order."""
    first = clock.today() + timedelta(days=2)
    mornings = [datetime.combine(first + timedelta(days=d), wall(8), ZONE) for d in range(days)]
    return [
        (morning + timedelta(minutes=30 * n)).isoformat() for morning in mornings for n in range(24)
    ]


def _outcome(response: httpx.Response) -> str:
    if response.status_code < 400:
        return str(response.status_code)
    try:
        slug = str(response.json().get("type", "")).rsplit("/", 1)[-1]
    except ValueError:
        slug = response.headers.get("content-type", "")
    return f"{response.status_code} {slug}".strip()


async def _book_one(http: httpx.AsyncClient, body: dict[str, str], tally: Tally) -> None:
    """One booking, retried with its key until an answer settles it."""
    key = uuid.uuid4().hex

    async def trace(event: str, _info: object) -> None:
        if event == "connection.connect_tcp.complete":
            tally.connections += 1

    while True:
        try:
            response = await http.post(
                "/v1/appointments",
                json=body,
                headers={"Idempotency-Key": key},
                extensions={"trace": trace},
            )
        except httpx.TransportError as exc:
            tally.statuses[f"transport error ({type(exc).__name__})"] += 1
            await asyncio.sleep(0.5)
            continue
        tally.statuses[_outcome(response)] += 1
        if response.status_code in (200, 201):
            tally.acknowledged.add(response.json()["id"])
            tally.ack_times.append(time.monotonic())
            return
        if response.status_code == 503:
            wait = response.headers.get("retry-after", "1")
            await asyncio.sleep(min(float(wait), 10) if wait.isdigit() else 1)
        elif response.status_code >= 500:
            await asyncio.sleep(1)
        else:
            return  # refused for good (a 4xx): nothing was booked


async def _client(base: str, token: str, practitioner: str, plan: Plan, tally: Tally) -> None:
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=60,
        limits=httpx.Limits(max_connections=1),
    ) as http:
        for start in _slots():
            if tally.done:
                return
            body = {
                "practitioner_id": practitioner,
                "start": start,
                "patient_jurisdiction": "MX-OAX",
                "reason": "benchmark",
            }
            await _book_one(http, body, tally)
            await asyncio.sleep(plan.think_seconds)


def _log_mark(server: Server) -> int:
    return server.log_path.stat().st_size


def _log_since(server: Server, offset: int) -> tuple[int, int, int]:
    with server.log_path.open("rb") as log:
        log.seek(offset)
        written = log.read()
    return written.count(b"\n"), len(written), written.count(b"Traceback (most recent call last)")


async def _outage(
    label: str, server: Server, tally: Tally, take_away: Callable[[], Awaitable[None]]
) -> Outage:
    """Take the database away (until `take_away` returns it), then wait for the first booking
    acknowledged after its return (at most 60 s) and note the log written meanwhile."""
    mark = _log_mark(server)
    outage = Outage(label, time.monotonic())
    await take_away()
    outage.returned = time.monotonic()
    deadline = outage.returned + 60
    while time.monotonic() < deadline:
        after = [t for t in tally.ack_times[-CLIENTS:] if t > outage.returned]
        if after:
            outage.recovered = min(after)
            break
        await asyncio.sleep(0.05)
    outage.log = _log_since(server, mark)
    return outage


async def _schedule(cluster: Cluster, server: Server, plan: Plan, tally: Tally) -> list[Outage]:
    outages = []

    async def restart() -> None:
        await asyncio.to_thread(cluster.restart, "fast")

    async def stop() -> None:
        await asyncio.to_thread(cluster.stop, "fast")
        await asyncio.sleep(plan.stop_seconds)
        await asyncio.to_thread(cluster.start)

    steps = [(f"restart {n + 1} (fast)", restart) for n in range(plan.restarts)]
    steps += [(f"stop {n + 1} ({plan.stop_seconds:g} s)", stop) for n in range(plan.stops)]
    for label, take_away in steps:
        await asyncio.sleep(plan.gap_seconds)
        outages.append(await _outage(label, server, tally, take_away))
    await asyncio.sleep(plan.gap_seconds)
    tally.done = True
    return outages


def _report_outages(outages: list[Outage], quiet: tuple[int, int, int], quiet_s: float) -> None:
    print(
        f"  {'outage':<22} {'db away':>8} {'first 201 after':>16} "
        f"{'log lines':>10} {'log bytes':>12} {'tracebacks':>11}"
    )
    for outage in outages:
        recovered = (
            f"{outage.recovered - outage.returned:.2f} s" if outage.recovered else "not in 60 s"
        )
        lines, size, tracebacks = outage.log
        print(
            f"  {outage.label:<22} {outage.returned - outage.began:7.1f}s {recovered:>16} "
            f"{lines:>10,} {size:>12,} {tracebacks:>11,}"
        )
    lines, size, tracebacks = (sum(o.log[i] for o in outages) for i in range(3))
    print(
        f"  log written during the outages: {lines:,} lines, {size:,} bytes, "
        f"{tracebacks:,} tracebacks; before the first, under load: {quiet[0]:,} lines, "
        f"{quiet[1]:,} bytes in {quiet_s:.1f} s"
    )


def _report_bookings(tally: Tally, stored: set[str]) -> int:
    lost = tally.acknowledged - stored
    phantom = stored - tally.acknowledged
    print(
        f"  bookings acknowledged: {len(tally.acknowledged):,}; in the database: {len(stored):,}; "
        f"lost (acknowledged, absent): {len(lost)}; phantom (present, never acknowledged): "
        f"{len(phantom)}"
    )
    print(
        "  answers the clients met: "
        + ", ".join(f"{label} × {count:,}" for label, count in sorted(tally.statuses.items()))
    )
    print(
        f"  TCP connections the {CLIENTS} clients opened: {tally.connections:,} "
        "(one each unless the server closed some)"
    )
    return len(lost)


Figures = tuple[Tally, list[Outage], tuple[int, int, int], float]


async def _load(
    cluster: Cluster, server: Server, tokens: list[str], practitioners: list[str], plan: Plan
) -> Figures:
    """The clients and the outages together; what the clients saw, the outages, and the log
    written under load before the first outage (and over how long)."""
    tally = Tally()
    started, mark = time.monotonic(), _log_mark(server)
    clients = [
        asyncio.create_task(_client(server.base, token, practitioner, plan, tally))
        for token, practitioner in zip(tokens, practitioners, strict=True)
    ]
    schedule = asyncio.create_task(_schedule(cluster, server, plan, tally))
    await asyncio.sleep(plan.gap_seconds * 0.9)
    quiet, quiet_s = _log_since(server, mark), time.monotonic() - started
    outages = await schedule
    await asyncio.gather(*clients)
    return tally, outages, quiet, quiet_s


async def _run(folder: str, plan: Plan) -> int:
    async with private_database(folder) as (scratch, cluster):
        settings = scratch.settings()
        engine = create_engine(settings)
        try:
            people = await seed(
                create_sessionmaker(engine), settings, practitioners=CLIENTS, patients=CLIENTS
            )
            env = scratch.environment(workers=str(WORKERS), log_level="INFO", log_json="true")
            async with serving(env, folder) as server:
                tokens = await sign_in(server.base, [p.email for p in people.patients])
                print(
                    f"PostgreSQL {cluster.bin.parent.name} cluster of our own ({scratch.name}); "
                    f"`tequio serve` with {WORKERS} workers; {CLIENTS} clients, each booking its "
                    f"own practitioner's slots\n  {plan.describe()}"
                )
                practitioners = [str(p) for p in people.practitioner_ids]
                tally, outages, quiet, quiet_s = await _load(
                    cluster, server, tokens, practitioners, plan
                )
            async with engine.connect() as connection:
                rows = await connection.execute(text("SELECT id FROM appointment"))
                stored = {str(row[0]) for row in rows}
        finally:
            await engine.dispose()
    lost = _report_bookings(tally, stored)
    _report_outages(outages, quiet, quiet_s)
    return lost


def run() -> None:
    if binaries() is None:
        print("PostgreSQL's binaries (initdb, pg_ctl) are not installed: outage benchmark not run")
        return
    with tempfile.TemporaryDirectory() as folder:
        lost = asyncio.run(_run(folder, Plan()))
    if lost:
        print(f"FAILED: {lost} acknowledged bookings lost", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    run()
