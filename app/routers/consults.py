"""Consult rooms: join (consult token, ICE servers), the waiting room, the signaling socket."""

import asyncio
import contextlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect

from app.auth import require_scopes, token_issuer
from app.broker import Broker
from app.db import SessionDep, after_commit, in_own_session
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.relays import ice_servers
from app.security import issue_consult_token, verify_consult_token
from app.settings import Settings
from app.signaling import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHORIZED,
    SignalConnection,
    SocketClosed,
)
from cooperative.kernel import clock
from cooperative.kernel.principal import Principal, Scope
from telehealth.clinics import service as clinics_service
from telehealth.consults import card, prechecks, rules, views
from telehealth.consults import service as consults
from telehealth.consults.precheck import Precheck
from telehealth.consults.schemas import (
    AdmitIn,
    ConsultCardPublic,
    InterpreterInvite,
    JoinPublic,
    ParticipantPublic,
    PrecheckAnswer,
    PrecheckOffer,
    PrecheckResultPublic,
)
from telehealth.records import service as records

router = APIRouter(tags=["consults"])

Joiner = Annotated[Principal, require_scopes(Scope.CONSULTS_JOIN)]


@router.get(
    "/v1/appointments/{appointment_id}/consult",
    summary="With whom and when: the consult's card",
    responses=problem_responses(401, 403, 404),
)
async def consult_card(
    request: Request, session: SessionDep, principal: Joiner, appointment_id: uuid.UUID
) -> ConsultCardPublic:
    """For the people in the consult, before and during it: the doctor's name, title and zone,
    the start and end in the patient's zone, when the room opens and closes (with the server's
    clock, for a countdown), and the display names of the people in it. Each name read is in
    that person's access log. Clinic staff and interpreters still waiting see only the doctor."""
    settings: Settings = request.app.state.settings
    return await card.card(session, principal, appointment_id, window=settings.consult_window)


@router.post(
    "/v1/appointments/{appointment_id}/consult/join",
    summary="Join the consult",
    responses=problem_responses(401, 403, 404, 409),
)
async def join(
    request: Request, session: SessionDep, principal: Joiner, appointment_id: uuid.UUID
) -> JoinPublic:
    """Enter the consult's room (it opens shortly before the start and closes after the end).
    Returns a short-lived token for the signaling socket and the ICE servers to use. The doctor
    is in at once; the patient, the clinic and an interpreter wait until the doctor admits them.
    The patient (the responsible member, for a dependent) joins once they consented to be seen
    remotely: 409 `telehealth-consent-required` until then (`POST /v1/me/telehealth-consents`)."""
    settings: Settings = request.app.state.settings
    window = settings.consult_window
    await records.require_consent(session, principal, appointment_id)
    participant, appointment = await consults.join(
        session, principal, appointment_id, window=window
    )
    token = issue_consult_token(
        token_issuer(request),
        account_id=principal.account_id,
        appointment_id=appointment.id,
        role=participant.role,
        minutes=settings.consult_token_minutes,
    )
    return JoinPublic(
        consult_token=token,
        expires_in=settings.consult_token_minutes * 60,
        signal_url=f"/v1/consults/{appointment.id}/signal",
        role=participant.role,
        admitted=participant.admitted_at is not None,
        ice_servers=ice_servers(settings, str(principal.account_id)),
        room_closes_at=appointment.end + window.closes_after,
    )


@router.get(
    "/v1/appointments/{appointment_id}/consult/participants",
    summary="Who is in the room and who waits",
    responses=problem_responses(400, 401, 403, 404),
)
async def participants(
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ParticipantPublic]:
    """The doctor sees who waits to be admitted."""
    return await consults.waiting_room(
        session, principal, appointment_id, cursor=cursor, limit=limit
    )


@router.post(
    "/v1/appointments/{appointment_id}/consult/admit",
    summary="Admit a participant (doctor)",
    responses=problem_responses(401, 403, 404, 422),
)
async def admit(
    request: Request,
    session: SessionDep,
    principal: Joiner,
    appointment_id: uuid.UUID,
    data: AdmitIn,
) -> ParticipantPublic:
    """Let someone in from the waiting room; they are told over the signaling socket."""
    participant = await consults.admit(session, principal, appointment_id, data.account_id)
    broker: Broker = request.app.state.broker
    told = {
        "type": "presence",
        "event": "admitted",
        "account_id": str(data.account_id),
        "role": participant.role,
        "from": str(principal.account_id),
    }
    after_commit(session, lambda: broker.publish(str(appointment_id), told))
    return views.participant_public(participant)


