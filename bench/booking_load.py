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
import contextlib
import itertools
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from datetime import time as wall
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.db import create_engine, create_sessionmaker
from app.main import password_hasher
from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from telehealth.practitioners.models import AvailabilityWindow, Licence, Practitioner

SERVER = "postgresql+asyncpg://root@127.0.0.1:5432"
CLIENTS = 64
PRACTITIONERS = 20
ATTEMPTS = 2_000
WORKERS = 2
SEED = 20260601
PASSWORD = "maiz azul de oaxaca"
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


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(url: str, secret: str) -> dict[str, str]:
    """This process's environment without any TEQUIO_ setting, plus the benchmark's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TEQUIO_")}
    return env | {
        "TEQUIO_DATABASE_URL": url,
        "TEQUIO_ENVIRONMENT": "test",
        "TEQUIO_SECRET_KEY": secret,
        "TEQUIO_WORKERS": str(WORKERS),
        "TEQUIO_LOG_LEVEL": "WARNING",
    }


async def _admin_execute(statement: str) -> None:
    engine = create_async_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _seed(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> list[str]:
    """Bylaws, an admin, the practitioners and the patients; returns the patients' emails and
    last the admin's. One password hash (at the shipped argon2 cost) serves every account."""
    password_hash = password_hasher(settings).hash(PASSWORD)

    def account(email: str, role: str) -> Account:
        return Account(
            email=email, display_name=email.split("@")[0], password_hash=password_hash, roles=[role]
        )

    admin = account("admin@bench.example.org", "admin")
    doctors = [account(f"doctora{n:02d}@bench.example.org", "doctor") for n in range(PRACTITIONERS)]
    patients = [account(f"paciente{n:02d}@bench.example.org", "patient") for n in range(CLIENTS)]
    profiles = [
        Practitioner(
            account_id=doctor.id,
            display_name=f"Dra. Bench {n:02d}",
            specialties=["family_medicine"],
            languages=["es"],
            timezone="America/Mexico_City",
            min_notice_minutes=60,
            horizon_days=30,
        )
        for n, doctor in enumerate(doctors)
    ]
    rules: list[AvailabilityWindow | Licence] = []
    for profile in profiles:
        rules += [
            AvailabilityWindow(practitioner_id=profile.id, weekday=day, start=wall(8), end=wall(20))
            for day in range(7)
        ]
        rules.append(
            Licence(
                practitioner_id=profile.id,
                jurisdiction="MX",
                number="1234567",
                expires_on=date(2030, 12, 31),
            )
        )
    async with sessionmaker() as session:
        await bylaws_service.install(session, default_bylaws(), account_id=None)
        # No ORM relationships here: parents are flushed before the rows that refer to them.
        for rows in ([admin, *doctors, *patients], profiles, rules):
            session.add_all(rows)
            await session.flush()
        await session.commit()
    return [p.email or "" for p in patients] + [admin.email or ""]


def _start_server(env: dict[str, str], port: int, folder: str, log: Any) -> subprocess.Popen[bytes]:
    tequio = str(Path(sys.executable).parent / "tequio")
    return subprocess.Popen(  # noqa: S603  (this virtualenv's own `tequio`)
        [tequio, "serve", "--port", str(port)],
        env=env,
        cwd=folder,  # no stray .env file is read
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the workers go with it
    )


async def _wait_ready(base: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                output = await asyncio.to_thread(log_path.read_text)
                raise RuntimeError(f"the server exited:\n{output[-2000:]}")
            try:
                if (await client.get("/healthz/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server was not ready within 60 s")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # uvicorn's workers, should any outlive it
        os.killpg(server.pid, signal.SIGKILL)


async def _migrate(env: dict[str, str], folder: str) -> None:
    migrate = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "tequio"),
        "migrate",
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(migrate.communicate(), timeout=120)
    if migrate.returncode != 0:
        raise RuntimeError(f"tequio migrate failed:\n{output.decode()[-2000:]}")


async def _sign_in(base: str, emails: list[str]) -> list[str]:
    """Access tokens, through the running server's sign-in, one at a time: sign-ins from one
    address share a throttle."""
    tokens = []
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as client:
        for email in emails:
            response = await client.post(
                "/v1/auth/token", json={"username": email, "password": PASSWORD}
            )
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
    return tokens


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


async def _run(name: str, folder: str) -> int:
    url = f"{SERVER}/{name}"
    secret = secrets.token_urlsafe(36)  # 48 characters
    env = _environment(url, secret)
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        secret_key=secret,
    )
    await _admin_execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(settings)
    server: subprocess.Popen[bytes] | None = None
    log_path = Path(folder) / "server.log"
    try:
        await _migrate(env, folder)
        started = time.perf_counter()
        emails = await _seed(create_sessionmaker(engine), settings)
        seeded = time.perf_counter() - started

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            server = _start_server(env, port, folder, log)
        await _wait_ready(base, server, log_path)
        started = time.perf_counter()
        *patient_tokens, admin_token = await _sign_in(base, emails)
        signed_in = time.perf_counter() - started
        print(
            f"database {name}: migrated, seeded in {seeded:.1f} s ({PRACTITIONERS} practitioners, "
            f"{CLIENTS} patients, an admin); {len(emails)} sign-ins through the server "
            f"in {signed_in:.1f} s"
        )

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
    finally:
        if server is not None:
            _stop_server(server)
        await engine.dispose()
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run() -> None:
    if not _postgres_reachable():
        print("PostgreSQL does not answer on 127.0.0.1:5432: booking load benchmark not run")
        return
    name = f"tequio_bench_{secrets.token_hex(5)}"
    with tempfile.TemporaryDirectory() as folder:
        doubles = asyncio.run(_run(name, folder))
    if doubles:
        print(f"FAILED: {doubles} double bookings", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    run()
