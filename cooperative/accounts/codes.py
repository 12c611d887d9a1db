"""One-time codes: issued to an address for a purpose, kept hashed, spent once.

A code is six digits from `secrets`, kept only as a keyed hash bound to its row; it works for a
short while (`CodePolicy.ttl`), once, and dies after `max_attempts` wrong tries. Of an
account's codes for one purpose only the latest counts: asking again replaces the code. Who
sends it (the outbox) is the caller's business; nothing here logs a code."""

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import rules
from cooperative.accounts.errors import CodeExpired, CodeUsed, WrongCode
from cooperative.accounts.models import Account, OneTimeCode
from cooperative.kernel import clock


class Purpose(StrEnum):
    VERIFY = "verify"  # a new account's contact
    RECOVER = "recover"  # a forgotten password
    CONTACT = "contact"  # a new phone or email for a signed-in member


@dataclass(frozen=True, slots=True)
class CodePolicy:
    key: bytes
    ttl: timedelta
    max_attempts: int


async def issue(
    session: AsyncSession,
    account_id: uuid.UUID,
    purpose: Purpose,
    address: str,
    policy: CodePolicy,
) -> tuple[OneTimeCode, str]:
    """A new code for `address`; the row (flushed by the caller) and the code in clear, which
    the caller puts in the message and nowhere else."""
    code = rules.new_code()
    now = clock.now()
    row = OneTimeCode(
        account_id=account_id,
        purpose=purpose.value,
        address=address,
        code_hash="",
        created_at=now,
        expires_at=now + policy.ttl,
    )
    row.code_hash = rules.hash_code(str(row.id), code, policy.key)
    session.add(row)
    return row, code


async def latest(
    session: AsyncSession, account_id: uuid.UUID, purpose: Purpose
) -> OneTimeCode | None:
    """The account's latest code for `purpose`, locked (two tries at once count twice)."""
    found = await session.execute(
        select(OneTimeCode)
        .where(col(OneTimeCode.account_id) == account_id, col(OneTimeCode.purpose) == purpose)
        .order_by(col(OneTimeCode.created_at).desc(), col(OneTimeCode.id))
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found.scalar_one_or_none()


async def spend(
    session: AsyncSession,
    account: Account | None,
    purpose: Purpose,
    code: str,
    policy: CodePolicy,
) -> OneTimeCode:
    """Spend the account's latest code for `purpose` if `code` is it. WrongCode for a wrong
    code, always, and alike for no account or no code, so the answer tells nobody who is
    registered (a wrong try is counted); only the right code learns more: CodeExpired once it
    expired or was tried wrongly `max_attempts` times, CodeUsed a second time. (A dead code
    that answered CodeExpired to any guess would tell that an account was waiting for it.)"""
    row = await latest(session, account.id, purpose) if account and account.is_active else None
    if row is None:
        raise WrongCode()
    now = clock.now()
    dead = row.attempts >= policy.max_attempts
    right = hmac.compare_digest(row.code_hash, rules.hash_code(str(row.id), code, policy.key))
    if not right:
        if row.used_at is None and row.expires_at > now and not dead:
            row.attempts += 1
            await session.flush()
        raise WrongCode()
    if row.used_at is not None:
        raise CodeUsed()
    if row.expires_at <= now or dead:
        raise CodeExpired()
    row.used_at = now
    await session.flush()
    return row


def mark_verified(account: Account, address: str) -> bool:
    """The account's contact `address` proved to reach its owner; False when the address is
    no longer the account's (changed since the code was sent)."""
    now = clock.now()
    if account.email is not None and address == account.email:
        account.email_verified_at = now
    elif account.phone is not None and address == account.phone:
        account.phone_verified_at = now
    else:
        return False
    account.updated_at = now
    return True
