"""ARCO rights: a member's export of everything held about them, and erasure of what may go.

Erasure de-identifies rather than deletes what the cooperative must keep (invoices, payments,
share capital, governance records): they stay, linked to an account that no longer names anyone.
"""

import asyncio
import secrets
import uuid
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import roles
from cooperative.accounts.errors import InvalidCredentials
from cooperative.accounts.models import Account, AuthSession, RefreshToken
from cooperative.dues.models import Invoice, Payment, ShareSubscription
from cooperative.governance.models import (
    Proposal,
    ProposalComment,
    ProposalCosigner,
    ProposalVoter,
)
from cooperative.kernel import clock
from cooperative.kernel.principal import Principal, Role
from cooperative.membership.models import (
    Dependent,
    Household,
    HouseholdInvitation,
    HouseholdMember,
    IncomeAttestation,
    Member,
)
from cooperative.membership.rules import MemberStatus
from cooperative.privacy import audit
from cooperative.privacy.models import AccessLogEntry
from cooperative.surplus.models import AllocationLine, PatronageRecord

ERASED_NAME = "[erased]"


def _row(model: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        key: value for key, value in model.model_dump(mode="json").items() if key not in exclude
    }


async def _all(session: AsyncSession, statement: Any) -> list[Any]:
    return list((await session.execute(statement)).scalars())


async def _of_member(
    session: AsyncSession, member_id: uuid.UUID | None, statement: Any, column: Any
) -> list[Any]:
    """The rows of `statement` that are this member's; none for an account with no membership
    (never `member_id IS NULL`, which would be everyone else's unowned rows)."""
    if member_id is None:
        return []
    return await _all(session, statement.where(col(column) == member_id))


def _membership(member: Member) -> dict[str, Any]:
    """The membership with the CURP as given: whether another membership also gives it is for
    admins to settle, not something applying may reveal."""
    row = _row(member, exclude=frozenset({"curp_pending"}))
    row["curp"] = member.curp or member.curp_pending
    return row


