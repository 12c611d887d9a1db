"""A consult's media: the server relay, consent to recording, and the recordings."""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.broker import Broker
from app.db import SessionDep, after_commit
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.relays import RelayHub
from app.routers.consults import Joiner
from app.settings import Settings
from cooperative.kernel.errors import NotFound
from telehealth.consults import media_service, views
from telehealth.consults.schemas import (
    ConsentIn,
    ConsentPublic,
    ModeIn,
    RecordingIn,
    RecordingPublic,
    RoomPublic,
)

router = APIRouter(tags=["consults"])


async def _announce(
    request: Request, appointment_id: uuid.UUID, message: dict[str, object]
) -> None:
    broker: Broker = request.app.state.broker
    await broker.publish(str(appointment_id), message)


@router.put(
    "/v1/appointments/{appointment_id}/consult/mode",
    summary="Switch between peer-to-peer and the server relay",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_mode(
    request: Request,
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    data: ModeIn,
) -> RoomPublic:
    """`relay`: each participant connects to the server's aiortc peer, which forwards the others'
    audio and video (video capped in size and frame rate), for when peer-to-peer fails or a
    participant is on audio only. Any admitted participant may ask for it; only the doctor goes
    back to `p2p`. Everyone is told with a `mode` event on the signaling socket."""
    settings: Settings = request.app.state.settings
    state = await media_service.set_mode(
        session, principal, appointment_id, data.mode, window=settings.consult_window
    )

    async def tell() -> None:
        if state.mode == "relay":
            hub: RelayHub = request.app.state.relays
            await hub.ensure(appointment_id)
        await _announce(
            request,
            appointment_id,
            {"type": "mode", "mode": state.mode, "by": str(principal.account_id)},
        )

    after_commit(session, tell)
    return views.room_public(state)


@router.put(
    "/v1/appointments/{appointment_id}/consult/consent",
    summary="Consent to recording, or withdraw it",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def consent(
    request: Request,
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    data: ConsentIn,
) -> list[ConsentPublic]:
    """Each participant decides for themselves, before or during the consult. A withdrawal
    stops a running recording at once. Returns the consult's consent history."""
    await media_service.give_consent(session, principal, appointment_id, data.recording)
    history = await media_service.consents(session, principal, appointment_id)
    told = {
        "type": "consent",
        "account_id": str(principal.account_id),
        "recording": data.recording,
        "by": str(principal.account_id),
    }
    after_commit(session, lambda: _announce(request, appointment_id, told))
    return [views.consent_public(c) for c in history]


@router.get(
    "/v1/appointments/{appointment_id}/consult/consents",
    summary="Who consented to recording, and when",
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def consents(
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ConsentPublic]:
    """Every consent given and withdrawn in this consult (who, when, withdrawn when), oldest
    first."""
    return await media_service.consents_page(
        session, principal, appointment_id, cursor=cursor, limit=limit
    )


@router.post(
    "/v1/appointments/{appointment_id}/consult/recording",
    summary="Start or stop recording (doctor)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def recording(
    request: Request,
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    data: RecordingIn,
) -> RoomPublic:
    """Recording runs on the server relay (the consult moves to it) with aiortc's MediaRecorder,
    and only while every participant present has consented: starting without everyone's consent
    is refused with `recording-needs-consent`, and a withdrawal stops it at once."""
    settings: Settings = request.app.state.settings
    state, switched = await media_service.request_recording(
        session, principal, appointment_id, data.action == "start", window=settings.consult_window
    )

    async def tell() -> None:
        if data.action == "start":  # stopping needs no relay: the one recording hears it
            hub: RelayHub = request.app.state.relays
            await hub.ensure(appointment_id)
            if switched:
                await _announce(
                    request,
                    appointment_id,
                    {"type": "mode", "mode": "relay", "by": str(principal.account_id)},
                )
        await _announce(
            request,
            appointment_id,
            {
                "type": "recording-request",
                "active": state.recording_requested_by is not None,
                "by": str(principal.account_id),
            },
        )

    after_commit(session, tell)
    return views.room_public(state)


@router.get(
    "/v1/appointments/{appointment_id}/consult/recordings",
    summary="The consult's recordings (patient and doctor)",
    responses=problem_responses(400, 401, 403, 404),
)
async def recordings(
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[RecordingPublic]:
    """Only the patient (or the responsible member, for a dependent) and the doctor see them."""
    return await media_service.recordings(
        session, principal, appointment_id, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/appointments/{appointment_id}/consult/recordings/{recording_id}/file",
    summary="Download a recording (patient and doctor)",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/x-matroska": {}}, "description": "The Matroska file."},
        **problem_responses(401, 403, 404),
    },
)
async def recording_file(
    request: Request,
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    recording_id: uuid.UUID,
) -> FileResponse:
    """A finished segment as a Matroska file (audio and video of everyone in it). The read is
    recorded in the patient's access log."""
    settings: Settings = request.app.state.settings
    segment = await media_service.recording(session, principal, appointment_id, recording_id)
    path = settings.recordings_dir / segment.file_name
    if not path.is_file():
        raise NotFound()
    return FileResponse(  # the access log's entry commits before the file is sent
        path,
        media_type="video/x-matroska",
        filename=f"consult-{segment.started_at:%Y%m%d-%H%M%S}.mkv",
        headers={"Cache-Control": "no-store"},
    )
