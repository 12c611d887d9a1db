"""What signing in and an authenticated request cost, on the embedded SQLite database.

Prints: password hashes per second at the shipped argon2 cost (what bounds sign-ins per core),
access-token verifications per second, and requests per second for GET /v1/me and for a sign-in
through the whole ASGI stack, with the ratio between them.
"""

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from app.db import create_engine
from app.main import create_app, password_hasher
from app.migrate import upgrade_on
from app.security import TokenIssuer
from app.settings import Settings

PASSWORD = "maiz azul de oaxaca"


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s ({seconds / count * 1000:.2f} ms each)"


async def run() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        settings = Settings(
            _env_file=None,
            environment="test",
            database_url=url,
            secret_key="benchmark-secret-key-long-enough-for-hs256",
        )
        engine = create_engine(settings)
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on)
            await connection.commit()

        hasher = password_hasher(settings)
        started = time.perf_counter()
        for _ in range(10):
            hasher.hash(PASSWORD)
        hash_seconds = time.perf_counter() - started
        print(f"argon2id hash (shipped cost):   {_rate(10, hash_seconds)}")

        issuer = TokenIssuer(settings)
        token = issuer.issue(
            account_id=uuid.uuid4(),
            session_id=uuid.uuid4(),
            roles=frozenset({"patient"}),
            scopes=frozenset({"me"}),
        )
        started = time.perf_counter()
        for _ in range(2000):
            issuer.verify(token)
        print(f"JWT verify (HS256):             {_rate(2000, time.perf_counter() - started)}")

        app = create_app(settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post(
                "/v1/auth/register",
                json={"email": "bench@example.org", "password": PASSWORD, "display_name": "B"},
            )
            login = {"username": "bench@example.org", "password": PASSWORD}
            started = time.perf_counter()
            for _ in range(10):
                response = await client.post("/v1/auth/token", json=login)
            login_seconds = time.perf_counter() - started
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            started = time.perf_counter()
            for _ in range(300):
                await client.get("/v1/me", headers=headers)
            me_seconds = time.perf_counter() - started
            started = time.perf_counter()
            await asyncio.gather(*(client.get("/v1/me", headers=headers) for _ in range(300)))
            concurrent_seconds = time.perf_counter() - started
        print(f"POST /v1/auth/token (sequential): {_rate(10, login_seconds)}")
        print(f"GET /v1/me (sequential):          {_rate(300, me_seconds)}")
        print(f"GET /v1/me (300 concurrent):      {_rate(300, concurrent_seconds)}")
        ratio = (login_seconds / 10) / (me_seconds / 300)
        print(f"a sign-in costs {ratio:.0f}x an authenticated read")
        await engine.dispose()
