"""Billing members and households: dues runs, balances, capital accounts.

The dues domain knows invoices by id; this module knows who may see what, and what a payment
is for: the treasury's payments (`cooperative.treasury.payments`) ask it.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.errors import BylawsNotInstalled
from cooperative.dues import service as dues_service
from cooperative.dues.errors import InvalidPeriod
from cooperative.dues.rules import NoPovertyLine
from cooperative.dues.schemas import BalancePublic, CapitalAccountPublic
from cooperative.dues.service import Payment
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Principal
from cooperative.membership import households, invitations
from cooperative.membership.models import Household, HouseholdMember, Member
from cooperative.membership.rules import MemberStatus
from cooperative.membership.service import member_of, visible_member


def period_start(period: str, months: int) -> date:
    """`2026-07` -> 2026-07-01, if a dues period starts then (periods start from January)."""
    try:
        year, month = (int(part) for part in period.split("-"))
        start = date(year, month, 1)
    except ValueError as exc:
        raise InvalidPeriod(months=months, period=period) from exc
    if len(period) != 7 or (month - 1) % months:
        raise InvalidPeriod(months=months, period=period)
    return start


@dataclass(frozen=True, slots=True)
class IssuedDues:
    """A dues invoice a run issued, and how much of it credit already paid."""

    household_id: uuid.UUID
    amount_minor: int
    currency: str
    due_on: date
    paid_minor: int


@dataclass(frozen=True, slots=True)
class DuesRun:
    period: str
    created: int
    already_issued: int
    bylaws_version: int
    skipped: list[uuid.UUID]  # households that could not be priced (no poverty line then)
    # payments whose credit paid the new invoices, with how much: dues paid now (patronage)
    paid_from_credit: list[tuple[Payment, int]] = field(default_factory=list)
    issued: list[IssuedDues] = field(default_factory=list)  # for the notices


async def _billable(session: AsyncSession) -> list[Household]:
    """Households covering an active member, or sponsored by one (a migrant's family of
    dependents is billed to its sponsor)."""
    active = select(col(Member.id)).where(col(Member.status) == MemberStatus.ACTIVE)
    covering_active = select(col(HouseholdMember.household_id)).where(
        col(HouseholdMember.member_id).in_(active), col(HouseholdMember.accepted_at).is_not(None)
    )
    rows = await session.execute(
        select(Household)
        .where(
            or_(
                col(Household.id).in_(covering_active),
                col(Household.sponsor_member_id).in_(active),
            )
        )
        .order_by(col(Household.created_at), col(Household.id))
    )
    return list(rows.scalars())


async def generate_dues(session: AsyncSession, period: str, *, today: date) -> DuesRun:
    """Issue every billable household's dues for `period`, under the bylaws in force on the
    period's first day (the first bylaws, for a period that began before they were installed).

    Each household is priced by its fee class on the day of the run, or on the period's first
    day when the run is made ahead of the period: an income attestation made before the run
    counts (while it is valid), whichever day of the period the run is made. Running it again for
    a period issues nothing new; a household that cannot be priced is skipped and named, never
    the whole run."""
    start = period_start(period, 1)
    priced_on = max(today, start)
    try:
        law = await bylaws_service.in_force(session, datetime.combine(start, time(), UTC))
    except BylawsNotInstalled:
        law = await bylaws_service.in_force(session)
    period_start(period, law.bylaws.dues.period_months)
    created = existing = 0
    paid_from_credit: list[tuple[Payment, int]] = []
    skipped: list[uuid.UUID] = []
    issued: list[IssuedDues] = []
    for household in await _billable(session):
        try:
            assessment, _ = await households.assess(session, household, law, on=priced_on)
        except NoPovertyLine:
            skipped.append(household.id)
            continue
        amount = assessment.fee_class.dues[household.currency]  # type: ignore[index]
        due_on = start + timedelta(days=law.bylaws.dues.due_days)
        credit_used = await dues_service.issue_dues(
            session,
            household_id=household.id,
            period=period,
            amount_minor=amount,
            currency=household.currency,
            fee_class=assessment.fee_class.code,
            bylaws_version=law.number,
            due_on=due_on,
        )
        if credit_used is None:
            existing += 1
            continue
        created += 1
        paid_from_credit += credit_used
        paid = sum(part for _, part in credit_used)
        issued.append(IssuedDues(household.id, amount, household.currency, due_on, paid))
    return DuesRun(period, created, existing, law.number, skipped, paid_from_credit, issued)


async def target_of(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
) -> tuple[dues_service.Target, str]:
    """What a payment or balance is for, and its currency, if the caller may see it."""
    if household_id is not None:
        household = await households.visible(session, principal, household_id, resource="balance")
        return dues_service.Target(household_id=household.id), household.currency
    assert member_id is not None
    member = await visible_member(session, principal, member_id)
    subscription = await dues_service.share_subscription(session, member.id)
    if subscription is None:
        raise NotFound()
    return dues_service.Target(member_id=member.id), subscription.currency


async def balance(
    session: AsyncSession,
    principal: Principal,
    *,
    household_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    today: date,
) -> BalancePublic:
    """What a household owes for its dues, or a member for their share, if the caller may see
    it: invoiced, paid, outstanding, overdue, and any credit from over-payment."""
    target, _ = await target_of(session, principal, household_id, member_id)
    result = await dues_service.balance(session, target, today=today)
    return BalancePublic.model_validate(result, from_attributes=True)


async def capital_account(
    session: AsyncSession, principal: Principal, member_id: uuid.UUID, *, today: date
) -> CapitalAccountPublic:
    """A member's share capital, subscribed and paid (theirs, or anyone's for admins)."""
    member = await visible_member(session, principal, member_id)
    subscription = await dues_service.share_subscription(session, member.id)
    if subscription is None:
        raise NotFound()
    balance = await dues_service.balance(
        session, dues_service.Target(member_id=member.id), today=today
    )
    return CapitalAccountPublic(
        member_id=member.id,
        currency=subscription.currency,
        share_subscribed_minor=subscription.amount_minor,
        share_paid_minor=balance.paid_minor,
        share_outstanding_minor=subscription.amount_minor - balance.paid_minor,
        instalments=subscription.instalments,
    )


async def visible_scope(
    session: AsyncSession, principal: Principal
) -> tuple[set[uuid.UUID] | None, set[uuid.UUID] | None]:
    """The households and members whose invoices the caller may list (None, None: all)."""
    household_ids = await households.visible_ids(session, principal)
    if household_ids is None:
        return None, None
    member = await member_of(session, principal.account_id)
    return household_ids, ({member.id} if member else set())


async def books_target(
    session: AsyncSession, household_id: uuid.UUID | None, member_id: uuid.UUID | None
) -> tuple[dues_service.Target, str]:
    """What money received is for, seen by the books (no personal data is read)."""
    if household_id is not None:
        household = await session.get(Household, household_id)
        if household is None:
            raise NotFound()
        return dues_service.Target(household_id=household.id), household.currency
    assert member_id is not None
    subscription = await dues_service.share_subscription(session, member_id)
    if subscription is None:
        raise NotFound()
    return dues_service.Target(member_id=member_id), subscription.currency


async def is_own(session: AsyncSession, principal: Principal, target: dues_service.Target) -> bool:
    """Whether the money is for the caller's own share or a household they manage, or were
    invited into."""
    if target.member_id is not None:
        member = await session.get(Member, target.member_id)
        return member is not None and member.account_id == principal.account_id
    household = await session.get(Household, target.household_id)
    assert household is not None
    if principal.account_id in await households.managers(session, household):
        return True
    # invited into it (answered or not) counts too: a treasurer could otherwise leave her
    # household, confirm its money, and come back
    return await invitations.ever_invited(session, household.id, principal.account_id)


async def lock_target(session: AsyncSession, target: dues_service.Target) -> None:
    """Serialize the settlements of one household (or one member's share), so two never
    settle the same invoice twice. Always taken before the payment's own lock."""
    if target.household_id is not None:
        await session.execute(
            select(col(Household.id))
            .where(col(Household.id) == target.household_id)
            .with_for_update()
        )
    else:
        await session.execute(
            select(col(Member.id)).where(col(Member.id) == target.member_id).with_for_update()
        )


async def patron(
    session: AsyncSession,
    reporter: uuid.UUID,
    household_id: uuid.UUID,
    *,
    statuses: Collection[str],
    classes: Collection[str],
) -> uuid.UUID | None:
    """The member whose patronage a household's dues are, among members with one of `statuses`
    and `classes`: the reporter if they manage the household (a covered member or the sponsor),
    else — when a treasurer recorded it at the desk — the sponsor or else its first member."""
    household = await session.get(Household, household_id)
    assert household is not None

    def counts(member: Member | None) -> bool:
        return member is not None and member.status in statuses and member.member_class in classes

    if reporter in await households.managers(session, household):
        payer = await member_of(session, reporter)
        if payer is not None and counts(payer):
            return payer.id
    candidates = [household.sponsor_member_id] if household.sponsor_member_id else []
    candidates += list(
        (
            await session.execute(
                select(col(HouseholdMember.member_id))
                .where(
                    col(HouseholdMember.household_id) == household_id,
                    col(HouseholdMember.accepted_at).is_not(None),
                )
                .order_by(col(HouseholdMember.joined_at))
            )
        ).scalars()
    )
    for member_id in candidates:
        if counts(await session.get(Member, member_id)):
            return member_id
    return None
