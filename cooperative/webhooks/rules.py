"""Webhook rules, pure: the event types, which grant lets an app hear each, the thin payload,
the secrets, which URLs and addresses a delivery may go to, and how long it is retried."""

import base64
import ipaddress
import secrets
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from cooperative.kernel.principal import Scope
from cooperative.notifications.rules import RetryPolicy


class EventType(StrEnum):
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    REFERRAL_CHANGED = "referral.changed"
    PROPOSAL_OPENED = "proposal.opened"
    PROPOSAL_RESULT = "proposal.result"
    PAYMENT_CONFIRMED = "payment.confirmed"


# The scope of the member's grant an app must hold to hear an event about that member
# (governance events: a governance:vote grant from any member; clinic apps: their clinic's).
NEEDS: dict[EventType, Scope] = {
    EventType.APPOINTMENT_BOOKED: Scope.APPOINTMENTS_READ,
    EventType.APPOINTMENT_CANCELLED: Scope.APPOINTMENTS_READ,
    EventType.APPOINTMENT_RESCHEDULED: Scope.APPOINTMENTS_READ,
    EventType.REFERRAL_CHANGED: Scope.APPOINTMENTS_READ,
    EventType.PROPOSAL_OPENED: Scope.GOVERNANCE_VOTE,
    EventType.PROPOSAL_RESULT: Scope.GOVERNANCE_VOTE,
    EventType.PAYMENT_CONFIRMED: Scope.MEMBERSHIP_READ,
}

# what a payload's `data` may hold: ids and times, nothing else
ALLOWED_DATA = frozenset({"id", "start", "end", "previous_start", "status", "at", "closes_at"})

# Standard Webhooks' retries, stretched: 30 s doubling to 6 h, 14 attempts ≈ 26.5 h in all
POLICY = RetryPolicy(max_attempts=14, base=timedelta(seconds=30), cap=timedelta(hours=6))


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _moment(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def thin_payload(event_type: EventType, data: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    """The event as sent: its type, its time and ids and times only (anything else is a
    programming error: no health data can leave this way)."""
    extra = set(data) - ALLOWED_DATA
    if extra:
        raise ValueError(f"a webhook carries ids and times only, not {sorted(extra)}")
    return {
        "type": event_type.value,
        "timestamp": at.isoformat(),
        "data": {key: _moment(value) for key, value in data.items()},
    }


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why this URL may not receive webhooks (None: it may): https only (http too in
    development), a host, no credentials in it, and a literal address must be public."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a URL"
    del port
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return "https only"
    if not parts.hostname:
        return "no host"
    if parts.username or parts.password:
        return "credentials in the URL"
    if parts.fragment:
        return "a fragment"
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    return None if address_allowed(str(literal), allow_private=allow_private) else "private"


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether a delivery may connect to this address: a global one (never loopback, private,
    link-local, multicast, reserved or unspecified), unless development allows private ones."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def should_disable(
    consecutive_dead: int,
    failing_since: datetime | None,
    *,
    now: datetime,
    after_dead: int,
    after: timedelta,
) -> bool:
    """An endpoint that keeps failing is switched off: `after_dead` deliveries dead in a row, or
    failing without a success for longer than `after`."""
    if consecutive_dead >= after_dead:
        return True
    return failing_since is not None and now - failing_since > after
