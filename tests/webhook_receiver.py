"""A webhook receiver on loopback for the webhook tests: a real HTTP server (uvicorn on the
test's event loop, port 0) that keeps every request it gets and answers each with the next
status of its script (200 once the script runs out)."""

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/tequio"

    async def hook(self, request: Request) -> Response:
        self.received.append(Received(await request.body(), dict(request.headers)))
        return Response(status_code=self.script.pop(0) if self.script else 200)


async def start(receiver: Receiver) -> tuple[uvicorn.Server, "asyncio.Task[None]"]:
    app = Starlette(routes=[Route("/hooks/tequio", receiver.hook, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(3000):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the receiver did not start"
    return server, task


async def stop(server: uvicorn.Server, task: "asyncio.Task[Any]") -> None:
    server.should_exit = True
    await task