async def export(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    """Everything Tequio holds about this account, as plain JSON (never a secret or a hash)."""
    account = await session.get(Account, account_id)
    assert account is not None
    member = (
        await session.execute(select(Member).where(col(Member.account_id) == account_id))
    ).scalar_one_or_none()
    household_ids: list[uuid.UUID] = []
    if member is not None:
        household_ids = await _all(
            session,
            select(col(HouseholdMember.household_id)).where(
                col(HouseholdMember.member_id) == member.id
            ),
        )
        household_ids += await _all(
            session, select(col(Household.id)).where(col(Household.sponsor_member_id) == member.id)
        )
    member_id = member.id if member else None
    co_members = await _all(
        session,
        select(col(Member.account_id))
        .join(HouseholdMember, col(HouseholdMember.member_id) == col(Member.id))
        .where(col(HouseholdMember.household_id).in_(household_ids)),
    )
    # the export shows the household's income and dependents: the others covered by it see
    # in their access log that this member read them
    await audit.record_access(
        session,
        co_members,
        Principal(account_id=account_id, roles=frozenset(account.roles), scopes=frozenset()),
        resource="export",
    )
    return {
        "account": _row(account, exclude=frozenset({"password_hash"})),
        "sign_in_sessions": [
            _row(s)
            for s in await _all(
                session, select(AuthSession).where(col(AuthSession.account_id) == account_id)
            )
        ],
        "membership": _membership(member) if member else None,
        "share_subscription": [
            _row(s)
            for s in await _of_member(
                session, member_id, select(ShareSubscription), ShareSubscription.member_id
            )
        ],
        "household_invitations": [
            _row(i)
            for i in await _of_member(
                session, member_id, select(HouseholdInvitation), HouseholdInvitation.member_id
            )
        ],
        "households": [
            _row(h)
            for h in await _all(
                session, select(Household).where(col(Household.id).in_(household_ids))
            )
        ],
        "dependents": [
            _row(d)
            for d in await _all(
                session, select(Dependent).where(col(Dependent.household_id).in_(household_ids))
            )
        ],
        "income_attestations": [
            _row(a)
            for a in await _all(
                session,
                select(IncomeAttestation).where(
                    col(IncomeAttestation.household_id).in_(household_ids)
                ),
            )
        ],
        "invoices": [
            _row(i)
            for i in await _all(
                session,
                select(Invoice).where(
                    or_(
                        col(Invoice.member_id).in_([member_id] if member_id else []),
                        col(Invoice.household_id).in_(household_ids),
                    )
                ),
            )
        ],
        "payments": [
            _row(p, exclude=frozenset({"request_digest"}))
            for p in await _all(
                session, select(Payment).where(col(Payment.payer_account_id) == account_id)
            )
        ],
        "access_log": [
            _row(e)
            for e in await _all(
                session,
                select(AccessLogEntry).where(col(AccessLogEntry.subject_account_id) == account_id),
            )
        ],
        "governance": await _governance(session, account_id, member_id),
        "patronage": [
            _row(r)
            for r in await _of_member(
                session, member_id, select(PatronageRecord), PatronageRecord.member_id
            )
        ],
        "allocations": [
            _row(a)
            for a in await _of_member(
                session, member_id, select(AllocationLine), AllocationLine.member_id
            )
        ],
    }


async def _governance(
    session: AsyncSession, account_id: uuid.UUID, member_id: uuid.UUID | None
) -> dict[str, Any]:
    """What you proposed, co-signed and wrote, and the votes you took part in. Never what you
    voted: nothing links a ballot to its voter, so nobody, you included, can look it up."""
    return {
        "proposed": [
            str(p)
            for p in await _all(
                session, select(col(Proposal.id)).where(col(Proposal.proposed_by) == account_id)
            )
        ],
        "cosigned": [
            _row(c)
            for c in await _of_member(
                session, member_id, select(ProposalCosigner), ProposalCosigner.member_id
            )
        ],
        "comments": [
            _row(c)
            for c in await _all(
                session,
                select(ProposalComment).where(col(ProposalComment.account_id) == account_id),
            )
        ],
        "rolls": [
            _row(v)
            for v in await _all(
                session,
                select(ProposalVoter).where(col(ProposalVoter.account_id) == account_id),
            )
        ],
    }


async def erase(
    session: AsyncSession, account_id: uuid.UUID, *, password: str, hasher: PasswordHash
) -> dict[str, list[str]]:
    """Erase what the law lets us erase; de-identify what must be kept. Needs the password."""
    account = await session.get(Account, account_id)
    assert account is not None
    if not await asyncio.to_thread(hasher.verify, password, account.password_hash):
        raise InvalidCredentials()
    for held in list(account.roles):  # recorded like any change; the last admin stays one
        if held not in (Role.PATIENT.value, Role.CLINIC_STAFF.value):  # staff: by the clinics
            await roles.revoke(
                session, account.id, Role(held), reason="the account was erased", by=account.id
            )
    erased = ["name, email and phone number", "password", "sign-in sessions"]
    account.email = f"erased-{account.id.hex}@erased.invalid"
    account.phone = None
    account.display_name = ERASED_NAME
    account.password_hash = hasher.hash(secrets.token_urlsafe(32))
    account.is_active = False
    account.roles = []
    account.updated_at = clock.now()
    sessions = select(col(AuthSession.id)).where(col(AuthSession.account_id) == account_id)
    await session.execute(delete(RefreshToken).where(col(RefreshToken.session_id).in_(sessions)))
    await session.execute(
        update(AuthSession)
        .where(col(AuthSession.account_id) == account_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now(), revoked_reason="erased")
    )
    member = (
        await session.execute(select(Member).where(col(Member.account_id) == account_id))
    ).scalar_one_or_none()
    if member is not None:
        erased += await _erase_member(session, member)
    comments = await session.execute(
        update(ProposalComment)
        .where(col(ProposalComment.account_id) == account_id)
        .values(author=ERASED_NAME, body="(erased)")
    )
    if comments.rowcount:  # type: ignore[attr-defined]
        erased.append("your comments on proposals")
    await session.flush()
    kept = [
        "invoices, payments and share capital (accounting law), now linked to an anonymous account",
        "patronage, allocations of surplus and your capital account (accounting law)",
        "the record that a membership existed and its dates (cooperative register)",
        "the access log of reads of your data (accountability)",
        "that you were on a vote's roll and took part (turnout must stay exact; what you voted "
        "was never linked to you)",
    ]
    return {"erased": erased, "kept": kept}


async def _erase_member(session: AsyncSession, member: Member) -> list[str]:
    erased = ["full name, CURP and consular ID"]
    member.full_name = ERASED_NAME
    member.curp = None
    member.curp_pending = None
    member.matricula_consular = None
    if member.status in (MemberStatus.APPLICANT, MemberStatus.ACTIVE, MemberStatus.SUSPENDED):
        member.status = MemberStatus.WITHDRAWN
        member.status_changed_at = clock.now()
    member.status_reason = "erased at the member's request"
    covered = await _all(
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
        others = await _all(
            session,
            select(col(HouseholdMember.member_id)).where(
                col(HouseholdMember.household_id) == household_id
            ),
        )
        if not others:  # nobody else lives there: the family's personal data goes too
            await session.execute(
                delete(Dependent).where(col(Dependent.household_id) == household_id)
            )
            await session.execute(
                delete(IncomeAttestation).where(col(IncomeAttestation.household_id) == household_id)
            )
            erased.append("your household's dependents and income declarations")
    return erased
