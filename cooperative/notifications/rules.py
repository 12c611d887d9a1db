"""What a message's life may be, as pure rules: its states, its channels, and when a failed
delivery is tried again."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"  # the development provider's own: the console and the dev inbox


class State(StrEnum):
    """`queued`: waiting for its time; `sending`: a dispatcher holds it now; `sent`: the
    provider accepted it; `delivered`: the provider's receipt says it arrived (only providers
    with receipts); `failed`: the last attempt failed and another is planned; `dead`: given up
    (after the last attempt, or expired unsent), kept with the reason; `cancelled`: what it was
    about changed (a consult cancelled)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


WAITING = (State.QUEUED, State.FAILED)  # a dispatcher may take them when due; a cancel stops them


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: the n-th failure waits `base · 2^(n-1)`, at most `cap`; after
    `max_attempts` attempts the message is dead."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        """The wait after `attempts` failed attempts (1 for the first failure)."""
        exponent = min(max(attempts - 1, 0), 30)
        wait: timedelta = self.base * (2**exponent)
        return min(wait, self.cap)

    def after_failure(
        self, attempts: int, now: datetime, *, permanent: bool
    ) -> tuple[State, datetime | None]:
        """The state after a failed attempt (the `attempts`-th) and when to try again."""
        if permanent or attempts >= self.max_attempts:
            return State.DEAD, None
        return State.FAILED, now + self.delay(attempts)
