"""How a message leaves Tequio: a small interface each channel's provider implements.

A provider's `send` returns once the provider has *accepted* the message (the message is then
`sent`) and raises `DeliveryFailed` otherwise, saying whether trying again could help. Only a
provider's delivery receipt makes a message `delivered`; an email has no receipt (SMTP
acceptance by the next server is all an SMTP sender learns), so email stops at `sent`.
Providers with receipts (the Twilio-style SMS and WhatsApp one, `twilio`) report them through
`delivery.record_receipt`."""

import collections
import hashlib
import logging
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib

from cooperative.notifications.rules import Channel

log = logging.getLogger("tequio.notifications")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready to go: its address, its text, and its text for a log (secrets
    masked)."""

    message_id: uuid.UUID
    idempotency_key: str
    channel: str
    address: str
    subject: str
    body: str
    log_body: str
    template: str = ""  # which message it is (a WhatsApp template id may be chosen by it)


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_message_id: str | None = None


class DeliveryFailed(Exception):
    """The provider did not take the message; `permanent` when no retry can help (an address
    refused for good)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.permanent = permanent


class Provider(Protocol):
    name: str
    channels: frozenset[str]

    async def send(self, message: Outgoing) -> Accepted: ...


def masked(address: str) -> str:
    """An address as a log may show it: "r•••@example.org", "+52•••0002"."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"{address[:3]}•••{address[-4:]}" if len(address) > 7 else "•••"


class DevelopmentProvider:
    """Development and demos: takes every channel, "sends" by logging the message (its secrets
    masked, its address masked) and keeping it in an inbox in this process, newest last."""

    name = "development"
    channels: frozenset[str] = frozenset(channel.value for channel in Channel)

    def __init__(self, keep: int = 200) -> None:
        self.inbox: collections.deque[Outgoing] = collections.deque(maxlen=keep)

    async def send(self, message: Outgoing) -> Accepted:
        self.inbox.append(message)
        log.info(
            "development delivery",
            extra={
                "message_id": str(message.message_id),
                "channel": message.channel,
                "to": masked(message.address),
                "text": message.log_body,
            },
        )
        return Accepted(provider_message_id=f"dev-{message.message_id}")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: str = "starttls"  # starttls, tls (implicit) or none
    timeout_seconds: float = 30


class SmtpProvider:
    """Email through an SMTP server (aiosmtplib). `sent` means the server accepted the message
    for delivery; a 5xx refusal is permanent, anything else (4xx, a connection lost, a timeout)
    is tried again later. The Message-ID comes from the message's idempotency key, so a copy
    sent again after a crash has the same id and mail clients show it once."""

    name = "smtp"
    channels: frozenset[str] = frozenset({Channel.EMAIL.value})

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def _email(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.config.sender
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        domain = self.config.sender.rpartition("@")[2].strip("> ") or "tequio.coop"
        email["Message-ID"] = f"<{digest}@{domain}>"
        email.set_content(message.body)
        return email

    async def send(self, message: Outgoing) -> Accepted:
        email = self._email(message)
        config = self.config
        try:
            await aiosmtplib.send(
                email,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=config.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            raise DeliveryFailed(
                f"the server refused the address ({', '.join(map(str, codes))})",
                permanent=all(500 <= code < 600 for code in codes),
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"the server answered {exc.code}: {exc.message}"[:500],
                permanent=500 <= exc.code < 600,
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"no SMTP server reached: {type(exc).__name__}") from exc
        return Accepted(provider_message_id=str(email["Message-ID"]))
