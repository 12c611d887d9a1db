"""Real `tequio serve` processes on a scratch PostgreSQL database, for the benchmarks that go
through the network: the database is created, migrated and dropped; people are seeded directly
(one password hash at the shipped cost serves every account) and sign in through a server;
each server runs in its own process group, logs to a file and is stopped whatever happens."""

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as wall
from pathlib import Path

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import col

from app.main import password_hasher
from app.security import TokenIssuer
from app.settings import Settings
from bench import wrk
from cooperative.accounts.models import Account, AuthSession
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from cooperative.kernel.principal import scopes_for
from cooperative.membership.models import Household, HouseholdMember, IncomeAttestation, Member
from telehealth.practitioners import service as practitioners_service
from telehealth.practitioners.models import AvailabilityWindow, Licence, Practitioner
from telehealth.scheduling import openings
from tools.private_postgres import Cluster, private_cluster

POSTGRES = "postgresql+asyncpg://root@127.0.0.1:5432"
PASSWORD = "maiz azul de oaxaca"
TEQUIO = str(Path(sys.executable).parent / "tequio")  # this virtualenv's own

RATE_LIMIT_TIERS = ("anonymous", "member", "app", "unverified")


def answers(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port` (PostgreSQL 5432, Redis 6379)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wrk_on_postgresql(benchmark: str) -> str | None:
    """wrk's path for an HTTP benchmark on the local PostgreSQL; None, having said why, when
    PostgreSQL does not answer or wrk is missing (`wrk.ensure`)."""
    if not answers(5432):
        print(f"PostgreSQL does not answer on 127.0.0.1:5432: {benchmark} not run")
        return None
    return wrk.ensure()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Scratch:
    """A scratch database and what a server or this process needs to use it."""

    name: str
    url: str
    secret: str

    def settings(self) -> Settings:
        return Settings(
            _env_file=None,
            environment="test",
            database_url=self.url,
            secret_key=self.secret,
            rate_limit_anonymous=100_000_000,  # as in `environment` below
            rate_limit_member=100_000_000,
            rate_limit_app=100_000_000,
            rate_limit_unverified=100_000_000,
        )

    def environment(self, **settings: str) -> dict[str, str]:
        """This process's environment without any TEQUIO_ setting, plus the database's and
        `settings` (`workers="2"` becomes TEQUIO_WORKERS=2)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("TEQUIO_")}
        own = {
            "database_url": self.url,
            "environment": "test",
            "secret_key": self.secret,
            "log_level": "WARNING",
            # counted as shipped, never refused: a benchmark's load comes from one address and
            # a few members, far past any real caller's quota
            **{f"rate_limit_{tier}": "100000000" for tier in RATE_LIMIT_TIERS},
            **settings,
        }
        return env | {f"TEQUIO_{key.upper()}": value for key, value in own.items()}


async def _admin_execute(statement: str) -> None:
    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate(env: dict[str, str], folder: str) -> None:
    migrate = await asyncio.create_subprocess_exec(
        TEQUIO,
        "migrate",
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(migrate.communicate(), timeout=120)
    if migrate.returncode != 0:
        raise RuntimeError(f"tequio migrate failed:\n{output.decode()[-2000:]}")


@contextlib.asynccontextmanager
async def scratch_database(folder: str, *, migrated: bool = True) -> AsyncIterator[Scratch]:
    """A fresh database `tequio_bench_<random>`, migrated unless `migrated` is false (empty, for
    a benchmark that lays out tables of its own), dropped afterwards whatever happens."""
    name = f"tequio_bench_{secrets.token_hex(5)}"
    scratch = Scratch(name, f"{POSTGRES}/{name}", secrets.token_urlsafe(36))  # 48 characters
    await _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        if migrated:
            await _migrate(scratch.environment(), folder)
        yield scratch
    finally:
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def private_database(folder: str) -> AsyncIterator[tuple[Scratch, Cluster]]:
    """A migrated database in a PostgreSQL cluster of our own (tools/private_postgres.py), for
    the benchmarks that stop and restart the database: never the shared server. Removed
    afterwards whatever happens."""
    with private_cluster() as cluster:
        scratch = Scratch(
            f"tequio on 127.0.0.1:{cluster.port}", cluster.url(), secrets.token_urlsafe(36)
        )
        await _migrate(scratch.environment(), folder)
        yield scratch, cluster


@dataclass
class Person:
    email: str
    account_id: uuid.UUID


@dataclass
class People:
    admin: Person
    doctors: list[Person]
    practitioner_ids: list[uuid.UUID]  # the doctors' profiles, in the same order
    patients: list[Person]


async def seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    practitioners: int,
    patients: int,
) -> People:
    """Bylaws, an admin, practitioners available all week 08:00–20:00 (America/Mexico_City, MX
    licences) with their open slots laid out, and patients."""
    password_hash = password_hasher(settings).hash(PASSWORD)

    def account(email: str, role: str) -> Account:
        return Account(  # verified, as a sign-up's code makes it: booking needs it
            email=email,
            display_name=email.split("@")[0],
            password_hash=password_hash,
            roles=[role],
            email_verified_at=clock.now(),
        )

    admin = account("admin@bench.example.org", "admin")
    doctors = [account(f"doctora{n:02d}@bench.example.org", "doctor") for n in range(practitioners)]
    patient_accounts = [
        account(f"paciente{n:02d}@bench.example.org", "patient") for n in range(patients)
    ]
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
        for rows in ([admin, *doctors, *patient_accounts], profiles, rules):
            session.add_all(rows)
            await session.flush()
        session.add_all(t for p in profiles for t in practitioners_service.tags_of(p))
        for profile in profiles:  # as the API does: search and booking find the open slots
            await openings.lay_out(session, profile)
        await session.commit()

    def person(account: Account) -> Person:
        return Person(account.email or "", account.id)

    return People(
        admin=person(admin),
        doctors=[person(d) for d in doctors],
        practitioner_ids=[p.id for p in profiles],
        patients=[person(p) for p in patient_accounts],
    )


async def make_members(
    sessionmaker: async_sessionmaker[AsyncSession], patients: list[Person]
) -> None:
    """Each patient an active patient-owner with a rural household in Oaxaca of three and a
    monthly income attested today: booking then takes the sliding-scale path, the one that
    reads the most (standing, household, attestation)."""
    today = clock.today()
    members, households, links, attestations = [], [], [], []
    for n, patient in enumerate(patients):
        member = Member(
            account_id=patient.account_id,
            member_class="patient",
            status="active",
            full_name=f"Paciente Bench {n:05d}",
            bylaws_version=1,
            decided_at=clock.now(),
        )
        home = Household(
            name=f"Familia Bench {n:05d}",
            country="MX",
            subdivision="MX-OAX",
            municipality="San Miguel Tlacotepec",
            area="rural",
            currency="MXN",
            created_by=patient.account_id,
        )
        members.append(member)
        households.append(home)
        links.append(
            HouseholdMember(household_id=home.id, member_id=member.id, accepted_at=clock.now())
        )
        attestations.append(
            IncomeAttestation(
                household_id=home.id,
                income_minor=450_000 + 1_000 * (n % 200),
                currency="MXN",
                period="monthly",
                household_size=3,
                effective_on=today,
                expires_on=today + timedelta(days=365),
                attested_by=patient.account_id,
            )
        )
    async with sessionmaker() as session:
        for rows in (members, households, links, attestations):
            session.add_all(rows)
            await session.flush()
        await session.commit()


async def mint_tokens(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, people: list[Person]
) -> list[str]:
    """An access token for each person, as a sign-in would give (a sign-in session stored, the
    token naming it, every scope of the person's roles), without paying an argon2 hash each:
    for benchmarks that need thousands of signed-in people."""
    async with sessionmaker() as session:
        accounts = {
            a.id: a
            for a in (
                await session.execute(
                    select(Account).where(col(Account.id).in_([p.account_id for p in people]))
                )
            ).scalars()
        }
        sessions = [AuthSession(account_id=p.account_id) for p in people]
        session.add_all(sessions)
        await session.commit()
    issuer = TokenIssuer(settings)
    tokens = []
    for person, signed_in in zip(people, sessions, strict=True):
        roles = frozenset(accounts[person.account_id].roles)
        tokens.append(
            issuer.issue(
                account_id=person.account_id,
                session_id=signed_in.id,
                roles=roles,
                scopes=scopes_for(roles),
            )
        )
    return tokens


async def sign_in(base: str, emails: list[str]) -> list[str]:
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


@dataclass
class Server:
    """A running `tequio serve`: its address, its process (the group's leader) and its log."""

    host: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


def _start(
    command: Sequence[str], env: dict[str, str], port: int, folder: str, log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603  (this virtualenv's own `tequio` or uvicorn)
            [*command, "--port", str(port)],
            env=env,
            cwd=folder,  # no stray .env file is read
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers go with it
        )


async def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=server.base, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                output = await asyncio.to_thread(server.log_path.read_text)
                raise RuntimeError(f"the server exited:\n{output[-2000:]}")
            try:
                if (await client.get("/healthz/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server was not ready within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # uvicorn's workers, should any outlive it
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def serving(
    env: dict[str, str],
    folder: str,
    name: str = "server",
    command: Sequence[str] = (TEQUIO, "serve"),
) -> AsyncIterator[Server]:
    """`tequio serve` (or another `command` that takes `--port` last and answers
    /healthz/ready) on a free port with `env`, logging to `folder`/`name`.log; ready when
    yielded, stopped (with its whole process group) afterwards."""
    port = free_port()
    log_path = Path(folder) / f"{name}.log"
    server = Server(f"127.0.0.1:{port}", _start(command, env, port, folder, log_path), log_path)
    try:
        await _wait_ready(server)
        yield server
    finally:
        _stop(server.process)


def cpu_seconds(servers: list[Server]) -> float:
    """User and system CPU the servers' process groups have used so far (Linux's /proc; 0
    elsewhere), at the kernel's clock-tick resolution."""
    groups = {server.process.pid for server in servers}
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command's name
        except (OSError, IndexError):
            continue
        if int(fields[2]) in groups:  # pgrp; then utime and stime are fields 14 and 15
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(database: str) -> float:
    """User and system CPU PostgreSQL's backends serving `database` have used so far (their
    process titles name it; Linux's /proc, 0 elsewhere). A backend that ended is not counted."""
    ticks = 0
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            title = (folder / "cmdline").read_bytes()
            if not title.startswith(b"postgres: ") or f" {database} ".encode() not in title:
                continue
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every core of the machine has spent busy since boot (Linux's /proc/stat; 0
    elsewhere): compared with the wall time, how loaded the machine was meanwhile."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0.0
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")
