"""The consult API and the signaling protocol (JSON over the WebSocket), documented by these models.

Client to server: `offer`, `answer`, `candidate`, `ice-restart` (each `to` one participant, or
`to: "relay"` for the server's relay peer in relay mode), `media` (muted / audio-only state),
`chat`, `admit` (the doctor lets someone in), `ping`.
Server to client: `welcome` (room state, media `mode`, whether a `recording` is requested and
whether one is `recording_running`, and the offers/answers to replay), `presence` (join, leave,
waiting, admitted), the forwarded messages with `from`, `pong`, `error`; and the room's media
events: `mode` (p2p or relay), `consent` (`account_id`, `recording`), `recording-request`
(`active`), `recording` (`state` started or stopped, `reason`, `recording_id`).

The waiting room: a participant the doctor has not admitted gets a `welcome` with
`admitted: false` and only themselves in `participants` (no replay, no media state), then
nothing of the consult but `pong`, their own `error`s and their own `presence` `admitted`; all
they may send is `ping` (anything else is answered with an `error` `not-admitted`, and the
socket stays open). When admitted they get a second `welcome`, with the room and the offers and
answers kept for them, followed by that `presence` `admitted`; from then on, everything.

Relay mode: the relay (`from: "relay"`) never offers. A participant offers to `"relay"` with
their own media and `recvonly` transceivers (slots); the relay's `answer` carries `tracks`, a
map from each slot's `mid` to the `account_id` and `kind` of the media on it. When the people in
the room change the relay sends `tracks` again; when a participant has too few slots it sends
`renegotiate` with the number of `audio` and `video` slots wanted, and the participant offers
again (same ICE credentials: the same connection) with more.
"""

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class JoinPublic(BaseModel):
    consult_token: str = Field(description="For the signaling WebSocket: `?token=…`.")
    expires_in: int
    signal_url: str
    role: str
    admitted: bool = Field(description="False while waiting for the doctor to admit you.")
    ice_servers: list[IceServer] = Field(
        description="TURN with short-lived credentials and STUN, as configured; empty if none."
    )
    room_closes_at: Moment


class ParticipantPublic(BaseModel):
    account_id: uuid.UUID
    role: str
    admitted: bool
    present: bool


class SpecialtyPublic(BaseModel):
    code: str
    en: str = Field(description="The specialty's name in English.")
    es: str = Field(description="The specialty's name in Spanish.")


class ConsultDoctorPublic(BaseModel):
    display_name: str = Field(description='As the doctor wants to be called ("Dra. Ana López").')
    specialties: list[SpecialtyPublic]
    timezone: str = Field(description="The doctor's IANA time zone.")


class ConsultPersonPublic(BaseModel):
    account_id: uuid.UUID
    role: str
    display_name: str


class ConsultCardPublic(BaseModel):
    """What a participant's page shows before and during the consult: with whom and when."""

    appointment_id: uuid.UUID
    your_role: str
    status: str
    start: Moment
    end: Moment
    patient_timezone: str = Field(
        description="The patient's IANA zone (their account's, else their jurisdiction's); "
        "for staff or an interpreter not yet admitted, the cooperative's (the patient's would "
        "say where the patient is)."
    )
    doctor: ConsultDoctorPublic
    room: Literal["not-open-yet", "open", "closed"]
    room_opens_at: Moment
    room_closes_at: Moment
    server_now: Moment = Field(
        description="The server's clock, so a page counts down right on a phone set wrong."
    )
    people: list[ConsultPersonPublic] = Field(
        description="The doctor, the patient and whoever joined, by name; an interpreter or "
        "clinic staff still waiting to be admitted sees only the doctor."
    )


class InterpreterInvite(InputModel):
    account_id: uuid.UUID


class AdmitIn(InputModel):
    account_id: uuid.UUID


class _Message(InputModel):
    pass


Recipient = Annotated[
    uuid.UUID | Literal["relay"],
    Field(description='A participant\'s account id, or "relay" for the server relay.'),
]


class Offer(_Message):
    type: Literal["offer"]
    to: Recipient
    sdp: str = Field(max_length=30_000)


class Answer(_Message):
    type: Literal["answer"]
    to: Recipient
    sdp: str = Field(max_length=30_000)


class Candidate(_Message):
    type: Literal["candidate"]
    to: Recipient
    candidate: dict[str, Any] | None = Field(
        description="RTCIceCandidateInit; null when the sender has no more candidates."
    )


class IceRestart(_Message):
    type: Literal["ice-restart"]
    to: Recipient


class Media(_Message):
    type: Literal["media"]
    muted: bool = False
    audio_only: bool = False


class Chat(_Message):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=2000)


class Admit(_Message):
    type: Literal["admit"]
    account_id: uuid.UUID


class Ping(_Message):
    type: Literal["ping"]


ClientMessage = Annotated[
    Offer | Answer | Candidate | IceRestart | Media | Chat | Admit | Ping,
    Field(discriminator="type"),
]


class PrecheckOffer(InputModel):
    """An SDP offer with the caller's camera and microphone (and a data channel for the report)."""

    sdp: str = Field(max_length=30_000)
    clinic_id: uuid.UUID | None = Field(
        default=None, description="Checking a clinic's link: the result is kept for the clinic."
    )


class PrecheckAnswer(BaseModel):
    id: uuid.UUID
    sdp: str
    seconds: float = Field(description="How long the echo runs before the result is stored.")


class PrecheckResultPublic(BaseModel):
    id: uuid.UUID
    clinic_id: uuid.UUID | None
    round_trip_ms: float | None
    packet_loss_pct: float | None
    jitter_ms: float | None
    received_kbps: float | None
    relayed: bool | None
    video_ok: bool
    created_at: Moment


class ModeIn(InputModel):
    mode: Literal["p2p", "relay"] = Field(
        description="`relay`: every participant sends to and receives from the server's relay "
        "peer (for when peer-to-peer fails); `p2p`: media flows between the participants."
    )


class RoomPublic(BaseModel):
    mode: Literal["p2p", "relay"]
    recording_requested: bool = Field(
        description="The doctor asked to record; it runs while everyone present consents."
    )


class ConsentIn(InputModel):
    recording: bool = Field(description="True to consent to being recorded, false to withdraw.")


class ConsentPublic(BaseModel):
    account_id: uuid.UUID
    given_at: Moment
    withdrawn_at: Moment | None


class RecordingIn(InputModel):
    action: Literal["start", "stop"]


class RecordingPublic(BaseModel):
    id: uuid.UUID
    participants: list[uuid.UUID]
    started_at: Moment
    stopped_at: Moment | None
    stop_reason: str | None
    size_bytes: int | None
    download_url: str | None = Field(description="Once the segment is finished.")
