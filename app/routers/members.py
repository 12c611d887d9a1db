"""Member-owners: applying, the roll, decisions on memberships, capital accounts."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.auth import require_scopes
from app.context import LawDep, TodayDep
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.dues.schemas import BalancePublic, CapitalAccountPublic
from cooperative.kernel.principal import Principal, Scope
from cooperative.membership import billing
from cooperative.membership import service as membership_service
from cooperative.membership.schemas import (
    CurpReview,
    MemberApply,
    MemberDecision,
    MemberPublic,
)

router = APIRouter(prefix="/v1/members", tags=["members"])

Reader = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_READ)]
Writer = Annotated[Principal, require_scopes(Scope.MEMBERSHIP_WRITE)]
Action = Literal["approve", "reject", "suspend", "reinstate", "withdraw"]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Apply for membership",
    responses=problem_responses(401, 403, 409, 422),
)
async def apply(
    session: SessionDep, principal: Writer, law: LawDep, today: TodayDep, data: MemberApply
) -> MemberPublic:
    """Apply to become a member-owner of a class (`patient`, or `doctor` for the cooperative's
    doctors) and subscribe its share, at once or in instalments. An admin then decides.

    Only a name is needed. A CURP (checked) or a matrícula consular number are optional; Tequio
    never asks for immigration status or a US Social Security number.
    """
    return await membership_service.apply(session, principal, data, law, today=today)


@router.get("", summary="Members", responses=problem_responses(400, 401, 403))
async def list_members(
    session: SessionDep,
    principal: Reader,
    law: LawDep,
    today: TodayDep,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    member_class: Annotated[str | None, Query(max_length=32)] = None,
    needs_review: Annotated[
        bool | None,
        Query(description="Admins: only the applications waiting for a CURP review (or not)."),
    ] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[MemberPublic]:
    """The roll for admins (filter by `status`, `member_class`, `needs_review`); your own
    membership otherwise."""
    return await membership_service.list_members(
        session,
        principal,
        law,
        status=status_,
        member_class=member_class,
        cursor=cursor,
        limit=limit,
        today=today,
        needs_review=needs_review,
    )


@router.get("/{member_id}", summary="A member", responses=problem_responses(401, 403, 404))
async def get_member(
    session: SessionDep, principal: Reader, law: LawDep, today: TodayDep, member_id: uuid.UUID
) -> MemberPublic:
    """A membership with its effective status and whether it is in good standing: active, with
    no dues or share instalment unpaid past the bylaws' grace period. Yours, or any for admins."""
    member = await membership_service.visible_member(session, principal, member_id)
    return await membership_service.view(
        session, member, law, today=today, for_admin=principal.is_admin
    )


@router.post(
    "/{member_id}/curp-review",
    summary="Decide who holds a CURP (admin)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def review_curp(
    session: SessionDep,
    principal: Writer,
    law: LawDep,
    today: TodayDep,
    member_id: uuid.UUID,
    data: CurpReview,
) -> MemberPublic:
    """An application that gives a CURP another membership already holds is accepted like any
    other, shows `needs_review: curp-on-file` to admins (never to the applicant, who learns
    nothing about the other membership) and cannot be approved until an admin, having checked
    identity documents, decides here: `holder` moves the CURP to this membership and off the
    other; `not-holder` drops it from this application. One CURP is on one membership at most,
    so never on two active members."""
    return await membership_service.review_curp(
        session, principal, member_id, data, law=law, today=today
    )


@router.post(
    "/{member_id}/{action}",
    summary="Decide on a membership",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def decide(
    session: SessionDep,
    principal: Writer,
    law: LawDep,
    today: TodayDep,
    member_id: uuid.UUID,
    action: Action,
    data: MemberDecision | None = None,
) -> MemberPublic:
    """`approve` (issues the share instalments; refused with `curp-needs-review` while the
    application's CURP waits for a review), `reject` (with a reason), `suspend` (with a
    reason), `reinstate`: admins only. `withdraw`: the member themselves, or an admin."""
    return await membership_service.decide(
        session,
        principal,
        member_id,
        action,
        reason=data.reason if data else None,
        law=law,
        today=today,
    )


@router.get(
    "/{member_id}/capital-account",
    summary="A member's capital account",
    responses=problem_responses(401, 403, 404),
)
async def capital_account(
    session: SessionDep, principal: Reader, member_id: uuid.UUID, today: TodayDep
) -> CapitalAccountPublic:
    """Share capital subscribed and paid (retained patronage refunds will join it)."""
    return await billing.capital_account(session, principal, member_id, today=today)


@router.get(
    "/{member_id}/balance", summary="A member's balance", responses=problem_responses(401, 403, 404)
)
async def balance(
    session: SessionDep, principal: Reader, member_id: uuid.UUID, today: TodayDep
) -> BalancePublic:
    """What the member owes for their share: invoiced, paid, outstanding, overdue, credit.
    Household dues are on the household's balance."""
    return await billing.balance(session, principal, member_id=member_id, today=today)
