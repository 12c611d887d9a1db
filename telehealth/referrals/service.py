"""The referral loop: a clinic refers a registered patient, a specialist of the specialty
accepts or declines, answers in writing or sees the patient, and the counter-referral returns
to the clinic. Who may see a referral: its patient, the referring clinic's staff, the
specialist who accepted it, and, while it waits, the specialists of its specialty (without
the patient's identity); nobody else, admins included (404). Every read by someone other than
the patient is in the patient's access log."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound
from cooperative.kernel.pagination import Page, page_async, paginate
from cooperative.kernel.principal import Principal
from telehealth.attachments.service import Owner
from telehealth.clinics import service as clinics
from telehealth.practitioners import service as practitioners
from telehealth.referrals.errors import (
    ConsultNotHeld,
    NotTheReferralsConsult,
    PatientNotRegistered,
    ReferralClosedToFiles,
    ReferralNotInState,
)
from telehealth.referrals.models import Referral, ReferralEvent
from telehealth.referrals.rules import (
    CLOSED,
    SHUT,
    TRANSITIONS,
    Action,
    Actor,
    ReferralState,
    may,
    next_state,
)
from telehealth.referrals.schemas import (
    Interconsultation,
    OpenReferralPublic,
    ReferralCreate,
    ReferralEventPublic,
    ReferralPublic,
)
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.rules import AppointmentStatus

T = TypeVar("T", ReferralPublic, OpenReferralPublic)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a referral, and as what."""

    patient: bool = False
    clinic: bool = False
    specialist: bool = False  # of the specialty, while it waits; then the one who accepted
    practitioner_id: uuid.UUID | None = None

    @property
    def actors(self) -> frozenset[Actor]:
        kinds = {Actor.CLINIC: self.clinic, Actor.SPECIALIST: self.specialist}
        return frozenset(kind for kind, holds in kinds.items() if holds)


def _event(referral: Referral, kind: str, actor: uuid.UUID | None) -> ReferralEvent:
    return ReferralEvent(
        referral_id=referral.id, type=kind, state=referral.state, actor_account_id=actor
    )


async def create(session: AsyncSession, principal: Principal, data: ReferralCreate) -> Referral:
    """A clinic's referral of one of its registered patients: sent to every specialist of the
    specialty."""
    if not await clinics.is_staff(session, data.clinic_id, principal.account_id):
        raise NotFound()
    if not await clinics.is_registered(session, data.clinic_id, data.patient_account_id):
        raise PatientNotRegistered()
    referral = Referral(
        **data.model_dump(), referred_by=principal.account_id, state=ReferralState.SENT
    )
    session.add(referral)
    await session.flush()
    session.add(_event(referral, "referral.sent", principal.account_id))
    await session.flush()
    return referral


async def _viewer(session: AsyncSession, principal: Principal, referral: Referral) -> Viewer:
    patient = principal.account_id == referral.patient_account_id
    clinic = await clinics.is_staff(session, referral.clinic_id, principal.account_id)
    doctor = await practitioners.of_account(session, principal.account_id)
    specialist = doctor is not None and (
        doctor.id == referral.practitioner_id
        or (
            referral.state == ReferralState.SENT
            and doctor.active
            and referral.specialty in doctor.specialties
        )
    )
    return Viewer(
        patient=patient,
        clinic=clinic,
        specialist=specialist,
        practitioner_id=doctor.id if doctor is not None else None,
    )


async def visible(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID
) -> tuple[Referral, Viewer]:
    """The referral and who the caller is to it; 404 for anyone it is not for."""
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound()
    viewer = await _viewer(session, principal, referral)
    if not (viewer.patient or viewer.clinic or viewer.specialist):
        raise NotFound()
    await audit.record_access(
        session, [referral.patient_account_id], principal, resource=f"referral:{referral.id}"
    )
    return referral, viewer


async def attachment_owner(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, *, adding: bool = False
) -> Owner:
    """The referral as the owner of files, and the caller's part in it: its patient, the
    referring clinic's staff, or the specialist who accepted it. 404 for anyone else, the
    specialists of the specialty deciding whether to accept it included: a lab result or a
    photo carries the patient's name and face, which they do not see until they accept. Files
    are added (`adding`) while the referral is not declined or withdrawn. The read is logged
    by the attachments' service, under the attachment's name."""
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound()
    viewer = await _viewer(session, principal, referral)
    taken_on = (
        viewer.practitioner_id is not None
        and referral.practitioner_id == viewer.practitioner_id
        and referral.state != ReferralState.DECLINED
    )
    if viewer.patient:
        role = "patient"
    elif viewer.clinic:
        role = "clinic"
    elif taken_on:
        role = "doctor"
    else:
        raise NotFound()
    if adding and referral.state in SHUT:
        raise ReferralClosedToFiles()
    return Owner(referral.patient_account_id, role, referral_id=referral.id)


