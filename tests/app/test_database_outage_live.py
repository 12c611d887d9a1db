"""A real PostgreSQL cluster stopped under a real `tequio serve` with two workers: a request that
meets the outage gets 503 `database-unavailable` with Retry-After, in English and in Spanish, on
a connection that stays open; the log has one line for it and no traceback; once the cluster
is back the next request on the same connection succeeds.

The cluster is our own (tools/private_postgres.py: initdb into a temporary folder, its own
port), never the shared server. It runs in the PostgreSQL run of the suite, which CI requires;
CI also requires PostgreSQL's binaries (initdb, pg_ctl) rather than skip without them."""

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, Database
from tests.live_server import environment, serving, tequio
from tools.private_postgres import Cluster, binaries, private_cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

ADMIN = "admin.outage@example.org"
PASSWORD = "tamales de frijol 2026"
DATABASE_UNAVAILABLE = "https://tequio.coop/problems/database-unavailable"


@pytest.fixture
def cluster(database: Database) -> Iterator[Cluster]:
    """A PostgreSQL cluster of our own, in the suite's PostgreSQL run (`database` is that run's
    backend; the cluster does not use it)."""
    if binaries() is None:
        if IN_CI:
            pytest.fail("CI=true: the outage test needs PostgreSQL's binaries (initdb, pg_ctl)")
        pytest.skip("PostgreSQL's binaries (initdb, pg_ctl) are not installed")
    with private_cluster() as private:
        yield private


Answer = tuple[int, dict[str, str], dict[str, Any]]


def _ask(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    token: str | None = None,
    language: str = "en",
    body: dict[str, str] | None = None,
) -> Answer:
    """One request on `connection`, read to its end; the server must not close it."""
    headers = {"Accept-Language": language, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    assert not response.will_close, (response.status, response.getheaders())
    return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(data)


def _check_the_outage_answer(answer: Answer, language: str) -> str:
    status, headers, problem = answer
    assert status == 503, problem
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) > 0
    assert "close" not in headers.get("connection", "")
    assert problem["type"] == DATABASE_UNAVAILABLE
    assert headers["content-language"] == language
    title = {"en": "Database unavailable", "es": "Base de datos no disponible"}[language]
    assert problem["title"] == title
    assert problem["request_id"] == headers["x-request-id"]
    return headers["x-request-id"]


def test_a_stopped_database_answers_503_on_a_kept_connection_then_serves_again(
    cluster: Cluster, tmp_path: Path
) -> None:
    env = environment(cluster.url(), log_json="true", log_level="INFO", workers="2")
    tequio(env, "migrate")
    tequio(env, "create-admin", "--email", ADMIN, "--password-stdin", stdin=PASSWORD)
    with serving(env, tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        signed_in = _ask(
            connection, "POST", "/v1/auth/token", body={"username": ADMIN, "password": PASSWORD}
        )
        token = signed_in[2]["access_token"]
        assert _ask(connection, "GET", "/v1/me", token=token)[0] == 200
        socket = connection.sock

        cluster.stop("fast")
        request_ids = [
            _check_the_outage_answer(_ask(connection, "GET", "/v1/me", token=token), "en"),
            _check_the_outage_answer(
                _ask(connection, "GET", "/v1/me", token=token, language="es"), "es"
            ),
        ]
        ready = httpx.get(f"{server.base}/healthz/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["type"].endswith("/not-ready")
        assert ready.headers["retry-after"]
        assert connection.sock is socket  # the same TCP connection answered both

        cluster.start()
        back = _ask(connection, "GET", "/v1/me", token=token)
        assert back[0] == 200, back
        assert back[2]["email"] == ADMIN
        assert connection.sock is socket
        connection.close()
    _check_the_log(server.log_lines(), request_ids)


def _check_the_log(lines: list[str], request_ids: list[str]) -> None:
    """No traceback; for each failed request its access line (503) and nothing else but, for
    the first, the worker's warning; and a line when the database was back."""
    assert not [line for line in lines if "Traceback" in line], "\n".join(lines[-20:])
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    for request_id in request_ids:
        mine = [e for e in entries if e.get("request_id") == request_id]
        assert [e["status"] for e in mine if e["logger"] == "tequio.access"] == [503], mine
        assert all(e["logger"] in ("tequio.access", "tequio.db") for e in mine), mine
    warned = [e for e in entries if e["message"].startswith("database unreachable")]
    assert warned and warned[0]["request_id"] == request_ids[0]
    assert warned[0]["where"] == "request"
    assert len([e for e in entries if e["message"] == "database reachable again"]) >= 1
    access = [e for e in entries if e["logger"] == "tequio.access"]
    assert len(access) >= 5
    assert all(e["request_id"] for e in access)
