"""SMS and WhatsApp through an HTTP messages API in the Twilio style, and its signed status
callbacks.

Sending is one form-encoded POST to `{api_base}/2010-04-01/Accounts/{sid}/Messages.json` with
basic auth (account sid, auth token): `To`, `From` (`whatsapp:+52…` for WhatsApp), `Body` or,
for a WhatsApp template, `ContentSid` and `ContentVariables`, and `StatusCallback`, where the
provider reports what became of the message. A 2xx answer with the message's `sid` means
accepted (`sent`); a 4xx is a refusal no retry helps (an invalid number, code 21211), except
429 (too many requests); a 5xx, a timeout or no connection is tried again later.

The status callback is signed: `X-Twilio-Signature` is the base64 HMAC-SHA1, keyed with the
auth token, of the callback's full URL followed by each POST parameter's name and value, sorted
by name. It is checked here in a few lines rather than with the `twilio` package, whose
`RequestValidator` does the same but brings the whole SDK and aiohttp with it."""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.kernel import clock
from cooperative.notifications import delivery
from cooperative.notifications.errors import ReceiptNotSigned
from cooperative.notifications.providers import Accepted, DeliveryFailed, Outgoing
from cooperative.notifications.rules import Channel

PROVIDER = "twilio"


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    status_callback: str
    api_base: str = "https://api.twilio.com"
    sms_from: str | None = None
    whatsapp_from: str | None = None
    whatsapp_content_sid: str | None = None  # a template for business-initiated messages
    whatsapp_content_sids: Mapping[str, str] = field(default_factory=dict)  # per kind
    timeout_seconds: float = 15

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(
            channel
            for channel, sender in (
                (Channel.SMS, self.sms_from),
                (Channel.WHATSAPP, self.whatsapp_from),
            )
            if sender
        )


def _refusal(response: httpx.Response) -> str:
    """The provider's own words (`{"code": 21211, "message": "…"}`) and its status."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    said = ""
    if isinstance(answer, dict) and answer.get("message"):
        said = f" ({answer.get('code')}): {answer['message']}"
    if response.status_code < 500:
        return f"the provider refused it with {response.status_code}{said}"
    return f"the provider is failing ({response.status_code}{said})"


class TwilioProvider:
    """One POST per message; `sent` is the provider's acceptance, `delivered` only its receipt
    (`receive`)."""

    name = PROVIDER

    def __init__(self, config: TwilioConfig) -> None:
        self.config = config
        self.channels: frozenset[str] = config.channels

    def form(self, message: Outgoing) -> dict[str, str]:
        config = self.config
        if message.channel == Channel.WHATSAPP:
            assert config.whatsapp_from is not None
            fields = {
                "To": f"whatsapp:{message.address}",
                "From": f"whatsapp:{config.whatsapp_from}",
            }
            content = config.whatsapp_content_sids.get(
                message.template, config.whatsapp_content_sid
            )
            if content:
                fields |= {
                    "ContentSid": content,
                    "ContentVariables": json.dumps({"1": message.body}),
                }
            else:
                fields["Body"] = message.body
        else:
            assert config.sms_from is not None
            fields = {"To": message.address, "From": config.sms_from, "Body": message.body}
        return fields | {"StatusCallback": config.status_callback}

    async def send(self, message: Outgoing) -> Accepted:
        config = self.config
        url = (
            f"{config.api_base.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )
        try:
            async with httpx.AsyncClient(timeout=config.timeout_seconds) as http:
                response = await http.post(
                    url, data=self.form(message), auth=(config.account_sid, config.auth_token)
                )
        except httpx.HTTPError as exc:  # a timeout, no connection, a broken answer
            raise DeliveryFailed(f"no answer from the provider: {type(exc).__name__}") from exc
        if response.is_success:
            try:
                sid = response.json()["sid"]
            except (ValueError, KeyError, TypeError) as exc:
                raise DeliveryFailed("the provider's answer had no message id") from exc
            return Accepted(provider_message_id=str(sid))
        permanent = 400 <= response.status_code < 500 and response.status_code != 429
        raise DeliveryFailed(_refusal(response), permanent=permanent)


def signature(url: str, parameters: Iterable[tuple[str, str]], auth_token: str) -> str:
    """The provider's signature of a callback to `url` with these POST parameters."""
    signed = url + "".join(name + value for name, value in sorted(parameters))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed(
    url: str, parameters: Iterable[tuple[str, str]], auth_token: str, given: str | None
) -> bool:
    if not given or not auth_token:
        return False
    return hmac.compare_digest(signature(url, parameters, auth_token).encode(), given.encode())


class Status(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"  # queued, accepted, sending, sent…: nothing to record yet


def status_of(message_status: str | None) -> Status:
    """What a callback's `MessageStatus` means for the outbox: `delivered` and `read` are the
    receipt; `failed` and `undelivered` a failure; every other status is on the way."""
    if message_status in ("delivered", "read"):
        return Status.DELIVERED
    if message_status in ("failed", "undelivered"):
        return Status.FAILED
    return Status.PENDING


def failure_reason(error_code: str | None, error_message: str | None, status: str) -> str:
    said = error_message or status
    return (
        f"the provider could not deliver it ({error_code}): {said}"
        if error_code
        else (f"the provider could not deliver it: {said}")
    )


async def receive(
    session: AsyncSession,
    *,
    url: str,
    parameters: list[tuple[str, str]],
    given_signature: str | None,
    auth_token: str | None,
) -> None:
    """A status callback: refused (`ReceiptNotSigned`, nothing recorded) unless signed with the
    auth token for exactly `url` and these parameters; then `delivered`/`read` is the receipt,
    `failed`/`undelivered` a failure with the provider's code and words, anything else nothing.
    A message id Tequio does not know is ignored (the provider would otherwise call forever)."""
    if not signed(url, parameters, auth_token or "", given_signature):
        raise ReceiptNotSigned()
    fields = dict(parameters)
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    status = status_of(fields.get("MessageStatus") or fields.get("SmsStatus"))
    if not sid or status is Status.PENDING:
        return
    reason = None
    if status is Status.FAILED:
        reason = failure_reason(
            fields.get("ErrorCode"), fields.get("ErrorMessage"), fields.get("MessageStatus", "")
        )
    await delivery.record_receipt(
        session,
        provider=PROVIDER,
        provider_message_id=sid,
        delivered=status is Status.DELIVERED,
        reason=reason,
        now=clock.now(),
    )
