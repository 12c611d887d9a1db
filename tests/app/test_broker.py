"""The room brokers: a slow subscriber never breaks the sender, and a participant whose room
events stop arriving is told to reconnect instead of waiting in silence."""

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.broker import LocalBroker, SubscriberTooSlow
from tests.app.test_consults_redis import REDIS, redis_or_skip
from tests.conftest import Database
from tests.consult_support import (
    ErrorsLogged,
    consult_soon,
    end_consult,
    join_consult,
    next_of_type,
    open_signal,
    signal_as,
)


async def close_code(ws: ClientConnection) -> int | None:
    """Read until the server closes the socket; the code it closed with."""
    try:
        async with asyncio.timeout(10):
            async for _ in ws:
                pass
    except ConnectionClosed:
        pass
    return ws.close_code


async def test_a_subscriber_too_slow_to_read_is_dropped_not_the_sender() -> None:
    broker = LocalBroker(backlog=3)
    async with broker.subscribe("room") as stalled, broker.subscribe("room") as reading:
        for n in range(5):
            await broker.publish("room", {"n": n})  # never raises at the sender
            assert (await anext(reading))["n"] == n
        with pytest.raises(SubscriberTooSlow):
            await anext(stalled)
        await broker.publish("room", {"n": 5})
        assert (await anext(reading))["n"] == 5


async def test_a_dropped_redis_subscription_asks_the_participant_to_reconnect(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    redis_or_skip()
    host = await server(redis_url=REDIS)
    http = http_to(host)
    consult = await consult_soon(http, database)
    ws = await signal_as(host, http, consult, "doctor")
    await next_of_type(ws, "welcome")
    admin = Redis.from_url(REDIS)
    try:
        clients = await admin.client_list()
        ours = [c for c in clients if c["name"].startswith("tequio-signal-") and c["sub"] != "0"]
        assert ours, "the socket's room subscription is on Redis"
        for client in ours:  # as a Redis restart or an output-buffer limit would
            await admin.client_kill_filter(_id=client["id"])
    finally:
        await admin.aclose()
    assert await close_code(ws) == 1012
    again = await open_signal(  # and coming back works
        host, consult["id"], (await join_consult(http, consult, "doctor"))["consult_token"]
    )
    assert (await next_of_type(again, "welcome"))["admitted"] is True
    await again.close()


async def test_a_room_closing_under_an_open_socket_closes_it_cleanly(
    server: Callable[..., Any],
    http_to: Callable[[str], httpx.AsyncClient],
    database: Database,
) -> None:
    host = await server(signal_recheck_seconds=0)
    http = http_to(host)
    consult = await consult_soon(http, database)
    ws = await signal_as(host, http, consult, "doctor")
    await next_of_type(ws, "welcome")
    await end_consult(database, consult["id"])
    catcher = ErrorsLogged()
    server_log = logging.getLogger("uvicorn.error")  # where uvicorn reports a crashed socket
    server_log.addHandler(catcher)
    try:
        await ws.send(json.dumps({"type": "chat", "text": "¿sigue ahí?"}))
        assert await close_code(ws) == 4403
        await asyncio.sleep(0.2)
    finally:
        server_log.removeHandler(catcher)
    assert [r.getMessage() for r in catcher.records] == []


async def test_a_socket_that_only_listens_is_closed_when_the_room_closes(
    server: Callable[..., Any], http_to: Callable[[str], httpx.AsyncClient], database: Database
) -> None:
    host = await server(signal_watch_seconds=0.3)
    http = http_to(host)
    consult = await consult_soon(http, database)
    ws = await signal_as(host, http, consult, "patient")
    await next_of_type(ws, "welcome")
    await end_consult(database, consult["id"])
    assert await close_code(ws) == 4403  # without sending anything
