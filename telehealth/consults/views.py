"""A consult's room, participants, consents and recordings as the API (and the signaling
socket) shows them: their rows become response models here."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from telehealth.consults import rules
from telehealth.consults.models import (
    ConsultParticipant,
    ConsultRecording,
    ConsultRoom,
    PrecheckResult,
    RecordingConsent,
)
from telehealth.consults.schemas import (
    ConsentPublic,
    ConsultCardPublic,
    ConsultDoctorPublic,
    ConsultPersonPublic,
    ParticipantPublic,
    PrecheckResultPublic,
    RecordingPublic,
    RoomPublic,
    SpecialtyPublic,
)
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners.service import Practitioner
from telehealth.scheduling.service import Appointment


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


def card_public(
    appointment: Appointment,
    *,
    your_role: str,
    doctor: Practitioner,
    patient_timezone: str,
    people: list[tuple[uuid.UUID, str, str]],
    room: str,
    window: rules.RoomWindow,
    now: datetime,
) -> ConsultCardPublic:
    """Times in the patient's zone, with its offset (the page formats them for its reader)."""
    zone = ZoneInfo(patient_timezone)
    names = practitioner_rules.SPECIALTIES
    return ConsultCardPublic(
        appointment_id=appointment.id,
        your_role=your_role,
        status=appointment.status,
        start=appointment.start.astimezone(zone),
        end=appointment.end.astimezone(zone),
        patient_timezone=patient_timezone,
        doctor=ConsultDoctorPublic(
            display_name=doctor.display_name,
            specialties=[
                SpecialtyPublic(code=code, en=names[code][0], es=names[code][1])
                for code in doctor.specialties
                if code in names
            ],
            timezone=doctor.timezone,
        ),
        room="open" if room == "open" else "closed" if room == "closed" else "not-open-yet",
        room_opens_at=(appointment.start - window.opens_before).astimezone(zone),
        room_closes_at=(appointment.end + window.closes_after).astimezone(zone),
        server_now=now.astimezone(zone),
        people=[
            ConsultPersonPublic(account_id=account_id, role=role, display_name=name)
            for account_id, role, name in people
        ],
    )
