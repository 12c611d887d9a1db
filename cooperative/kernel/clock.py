"""The one clock: what instant it is, and what day it is in the cooperative's time zone.

Every "now" and "today" in Tequio comes from here; nothing reads the host's date. The shell sets
the zone from `TEQUIO_TIMEZONE` when it starts. Tests move the clock with `travel`; a whole test
run is moved by `TEQUIO_CLOCK_OFFSET_SECONDS` (set by tests/conftest.py from `TEQUIO_TEST_NOW`,
refused in production), which every process of the run shares, so the suite can be proven to
pass at any hour.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "America/Mexico_City"


@dataclass(slots=True)
class _State:
    zone: ZoneInfo
    offset: timedelta  # from the process's settings: zero except in a test run moved in time
    travelled: timedelta  # added by `travel` within a test
    frozen: datetime | None  # a stopped clock, for tests that need one exact instant


_state = _State(ZoneInfo(DEFAULT_ZONE), timedelta(0), timedelta(0), None)


def configure(zone_name: str, offset: timedelta = timedelta(0)) -> None:
    """The cooperative's IANA zone (what `today()` means for dues, fees and standing), and the
    run's offset from the host's clock (tests only)."""
    _state.zone = ZoneInfo(zone_name)
    _state.offset = offset


def zone() -> ZoneInfo:
    return _state.zone


def now() -> datetime:
    """This instant, timezone-aware, in UTC."""
    if _state.frozen is not None:
        return _state.frozen
    return datetime.now(UTC) + _state.offset + _state.travelled


def local_now() -> datetime:
    """This instant in the cooperative's zone."""
    return now().astimezone(_state.zone)


def today() -> date:
    """Today's date in the cooperative's zone (not the host's, not UTC's)."""
    return local_now().date()


def day_of(moment: datetime) -> date:
    """The cooperative's calendar day on which `moment` falls."""
    return moment.astimezone(_state.zone).date()


@contextmanager
def travel(to: datetime, *, frozen: bool = False) -> Iterator[None]:
    """Within the block the clock reads `to`, and runs on from it unless `frozen`."""
    if to.tzinfo is None:
        raise ValueError("give the instant with its UTC offset")
    saved = (_state.travelled, _state.frozen)
    _state.frozen = to.astimezone(UTC) if frozen else None
    _state.travelled = timedelta(0)
    _state.travelled = to - now() if not frozen else timedelta(0)
    try:
        yield
    finally:
        _state.travelled, _state.frozen = saved
