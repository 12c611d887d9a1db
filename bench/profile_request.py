"""Where one request's time goes, in process: GET /v1/me and a booking on a scratch PostgreSQL
database, each run N times straight into the ASGI application (no HTTP client, no sockets),
timed, counted in SQL statements, and profiled with cProfile.

`python -m bench.profile_request [me|book|live] [N]` prints the mean time per request, the SQL
statements per request, and cProfile's top functions by own time and by cumulative time.
"""

import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine, create_sessionmaker
from app.main import create_app
from bench.http_load import _bookings
from bench.live_server import answers, make_members, mint_tokens, scratch_database, seed

Call = Callable[[], Awaitable[int]]
BATCH = 100
PROFILE = os.environ.get("PROFILE", "1") != "0"


def _asgi_call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]

    async def call() -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": raw, "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
            "root_path": "", "state": {},
        }  # fmt: skip
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


def _counter(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    return seen


async def _calls(what: str, app: Any, people: Any, tokens: list[str], n: int) -> list[Call]:
    if what == "live":
        return [_asgi_call(app, "GET", "/healthz/live", {}, b"") for _ in range(2 * n)]
    if what == "me":
        return [
            _asgi_call(
                app, "GET", "/v1/me", {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}, b""
            )
            for i in range(2 * n)
        ]
    return [
        _asgi_call(
            app,
            line.method,
            line.path,
            {"Authorization": f"Bearer {line.token}", "Idempotency-Key": line.idempotency_key},
            line.body.encode(),
        )
        for line in _bookings(people, tokens)[: 2 * n]
    ]


def _by_package(stats: pstats.Stats, requests: int) -> None:
    """Own time summed by where the code lives: each library, the standard library, Tequio."""
    own: dict[str, float] = {}
    for (path, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in path:
            where = path.split("site-packages/")[1].split("/")[0].removesuffix(".py")
        elif path == "~":
            where = "builtins: " + name.split(" of ")[-1].strip("<>'")[:40]
        elif "/work/" in path and "/.venv/" not in path:
            where = "tequio: " + path.split("/")[-2]
        else:
            where = "stdlib: " + path.rsplit("/", 1)[-1]
        own[where] = own.get(where, 0.0) + row[2]
    total = sum(own.values())
    print(
        f"own CPU time by package, ms a request (of {total / requests * 1000:.2f} under cProfile)"
    )
    for where, seconds in sorted(own.items(), key=lambda item: -item[1])[:30]:
        print(f"  {seconds / requests * 1000:8.3f}  {seconds / total:6.1%}  {where}")
    top = sorted(
        ((row[2], path.split("site-packages/")[-1], line, name)
         for (path, line, name), row in stats.stats.items()  # type: ignore[attr-defined]
         if "sqlalchemy" in path or "fastapi" in path),
        reverse=True,
    )  # fmt: skip
    print("SQLAlchemy's and FastAPI's functions by own time, ms a request")
    for seconds, path, line, name in top[:40]:
        print(f"  {seconds / requests * 1000:8.3f}  {path}:{line}({name})")


async def _profile(what: str, calls: list[Call]) -> None:
    """The time of each call alone (wall clock and this process's CPU), then a profile of the
    same number of calls: pyinstrument's (it follows awaits) when installed, else cProfile's."""
    half = len(calls) // 2
    walls, cpus = [], []
    for batch in range(0, half, BATCH):  # the quickest batch: the least disturbed by others
        wall, cpu = time.perf_counter(), time.process_time()
        for call in calls[batch : batch + BATCH]:
            await call()
        walls.append((time.perf_counter() - wall) / len(calls[batch : batch + BATCH]))
        cpus.append((time.process_time() - cpu) / len(calls[batch : batch + BATCH]))
    print(
        f"{what}: {min(walls) * 1000:.3f} ms a request, {min(cpus) * 1000:.3f} ms of CPU "
        f"(the quickest of {len(walls)} batches of {BATCH}; median "
        f"{statistics.median(walls) * 1000:.3f} ms, {statistics.median(cpus) * 1000:.3f} ms)"
    )
    counter = cProfile.Profile()
    counter.enable()
    for call in calls[:half]:
        await call()
    counter.disable()
    calls_made = pstats.Stats(counter).total_calls  # type: ignore[attr-defined]
    print(f"{what}: {calls_made / half:,.0f} Python function calls a request (cProfile's count)")
    if not PROFILE:
        return
    try:
        if os.environ.get("PROFILER") == "cprofile":
            raise ImportError("cProfile asked for")
        from pyinstrument import Profiler  # type: ignore[import-not-found]  # optional
    except ImportError:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
        profiler.enable()
        for call in calls[half:]:
            await call()
        profiler.disable()
        _by_package(pstats.Stats(profiler), len(calls) - half)
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(45)
        return
    sampler = Profiler(interval=0.0002, async_mode="enabled")
    with sampler:
        for call in calls[half:]:
            await call()
    print(sampler.output_text(unicode=False, color=False, show_all=False, timeline=False))


async def _run(folder: str, what: str, n: int) -> None:
    async with scratch_database(folder) as scratch:
        settings = scratch.settings()
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        people = await seed(sessions, settings, practitioners=20, patients=200)
        await make_members(sessions, people.patients)
        tokens = await mint_tokens(sessions, settings, people.patients)
        if os.environ.get("PRE_PING") == "0":  # to see what the ping before each use costs
            engine.sync_engine.pool._pre_ping = False
        app = create_app(settings, engine=engine)
        async with app.router.lifespan_context(app):
            calls = await _calls(what, app, people, tokens, n)
            for call in calls[n:]:  # warm up (caches, prepared statements)
                await call()
            seen = _counter(engine)
            statuses = [await call() for call in calls[:1]]
            print(f"{what}: {len(seen)} SQL statements in one request (status {statuses[0]})")
            for statement in seen:
                print("   ", " ".join(statement.split())[:150])
            await _profile(what, calls[1:n])
        await engine.dispose()


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "me"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    if not answers(5432):
        print("PostgreSQL does not answer on 127.0.0.1:5432")
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(folder, what, n))


if __name__ == "__main__":
    main()
