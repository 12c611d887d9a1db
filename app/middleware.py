"""Pure ASGI middleware: request ids with an access log, the request-body size limit, and the
answer to an exception no handler took."""

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import MalformedRequest, PayloadTooLarge
from app.outage import OutageLog, database_unreachable
from cooperative.kernel import moments
from cooperative.kernel.context import request_id_var
from cooperative.kernel.errors import TequioError

access_log = logging.getLogger("tequio.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestIdMiddleware:
    """Takes a well-formed `X-Request-ID` or makes one, returns it, and logs one line per request.

    The line has the method, the path without its query string, the status and the duration:
    no query, header, body or client address (they may carry tokens or reveal a patient).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "websocket.accept":
                status = 101  # a socket's line: 101 once accepted, 403 if refused before
            elif message["type"] == "websocket.close" and status == 500:
                status = 403
            elif message["type"] == "websocket.http.response.start":
                status = message["status"]
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            with moments.request_scope():  # each answer's times in its own caller's zone
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method", "WS"),
                    "path": scope.get("path"),
                    "route": getattr(route, "path", None),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


ProblemRenderer = Callable[[Request, TequioError], Awaitable[Any]]
ExceptionRenderer = Callable[[Request, Exception], Awaitable[Any]]
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the server cannot serve the socket for now


class UnexpectedErrorMiddleware:
    """Answers an exception that no handler took, inside the request id's scope (see
    `errors.render_unexpected`: 503 when the database is gone, else 500 with the traceback
    logged once, with the request id). Starlette's own last resort sits outside every
    middleware and raises the exception again to the server, which logs it a second time,
    without the request id, and closes the connection; here the connection stays open.

    An exception after the response has started goes on to the server (the response is cut:
    only closing the connection says so). A socket that finds the database gone is closed
    with 1013, try again later; any other socket error goes on as before."""

    def __init__(self, app: ASGIApp, *, render: ExceptionRenderer) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            response = await self.render(Request(scope), exc)
            await response(scope, receive, send)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            outage: OutageLog = scope["app"].state.outage
            outage.failed(exc, "socket")
            with contextlib.suppress(Exception):  # the socket may be closed already
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})


class RequestGuardMiddleware:
    """Refuses, before any route runs: bodies over `max_bytes` (413, by Content-Length up front
    or while streaming) and NUL bytes in the path or query (400; no database stores them).

    A streamed body that passes the limit raises a 413 HTTPException from `receive`, which the
    framework re-raises and the error handlers render like any other problem. `larger` names
    the few routes (method, path pattern) that take bigger bodies, such as photos, and how big.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        render: ProblemRenderer,
        larger: Sequence[tuple[str, re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render
        self.larger = larger

    def _limit(self, scope: Scope) -> int:
        for method, pattern, limit in self.larger:
            if scope.get("method") == method and pattern.fullmatch(scope.get("path", "")):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        problem: TequioError | None = None
        if declared is not None and (
            not (declared.isascii() and declared.isdigit()) or int(declared) > limit
        ):
            problem = PayloadTooLarge(limit=limit)
        target = scope.get("query_string", b"") + scope.get("raw_path", b"")
        if b"%00" in target or b"\x00" in target or "\x00" in scope.get("path", ""):
            problem = MalformedRequest()
        if problem is not None:
            response = await self.render(Request(scope), problem)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(status_code=413, detail=str(limit))
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeadersMiddleware:
    """Headers every response carries unless its route set its own: `nosniff` (a JSON answer is
    never run as a script or shown as a page), no referrer, and `Cache-Control: no-store` on all
    but the static assets, since most answers hold personal data a shared phone, browser cache
    or proxy must not keep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if not static:
                    wanted.append((b"cache-control", b"no-store"))
                headers += [(name, value) for name, value in wanted if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
