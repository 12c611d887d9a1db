"""Two server processes with Redis: a doctor on one and a patient on the other reach each other."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from app.db import create_sessionmaker
from tests.app.test_consult_relay import RelayClient, until
from tests.conftest import IN_CI, Database, _empty_tables, make_settings
from tests.consult_support import consult_soon, free_port, join_consult, next_of_type, open_signal
from tests.factories import OUTBOXES, bearer

REDIS = "redis://127.0.0.1:6379/0"
TEQUIO = os.path.join(os.path.dirname(sys.executable), "tequio")


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def redis_or_skip() -> None:
    """Redis is required in CI (the multi-worker tests need it) and skipped without it locally."""
    if not _redis_answers():
        if IN_CI:
            pytest.fail("CI=true: the multi-worker test needs Redis on 127.0.0.1:6379")
        pytest.skip("Redis does not answer on 127.0.0.1:6379")


def _spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([TEQUIO, "serve"], env=env, start_new_session=True)


@pytest.fixture
async def two_workers(database: Database) -> AsyncIterator[list[str]]:
    redis_or_skip()
    settings = make_settings(database.url)
    sessions = create_sessionmaker(database.engine)
    processes, hosts = [], []
    for _ in range(2):
        port = free_port()
        env = {
            **os.environ,
            "TEQUIO_DATABASE_URL": database.url,
            "TEQUIO_ENVIRONMENT": "test",
            "TEQUIO_SECRET_KEY": settings.secret_key.get_secret_value(),
            "TEQUIO_REDIS_URL": REDIS,
            "TEQUIO_PORT": str(port),
            "TEQUIO_ARGON2_MEMORY_KIB": "1024",
            "TEQUIO_ARGON2_TIME_COST": "1",
            "TEQUIO_LOG_LEVEL": "WARNING",
            "TEQUIO_RELAY_VIDEO_MAX_WIDTH": "160",
            "TEQUIO_RELAY_VIDEO_MAX_HEIGHT": "120",
        }
        processes.append(_spawn(env))
        hosts.append(f"127.0.0.1:{port}")
        OUTBOXES[hosts[-1]] = sessions  # where the factories read a sign-up's code
    try:
        async with httpx.AsyncClient(timeout=2) as probe:
            for host in hosts:
                for _ in range(150):
                    try:
                        if (await probe.get(f"http://{host}/healthz/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
        yield hosts
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        await _empty_tables(database.engine)


async def _doctor_and_patient_apart(
    workers: list[str], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> tuple[dict[str, Any], ClientConnection, ClientConnection]:
    """A consult with the doctor's socket on the first worker and the patient's on the second,
    both welcomed."""
    consult = await consult_soon(http_to(workers[0]), database)
    sockets = []
    for who, host in (("doctor", workers[0]), ("patient", workers[1])):
        joined = await join_consult(http_to(host), consult, who)
        sockets.append(await open_signal(host, consult["id"], joined["consult_token"]))
        await next_of_type(sockets[-1], "welcome")
    return consult, sockets[0], sockets[1]


@pytest.mark.slow
async def test_participants_on_two_workers_reach_each_other_through_redis(
    two_workers: list[str],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
) -> None:
    consult, doctor_ws, patient_ws = await _doctor_and_patient_apart(two_workers, http_to, database)
    waiting = await next_of_type(doctor_ws, "presence")  # crossed from the second worker
    assert waiting["from"] == consult["patient_id"]
    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    assert (await next_of_type(patient_ws, "presence"))["event"] == "admitted"
    await patient_ws.send(json.dumps({"type": "chat", "text": "hola desde el otro worker"}))
    assert (await next_of_type(doctor_ws, "chat"))["text"] == "hola desde el otro worker"
    await doctor_ws.close()
    await patient_ws.close()


@pytest.mark.slow
async def test_the_relay_on_one_worker_serves_a_participant_on_the_other(
    two_workers: list[str],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
) -> None:
    """The doctor's worker hosts the relay; the patient's offer and the relay's answers and
    renegotiations cross Redis, and each receives the other's media through the relay."""
    first, _ = two_workers
    consult, doctor_ws, patient_ws = await _doctor_and_patient_apart(two_workers, http_to, database)
    await doctor_ws.send(json.dumps({"type": "admit", "account_id": consult["patient_id"]}))
    await next_of_type(patient_ws, "presence")
    switched = await http_to(first).put(
        f"/v1/appointments/{consult['id']}/consult/mode",
        json={"mode": "relay"},
        headers=bearer(consult["doctor"]),
    )
    assert switched.status_code == 200, switched.text
    assert (await next_of_type(patient_ws, "mode"))["mode"] == "relay"
    doctor = RelayClient("doctor", consult["doctor_id"], doctor_ws)
    patient = RelayClient("patient", consult["patient_id"], patient_ws)
    try:
        await doctor.connect()
        await patient.connect()
        await until(
            lambda: doctor.got(consult["patient_id"], 5) and patient.got(consult["doctor_id"], 5),
            seconds=60,
        )
    finally:
        await doctor.close()
        await patient.close()
