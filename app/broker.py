"""Room events between signaling connections: in one process, or across workers through Redis."""

import asyncio
import contextlib
import json
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

from redis.asyncio import Redis


class Broker(Protocol):
    async def publish(self, room: str, message: dict[str, Any]) -> None: ...

    def subscribe(
        self, room: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]: ...

    async def close(self) -> None: ...


class SubscriberTooSlow(Exception):
    """A subscriber fell so far behind that its events were dropped; it must resynchronize."""


class LocalBroker:
    """One process: queues per subscriber. Enough for a single worker."""

    def __init__(self, backlog: int = 1000) -> None:
        self._backlog = backlog
        self._rooms: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = defaultdict(set)

    async def publish(self, room: str, message: dict[str, Any]) -> None:
        for queue in list(self._rooms.get(room, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # never the sender's problem: the slow reader resyncs
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)
                self._rooms[room].discard(queue)

    @contextlib.asynccontextmanager
    async def subscribe(self, room: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=self._backlog)
        self._rooms[room].add(queue)

        async def messages() -> AsyncIterator[dict[str, Any]]:
            while True:
                message = await queue.get()
                if message is None:
                    raise SubscriberTooSlow(room)
                yield message

        try:
            yield messages()
        finally:
            self._rooms[room].discard(queue)
            if not self._rooms[room]:
                del self._rooms[room]

    async def close(self) -> None:
        self._rooms.clear()


class RedisBroker:
    """Several workers or hosts: Redis pub/sub, one channel per room."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, client_name=f"tequio-signal-{os.getpid()}")

    @staticmethod
    def _channel(room: str) -> str:
        return f"tequio:consult:{room}"

    async def publish(self, room: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._channel(room), json.dumps(message))

    @contextlib.asynccontextmanager
    async def subscribe(self, room: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel(room))

        async def messages() -> AsyncIterator[dict[str, Any]]:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield json.loads(item["data"])

        try:
            yield messages()
        finally:
            await pubsub.unsubscribe(self._channel(room))
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()


def create_broker(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else LocalBroker()
