"""One-time codes on their way: a code issued (`cooperative.accounts.codes`) and its message
queued in the same transaction, to the very address it proves; and the notice to an account's
owner that someone tried to sign up with their contact."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import codes
from cooperative.accounts import rules as account_rules
from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock
from cooperative.notifications import service, templates
from cooperative.notifications.rules import Channel

_TEMPLATES = {
    codes.Purpose.VERIFY: templates.CODE_VERIFY.key,
    codes.Purpose.RECOVER: templates.CODE_RECOVER.key,
    codes.Purpose.CONTACT: templates.CODE_CONTACT.key,
}


def about(account_id: uuid.UUID, purpose: codes.Purpose) -> str:
    """What an account's code messages for one purpose are about."""
    return f"code:{purpose.value}:{account_id}"


async def _forget(session: AsyncSession, subject: str) -> None:
    """The codes of these messages masked in their rows: a code used or replaced is kept
    nowhere in clear (sent ones were masked when they went out)."""
    for message in await service.about(session, subject):
        forget = templates.without_secrets(message.template, message.parameters)
        if forget is not None:
            message.parameters = forget


async def spent(session: AsyncSession, account_id: uuid.UUID, purpose: codes.Purpose) -> None:
    """A code was used: any of its messages not sent yet has nothing left to say."""
    await service.cancel_about(session, about(account_id, purpose), reason="the code was used")
    await _forget(session, about(account_id, purpose))


def channel_of(address: str) -> Channel:
    return Channel.EMAIL if account_rules.looks_like_email(address) else Channel.SMS


async def send_code(
    session: AsyncSession,
    account: accounts_service.Account,
    purpose: codes.Purpose,
    address: str,
    policy: codes.CodePolicy,
) -> None:
    """A fresh code for `purpose` to `address` (the account's latest for that purpose: the
    previous one stops working, and its message is cancelled if not sent yet), its message due
    now and dead when the code expires."""
    await service.cancel_about(
        session, about(account.id, purpose), reason="a newer code replaced it"
    )
    await _forget(session, about(account.id, purpose))
    row, code = await codes.issue(session, account.id, purpose, address, policy)
    await service.enqueue(
        session,
        recipient=account.id,
        template=_TEMPLATES[purpose],
        parameters={"code": code, "minutes": int(policy.ttl.total_seconds() // 60)},
        idempotency_key=f"code:{row.id}",
        fresh=True,
        not_before=row.created_at,
        expires_at=row.expires_at,
        about=about(account.id, purpose),
        channel=channel_of(address),
        address=address,
        urgent=True,
    )
    await session.flush()


async def tell_sign_up_tried(
    session: AsyncSession, account: accounts_service.Account, contact: str
) -> None:
    """Tell the owner, at the contact someone tried to sign up with, that it happened."""
    kind = "email" if account_rules.looks_like_email(contact) else "phone"
    await service.enqueue(
        session,
        recipient=account.id,
        template=templates.SIGN_UP_TRIED.key,
        parameters={"contact": kind},
        idempotency_key=f"sign-up-tried:{uuid.uuid4()}",
        fresh=True,
        not_before=clock.now(),
        channel=channel_of(contact),
        address=contact,
    )
    await session.flush()
