"""Member-owners: applying, decisions, standing. Households live in households.py."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.audit import service as audit
from cooperative.bylaws.service import InForce
from cooperative.dues import service as dues_service
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.pagination import Page, page_async, paginate
from cooperative.kernel.principal import Principal, Role
from cooperative.membership import rules
from cooperative.membership.errors import (
    AlreadyMember,
    CurpNeedsReview,
    InvalidTransition,
    NoCurpToReview,
    ReasonRequired,
    TooManyInstalments,
    UnknownMemberClass,
)
from cooperative.membership.models import Dependent, Household, HouseholdMember
from cooperative.membership.models import Member as Member  # the public result of this service
from cooperative.membership.rules import MemberStatus
from cooperative.membership.schemas import CurpReview, MemberApply, MemberPublic


async def member_of(session: AsyncSession, account_id: uuid.UUID) -> Member | None:
    return (
        await session.execute(select(Member).where(col(Member.account_id) == account_id))
    ).scalar_one_or_none()


async def household_of(session: AsyncSession, member_id: uuid.UUID) -> uuid.UUID | None:
    """The household covering the member (an invitation not yet accepted covers nothing)."""
    return (
        await session.execute(
            select(col(HouseholdMember.household_id)).where(
                col(HouseholdMember.member_id) == member_id,
                col(HouseholdMember.accepted_at).is_not(None),
            )
        )
    ).scalar_one_or_none()


_WITH_HOUSEHOLD = (
    select(Member, Household)
    .outerjoin(
        HouseholdMember,
        and_(
            col(HouseholdMember.member_id) == col(Member.id),
            col(HouseholdMember.accepted_at).is_not(None),
        ),
    )
    .outerjoin(Household, col(Household.id) == col(HouseholdMember.household_id))
    .where(col(Member.account_id) == bindparam("account_id"))
)


async def member_with_household(
    session: AsyncSession, account_id: uuid.UUID
) -> tuple[Member, Household | None] | None:
    """The account's membership and the household covering it (None: no accepted household),
    in one query; None when the account never applied."""
    row = (await session.execute(_WITH_HOUSEHOLD, {"account_id": account_id})).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def standing(
    session: AsyncSession,
    member: Member,
    household_id: uuid.UUID | None,
    law: InForce,
    *,
    today: date,
) -> MemberStatus:
    """The member's status today: an active member lapses while a share instalment or their
    household's dues are unpaid past the bylaws' grace."""
    debts = await dues_service.debts(session, member_id=member.id, household_id=household_id)
    return rules.effective_status(
        MemberStatus(member.status), debts, today=today, grace_days=law.bylaws.dues.grace_days
    )


async def household_of_dependent(
    session: AsyncSession, dependent_id: uuid.UUID
) -> uuid.UUID | None:
    """The household covering a dependent, if there is such a dependent."""
    dependent = await session.get(Dependent, dependent_id)
    return dependent.household_id if dependent is not None else None


async def dependent_name(session: AsyncSession, dependent_id: uuid.UUID) -> str | None:
    """A dependent's full name, for those who see a consult booked for them."""
    dependent = await session.get(Dependent, dependent_id)
    return dependent.full_name if dependent is not None else None


async def members_by_id(
    session: AsyncSession, member_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Member]:
    """The members with these ids (those that exist), by id."""
    if not member_ids:
        return {}
    found = await session.execute(select(Member).where(col(Member.id).in_(list(member_ids))))
    return {member.id: member for member in found.scalars()}


async def member_classes(
    session: AsyncSession, *, statuses: Collection[str], classes: Collection[str]
) -> dict[uuid.UUID, str]:
    """The class of every member in one of `statuses` and one of `classes`, by member id."""
    rows = await session.execute(
        select(col(Member.id), col(Member.member_class)).where(
            col(Member.status).in_(sorted(statuses)),
            col(Member.member_class).in_(sorted(classes)),
        )
    )
    return {member_id: member_class for member_id, member_class in rows}


