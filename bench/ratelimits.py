"""What counting a request against its caller's rate limit costs (app.ratelimits), per core.

Prints counts per second in this worker's memory and on Redis (when one answers on
127.0.0.1:6379): one count is a `hit` and a read of what is left, two round trips to Redis.
The requests of 1,000 members spread over one window, as a busy worker sees them.
"""

import asyncio
import socket
import time
import uuid

from app.ratelimits import RateLimits
from app.security import TokenIssuer
from app.settings import Settings

REDIS = "redis://127.0.0.1:6379/0"
COUNTS = 5_000


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


async def _measure(redis_url: str | None) -> float:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url="sqlite+aiosqlite://",
        secret_key="benchmark-secret-key-long-enough-for-hs256",
        redis_url=redis_url,
    )
    limits = RateLimits(settings, TokenIssuer(settings))
    members = [f"member:{uuid.uuid4()}" for _ in range(1_000)]
    policy = limits.policies["member"]
    try:
        started = time.perf_counter()
        for n in range(COUNTS):
            verdict = await limits.count(policy, members[n % len(members)])
            assert verdict is not None and verdict.allowed
        return time.perf_counter() - started
    finally:
        await limits.close()


def run() -> None:
    places = [("in memory", None)] + ([("on Redis", REDIS)] if _redis_answers() else [])
    for label, url in places:
        seconds = asyncio.run(_measure(url))
        print(
            f"count a request {label + ':':<11} {COUNTS / seconds:,.0f}/s "
            f"({seconds / COUNTS * 1e6:.0f} µs each)"
        )
    if len(places) == 1:
        print("(no Redis on 127.0.0.1:6379: its figure is left out)")


if __name__ == "__main__":
    run()