def _waited(referral: Referral) -> int:
    until = referral.closed_at or clock.now()
    return max(0, int((until - referral.created_at).total_seconds()))


async def _common(session: AsyncSession, referral: Referral) -> dict[str, Any]:
    clinic = await clinics.get(session, referral.clinic_id)
    assert clinic is not None  # a clinic is never deleted while it has referrals (foreign key)
    return {
        "id": referral.id,
        "clinic_name": clinic.name,
        "clinic_jurisdiction": clinic.jurisdiction,
        "specialty": referral.specialty,
        "urgency": referral.urgency,
        "reason": referral.reason,
        "clinical_summary": referral.clinical_summary,
        "diagnostic_impression": referral.diagnostic_impression,
        "treatment_given": referral.treatment_given,
        "language": referral.language,
        "interpreter_language": referral.interpreter_language,
        "state": referral.state,
        "created_at": referral.created_at,
        "waited_seconds": _waited(referral),
    }


async def public(
    session: AsyncSession, referral: Referral, viewer: Viewer
) -> ReferralPublic | OpenReferralPublic:
    """What this viewer sees: a specialist deciding whether to accept sees the clinical
    content, not who the patient is."""
    if viewer.patient or viewer.clinic or referral.practitioner_id == viewer.practitioner_id:
        return await full(session, referral)
    return await waiting(session, referral)


async def waiting(session: AsyncSession, referral: Referral) -> OpenReferralPublic:
    return OpenReferralPublic(**await _common(session, referral))


async def full(session: AsyncSession, referral: Referral) -> ReferralPublic:
    patient = await accounts_service.get(session, referral.patient_account_id)
    doctor = (
        await practitioners.any_by_id(session, referral.practitioner_id)
        if referral.practitioner_id is not None
        else None
    )
    events = await session.scalars(
        select(ReferralEvent)
        .where(col(ReferralEvent.referral_id) == referral.id)
        .order_by(col(ReferralEvent.at), col(ReferralEvent.id))
    )
    return ReferralPublic(
        **await _common(session, referral),
        clinic_id=referral.clinic_id,
        patient_account_id=referral.patient_account_id,
        patient_name=patient.display_name if patient is not None else "",
        practitioner_id=referral.practitioner_id,
        practitioner_name=doctor.display_name if doctor is not None else None,
        decline_reason=referral.decline_reason,
        answer=referral.answer,
        appointment_id=referral.appointment_id,
        counter_referral=referral.counter_referral,
        closed_at=referral.closed_at,
        history=[ReferralEventPublic(type=e.type, state=e.state, at=e.at) for e in events.all()],
    )


