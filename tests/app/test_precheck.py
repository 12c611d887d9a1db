"""The pre-call check: an aiortc caller gets its audio and video echoed back, live reports on a
data channel, and a stored result a clinic can look back on."""

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.consult_support import local_peer
from tests.factories import bearer, signed_up


async def _count(track: Any, counts: dict[str, int]) -> None:
    with contextlib.suppress(Exception):
        while True:
            await track.recv()
            counts[track.kind] = counts.get(track.kind, 0) + 1


async def test_the_precheck_echoes_media_reports_and_stores_the_result(
    live_client_with: Callable[..., httpx.AsyncClient],
) -> None:
    from aiortc import RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    client = live_client_with(precheck_seconds=3)
    # the check stores its result from the background, so requests commit for real
    _, tokens = await signed_up(client)
    pc = local_peer()
    echoed: dict[str, int] = {}
    reports: list[dict[str, Any]] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        pc.on("track", lambda track: tasks.append(asyncio.create_task(_count(track, echoed))))
        channel = pc.createDataChannel("precheck")
        channel.on("message", lambda m: reports.append(json.loads(m)))
        await pc.setLocalDescription(await pc.createOffer())
        response = await client.post(
            "/v1/consults/precheck",
            json={"sdp": pc.localDescription.sdp},
            headers=bearer(tokens),
        )
        assert response.status_code == 200, response.text
        await pc.setRemoteDescription(RTCSessionDescription(response.json()["sdp"], "answer"))
        for _ in range(100):  # the check runs 3 s and stores its last report
            results = (
                await client.get("/v1/consults/precheck/results", headers=bearer(tokens))
            ).json()["items"]
            if results:
                break
            await asyncio.sleep(0.1)
    finally:
        for task in tasks:
            task.cancel()
        await pc.close()
    assert echoed.get("audio", 0) >= 10 and echoed.get("video", 0) >= 10  # our media came back
    assert reports, "reports arrive over the data channel while the check runs"
    last = reports[-1]
    assert {
        "round_trip_ms",
        "packet_loss_pct",
        "jitter_ms",
        "received_kbps",
        "relayed",
    } <= last.keys()
    assert last["received_kbps"] > 0
    assert last["relayed"] is False  # on this machine the path is direct
    [stored] = results
    assert stored["received_kbps"] > 0 and stored["relayed"] is False


@pytest.mark.parametrize("sdp", ["", "v=0", "not an sdp at all"])
async def test_a_broken_offer_is_a_4xx(client: httpx.AsyncClient, sdp: str) -> None:
    _, tokens = await signed_up(client)
    response = await client.post("/v1/consults/precheck", json={"sdp": sdp}, headers=bearer(tokens))
    assert 400 <= response.status_code < 500
