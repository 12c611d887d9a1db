"""Households: coverage, dependents, income attestations, the sliding-scale fee class, balances."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.auth import require_scopes
from app.context import LawDep, TodayDep
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.dues.schemas import BalancePublic
from cooperative.kernel.principal import Principal, Scope
from cooperative.membership import billing, households, invitations
from cooperative.membership.schemas import (
    AttestationCreate,
    AttestationPublic,
    DependentCreate,
    DependentPublic,
    FeeClassPublic,
    HouseholdCreate,
    HouseholdPublic,
    HouseholdUpdate,
    InvitationReceived,
    MemberAdd,
)

router = APIRouter(prefix="/v1/households", tags=["households"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]
Writer = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_WRITE)]
SEEN = problem_responses(401, 403, 404)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a household",
    responses=problem_responses(401, 403, 409, 422),
)
async def create(session: SessionDep, principal: Writer, data: HouseholdCreate) -> HouseholdPublic:
    """Create the household you live in, or, with `role: sponsor`, one you pay for from elsewhere
    (a migrant in the US covering family in Mexico). Its currency follows its country."""
    household = await households.create(session, principal, data)
    return await households.public(session, household)


@router.get("", summary="Households", responses=problem_responses(400, 401, 403))
async def list_households(
    session: SessionDep,
    principal: Reader,
    country: Annotated[Literal["MX", "US"] | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[HouseholdPublic]:
    """Yours and the ones you sponsor; every household for admins."""
    return await households.list_visible(
        session, principal, country=country, cursor=cursor, limit=limit
    )


@router.get(
    "/invitations",
    summary="Invitations to me",
    responses=problem_responses(400, 401, 403),
)
async def my_invitations(
    session: SessionDep, principal: Reader, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[InvitationReceived]:
    """Households that invited you and wait for your answer: each one's name and place and who
    invited you (not its income or who lives there). An invitation covers you by nothing and
    blocks nothing: you may create or join another household meanwhile."""
    return await invitations.invitations_for(session, principal, cursor=cursor, limit=limit)


@router.post(
    "/invitations/{invitation_id}/accept",
    summary="Accept an invitation",
    responses=problem_responses(401, 403, 404, 409),
)
async def accept_invitation(
    session: SessionDep, principal: Writer, invitation_id: uuid.UUID
) -> HouseholdPublic:
    """From now on the household covers you. If another household covers you, leave it first
    (`409 already-in-household`): accepting never moves you out of one silently. An invitation
    withdrawn, or not yours, is a 404."""
    household = await invitations.accept_invitation(session, principal, invitation_id)
    return await households.public(session, household)


@router.post(
    "/invitations/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Decline an invitation",
    responses=problem_responses(401, 403, 404),
)
async def decline_invitation(
    session: SessionDep, principal: Writer, invitation_id: uuid.UUID
) -> None:
    """It leaves your list; the household sees that you declined."""
    await invitations.decline_invitation(session, principal, invitation_id)


@router.get("/{household_id}", summary="A household", responses=SEEN)
async def get_household(
    session: SessionDep, principal: Reader, household_id: uuid.UUID
) -> HouseholdPublic:
    """A household you live in or sponsor (404 for anyone else's; an invitation shows in
    `GET /v1/households/invitations`)."""
    household = await households.visible(session, principal, household_id, resource="household")
    return await households.public(session, household)


@router.patch("/{household_id}", summary="Change a household", responses=SEEN)
async def update(
    session: SessionDep, principal: Writer, household_id: uuid.UUID, data: HouseholdUpdate
) -> HouseholdPublic:
    """Rename it, or correct its municipality or urban/rural area."""
    household = await households.update(session, principal, household_id, data)
    return await households.public(session, household)


@router.post(
    "/{household_id}/members",
    summary="Invite a member",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_member(
    session: SessionDep, principal: Writer, household_id: uuid.UUID, data: MemberAdd
) -> HouseholdPublic:
    """Invite a member-owner to the household; they are covered once they accept, and you see
    in `invitations` whether they accepted or declined. An admin's addition takes effect at
    once. A member is covered by one household at a time. A household whose invitation was
    declined may invite that member again after 90 days (409 until then)."""
    household = await invitations.add_member(session, principal, household_id, data.member_id)
    return await households.public(session, household)


@router.delete(
    "/{household_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw an invitation",
    responses=SEEN,
)
async def withdraw_invitation(
    session: SessionDep, principal: Writer, household_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """Take back an invitation not accepted; accepting it is then a 404."""
    await invitations.withdraw_invitation(session, principal, household_id, invitation_id)


@router.delete(
    "/{household_id}/members/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave a household",
    responses=problem_responses(401, 403, 404),
)
async def leave(
    session: SessionDep, principal: Writer, household_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """Leave the household (yourself only; an admin may remove anyone). What it owes stays
    with the household."""
    await households.leave(session, principal, household_id, member_id)


@router.post(
    "/{household_id}/dependents",
    status_code=status.HTTP_201_CREATED,
    summary="Add a dependent",
    responses=problem_responses(401, 403, 404, 422),
)
async def add_dependent(
    session: SessionDep, principal: Writer, household_id: uuid.UUID, data: DependentCreate
) -> DependentPublic:
    """Someone the household covers who is not an owner: a child, an elder."""
    dependent = await households.add_dependent(session, principal, household_id, data)
    return households.dependent_public(dependent)


@router.delete(
    "/{household_id}/dependents/{dependent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a dependent",
    responses=SEEN,
)
async def remove_dependent(
    session: SessionDep, principal: Writer, household_id: uuid.UUID, dependent_id: uuid.UUID
) -> None:
    """The dependent's data is deleted."""
    await households.remove_dependent(session, principal, household_id, dependent_id)


@router.post(
    "/{household_id}/attestations",
    status_code=status.HTTP_201_CREATED,
    summary="Attest household income",
    responses=problem_responses(401, 403, 404, 422),
)
async def attest(
    session: SessionDep,
    principal: Writer,
    law: LawDep,
    today: TodayDep,
    household_id: uuid.UUID,
    data: AttestationCreate,
) -> AttestationPublic:
    """Declare the household's income and size (nothing else: no assets). Valid for the bylaws'
    period (12 months by default); then the household pays full price until it attests again."""
    attestation = await households.attest(session, principal, household_id, data, law, today=today)
    return households.attestation_public(attestation)


@router.get(
    "/{household_id}/attestations",
    summary="Income attestations",
    responses=problem_responses(400, 401, 403, 404),
)
async def attestations(
    session: SessionDep,
    principal: Reader,
    household_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AttestationPublic]:
    """Newest first."""
    return await households.attestations(
        session, principal, household_id, cursor=cursor, limit=limit
    )


@router.get(
    "/{household_id}/fee-class",
    summary="Sliding-scale fee class",
    responses=problem_responses(401, 403, 404, 409),
)
async def fee_class(
    session: SessionDep, principal: Reader, law: LawDep, today: TodayDep, household_id: uuid.UUID
) -> FeeClassPublic:
    """The household's class today with its monthly dues and consult fee, and why: the poverty
    table and year used, the line for this household's size, the exact percentage, the bylaws
    version. Without a valid attestation the full-price class applies, and the answer says so."""
    return await households.fee_class(session, principal, household_id, law, today=today)


@router.get("/{household_id}/balance", summary="Household balance", responses=SEEN)
async def balance(
    session: SessionDep, principal: Reader, household_id: uuid.UUID, today: TodayDep
) -> BalancePublic:
    """Dues invoiced, paid, outstanding and overdue, and any credit from over-payment."""
    return await billing.balance(session, principal, household_id=household_id, today=today)
