"""The consult's card: with whom and when, as the consult page shows it to each participant.

People in a consult see each other's display names (never a contact or an id of anything
else); each name shown is a read of that person's data and goes to their access log."""

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.principal import Principal
from telehealth.consults import rules, service, views
from telehealth.consults.schemas import ConsultCardPublic
from telehealth.practitioners import rules as practitioner_rules
from telehealth.practitioners import service as practitioners
from telehealth.scheduling.service import Appointment


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


async def patient_zone(session: AsyncSession, appointment: Appointment) -> str:
    """The zone the patient reads times in: their account's, else that of the state they said
    they would be in (a bare country says too little), else the cooperative's."""
    account = await accounts_service.get(session, appointment.patient_account_id)
    chosen = _zone(account.timezone if account is not None else None)
    if chosen is None and "-" in appointment.patient_jurisdiction:
        try:
            chosen = practitioner_rules.zone_of(appointment.patient_jurisdiction)
        except KeyError:
            chosen = None
    return chosen or clock.zone().key


async def card(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    *,
    window: rules.RoomWindow,
) -> ConsultCardPublic:
    """The consult's doctor, time and people for a participant (404 for anyone else). Staff
    and interpreters waiting to be admitted see the doctor only, as they see no one in the
    waiting room until admitted, and times in the cooperative's zone (the patient's would say
    where the patient is)."""
    appointment, role = await service.room_of(session, principal, appointment_id)
    doctor = await practitioners.any_by_id(session, appointment.practitioner_id)
    roles = await service.roles_in(session, appointment)
    joined = await service.participants(session, appointment.id)
    mine = next((p for p in joined if p.account_id == principal.account_id), None)
    sees_room = role in service.CORE_ROLES or (mine is not None and mine.admitted_at is not None)
    shown = [doctor.account_id]
    if sees_room:
        shown += [appointment.patient_account_id, *(p.account_id for p in joined)]
    names: dict[uuid.UUID, str] = {}
    for account_id in dict.fromkeys(shown):
        if account_id not in roles:
            continue  # someone who joined and no longer takes part (staff who left the clinic)
        if account_id == doctor.account_id:
            names[account_id] = doctor.display_name
        elif (account := await accounts_service.get(session, account_id)) is not None:
            names[account_id] = account.display_name
    read = [*names.keys(), *([appointment.patient_account_id] if sees_room else [])]
    await audit.record_access(
        session, dict.fromkeys(read), principal, resource=f"consult:{appointment.id}:people"
    )
    return views.card_public(
        appointment,
        your_role=role,
        doctor=doctor,
        # where the patient lives is theirs to tell: to those who see the room, access-logged
        patient_timezone=await patient_zone(session, appointment)
        if sees_room
        else clock.zone().key,
        people=[(account_id, roles[account_id], name) for account_id, name in names.items()],
        room=rules.room_state(appointment.start, appointment.end, clock.now(), window),
        window=window,
        now=clock.now(),
    )
