"""Roles: admins give and take them with a reason; everyone sees their own and their history."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth import AdminPrincipal, CurrentPrincipal
from app.db import SessionDep
from app.errors import problem_responses
from cooperative.accounts import roles
from cooperative.accounts import service as accounts_service
from cooperative.accounts.schemas import (
    AccountLookupPublic,
    RoleGrantRequest,
    RoleRevokeRequest,
    RolesPublic,
)
from cooperative.audit import service as audit
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Role
from telehealth.clinics import service as clinics

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me/roles", summary="My roles and their history", responses=problem_responses(401))
async def my_roles(session: SessionDep, principal: CurrentPrincipal) -> RolesPublic:
    """The roles you hold, the clinics you work at, and every role given to you or taken away:
    when, by whom and why."""
    return await roles.public(session, principal.account_id, clinics_of=clinics.staff_clinics)


@router.get(
    "/accounts/lookup",
    summary="Find an account by its email or phone (admin)",
    responses=problem_responses(401, 403, 404, 422),
)
async def lookup(
    session: SessionDep,
    principal: AdminPrincipal,
    contact: Annotated[str, Query(min_length=3, max_length=254, examples=["+52 951 100 0002"])],
) -> AccountLookupPublic:
    """The account that signed up with this email or phone number, so an admin can give it a
    role (a nurse who signed up on her phone, a new treasurer). The person sees the lookup in
    their access log."""
    account = await accounts_service.find_by_identifier(session, contact)
    if account is None:
        raise NotFound()
    await audit.record_access(session, [account.id], principal, resource="account")
    return roles.lookup_public(account)


@router.get(
    "/accounts/{account_id}/roles",
    summary="An account's roles and their history (admin)",
    responses=problem_responses(401, 403, 404),
)
async def account_roles(
    session: SessionDep, principal: AdminPrincipal, account_id: uuid.UUID
) -> RolesPublic:
    """What the account holds now and every change, with who made it and why."""
    return await roles.public(session, account_id, clinics_of=clinics.staff_clinics)


@router.post(
    "/accounts/{account_id}/roles",
    status_code=status.HTTP_201_CREATED,
    summary="Give a role (admin)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def grant(
    session: SessionDep, principal: AdminPrincipal, account_id: uuid.UUID, data: RoleGrantRequest
) -> RolesPublic:
    """Give `doctor`, `board`, `treasurer`, `admin`, or `clinic_staff` at a clinic (an account
    may work at several), with the reason. It takes effect on the account's next request; the
    person sees it, and the reason, at `GET /v1/me/roles`."""
    if data.clinic_id is not None:
        await clinics.grant_staff(
            session, data.clinic_id, account_id, reason=data.reason, by=principal.account_id
        )
    else:
        await roles.grant(
            session, account_id, Role(data.role), reason=data.reason, by=principal.account_id
        )
    return await roles.public(session, account_id, clinics_of=clinics.staff_clinics)


@router.post(
    "/accounts/{account_id}/roles/revoke",
    summary="Take a role away (admin)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def revoke(
    session: SessionDep, principal: AdminPrincipal, account_id: uuid.UUID, data: RoleRevokeRequest
) -> RolesPublic:
    """Take a role away, with the reason; `clinic_staff` from one clinic. It takes effect on the
    account's next request. The cooperative's last active admin keeps the role (409)."""
    if data.clinic_id is not None:
        await clinics.revoke_staff(
            session, data.clinic_id, account_id, reason=data.reason, by=principal.account_id
        )
    else:
        await roles.revoke(
            session, account_id, Role(data.role), reason=data.reason, by=principal.account_id
        )
    return await roles.public(session, account_id, clinics_of=clinics.staff_clinics)
