"""Times on the wire, written once: every instant an answer carries is RFC 3339 with the UTC
offset of the reader's zone.

The reader's zone is the signed-in account's own (`timezone` on the account) and, for anyone
else or an account without one, the cooperative's (`TEQUIO_TIMEZONE`). The shell sets it per
request (`read_in`); response models declare their instants as `Moment`, which is serialized in
that zone. A slot search asked for another zone (`timezone=`) answers wholly in it; fields that
say they are in the doctor's zone (`practitioner_start`) are plain `datetime`s and keep theirs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainSerializer

from cooperative.kernel import clock

_reader_zone: ContextVar[ZoneInfo | None] = ContextVar("reader_zone", default=None)


def reader_zone() -> ZoneInfo:
    """The zone this request's answer is written in."""
    return _reader_zone.get() or clock.zone()


def read_in(zone: str | ZoneInfo | None) -> None:
    """This request's answer is for a reader in `zone` (None: the cooperative's)."""
    if isinstance(zone, str):
        try:
            zone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    _reader_zone.set(zone)


@contextmanager
def request_scope() -> Iterator[None]:
    """One request's reader: nothing set by one request is seen by the next."""
    token = _reader_zone.set(None)
    try:
        yield
    finally:
        _reader_zone.reset(token)


def shown(value: datetime) -> datetime:
    """`value` in the reader's zone (a naive value is taken as UTC, as the database stores it)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(reader_zone())


Moment = Annotated[datetime, PlainSerializer(shown, return_type=datetime, when_used="json")]
"""An instant as an answer shows it: RFC 3339 with the reader's offset."""


def stored(value: datetime) -> str:
    """An instant as a JSON payload keeps it: RFC 3339 in UTC."""
    return value.astimezone(UTC).isoformat()


def payload_shown(payload: dict[str, object], times: frozenset[str]) -> dict[str, object]:
    """A stored JSON payload as an answer shows it: the instants under `times` (stored as
    RFC 3339 text) in the reader's zone, everything else as stored."""
    shown_payload = dict(payload)
    for key in times & payload.keys():
        value = payload[key]
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            shown_payload[key] = shown(moment).isoformat()
    return shown_payload
