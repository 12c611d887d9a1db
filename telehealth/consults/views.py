"""A consult's room, participants, consents and recordings as the API (and the signaling
socket) shows them: their rows become response models here."""

import uuid

from telehealth.consults.models import (
    ConsultParticipant,
    ConsultRecording,
    ConsultRoom,
    PrecheckResult,
    RecordingConsent,
)
from telehealth.consults.schemas import (
    ConsentPublic,
    ParticipantPublic,
    PrecheckResultPublic,
    RecordingPublic,
    RoomPublic,
)


def participant_public(participant: ConsultParticipant) -> ParticipantPublic:
    return ParticipantPublic(
        account_id=participant.account_id,
        role=participant.role,
        admitted=participant.admitted_at is not None,
        present=participant.present,
    )


def room_public(room: ConsultRoom) -> RoomPublic:
    return RoomPublic(
        mode="relay" if room.mode == "relay" else "p2p",
        recording_requested=room.recording_requested_by is not None,
    )


def consent_public(consent: RecordingConsent) -> ConsentPublic:
    return ConsentPublic.model_validate(consent, from_attributes=True)


def recording_public(appointment_id: uuid.UUID, segment: ConsultRecording) -> RecordingPublic:
    url = f"/v1/appointments/{appointment_id}/consult/recordings/{segment.id}/file"
    return RecordingPublic(
        id=segment.id,
        participants=[uuid.UUID(p) for p in segment.participants],
        started_at=segment.started_at,
        stopped_at=segment.stopped_at,
        stop_reason=segment.stop_reason,
        size_bytes=segment.size_bytes,
        download_url=url if segment.stopped_at is not None else None,
    )


def precheck_result_public(result: PrecheckResult) -> PrecheckResultPublic:
    return PrecheckResultPublic.model_validate(result, from_attributes=True)