@dataclass(frozen=True, slots=True)
class Standing:
    """A member in good standing on a day, with their class: a voter on a roll."""

    member_id: uuid.UUID
    account_id: uuid.UUID
    member_class: str


def end_of(day: date, timezone: str) -> datetime:
    """The first instant after `day` in the cooperative's time zone."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(timezone))


async def in_good_standing_on(
    session: AsyncSession,
    *,
    day: date,
    timezone: str,
    grace_days: int,
    classes: Collection[str] | None = None,
) -> list[Standing]:
    """Active members admitted by the end of `day` with nothing (of theirs or their household's)
    unpaid more than `grace_days` past due on that day: the good standing booking uses, read on
    one day for everyone at once. Only `classes` when given."""
    statement = select(Member).where(
        col(Member.status) == MemberStatus.ACTIVE,
        col(Member.decided_at).is_not(None),
        col(Member.decided_at) < end_of(day, timezone),
    )
    if classes is not None:
        statement = statement.where(col(Member.member_class).in_(sorted(classes)))
    members = list((await session.execute(statement)).scalars())
    overdue = await dues_service.overdue_before(session, day - timedelta(days=grace_days))
    households = dict(
        (
            await session.execute(
                select(col(HouseholdMember.member_id), col(HouseholdMember.household_id)).where(
                    col(HouseholdMember.accepted_at).is_not(None)
                )
            )
        ).all()
    )
    return [
        Standing(m.id, m.account_id, m.member_class)
        for m in members
        if m.id not in overdue.members and households.get(m.id) not in overdue.households
    ]


def _share_currency(law: InForce, member_class: str, preferred: str) -> str:
    prices = law.bylaws.member_classes[member_class].share_price
    return preferred if preferred in prices else sorted(prices)[0]


async def apply(
    session: AsyncSession, principal: Principal, data: MemberApply, law: InForce, *, today: date
) -> MemberPublic:
    """Apply for membership of a class and subscribe its share (paid at once or in instalments).

    A CURP another membership already holds is accepted like any other, and kept apart for an
    admin to decide who holds it; the applicant's answer is the same either way."""
    member_class = law.bylaws.member_classes.get(data.member_class)
    if member_class is None:
        raise UnknownMemberClass(
            member_class=data.member_class, known=", ".join(sorted(law.bylaws.member_classes))
        )
    if data.member_class == "doctor" and not principal.has_role(Role.DOCTOR):
        raise Forbidden(
            reason=Text(
                "doctor-owners are practising doctors of the cooperative",
                "los socios médicos son médicos en ejercicio de la cooperativa",
            )
        )
    if data.share_instalments > member_class.max_share_instalments:
        raise TooManyInstalments(max=member_class.max_share_instalments)
    existing = await member_of(session, principal.account_id)
    if existing is not None:
        raise AlreadyMember(status=existing.status)
    on_file = data.curp is not None and await _curp_holder(session, data.curp) is not None
    member = await _add_member(session, principal, data, law, curp_on_file=on_file)
    if member is None:  # a concurrent application took the CURP first: this one waits
        member = await _add_member(session, principal, data, law, curp_on_file=True)
    if member is None:
        raise AlreadyMember(status="applicant")
    share_currency = _share_currency(law, data.member_class, data.share_currency)
    await dues_service.subscribe_share(
        session,
        member_id=member.id,
        amount_minor=member_class.share_price[share_currency],  # type: ignore[index]
        currency=share_currency,
        instalments=data.share_instalments,
        bylaws_version=law.number,
    )
    return await view(session, member, law, today=today)


async def _curp_holder(session: AsyncSession, curp: str, *, lock: bool = False) -> Member | None:
    statement = select(Member).where(col(Member.curp) == curp)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def _add_member(
    session: AsyncSession,
    principal: Principal,
    data: MemberApply,
    law: InForce,
    *,
    curp_on_file: bool,
) -> Member | None:
    """The new application, or None when the database refused it: a concurrent application
    by the same account (AlreadyMember) or with the same CURP (try again, kept apart)."""
    member = Member(
        account_id=principal.account_id,
        member_class=data.member_class,
        status=MemberStatus.APPLICANT,
        full_name=data.full_name,
        curp=None if curp_on_file else data.curp,
        curp_pending=data.curp if curp_on_file else None,
        matricula_consular=data.matricula_consular,
        bylaws_version=law.number,
    )
    try:
        async with session.begin_nested():
            session.add(member)
    except IntegrityError as exc:
        existing = await member_of(session, principal.account_id)
        if existing is not None:
            raise AlreadyMember(status=existing.status) from exc
        return None
    return member


async def view(
    session: AsyncSession, member: Member, law: InForce, *, today: date, for_admin: bool = False
) -> MemberPublic:
    """The membership as its member sees it; `for_admin` adds what only admins may see."""
    household_id = await household_of(session, member.id)
    status = await standing(session, member, household_id, law, today=today)
    review = None
    if for_admin and member.curp_pending is not None:
        holder = await _curp_holder(session, member.curp_pending)
        review = holder.id if holder is not None else None
    return MemberPublic(
        id=member.id,
        account_id=member.account_id,
        member_class=member.member_class,
        status=status.value,
        in_good_standing=status == MemberStatus.ACTIVE,
        full_name=member.full_name,
        curp=member.curp or member.curp_pending,
        matricula_consular=member.matricula_consular,
        household_id=household_id,
        bylaws_version=member.bylaws_version,
        applied_at=member.applied_at,
        decided_at=member.decided_at,
        status_reason=member.status_reason,
        needs_review="curp-on-file" if for_admin and member.curp_pending else None,
        curp_on_file_with=review,
    )


async def visible_member(
    session: AsyncSession, principal: Principal, member_id: uuid.UUID, *, lock: bool = False
) -> Member:
    """The member, if the caller is that member or an admin (logged); 404 for anyone else.
    `lock` holds the row until the transaction ends, for decisions that must not interleave."""
    member = await session.get(Member, member_id, with_for_update=lock)
    if member is None or (member.account_id != principal.account_id and not principal.is_admin):
        raise NotFound()
    await audit.record_access(
        session, [member.account_id], principal, resource=f"member:{member.id}"
    )
    return member


async def list_members(
    session: AsyncSession,
    principal: Principal,
    law: InForce,
    *,
    status: str | None,
    member_class: str | None,
    cursor: str | None,
    limit: int | None,
    today: date,
    needs_review: bool | None = None,
) -> Page[MemberPublic]:
    """Admins see the roll (and may list the applications waiting for a CURP review); anyone
    else sees only their own membership, and `needs_review` changes nothing for them."""
    statement = select(Member)
    if not principal.is_admin:
        statement = statement.where(col(Member.account_id) == principal.account_id)
    elif needs_review is not None:
        pending = col(Member.curp_pending)
        statement = statement.where(pending.is_not(None) if needs_review else pending.is_(None))
    derived = status in (MemberStatus.ACTIVE, MemberStatus.LAPSED)
    if status is not None:
        # "lapsed" is derived from what is overdue, never stored: read the recorded-active
        # members and keep those whose effective status matches (a page may then hold fewer).
        statement = statement.where(
            col(Member.status) == (MemberStatus.ACTIVE if derived else status)
        )
    if member_class is not None:
        statement = statement.where(col(Member.member_class) == member_class)
    members, next_cursor = await paginate(
        session,
        statement,
        time_column=col(Member.created_at),
        id_column=col(Member.id),
        cursor=cursor,
        limit=limit,
    )
    await audit.record_access(
        session, [m.account_id for m in members], principal, resource="members:list"
    )
    listed = await page_async(
        (members, next_cursor),
        lambda member: view(session, member, law, today=today, for_admin=principal.is_admin),
    )
    if derived:
        listed.items = [item for item in listed.items if item.status == status]
    return listed


# action -> (states it may start from, state it leads to, whether a reason is required)
_TRANSITIONS: dict[str, tuple[set[MemberStatus], MemberStatus, bool]] = {
    "approve": ({MemberStatus.APPLICANT}, MemberStatus.ACTIVE, False),
    "reject": ({MemberStatus.APPLICANT}, MemberStatus.REJECTED, True),
    "suspend": ({MemberStatus.ACTIVE}, MemberStatus.SUSPENDED, True),
    "reinstate": ({MemberStatus.SUSPENDED}, MemberStatus.ACTIVE, False),
    "withdraw": (
        {MemberStatus.APPLICANT, MemberStatus.ACTIVE, MemberStatus.SUSPENDED},
        MemberStatus.WITHDRAWN,
        False,
    ),
}


async def decide(
    session: AsyncSession,
    principal: Principal,
    member_id: uuid.UUID,
    action: str,
    *,
    reason: str | None,
    law: InForce,
    today: date,
) -> MemberPublic:
    """Change a membership's state. Admins decide; a member may only withdraw themselves."""
    member = await visible_member(session, principal, member_id, lock=True)
    if not principal.is_admin and action != "withdraw":
        raise Forbidden(
            reason=Text(
                "only an admin decides on memberships",
                "solo un administrador decide sobre las membresías",
            )
        )
    allowed_from, to, needs_reason = _TRANSITIONS[action]
    if MemberStatus(member.status) not in allowed_from:
        raise InvalidTransition(status=member.status, action=action)
    if needs_reason and not (reason and reason.strip()):
        raise ReasonRequired()
    if action == "approve" and member.curp_pending is not None:
        raise CurpNeedsReview(member_id=str(member.id))
    member.status = to
    member.status_reason = reason
    member.status_changed_at = clock.now()
    if action in ("approve", "reject"):
        member.decided_at = member.status_changed_at
        member.decided_by = principal.account_id
    if action == "approve":
        subscription = await dues_service.share_subscription(session, member.id)
        assert subscription is not None, "every application subscribes a share"
        await dues_service.issue_share_instalments(
            session,
            subscription,
            first_due=today + _first_due(law),
            period_months=law.bylaws.dues.period_months,
        )
    await session.flush()
    return await view(session, member, law, today=today, for_admin=principal.is_admin)


async def review_curp(
    session: AsyncSession,
    principal: Principal,
    member_id: uuid.UUID,
    data: CurpReview,
    *,
    law: InForce,
    today: date,
) -> MemberPublic:
    """An admin decides who holds a CURP an application gave while another membership held it.

    `holder`: the CURP moves to this membership and off the other (one CURP, one membership,
    so never two active members with it). `not-holder`: it is dropped from this application.
    Either way who decided and when is kept on the memberships changed."""
    if not principal.is_admin:
        raise NotFound()
    member = await visible_member(session, principal, member_id, lock=True)
    curp = member.curp_pending
    if curp is None:
        raise NoCurpToReview()
    now = clock.now()
    if data.decision == "holder":
        holder = await _curp_holder(session, curp, lock=True)
        if holder is not None:
            await audit.record_access(
                session, [holder.account_id], principal, resource=f"member:{holder.id}"
            )
            holder.curp = None
            holder.curp_reviewed_at, holder.curp_reviewed_by = now, principal.account_id
            await session.flush()  # free the CURP before this membership takes it
        member.curp = curp
    member.curp_pending = None
    member.curp_reviewed_at, member.curp_reviewed_by = now, principal.account_id
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent review gave the CURP to another membership
        raise CurpNeedsReview(member_id=str(member.id)) from exc
    return await view(session, member, law, today=today, for_admin=True)


def _first_due(law: InForce) -> timedelta:
    return timedelta(days=law.bylaws.dues.due_days)


async def in_good_standing(
    session: AsyncSession, account_id: uuid.UUID, law: InForce, *, today: date
) -> bool:
    """The predicate booking and voting use: an active member with nothing overdue past grace."""
    member = await member_of(session, account_id)
    if member is None:
        return False
    return (await view(session, member, law, today=today)).in_good_standing
