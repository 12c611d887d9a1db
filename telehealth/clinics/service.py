"""Clinics, their staff, and the patients registered with them."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import roles
from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import RoleAlreadyHeld, RoleNotHeld
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
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


async def grant_staff(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    reason: str,
    by: uuid.UUID | None,
) -> None:
    """The account becomes staff of the clinic: the clinic_staff role, bound to this clinic."""
    clinic = await session.get(Clinic, clinic_id)
    if clinic is None or await accounts_service.get(session, account_id) is None:
        raise NotFound()
    try:
        async with session.begin_nested():
            session.add(ClinicStaff(clinic_id=clinic.id, account_id=account_id))
    except IntegrityError as exc:
        raise RoleAlreadyHeld(role=Role.CLINIC_STAFF.value, where=f" (clinic {clinic.id})") from exc
    await roles.grant(
        session, account_id, Role.CLINIC_STAFF, reason=reason, by=by, clinic_id=clinic.id
    )


async def revoke_staff(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    reason: str,
    by: uuid.UUID | None,
) -> None:
    """The account is no longer staff of the clinic (and no longer clinic_staff at all when it
    works at no other clinic)."""
    binding = await session.get(ClinicStaff, (clinic_id, account_id))
    if binding is None:
        raise RoleNotHeld(role=Role.CLINIC_STAFF.value, where=f" (clinic {clinic_id})")
    await session.delete(binding)
    await session.flush()
    await roles.revoke(
        session,
        account_id,
        Role.CLINIC_STAFF,
        reason=reason,
        by=by,
        clinic_id=clinic_id,
        still_bound=bool(await staff_clinics(session, account_id)),
    )


async def staff_clinics(session: AsyncSession, account_id: uuid.UUID) -> list[uuid.UUID]:
    """The clinics where the account works."""
    rows = await session.execute(
        select(col(ClinicStaff.clinic_id))
        .where(col(ClinicStaff.account_id) == account_id)
        .order_by(col(ClinicStaff.clinic_id))
    )
    return list(rows.scalars())


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