async def of_clinic(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    *,
    state: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[ReferralPublic]:
    """A clinic's referrals, newest first, with how long each has waited; its staff only."""
    if not await clinics.is_staff(session, clinic_id, principal.account_id):
        raise NotFound()
    statement = select(Referral).where(col(Referral.clinic_id) == clinic_id)
    if state is not None:
        statement = statement.where(col(Referral.state) == state)
    return await _page(session, principal, statement, full, cursor, limit, descending=True)


async def open_for(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[OpenReferralPublic]:
    """The referrals waiting for a specialist of the caller's specialties, oldest first."""
    doctor = await practitioners.of_account(session, principal.account_id)
    if doctor is None or not doctor.active:
        raise Forbidden()
    statement = select(Referral).where(
        col(Referral.state) == ReferralState.SENT,
        col(Referral.specialty).in_(doctor.specialties),
    )
    return await _page(session, principal, statement, waiting, cursor, limit, descending=False)


async def accepted_by(
    session: AsyncSession,
    principal: Principal,
    *,
    state: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[ReferralPublic]:
    """The referrals the calling specialist accepted (or declined), newest first."""
    doctor = await practitioners.of_account(session, principal.account_id)
    if doctor is None:
        raise Forbidden()
    statement = select(Referral).where(col(Referral.practitioner_id) == doctor.id)
    if state is not None:
        statement = statement.where(col(Referral.state) == state)
    return await _page(session, principal, statement, full, cursor, limit, descending=True)


async def of_patient(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[ReferralPublic]:
    """The caller's own referrals, newest first."""
    statement = select(Referral).where(col(Referral.patient_account_id) == principal.account_id)
    return await _page(session, principal, statement, full, cursor, limit, descending=True)


async def _page(
    session: AsyncSession,
    principal: Principal,
    statement: Select[Referral],
    shown: Callable[[AsyncSession, Referral], Awaitable[T]],
    cursor: str | None,
    limit: int | None,
    *,
    descending: bool,
) -> Page[T]:
    rows = await paginate(
        session,
        statement,
        time_column=col(Referral.created_at),
        id_column=col(Referral.id),
        cursor=cursor,
        limit=limit,
        descending=descending,
    )
    for referral in rows[0]:
        await audit.record_access(
            session, [referral.patient_account_id], principal, resource=f"referral:{referral.id}"
        )
    return await page_async(rows, lambda referral: shown(session, referral))


async def act(
    session: AsyncSession,
    principal: Principal,
    referral_id: uuid.UUID,
    action: Action,
    *,
    decline_reason: str | None = None,
    answer: Interconsultation | None = None,
    appointment_id: uuid.UUID | None = None,
) -> tuple[Referral, Viewer]:
    """Move the referral on. Repeating what the same person just did (a retry on a bad link)
    answers with the referral as it is; a referral that moved on meanwhile (another specialist
    accepted first) is a 409 saying where it stands."""
    referral, viewer = await visible(session, principal, referral_id)
    if not any(may(action, actor) for actor in viewer.actors):
        raise Forbidden()
    leads_to = next_state(ReferralState(referral.state), action)
    if _already(referral, viewer, action):
        return referral, viewer
    if leads_to is None:
        raise ReferralNotInState(state=referral.state, action=action.value)
    changes: dict[str, Any] = {"state": leads_to, "version": referral.version + 1}
    if action in (Action.ACCEPT, Action.DECLINE) and referral.practitioner_id is None:
        changes["practitioner_id"] = viewer.practitioner_id
    if action is Action.DECLINE:
        changes["decline_reason"] = decline_reason
    if action is Action.ANSWER:
        assert answer is not None
        changes["answer"] = answer.model_dump()
    if action is Action.SCHEDULE:
        assert appointment_id is not None
        await _check_consult(session, referral, appointment_id)
        changes["appointment_id"] = appointment_id
    if action is Action.COMPLETE:
        assert answer is not None
        await _check_held(session, referral)
        changes["counter_referral"] = answer.model_dump()
    if leads_to in CLOSED:
        changes["closed_at"] = clock.now()
    moved = await session.execute(
        update(Referral)
        .where(col(Referral.id) == referral.id, col(Referral.version) == referral.version)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(referral)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise ReferralNotInState(state=referral.state, action=action.value)
    session.add(_event(referral, f"referral.{leads_to}", principal.account_id))
    await session.flush()
    return referral, viewer


def _already(referral: Referral, viewer: Viewer, action: Action) -> bool:
    """The same person's same change, already made."""
    starts, _actors, leads_to = TRANSITIONS[action]
    if referral.state != leads_to or referral.state in starts:
        return False
    if Actor.CLINIC in viewer.actors and action is Action.WITHDRAW:
        return True
    return viewer.practitioner_id is not None and referral.practitioner_id == viewer.practitioner_id


async def _check_consult(
    session: AsyncSession, referral: Referral, appointment_id: uuid.UUID
) -> None:
    appointment = await scheduling.get(session, appointment_id)
    linked = await session.scalar(
        select(col(Referral.id)).where(col(Referral.appointment_id) == appointment_id)
    )
    if (
        appointment is None
        or appointment.patient_account_id != referral.patient_account_id
        or appointment.practitioner_id != referral.practitioner_id
        or appointment.status != AppointmentStatus.BOOKED
        or appointment.start <= clock.now()
        or linked is not None
    ):
        raise NotTheReferralsConsult()


async def _check_held(session: AsyncSession, referral: Referral) -> None:
    assert referral.appointment_id is not None  # scheduled
    appointment = await scheduling.get(session, referral.appointment_id)
    if appointment is None or appointment.status != AppointmentStatus.FULFILLED:
        raise ConsultNotHeld()
