"""A small SMS and WhatsApp provider on loopback that answers like the Twilio messages API, for
the tests of `cooperative.notifications.twilio`: a real HTTP server (uvicorn on the test's
event loop, port 0), nothing mocked.

It checks basic auth, accepts a message with 201 and a `sid`, refuses a number it is told is
invalid with 400 and Twilio's error JSON (code 21211), answers 503 while it is `down`, and
keeps what it accepted. `report()` then calls each message's `StatusCallback` the way the
provider does, signed with the auth token: `sent`, then `delivered`, or `undelivered` (63024)
for a WhatsApp number it is told is not on WhatsApp. The signature is computed here from the
provider's documentation, not with Tequio's own code."""

import asyncio
import base64
import hashlib
import hmac
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "fake-provider-auth-token"


def sign(url: str, fields: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + each name + value, sorted by name))."""
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Received:
    sid: str
    form: dict[str, str]

    @property
    def whatsapp(self) -> bool:
        return self.form["To"].startswith("whatsapp:")

    @property
    def number(self) -> str:
        return self.form["To"].removeprefix("whatsapp:")


@dataclass
class FakeSmsProvider:
    invalid: set[str] = field(default_factory=set)  # refused with 400, code 21211
    not_on_whatsapp: set[str] = field(default_factory=set)  # accepted, then undelivered
    down: bool = False  # 503 to everything
    received: list[Received] = field(default_factory=list)
    callbacks: list[httpx.Response] = field(default_factory=list)
    _unreported: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def messages(self, request: Request) -> JSONResponse:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.path_params["sid"] != ACCOUNT_SID or request.headers.get("authorization") != (
            f"Basic {expected}"
        ):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        if self.down:
            return JSONResponse({"code": 20500, "message": "Internal error", "status": 503}, 503)
        form = {name: str(value) for name, value in (await request.form()).items()}
        number = form["To"].removeprefix("whatsapp:")
        if number in self.invalid:
            return JSONResponse(
                {
                    "code": 21211,
                    "message": f"The 'To' number {number} is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
                400,
            )
        message = Received(sid="SM" + uuid.uuid4().hex, form=form)
        self.received.append(message)
        self._unreported.append(message)
        return JSONResponse(
            {"sid": message.sid, "status": "queued", "to": form["To"], "from": form["From"]}, 201
        )

    async def report(self) -> list[int]:
        """Call back Tequio for every message accepted since the last report: `sent`, then what
        became of it. The statuses Tequio answered."""
        answered = []
        pending, self._unreported = self._unreported, []
        async with httpx.AsyncClient(timeout=10) as http:
            for message in pending:
                failed = message.whatsapp and message.number in self.not_on_whatsapp
                final: dict[str, str] = (
                    {
                        "MessageStatus": "undelivered",
                        "ErrorCode": "63024",
                        "ErrorMessage": "Invalid message recipient",
                    }
                    if failed
                    else {"MessageStatus": "delivered"}
                )
                for status in ({"MessageStatus": "sent"}, final):
                    fields = self._callback_fields(message) | status
                    url = message.form["StatusCallback"]
                    response = await http.post(
                        url, data=fields, headers={"X-Twilio-Signature": sign(url, fields)}
                    )
                    self.callbacks.append(response)
                    answered.append(response.status_code)
        return answered

    @staticmethod
    def _callback_fields(message: Received) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "From": message.form["From"],
            "To": message.form["To"],
            "MessageSid": message.sid,
            "SmsSid": message.sid,
        }


async def start(provider: FakeSmsProvider) -> tuple[uvicorn.Server, "asyncio.Task[None]"]:
    app = Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", provider.messages, methods=["POST"])
        ]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    provider.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(3000):  # up to a minute on a loaded machine
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the fake provider did not start"
    return server, task


async def stop(server: uvicorn.Server, task: "asyncio.Task[Any]") -> None:
    server.should_exit = True
    await task