@router.post(
    "/v1/appointments/{appointment_id}/consult/interpreters",
    summary="Invite an interpreter (doctor or admin)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def invite_interpreter(
    session: SessionDep, principal: Joiner, appointment_id: uuid.UUID, data: InterpreterInvite
) -> ParticipantPublic:
    """The interpreter may then join like any participant (and waits to be admitted). An
    account that does not exist or is closed is not found (404); someone already in the consult
    in another role cannot also be its interpreter (409)."""
    return views.participant_public(
        await consults.invite_interpreter(session, principal, appointment_id, data.account_id)
    )


@router.post(
    "/v1/consults/precheck",
    summary="Pre-call network check",
    responses=problem_responses(401, 403, 404, 422),
)
async def precheck(
    request: Request, session: SessionDep, principal: Joiner, data: PrecheckOffer
) -> PrecheckAnswer:
    """Send an SDP offer with your camera, microphone and a data channel: the server answers with
    a peer that echoes your audio and video back and reports each second over the data channel the
    round-trip time, packet loss, jitter, received bitrate and whether the path is relayed. The last
    report is stored (for the clinic, with `clinic_id`), so a clinic can see its link over time."""
    settings: Settings = request.app.state.settings
    if data.clinic_id is not None:
        await clinics_service.visible(session, principal, data.clinic_id)
    sessionmaker = request.app.state.sessionmaker

    async def store(result: rules.LinkQuality, relayed: bool | None) -> None:
        await in_own_session(
            sessionmaker,
            lambda own: prechecks.record(
                own,
                account_id=principal.account_id,
                clinic_id=data.clinic_id,
                result=result,
                relayed=relayed,
            ),
        )

    servers = [s.model_dump(exclude_none=True) for s in ice_servers(settings, "precheck")]
    check = Precheck(servers, settings.precheck_seconds, store)
    answer = await check.answer(data.sdp)
    running: set[asyncio.Task[None]] = request.app.state.background
    task = asyncio.create_task(check.run())
    running.add(task)
    task.add_done_callback(running.discard)
    return PrecheckAnswer(id=check.id, sdp=answer, seconds=settings.precheck_seconds)


@router.get(
    "/v1/consults/precheck/results",
    summary="Pre-call check history",
    responses=problem_responses(400, 401, 403, 404),
)
async def precheck_results(
    session: SessionDep,
    principal: Joiner,
    clinic_id: Annotated[uuid.UUID | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[PrecheckResultPublic]:
    """Yours, or with `clinic_id` the clinic's (its staff and admins), newest first."""
    return await consults.precheck_results(
        session, principal, clinic_id, cursor=cursor, limit=limit
    )


@router.websocket("/v1/consults/{appointment_id}/signal")
async def signal(
    websocket: WebSocket,
    appointment_id: uuid.UUID,
    token: Annotated[str, Query(max_length=4000)] = "",
) -> None:
    """The consult's signaling socket (`?token=` from join). See the message schema in
    telehealth/consults/schemas.py: offers, answers and ICE candidates go to one participant;
    media state and chat to everyone; a reconnecting participant gets the room back. Until the
    doctor admits them a participant hears only of their own admission and may send nothing to
    the room (each attempt gets a `not-admitted` error; the socket stays open)."""
    state = websocket.app.state
    claims = verify_consult_token(state.tokens, token)
    if claims is None or claims.appointment_id != appointment_id:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    allowed = await in_own_session(
        state.sessionmaker,
        lambda session: consults.may_connect(
            session,
            appointment_id,
            claims.account_id,
            window=state.settings.consult_window,
            now=clock.now(),
        ),
        commit=False,
    )
    if allowed is None:
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    await websocket.accept()
    connection = SignalConnection(
        websocket,
        appointment_id,
        claims.account_id,
        allowed.role,
        admitted=allowed.admitted_at is not None,
    )
    async with connection.broker.subscribe(connection.room) as messages:
        tasks = [asyncio.create_task(connection.watch())]
        try:
            # the welcome comes first; the room's events since subscribing wait in the queue
            await connection.welcome()
            tasks.append(asyncio.create_task(connection.deliver(messages)))
            while True:
                await connection.handle(await websocket.receive_text())
        except (WebSocketDisconnect, SocketClosed):
            pass
        except RuntimeError:  # the socket was closed under us (Starlette's WebSocketDisconnected)
            pass
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await connection.leave()
