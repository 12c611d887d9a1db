"""Pure consult rules: room windows, TURN credentials, the flood limit, link quality."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from telehealth.consults.rules import (
    LinkSample,
    RoomWindow,
    TokenBucket,
    quality,
    room_state,
    turn_credentials,
)

START = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
WINDOW = RoomWindow(opens_before=timedelta(minutes=15), closes_after=timedelta(minutes=30))


def test_the_room_opens_before_and_closes_after_the_consult() -> None:
    end = START + timedelta(minutes=30)
    assert room_state(START, end, START - timedelta(minutes=16), WINDOW) == "not-open-yet"
    assert room_state(START, end, START - timedelta(minutes=15), WINDOW) == "open"
    assert room_state(START, end, end + timedelta(minutes=30), WINDOW) == "open"
    assert room_state(START, end, end + timedelta(minutes=31), WINDOW) == "closed"


def test_turn_credentials_follow_coturns_rest_scheme() -> None:
    username, password = turn_credentials(b"s3cret", "rosa", 1_800_000_000)
    assert username == "1800000000:rosa"
    digest = hmac.new(b"s3cret", b"1800000000:rosa", hashlib.sha1).digest()
    assert password == base64.b64encode(digest).decode()


def test_the_flood_limit_refills_over_time() -> None:
    bucket = TokenBucket(rate=2, burst=3, tokens=3, last=0.0)
    assert [bucket.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.allow(0.5) is True  # half a second at 2/s refills one
    assert bucket.allow(0.5) is False


def test_link_quality_from_two_samples() -> None:
    first = LinkSample(0.0, 0, 0, 0, None, None)
    good = quality(first, LinkSample(2.0, 125_000, 990, 10, 3.0, 80.0))
    assert good.received_kbps == 500.0  # 125 kB in 2 s
    assert good.packet_loss_pct == 1.0
    assert good.video_ok is True
    lossy = quality(first, LinkSample(2.0, 125_000, 900, 100, 3.0, 80.0))
    assert lossy.video_ok is False  # 10% loss will not hold video
    slow = quality(first, LinkSample(2.0, 20_000, 100, 0, 3.0, 80.0))
    assert slow.video_ok is False  # 80 kbps: audio only
