"""Clinics, their staff, and the patients registered with them (with the patients' consent)."""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import roles, search
from cooperative.accounts import rules as account_rules
from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import RoleAlreadyHeld, RoleNotHeld
from cooperative.accounts.rules import ThrottleRule
from cooperative.accounts.service import Account
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Page, page, paginate
from cooperative.kernel.principal import Principal, Role
from telehealth.clinics.errors import (
    PhoneSearchTooShort,
    TooManyRegistrations,
    WrongRegistrationCode,
)
from telehealth.clinics.models import Clinic as Clinic  # the result type other domains name
from telehealth.clinics.models import ClinicPatient, ClinicRegistration, ClinicStaff
from telehealth.clinics.schemas import ClinicCreate, ClinicPatientPublic, ClinicPublic


def clinic_public(clinic: Clinic) -> ClinicPublic:
    return ClinicPublic.model_validate(clinic, from_attributes=True)


async def create(session: AsyncSession, data: ClinicCreate) -> Clinic:
    clinic = Clinic(**data.model_dump())
    session.add(clinic)
    await session.flush()
    return clinic


async def get(session: AsyncSession, clinic_id: uuid.UUID) -> Clinic | None:
    return await session.get(Clinic, clinic_id)


async def by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Clinic]:
    """Several clinics in one query, by id (those that exist)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Clinic).where(col(Clinic.id).in_(set(ids))))
    return {clinic.id: clinic for clinic in rows}


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


async def leave_all(session: AsyncSession, account_id: uuid.UUID, *, reason: str) -> None:
    """The account stops being staff anywhere (its erasure), each clinic recorded."""
    for clinic_id in await staff_clinics(session, account_id):
        await revoke_staff(session, clinic_id, account_id, reason=reason, by=account_id)


async def staff_clinics(session: AsyncSession, account_id: uuid.UUID) -> list[uuid.UUID]:
    """The clinics where the account works."""
    rows = await session.execute(
        select(col(ClinicStaff.clinic_id))
        .where(col(ClinicStaff.account_id) == account_id)
        .order_by(col(ClinicStaff.clinic_id))
    )
    return list(rows.scalars())


async def staff_accounts(session: AsyncSession, clinic_id: uuid.UUID) -> list[uuid.UUID]:
    """The accounts that work at the clinic."""
    rows = await session.execute(
        select(col(ClinicStaff.account_id)).where(col(ClinicStaff.clinic_id) == clinic_id)
    )
    return list(rows.scalars())


CODE_DAYS = 7
CODE_TRIES = 5


def _code_hash(code: str, secret: bytes) -> str:
    digits = "".join(ch for ch in code if ch.isdigit())
    return hmac.new(secret, b"clinic-code:" + digits.encode(), hashlib.sha256).hexdigest()


async def register_patient(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    contact: str,
    *,
    secret: bytes,
    throttles: list[ThrottleRule],
) -> str:
    """Staff register a patient by email or phone, and get a one-time code to give the patient
    in person or by phone; the patient accepts with it. Nothing is looked up: only keyed hashes
    of the contact and the code are kept, the same whether or not an account has that contact.
    Registering the same contact again gives a new code (the old one stops working).

    The code is what proves the person accepting is the patient: nobody confirms that whoever
    signs up with a phone number owns it, so the contact alone would let anyone who signs up
    with a patient's number become that patient for the clinic."""
    clinic = await visible(session, principal, clinic_id)
    await accounts_service.charge(session, throttles, refusal=TooManyRegistrations)
    code = f"{secrets.randbelow(10**8):08d}"
    contact_hash = account_rules.contact_hash(contact, secret)
    existing = (
        await session.execute(
            select(ClinicRegistration).where(
                col(ClinicRegistration.clinic_id) == clinic.id,
                col(ClinicRegistration.contact_hash) == contact_hash,
            )
        )
    ).scalar_one_or_none()
    registration = existing or ClinicRegistration(clinic_id=clinic.id, contact_hash=contact_hash)
    registration.code_hash = _code_hash(code, secret)
    registration.code_expires_at = clock.now() + timedelta(days=CODE_DAYS)
    registration.failed_attempts = 0
    registration.registered_by = principal.account_id
    session.add(registration)
    await session.flush()
    return f"{code[:4]} {code[4:]}"


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


async def _with_code(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    code: str,
    secret: bytes,
) -> tuple[Account, list[ClinicRegistration]]:
    """The caller's registrations at the clinic, if `code` is the clinic's code for one of them;
    a wrong code counts against each (the fifth ends it) and is refused."""
    account = await _account(session, principal)
    pending = await _requests_to(session, account, secret, clinic_id)
    if not pending:
        raise NotFound()
    now, given = clock.now(), _code_hash(code, secret)
    if any(
        r.code_hash is not None
        and r.code_expires_at is not None
        and r.code_expires_at > now
        and hmac.compare_digest(r.code_hash, given)
        for r in pending
    ):
        return account, pending
    for registration in pending:
        registration.failed_attempts += 1
        if registration.failed_attempts >= CODE_TRIES:
            await session.delete(registration)
    await session.flush()
    raise WrongRegistrationCode()


async def accept_registration(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    code: str,
    *,
    secret: bytes,
) -> ClinicPatientPublic:
    """The patient accepts the clinic's registration with the code its staff gave them: its
    staff now see their name and may book for them. 404 when the clinic has not registered
    this person's email or phone; 422 for a wrong or expired code."""
    account, pending = await _with_code(session, principal, clinic_id, code, secret)
    link = await session.get(ClinicPatient, (clinic_id, account.id))
    if link is None:
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
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    code: str,
    *,
    secret: bytes,
) -> None:
    """The patient declines with the code: the request is deleted and the clinic learns
    nothing about them. (Without a code, nobody else can end a patient's pending request.)"""
    _, pending = await _with_code(session, principal, clinic_id, code, secret)
    for registration in pending:
        await session.delete(registration)
    await session.flush()


async def withdraw(session: AsyncSession, principal: Principal, clinic_id: uuid.UUID) -> None:
    """The patient takes back their consent: the clinic's staff no longer see them among its
    patients nor book for them (consults already booked stay, as the clinic's record)."""
    link = await session.get(ClinicPatient, (clinic_id, principal.account_id))
    if link is None:
        raise NotFound()
    await session.delete(link)
    await session.flush()


async def patients(
    session: AsyncSession,
    principal: Principal,
    clinic_id: uuid.UUID,
    *,
    name: str | None = None,
    phone: str | None = None,
    cursor: str | None,
    limit: int | None,
) -> Page[ClinicPatientPublic]:
    """The patients who accepted the clinic's registration, for its staff only (404 for anyone
    else, admins included), found by name and phone as `cooperative.accounts.search` says;
    each read is in the patient's access log."""
    clinic = await session.get(Clinic, clinic_id)
    if clinic is None or not await is_staff(session, clinic.id, principal.account_id):
        raise NotFound()
    digits = None
    if phone is not None and (digits := search.phone_digits(phone)) is None:
        raise PhoneSearchTooShort(digits=search.MIN_PHONE_DIGITS)
    found = accounts_service.matching(words=search.name_words(name or ""), phone_digits=digits)
    links, next_cursor = await paginate(
        session,
        select(ClinicPatient).where(
            col(ClinicPatient.clinic_id) == clinic.id,
            col(ClinicPatient.accepted_at).is_not(None),
            col(ClinicPatient.account_id).in_(found),
        ),
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
