"""Roles given and taken away by an admin (or the operator's command line), each with a reason,
recorded for the person concerned to see. Self sign-up gives `patient`; every other role comes
from here. A clinic_staff role is bound to clinics by telehealth's clinics service, which calls
this module with the clinic it binds."""

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts.errors import ClinicRequired, LastAdmin, RoleAlreadyHeld, RoleNotHeld
from cooperative.accounts.models import Account, RoleChange
from cooperative.accounts.schemas import AccountLookupPublic, RoleChangePublic, RolesPublic
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Role

GRANTABLE = frozenset(Role) - {Role.PATIENT}

OPERATOR = "Tequio (command line)"

ClinicsOf = Callable[[AsyncSession, uuid.UUID], Awaitable[list[uuid.UUID]]]


async def _locked_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = (
        await session.execute(
            select(Account)
            .where(col(Account.id) == account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if account is None:
        raise NotFound()
    return account


def _where(clinic_id: uuid.UUID | None) -> str:
    return f" (clinic {clinic_id})" if clinic_id else ""


async def grant(
    session: AsyncSession,
    account_id: uuid.UUID,
    role: Role,
    *,
    reason: str,
    by: uuid.UUID | None,
    clinic_id: uuid.UUID | None = None,
) -> RoleChange:
    """Give `role` to the account. For clinic_staff the caller has bound it to `clinic_id`
    (the role may already be held for another clinic); any other role held already is a 409."""
    _clinic_matches(role, clinic_id)
    account = await _locked_account(session, account_id)
    if role.value in account.roles and clinic_id is None:
        raise RoleAlreadyHeld(role=role.value, where=_where(None))
    if role.value not in account.roles:
        account.roles = [*account.roles, role.value]
    return await _record(session, account, role, "granted", clinic_id, reason, by)


async def revoke(
    session: AsyncSession,
    account_id: uuid.UUID,
    role: Role,
    *,
    reason: str,
    by: uuid.UUID | None,
    clinic_id: uuid.UUID | None = None,
    still_bound: bool = False,
) -> RoleChange:
    """Take `role` away; for clinic_staff, from `clinic_id` (the role stays while the account is
    `still_bound` to another clinic). The last active admin cannot lose the role."""
    _clinic_matches(role, clinic_id)
    # the admins are locked first, in one order, so two admins revoking each other wait for
    # each other instead of deadlocking
    admins = await _active_admins(session) if role is Role.ADMIN else 0
    account = await _locked_account(session, account_id)
    if role.value not in account.roles:
        raise RoleNotHeld(role=role.value, where=_where(clinic_id))
    if role is Role.ADMIN and admins <= 1:
        raise LastAdmin()
    if not still_bound:
        account.roles = [held for held in account.roles if held != role.value]
    return await _record(session, account, role, "revoked", clinic_id, reason, by)


async def _record(
    session: AsyncSession,
    account: Account,
    role: Role,
    action: str,
    clinic_id: uuid.UUID | None,
    reason: str,
    by: uuid.UUID | None,
) -> RoleChange:
    change = RoleChange(
        account_id=account.id,
        role=role.value,
        action=action,
        clinic_id=clinic_id,
        reason=reason,
        by_account_id=by,
    )
    session.add(change)
    await session.flush()
    return change


def _clinic_matches(role: Role, clinic_id: uuid.UUID | None) -> None:
    """clinic_staff is bound to one clinic at a time (telehealth's clinics service binds it);
    no other role names a clinic. A revocation without its clinic once dropped the role and
    left every binding in place, to come back with the next grant."""
    if (role is Role.CLINIC_STAFF) != (clinic_id is not None):
        raise ClinicRequired()


async def _active_admins(session: AsyncSession) -> int:
    """Active accounts holding the admin role, locked so two admins revoking each other at
    once cannot both succeed."""
    rows = await session.execute(
        select(col(Account.id), col(Account.roles))
        .where(
            col(Account.is_active).is_(True),
            cast(col(Account.roles), String).like(f'%"{Role.ADMIN.value}"%'),
        )
        .order_by(col(Account.id))
        .with_for_update()
    )
    return sum(1 for _, roles in rows if Role.ADMIN.value in roles)


async def history(session: AsyncSession, account_id: uuid.UUID) -> list[RoleChange]:
    rows = await session.execute(
        select(RoleChange)
        .where(col(RoleChange.account_id) == account_id)
        .order_by(col(RoleChange.at), col(RoleChange.id))
    )
    return list(rows.scalars())


async def names(session: AsyncSession, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of the admins who made changes (whom the person concerned may know)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(col(Account.id), col(Account.display_name)).where(col(Account.id).in_(account_ids))
    )
    return {account_id: name for account_id, name in rows}


async def public(
    session: AsyncSession, account_id: uuid.UUID, *, clinics_of: ClinicsOf
) -> RolesPublic:
    """The roles the account holds, the clinics where it is staff (telehealth's clinics service
    knows them: `clinics_of`) and every change, oldest first, with who made it and why."""
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound()
    changes = await history(session, account_id)
    by_name = await names(session, {c.by_account_id for c in changes if c.by_account_id})
    return RolesPublic(
        account_id=account.id,
        roles=sorted(account.roles),
        clinic_ids=await clinics_of(session, account.id),
        history=[
            RoleChangePublic(
                role=c.role,
                action=c.action,
                clinic_id=c.clinic_id,
                reason=c.reason,
                by=by_name.get(c.by_account_id, "?") if c.by_account_id else OPERATOR,
                at=c.at,
            )
            for c in changes
        ],
    )


def lookup_public(account: Account) -> AccountLookupPublic:
    return AccountLookupPublic(
        id=account.id, display_name=account.display_name, roles=account.roles
    )
