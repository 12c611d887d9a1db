"""Pure rules for consults: when a room is open, and TURN credentials in coturn's scheme."""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RoomWindow:
    opens_before: timedelta
    closes_after: timedelta


def room_state(start: datetime, end: datetime, now: datetime, window: RoomWindow) -> str:
    """`not-open-yet`, `open` or `closed`."""
    if now < start - window.opens_before:
        return "not-open-yet"
    if now > end + window.closes_after:
        return "closed"
    return "open"


def turn_credentials(secret: bytes, participant: str, expires_at: int) -> tuple[str, str]:
    """coturn's `use-auth-secret` REST scheme: username `expiry:participant`, password the base64
    HMAC-SHA1 of the username with the shared secret."""
    username = f"{expires_at}:{participant}"
    digest = hmac.new(secret, username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass
class TokenBucket:
    """A flood limit for one connection: `rate` messages a second, bursts up to `burst`."""

    rate: float
    burst: float
    tokens: float
    last: float

    def allow(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
