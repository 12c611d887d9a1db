"""The accounts' part of a person's ARCO rights: the account and its sign-in sessions."""

import asyncio
import secrets
import uuid
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import roles
from cooperative.accounts.errors import InvalidCredentials
from cooperative.accounts.models import Account, AuthSession, RefreshToken
from cooperative.kernel import clock
from cooperative.kernel.arco import ERASED_NAME, exported, rows
from cooperative.kernel.principal import Role


async def export_of(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    """The account (never its password hash) and its sign-in sessions."""
    account = await session.get(Account, account_id)
    assert account is not None
    sessions = select(AuthSession).where(col(AuthSession.account_id) == account_id)
    return {
        "account": exported(account, exclude=frozenset({"password_hash"})),
        "sign_in_sessions": [exported(s) for s in await rows(session, sessions)],
    }


async def erase_of(
    session: AsyncSession, account_id: uuid.UUID, *, password: str, hasher: PasswordHash
) -> list[str]:
    """Check the password, then erase the name and contacts, close the account and sign it out
    everywhere; what was erased."""
    account = await session.get(Account, account_id)
    assert account is not None
    if not await asyncio.to_thread(hasher.verify, password, account.password_hash):
        raise InvalidCredentials()
    for held in list(account.roles):  # recorded like any change; the last admin stays one
        if held not in (Role.PATIENT.value, Role.CLINIC_STAFF.value):  # staff: by the clinics
            await roles.revoke(
                session, account.id, Role(held), reason="the account was erased", by=account.id
            )
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
    return ["name, email and phone number", "password", "sign-in sessions"]
