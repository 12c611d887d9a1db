"""A relay slot carries one person's media, then another's, without renegotiating: its
timestamps keep going forward (an encoder refuses time going back), and the frames it shares
with other subscribers are never changed under them."""

import asyncio
from fractions import Fraction
from typing import Any, cast

import av
from aiortc import MediaStreamTrack
from aiortc.rtcrtpreceiver import RemoteStreamTrack

from telehealth.consults.relay import RelayRoom, SlotTrack, VideoCap, restamped


class Camera(MediaStreamTrack):
    """Frames at 30 a second from a random starting time, as an RTP stream would give them."""

    kind = "video"

    def __init__(self, start: int, shade: int) -> None:
        super().__init__()
        self.pts, self.shade = start, shade
        self.sent: list[tuple[av.VideoFrame, int | None]] = []

    async def recv(self) -> Any:
        frame = av.VideoFrame(64, 48, "yuv420p")
        frame.planes[0].update(bytes([self.shade]) * frame.planes[0].buffer_size)
        frame.pts, frame.time_base = self.pts, Fraction(1, 90_000)
        self.pts += 3000
        self.sent.append((frame, frame.pts))
        return frame


async def test_time_keeps_going_forward_across_a_switch_of_person() -> None:
    slot = SlotTrack("video")
    first, second = Camera(start=9_000_000, shade=10), Camera(start=1_000, shade=200)
    slot.switch(first)
    out = [await slot.recv() for _ in range(5)]
    slot.switch(second)  # the second person starts far "earlier" on their own clock
    out += [await slot.recv() for _ in range(5)]
    times = [frame.pts for frame in out]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[5] - times[4] == 3000  # one frame's gap at 30 fps, not a jump
    assert bytes(out[-1].planes[0])[:1] == bytes([200])  # the second person's picture
    assert all(frame.pts == pts for frame, pts in second.sent)  # shared frames untouched
    slot.stop()


def test_a_restamped_frame_is_a_copy_at_another_time() -> None:
    frame = av.VideoFrame(650, 482, "yuv420p")  # odd sizes: rows with padding
    frame.planes[0].update(
        bytes(range(256)) * (frame.planes[0].buffer_size // 256)
        + bytes(frame.planes[0].buffer_size % 256)
    )
    frame.pts, frame.time_base = 100, Fraction(1, 90_000)
    copy = restamped(frame, 4242)
    assert (copy.pts, frame.pts) == (4242, 100)
    assert bytes(copy.planes[0]) == bytes(frame.planes[0])
    audio = av.AudioFrame(format="s16", layout="stereo", samples=960)
    audio.sample_rate, audio.pts, audio.time_base = 48_000, 7, Fraction(1, 48_000)
    moved = restamped(audio, 960)
    assert (moved.pts, moved.samples, moved.sample_rate) == (960, 960, 48_000)


async def test_media_from_someone_alone_in_the_relay_is_read_not_hoarded() -> None:
    """While the doctor waits alone, nobody receives their video; the relay must still read
    it, or aiortc queues every frame in memory (30 a second, until the worker runs out)."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    room = RelayRoom(send, VideoCap(160, 120, 10), lambda: [])
    doctor = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    doctor.addTrack(AudioStreamTrack())
    doctor.addTrack(VideoStreamTrack())
    try:
        await doctor.setLocalDescription(await doctor.createOffer())
        await room.offer("doctor", doctor.localDescription.sdp)
        [answer] = [m for m in sent if m["type"] == "answer"]
        await doctor.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await asyncio.sleep(3)
        # what aiortc hands to "track" handlers: its receiver's track, with a queue of frames
        video = cast(RemoteStreamTrack, room.peers["doctor"].sources["video"])
        assert video.readyState == "live"
        assert video._queue.qsize() < 10  # aiortc's receive queue of decoded frames
    finally:
        await doctor.close()
        await room.close()
