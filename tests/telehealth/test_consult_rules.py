"""Pure consult rules: room windows, TURN credentials, the flood limit, link quality."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from telehealth.consults.rules import (
    FrameRateCap,
    LinkSample,
    RoomWindow,
    TokenBucket,
    capped_size,
    may_record,
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


@given(
    width=st.integers(2, 4000),
    height=st.integers(2, 4000),
    max_width=st.integers(16, 1920),
    max_height=st.integers(16, 1080),
)
def test_capped_video_fits_the_cap_and_keeps_its_shape(
    width: int, height: int, max_width: int, max_height: int
) -> None:
    w, h = capped_size(width, height, max_width, max_height)
    if width <= max_width and height <= max_height:
        assert (w, h) == (width, height)  # within the cap: untouched
        return
    assert w <= max_width and h <= max_height
    assert w % 2 == 0 and h % 2 == 0  # what 4:2:0 encoders need
    if min(w, h) >= 16:  # the aspect ratio holds to within the rounding to even pixels
        assert abs(w / h - width / height) <= width / height * (4 / min(w, h))


def test_a_vga_camera_is_capped_to_the_relay_size() -> None:
    assert capped_size(640, 480, 320, 240) == (320, 240)
    assert capped_size(1280, 720, 640, 480) == (640, 360)
    assert capped_size(480, 640, 640, 480) == (360, 480)  # a phone held upright


def test_the_frame_rate_cap_thins_30_fps_to_15() -> None:
    cap = FrameRateCap(fps=15)
    passed = [n for n in range(60) if cap.passes(n / 30)]  # two seconds at 30 fps
    assert len(passed) == 30 and passed[:3] == [0, 2, 4]
    slow = FrameRateCap(fps=15)
    assert all(slow.passes(n / 10) for n in range(20))  # slower than the cap: all pass


@given(present=st.sets(st.sampled_from("abcde")), consenting=st.sets(st.sampled_from("abcde")))
def test_recording_needs_everyone_present_to_consent(
    present: set[str], consenting: set[str]
) -> None:
    allowed = may_record(present, consenting)
    assert allowed == (bool(present) and all(p in consenting for p in present))
    if allowed and present:
        assert not may_record(present, consenting - {next(iter(present))})  # one withdraws
