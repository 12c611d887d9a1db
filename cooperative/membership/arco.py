"""Membership's part of a person's ARCO rights: the membership, its households and who they
cover. Its export also says whom the other domains' parts are about (the member and the
households), and whose data the export shows besides the person's own."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.kernel import clock
from cooperative.kernel.arco import ERASED_NAME, exported, rows, rows_of
from cooperative.membership.models import (
    Dependent,
    Household,
    HouseholdInvitation,
    HouseholdMember,
    IncomeAttestation,
    Member,
)
from cooperative.membership.rules import MemberStatus


@dataclass(frozen=True, slots=True)
class Held:
    member_id: uuid.UUID | None
    household_ids: list[uuid.UUID]  # covering the member, or sponsored by them
    co_members: list[uuid.UUID]  # the accounts those households cover
    parts: dict[str, Any]


async def _member(session: AsyncSession, account_id: uuid.UUID) -> Member | None:
    return (
        await session.execute(select(Member).where(col(Member.account_id) == account_id))
    ).scalar_one_or_none()


def _membership(member: Member) -> dict[str, Any]:
    """The membership with the CURP as given: whether another membership also gives it is for
    admins to settle, not something applying may reveal."""
    row = exported(member, exclude=frozenset({"curp_pending"}))
    row["curp"] = member.curp or member.curp_pending
    return row


async def _households(session: AsyncSession, member: Member | None) -> list[uuid.UUID]:
    if member is None:
        return []
    covering = select(col(HouseholdMember.household_id)).where(
        col(HouseholdMember.member_id) == member.id
    )
    sponsored = select(col(Household.id)).where(col(Household.sponsor_member_id) == member.id)
    return await rows(session, covering) + await rows(session, sponsored)


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> Held:
    """The membership, invitations, households, their dependents and income declarations."""
    member = await _member(session, account_id)
    member_id = member.id if member else None
    household_ids = await _households(session, member)
    co_members = (
        select(col(Member.account_id))
        .join(HouseholdMember, col(HouseholdMember.member_id) == col(Member.id))
        .where(col(HouseholdMember.household_id).in_(household_ids))
    )
    invitations = select(HouseholdInvitation)
    households = select(Household).where(col(Household.id).in_(household_ids))
    dependents = select(Dependent).where(col(Dependent.household_id).in_(household_ids))
    incomes = select(IncomeAttestation).where(
        col(IncomeAttestation.household_id).in_(household_ids)
    )
    parts = {
        "membership": _membership(member) if member else None,
        "household_invitations": [
            exported(i)
            for i in await rows_of(session, invitations, HouseholdInvitation.member_id, member_id)
        ],
        "households": [exported(h) for h in await rows(session, households)],
        "dependents": [exported(d) for d in await rows(session, dependents)],
        "income_attestations": [exported(a) for a in await rows(session, incomes)],
    }
    return Held(member_id, household_ids, await rows(session, co_members), parts)


async def erase_of(session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    """Erase the member's name and identity documents and withdraw the membership (its record
    and dates stay: the cooperative's register); leave the households, and when nobody else
    lives in one, its dependents and income declarations go too. What was erased."""
    member = await _member(session, account_id)
    if member is None:
        return []
    erased = ["full name, CURP and consular ID"]
    member.full_name = ERASED_NAME
    member.curp = None
    member.curp_pending = None
    member.matricula_consular = None
    if member.status in (MemberStatus.APPLICANT, MemberStatus.ACTIVE, MemberStatus.SUSPENDED):
        member.status = MemberStatus.WITHDRAWN
        member.status_changed_at = clock.now()
    member.status_reason = "erased at the member's request"
    covered = await rows(
        session,
        select(col(HouseholdMember.household_id)).where(
            col(HouseholdMember.member_id) == member.id
        ),
    )
    await session.execute(
        delete(HouseholdMember).where(col(HouseholdMember.member_id) == member.id)
    )
    await session.execute(
        delete(HouseholdInvitation).where(col(HouseholdInvitation.member_id) == member.id)
    )
    await session.execute(
        update(Household)
        .where(col(Household.sponsor_member_id) == member.id)
        .values(sponsor_member_id=None)
    )
    for household_id in covered:
        if await _forget_if_empty(session, household_id):
            erased.append("your household's dependents and income declarations")
    return erased


async def _forget_if_empty(session: AsyncSession, household_id: uuid.UUID) -> bool:
    """When nobody else lives in the household, the family's personal data goes too."""
    others = await rows(
        session,
        select(col(HouseholdMember.member_id)).where(
            col(HouseholdMember.household_id) == household_id
        ),
    )
    if others:
        return False
    await session.execute(delete(Dependent).where(col(Dependent.household_id) == household_id))
    await session.execute(
        delete(IncomeAttestation).where(col(IncomeAttestation.household_id) == household_id)
    )
    return True
