"""Clinics, their staff, and the patients registered with them."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock
from cooperative.kernel.errors import Conflict, Forbidden, NotFound
from cooperative.kernel.pagination import paginate
from cooperative.kernel.principal import Principal, Role
from telehealth.clinics.models import Clinic, ClinicPatient, ClinicStaff
from telehealth.clinics.schemas import ClinicCreate, ClinicPatientPublic


async def create(session: AsyncSession, data: ClinicCreate) -> Clinic:
    clinic = Clinic(**data.model_dump())
    session.add(clinic)
    await session.flush()
    return clinic


async def is_staff(session: AsyncSession, clinic_id: uuid.UUID, account_id: uuid.UUID) -> bool:
    return await session.get(ClinicStaff, (clinic_id, account_id)) is not None


async def is_registered(
    session: AsyncSession, clinic_id: uuid.UUID, patient_account_id: uuid.UUID
) -> bool:
    """Registered and accepted by the patient."""
    link = await session.get(ClinicPatient, (clinic_id, patient_account_id))
    return link is not None and link.accepted_at is not None


async def visible(session: AsyncSession, principal: Principal, clinic_id: uuid.UUID) -> Clinic:
    """A clinic its staff and admins may manage (404 for anyone else)."""
    clinic = await session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound()
    if not principal.is_admin and not await is_staff(session, clinic.id, principal.account_id):
        raise NotFound()
    return clinic


async def list_visible(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> tuple[list[Clinic], str | None]:
    statement = select(Clinic)
    if not principal.is_admin:
        mine = select(col(ClinicStaff.clinic_id)).where(
            col(ClinicStaff.account_id) == principal.account_id
        )
        statement = statement.where(col(Clinic.id).in_(mine))
    return await paginate(
        session,
        statement,
        time_column=col(Clinic.created_at),
        id_column=col(Clinic.id),
        cursor=cursor,
        limit=limit,
    )


async def add_staff(session: AsyncSession, clinic_id: uuid.UUID, account_id: uuid.UUID) -> None:
    clinic = await session.get(Clinic, clinic_id)
    account = await accounts_service.get(session, account_id)
    if clinic is None or account is None:
        raise NotFound()
    if Role.CLINIC_STAFF.value not in account.roles:
        raise Forbidden(reason="clinic staff accounts have the clinic_staff role")
    try:
        async with session.begin_nested():
            session.add(ClinicStaff(clinic_id=clinic.id, account_id=account.id))
    except IntegrityError as exc:
        raise Conflict() from exc


async def register_patient(
    session: AsyncSession, principal: Principal, clinic_id: uuid.UUID, username: str
) -> ClinicPatientPublic:
    """The clinic's staff register a patient (by the email or phone they signed up with); once the
    patient accepts (`accept_registration`, e.g. on the clinic's tablet) staff may book for them."""
    clinic = await visible(session, principal, clinic_id)
    account = await accounts_service.find_by_identifier(session, username)
    if account is None or not account.is_active:
        raise NotFound()
    link = await session.get(ClinicPatient, (clinic.id, account.id))
    if link is None:
        link = ClinicPatient(
            clinic_id=clinic.id, account_id=account.id, registered_by=principal.account_id
        )
        session.add(link)
        await session.flush()
    return ClinicPatientPublic(
        clinic_id=clinic.id,
        account_id=account.id,
        display_name=account.display_name,
        registered_at=link.registered_at,
        accepted=link.accepted_at is not None,
    )


async def accept_registration(
    session: AsyncSession, principal: Principal, clinic_id: uuid.UUID
) -> ClinicPatientPublic:
    """The patient accepts the clinic's registration: its staff may now book for them."""
    link = await session.get(ClinicPatient, (clinic_id, principal.account_id))
    account = await accounts_service.get(session, principal.account_id)
    if link is None or account is None:
        raise NotFound()
    link.accepted_at = link.accepted_at or clock.now()
    await session.flush()
    return ClinicPatientPublic(
        clinic_id=clinic_id,
        account_id=account.id,
        display_name=account.display_name,
        registered_at=link.registered_at,
        accepted=True,
    )
