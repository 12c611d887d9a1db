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


@dataclass(frozen=True, slots=True)
class LinkSample:
    """Counters read from a peer connection at one moment."""

    at: float  # seconds, monotonic
    bytes_received: int
    packets_received: int
    packets_lost: int
    jitter_ms: float | None
    round_trip_ms: float | None


@dataclass(frozen=True, slots=True)
class LinkQuality:
    round_trip_ms: float | None
    packet_loss_pct: float | None
    jitter_ms: float | None
    received_kbps: float | None
    video_ok: bool


# What a consult needs for video to hold, roughly (a 640x480 stream at a modest bitrate).
VIDEO_MIN_KBPS = 150.0
VIDEO_MAX_LOSS_PCT = 5.0
VIDEO_MAX_RTT_MS = 400.0


def quality(first: LinkSample, last: LinkSample) -> LinkQuality:
    """The link between two samples: bitrate from the bytes received, loss from the packets."""
    seconds = last.at - first.at
    kbps = (
        (last.bytes_received - first.bytes_received) * 8 / 1000 / seconds if seconds > 0 else None
    )
    packets = last.packets_received + last.packets_lost
    loss = 100.0 * last.packets_lost / packets if packets > 0 else None
    video_ok = (
        kbps is not None
        and kbps >= VIDEO_MIN_KBPS
        and (loss is None or loss <= VIDEO_MAX_LOSS_PCT)
        and (last.round_trip_ms is None or last.round_trip_ms <= VIDEO_MAX_RTT_MS)
    )
    return LinkQuality(last.round_trip_ms, loss, last.jitter_ms, kbps, video_ok)


def may_record(present: set[str], consenting: set[str]) -> bool:
    """Recording runs only while everyone present has consented (and someone is there)."""
    return bool(present) and present <= consenting


def capped_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest size within the cap with the frame's aspect ratio, in even numbers (what
    4:2:0 video encoders need); a frame within the cap keeps its size."""
    if width <= max_width and height <= max_height:
        return width, height
    scale = min(max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


@dataclass
class FrameRateCap:
    """Lets through at most `fps` frames a second: a frame passes when a whole frame interval
    has gone by since the last one that passed, measured on the media's own clock."""

    fps: float
    last: float | None = None

    def passes(self, at_seconds: float) -> bool:
        interval = 1 / self.fps
        if self.last is not None and at_seconds - self.last < interval * 0.95:
            return False
        self.last = at_seconds
        return True
