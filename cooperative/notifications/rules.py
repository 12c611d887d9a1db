"""What a message's life may be, as pure rules: its states, its channels, and when a failed
delivery is tried again."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"  # the development provider's own: the console and the dev inbox


CHOSEN = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)  # what a member may opt in to


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


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local times of a zone between which nothing is sent; `start` after `end` wraps
    midnight (21:00–08:00)."""

    start: time
    end: time
    zone: ZoneInfo

    def _at(self, day: date, moment: time) -> datetime:
        # a local time that does not exist that day (a DST gap) reads as zoneinfo's fold=0:
        # the same wall time before the shift, which lands just after it
        return datetime.combine(day, moment, tzinfo=self.zone).astimezone(UTC)

    def window(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The quiet window (its start and end, as instants) that `moment` falls in, if any."""
        local = moment.astimezone(self.zone)
        day, now = local.date(), local.time().replace(tzinfo=None)
        if self.start < self.end:
            if not self.start <= now < self.end:
                return None
            return self._at(day, self.start), self._at(day, self.end)
        if now >= self.start:  # the evening part: it ends tomorrow
            return self._at(day, self.start), self._at(day + timedelta(days=1), self.end)
        if now < self.end:  # the morning part: it began yesterday
            return self._at(day - timedelta(days=1), self.start), self._at(day, self.end)
        return None


LAST_MOMENT = timedelta(minutes=1)  # how long before quiet hours a message that cannot wait goes


def outside_quiet_hours(
    due: datetime, quiet: QuietHours | None, *, expires_at: datetime | None, now: datetime
) -> datetime:
    """When a message due at `due` may go: `due` itself outside the quiet hours, else the end
    of the quiet window (in the member's zone, DST included). A message that would expire by
    then (a reminder of a 07:30 consult due at 06:30 while quiet hours end at 08:00) is worth
    more than the quiet: it goes just before the quiet hours began (20:59 the evening before)
    if that is still ahead, else at its own time (a consult booked at 23:00 for 07:30 still
    gets its reminder at 06:30: a patient would rather be woken than miss it)."""
    window = quiet.window(due) if quiet is not None else None
    if window is None:
        return due
    began, ends = window
    if expires_at is None or ends < expires_at:
        return ends
    before = began - LAST_MOMENT
    return before if before > now else due
