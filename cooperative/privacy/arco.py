"""ARCO rights: a member's export of everything held about them, and erasure of what may go.
Each domain gives its own part (its `arco` module); this one puts them together.

Erasure de-identifies rather than deletes what the cooperative must keep (invoices, payments,
share capital, governance records): they stay, linked to an account that no longer names anyone.
"""

import uuid
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import arco as accounts_arco
from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.dues import arco as dues_arco
from cooperative.governance import arco as governance_arco
from cooperative.kernel.principal import Principal
from cooperative.membership import arco as membership_arco
from cooperative.notifications import arco as notifications_arco
from cooperative.surplus import arco as surplus_arco

# The export's sections, in the order it shows them.
SECTIONS = (
    "account",
    "sign_in_sessions",
    "membership",
    "share_subscription",
    "household_invitations",
    "households",
    "dependents",
    "income_attestations",
    "invoices",
    "payments",
    "access_log",
    "notifications",
    "notification_preferences",
    "governance",
    "patronage",
    "allocations",
)

KEPT = [
    "invoices, payments and share capital (accounting law), now linked to an anonymous account",
    "patronage, allocations of surplus and your capital account (accounting law)",
    "the record that a membership existed and its dates (cooperative register)",
    "the access log of reads of your data (accountability)",
    "that you were on a vote's roll and took part (turnout must stay exact; what you voted "
    "was never linked to you)",
]


async def export(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    """Everything Tequio holds about this account, as plain JSON (never a secret or a hash)."""
    account = await accounts_service.get(session, account_id)
    assert account is not None
    held = await membership_arco.export_of(session, account_id)
    # the export shows the household's income and dependents: the others covered by it see
    # in their access log that this member read them
    await audit.record_access(
        session,
        held.co_members,
        Principal(account_id=account_id, roles=frozenset(account.roles), scopes=frozenset()),
        resource="export",
    )
    parts = {
        **await accounts_arco.export_of(session, account_id),
        **held.parts,
        **await dues_arco.export_of(
            session, account_id, member_id=held.member_id, household_ids=held.household_ids
        ),
        "access_log": await audit.export_of(session, account_id),
        "notifications": await notifications_arco.export_of(session, account_id),
        "notification_preferences": await notifications_arco.preferences_of(session, account_id),
        "governance": await governance_arco.export_of(session, account_id, held.member_id),
        **await surplus_arco.export_of(session, held.member_id),
    }
    return {section: parts[section] for section in SECTIONS}


async def erase(
    session: AsyncSession, account_id: uuid.UUID, *, password: str, hasher: PasswordHash
) -> dict[str, list[str]]:
    """Erase what the law lets us erase; de-identify what must be kept. Needs the password."""
    erased = await accounts_arco.erase_of(session, account_id, password=password, hasher=hasher)
    erased += await membership_arco.erase_of(session, account_id)
    erased += await governance_arco.erase_of(session, account_id)
    erased += await notifications_arco.erase_of(session, account_id)
    await session.flush()
    return {"erased": erased, "kept": list(KEPT)}
