"""What signing in costs beside checking a token, per core.

Prints password hashes per second at the shipped argon2 cost (what bounds sign-ins per core),
and access-token checks per second: the first check of a token (its signature and claims) and
the next ones (the same token again: its times only; see app.security.TokenIssuer). The cost of
a whole authenticated request under load is measured by bench/http_load.py with wrk.
"""

import time
import uuid

from app.main import password_hasher
from app.security import TokenIssuer
from app.settings import Settings

PASSWORD = "maiz azul de oaxaca"


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s ({seconds / count * 1000:.3f} ms each)"


def run() -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url="sqlite+aiosqlite://",
        secret_key="benchmark-secret-key-long-enough-for-hs256",
    )
    hasher = password_hasher(settings)
    started = time.perf_counter()
    for _ in range(10):
        hasher.hash(PASSWORD)
    hash_seconds = time.perf_counter() - started
    print(f"argon2id hash (shipped cost):         {_rate(10, hash_seconds)}")

    issuer = TokenIssuer(settings)
    tokens = [
        issuer.issue(
            account_id=uuid.uuid4(),
            session_id=uuid.uuid4(),
            roles=frozenset({"patient"}),
            scopes=frozenset({"me"}),
        )
        for _ in range(2000)
    ]
    started = time.perf_counter()
    for token in tokens:
        issuer.verify(token)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for token in tokens:
        issuer.verify(token)
    again = time.perf_counter() - started
    print(f"JWT check (HS256), a token's first:   {_rate(2000, first)}")
    print(f"JWT check, the same token again:      {_rate(2000, again)}")
    print(
        f"a sign-in's hash costs {hash_seconds / 10 / (first / 2000):,.0f}x a token's first check"
    )


if __name__ == "__main__":
    run()
