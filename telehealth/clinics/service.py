"""Clinics, their staff, and the patients registered with them (with the patients' consent)."""

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import roles
from cooperative.accounts import rules as account_rules
from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import RoleAlreadyHeld, RoleNotHeld
from cooperative.accounts.models import Account
from cooperative.accounts.rules import ThrottleRule
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal, Role
from cooperative.privacy import audit
from telehealth.clinics.errors import TooManyRegistrations
from telehealth.clinics.models import Clinic, ClinicPatient, ClinicRegistration, ClinicStaff
from telehealth.clinics.schemas import (
    ClinicCreate,
    ClinicPatientPublic,
    ClinicPublic,
    RegistrationRequest,
)


def clinic_public(clinic: Clinic) -> ClinicPublic:
    return ClinicPublic.model_validate(clinic, from_attributes=True)


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
) -> Page[ClinicPublic]:
    """The clinics the caller works at; all for admins."""
    statement = select(Clinic)
    if not principal.is_admin:
        mine = select(col(ClinicStaff.clinic_id)).where(
            col(ClinicStaff.account_id) == principal.account_id
        )
        statement = statement.where(col(Clinic.id).in_(mine))
    rows = await paginate(
        session,
        statement,
        time_column=col(Clinic.created_at),
        id_column=col(Clinic.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, clinic_public)


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
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    contact: str,
    *,
    secret: bytes,
    throttles: list[ThrottleRule],
) -> None:
    """Staff register a patient by email or phone. Nothing is looked up: only a keyed hash of
    the contact is kept, the same whether or not an account has it, and whoever signs in with
    that contact (now, or once they sign up) sees the request and accepts or declines it."""
    clinic = await visible(session, principal, clinic_id)
    await accounts_service.charge(session, throttles, refusal=TooManyRegistrations)
    try:
        async with session.begin_nested():
            session.add(
                ClinicRegistration(
                    clinic_id=clinic.id,
                    contact_hash=account_rules.contact_hash(contact, secret),
                    registered_by=principal.account_id,
                )
            )
    except IntegrityError:
        pass  # registered before and not answered yet: once is enough


async def _requests_to(
    session: AsyncSession, account: Account, secret: bytes, clinic_id: uuid.UUID | None = None
) -> list[ClinicRegistration]:
    """Registrations waiting for this account: made for its email or phone, or (made before
    contacts were kept as hashes) for the account itself."""
    hashes = [account_rules.contact_hash(c, secret) for c in (account.email, account.phone) if c]
    statement = select(ClinicRegistration).where(
        or_(
            col(ClinicRegistration.contact_hash).in_(hashes),
            col(ClinicRegistration.account_id) == account.id,
        )
    )
    if clinic_id is not None:
        statement = statement.where(col(ClinicRegistration.clinic_id) == clinic_id)
    rows = await session.execute(statement.order_by(col(ClinicRegistration.registered_at)))
    return list(rows.scalars())


async def _account(session: AsyncSession, principal: Principal) -> Account:
    account = await accounts_service.get(session, principal.account_id)
    if account is None or not account.is_active:
        raise NotFound()
    return account


async def registration_requests(
    session: AsyncSession, principal: Principal, *, secret: bytes
) -> Page[RegistrationRequest]:
    """The clinics waiting for the signed-in person's answer, one entry per clinic: a few at
    most, on one page."""
    account = await _account(session, principal)
    accepted = set(
        (
            await session.execute(
                select(col(ClinicPatient.clinic_id)).where(
                    col(ClinicPatient.account_id) == account.id
                )
            )
        ).scalars()
    )
    requests: dict[uuid.UUID, RegistrationRequest] = {}
    for registration in await _requests_to(session, account, secret):
        if registration.clinic_id in accepted or registration.clinic_id in requests:
            continue
        clinic = await session.get(Clinic, registration.clinic_id)
        assert clinic is not None
        requests[clinic.id] = RegistrationRequest(
            clinic_id=clinic.id,
            clinic_name=clinic.name,
            municipality=clinic.municipality,
            registered_at=registration.registered_at,
        )
    return Page(items=list(requests.values()), next_cursor=None)


async def accept_registration(
    session: AsyncSession, principal: Principal, clinic_id: uuid.UUID, *, secret: bytes
) -> ClinicPatientPublic:
    """The patient accepts the clinic's registration: its staff now see their name and may
    book for them. 404 when the clinic has not asked."""
    account = await _account(session, principal)
    pending = await _requests_to(session, account, secret, clinic_id)
    link = await session.get(ClinicPatient, (clinic_id, account.id))
    if link is None:
        if not pending:
            raise NotFound()
        link = ClinicPatient(
            clinic_id=clinic_id,
            account_id=account.id,
            registered_by=pending[0].registered_by,
            registered_at=pending[0].registered_at,
            accepted_at=clock.now(),
        )
        try:
            async with session.begin_nested():
                session.add(link)
        except IntegrityError:  # the same acceptance, sent twice at once
            link = await session.get(ClinicPatient, (clinic_id, account.id), populate_existing=True)
            assert link is not None
    for registration in pending:
        await session.delete(registration)
    await session.flush()
    return _patient(link, account)


async def decline_registration(
    session: AsyncSession, principal: Principal, clinic_id: uuid.UUID, *, secret: bytes
) -> None:
    """The patient declines: the request is deleted and the clinic learns nothing about them."""
    account = await _account(session, principal)
    pending = await _requests_to(session, account, secret, clinic_id)
    if not pending:
        raise NotFound()
    for registration in pending:
        await session.delete(registration)
    await session.flush()


async def patients(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[ClinicPatientPublic]:
    """The patients who accepted the clinic's registration, for its staff (reads are logged in
    each patient's access log)."""
    clinic = await visible(session, principal, clinic_id)
    links, next_cursor = await paginate(
        session,
        select(ClinicPatient).where(col(ClinicPatient.clinic_id) == clinic.id),
        time_column=col(ClinicPatient.registered_at),
        id_column=col(ClinicPatient.account_id),
        cursor=cursor,
        limit=limit,
    )
    accounts = [await accounts_service.get(session, link.account_id) for link in links]
    await audit.record_access(
        session, [link.account_id for link in links], principal, resource=f"clinic:{clinic.id}"
    )
    return Page(
        items=[
            _patient(link, account)
            for link, account in zip(links, accounts, strict=True)
            if account
        ],
        next_cursor=next_cursor,
    )


def _patient(link: ClinicPatient, account: Account) -> ClinicPatientPublic:
    return ClinicPatientPublic(
        clinic_id=link.clinic_id,
        account_id=account.id,
        display_name=account.display_name,
        registered_at=link.registered_at,
        accepted_at=link.accepted_at or link.registered_at,
    )
