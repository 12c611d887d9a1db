"""The development inbox: what the development provider "sent" from this worker, in full.

Only for a newcomer on their own machine: it answers only when `TEQUIO_ENVIRONMENT` is
`development`, the development provider delivers this worker's messages (no SMTP for that
channel) and the request comes from loopback; anywhere else it is a plain 404. It is how a
person who signs up locally reads the one-time code, which no log ever shows (the provider's
log line masks it). The inbox lives in this process's memory only, newest first."""

import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from app.settings import Settings
from cooperative.kernel.errors import NotFound
from cooperative.notifications.providers import DevelopmentProvider, masked

router = APIRouter(include_in_schema=False)


def _loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


@router.get("/dev/inbox")
async def inbox(request: Request) -> PlainTextResponse:
    settings: Settings = request.app.state.settings
    provider: DevelopmentProvider | None = getattr(request.app.state, "development_inbox", None)
    if settings.environment != "development" or provider is None or not _loopback(request):
        raise NotFound()
    shown = [
        f"to {masked(m.address)} ({m.channel}): {m.subject}\n{m.body}\n"
        for m in reversed(provider.inbox)
    ]
    return PlainTextResponse("\n".join(shown) or "(nothing sent yet)\n")
