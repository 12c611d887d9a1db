"""A member's notification preferences: which channels they opted in to (with when), in what
order, in which language, their quiet hours, and whether their household's sponsor may receive
their consult reminders. `enqueue` reads them (once per transaction and account) to choose a
message's channel, language and time.

Without a row, the defaults: email when the account has one, else SMS; no WhatsApp (it needs
a recorded opt-in); the account's language; no quiet hours; no sponsor reminders."""

import uuid
from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from cooperative.accounts.service import Account
from cooperative.kernel import clock
from cooperative.notifications.errors import EmptyQuietHours, NoAddressForChannel, RepeatedChannel
from cooperative.notifications.models import NotificationPreference, OutboxMessage
from cooperative.notifications.rules import (
    CHOSEN,
    WAITING,
    Channel,
    QuietHours,
    State,
    outside_quiet_hours,
)
from cooperative.notifications.schemas import (
    OptIn,
    PreferencesPublic,
    PreferencesUpdate,
    QuietHoursPublic,
)
from cooperative.notifications.templates import CONSULT_REMINDER_SPONSOR

LANGUAGES = ("es", "en")
_MEMO = "notification_preferences"  # session.info: account id → its row (or None), read once


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """What was read holds for one transaction: a session used for another reads again."""
    session.info.pop(_MEMO, None)


async def of(session: AsyncSession, account_id: uuid.UUID) -> NotificationPreference | None:
    """The account's preferences (None: the defaults), read once per transaction: a booking
    that queues several reminders reads them in one statement."""
    memo: dict[uuid.UUID, NotificationPreference | None] = session.info.setdefault(_MEMO, {})
    if account_id not in memo:
        memo[account_id] = (
            await session.execute(
                select(NotificationPreference).where(
                    col(NotificationPreference.account_id) == account_id
                )
            )
        ).scalar_one_or_none()
    return memo[account_id]


_OF_ACCOUNTS = select(NotificationPreference).where(  # built once, as every hot statement
    col(NotificationPreference.account_id).in_(bindparam("ids", expanding=True))
)


async def read(session: AsyncSession, account_ids: Collection[uuid.UUID]) -> None:
    """Read the preferences of several accounts in one statement, for the `enqueue`s that
    follow (a booking tells the doctor and reminds the patient)."""
    memo: dict[uuid.UUID, NotificationPreference | None] = session.info.setdefault(_MEMO, {})
    missing = {account_id for account_id in account_ids if account_id not in memo}
    if not missing:
        return
    found = await session.execute(_OF_ACCOUNTS, {"ids": list(missing)})
    memo.update(dict.fromkeys(missing))
    memo.update({prefs.account_id: prefs for prefs in found.scalars()})


def has_address(account: Account, channel: str) -> bool:
    return bool(account.email) if channel == Channel.EMAIL else bool(account.phone)


def _opted_in(prefs: NotificationPreference, channel: str) -> bool:
    return bool(getattr(prefs, f"{channel}_opted_in"))


def channel_for(account: Account, prefs: NotificationPreference | None) -> Channel:
    """The first opted-in channel, in the member's order, that has an address on the account;
    else email if the account has one and the member did not opt out of it, else SMS (likewise),
    else the plain default (email if there is one, else SMS: a consult reminder still goes)."""
    if prefs is not None:
        for name in prefs.channel_order:
            if _opted_in(prefs, name) and has_address(account, name):
                return Channel(name)
        for channel in (Channel.EMAIL, Channel.SMS):
            if has_address(account, channel) and getattr(prefs, f"{channel}_opted_out_at") is None:
                return channel
    return Channel.EMAIL if account.email else Channel.SMS


def language_for(account: Account, prefs: NotificationPreference | None) -> str:
    chosen = (prefs.language if prefs else None) or account.preferred_language
    return chosen if chosen in LANGUAGES else "es"


def zone_of(account: Account) -> ZoneInfo:
    """The member's zone: their account's, else the cooperative's."""
    try:
        return ZoneInfo(account.timezone) if account.timezone else clock.zone()
    except (ZoneInfoNotFoundError, ValueError):
        return clock.zone()


def quiet_hours_of(account: Account, prefs: NotificationPreference | None) -> QuietHours | None:
    if prefs is None or prefs.quiet_start is None or prefs.quiet_end is None:
        return None
    return QuietHours(prefs.quiet_start, prefs.quiet_end, zone_of(account))


def public(account: Account, prefs: NotificationPreference | None) -> PreferencesPublic:
    def opt_in(channel: Channel) -> OptIn:
        if prefs is None:  # the default channel is used, not opted in to
            return OptIn(opted_in=False, opted_in_at=None, opted_out_at=None)
        return OptIn(
            opted_in=_opted_in(prefs, channel),
            opted_in_at=getattr(prefs, f"{channel}_opted_in_at"),
            opted_out_at=getattr(prefs, f"{channel}_opted_out_at"),
        )

    quiet = quiet_hours_of(account, prefs)
    return PreferencesPublic(
        channels=[c for c in prefs.channel_order if _opted_in(prefs, c)] if prefs else [],
        channel=channel_for(account, prefs),
        opt_ins={channel.value: opt_in(channel) for channel in CHOSEN},
        language=language_for(account, prefs),
        timezone=zone_of(account).key,
        quiet_hours=QuietHoursPublic(start=quiet.start, end=quiet.end) if quiet else None,
        sponsor_reminders=bool(prefs and prefs.sponsor_reminders),
        sponsor_consented_at=prefs.sponsor_consented_at if prefs else None,
        sponsor_withdrawn_at=prefs.sponsor_withdrawn_at if prefs else None,
    )


def _check(account: Account, data: PreferencesUpdate) -> None:
    seen: set[str] = set()
    for channel in data.channels:
        if channel in seen:
            raise RepeatedChannel(channel=channel)
        seen.add(channel)
        if not has_address(account, channel):
            address = "email" if channel == "email" else "phone"
            raise NoAddressForChannel(channel=channel, address=address)
    if data.quiet_hours is not None and data.quiet_hours.start == data.quiet_hours.end:
        raise EmptyQuietHours()


async def _locked(session: AsyncSession, account_id: uuid.UUID) -> NotificationPreference:
    """The member's row, created if missing and locked: two changes at once (two phones) are
    kept one after the other, and two first ones never collide on the key."""
    if await of(session, account_id) is None:
        try:
            async with session.begin_nested():
                session.add(NotificationPreference(account_id=account_id))
        except IntegrityError:
            pass  # the other change created it first
    found = await session.execute(
        select(NotificationPreference)
        .where(col(NotificationPreference.account_id) == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    prefs = found.scalar_one()
    session.info.setdefault(_MEMO, {})[account_id] = prefs
    return prefs


async def replace(
    session: AsyncSession, account: Account, data: PreferencesUpdate
) -> PreferencesPublic:
    """Keep the member's new preferences: an opt-in (or out, or the sponsor's consent) that
    changes is stamped with this instant; withdrawing the sponsor's consent cancels the
    sponsor's reminders not yet sent."""
    _check(account, data)
    now = clock.now()
    prefs = await _locked(session, account.id)
    for channel in CHOSEN:
        wanted = channel in data.channels
        if wanted != _opted_in(prefs, channel):
            setattr(prefs, f"{channel}_opted_in", wanted)
            setattr(prefs, f"{channel}_opted_{'in' if wanted else 'out'}_at", now)
    prefs.channel_order = list(data.channels)
    prefs.language = data.language
    quiet = data.quiet_hours
    prefs.quiet_start, prefs.quiet_end = (quiet.start, quiet.end) if quiet else (None, None)
    if data.sponsor_reminders and not prefs.sponsor_reminders:
        prefs.sponsor_reminders, prefs.sponsor_consented_at = True, now
    elif prefs.sponsor_reminders and not data.sponsor_reminders:
        prefs.sponsor_reminders, prefs.sponsor_withdrawn_at = False, now
        await cancel_sponsor_reminders(session, account.id, reason="consent withdrawn")
    prefs.updated_at = now
    await session.flush()
    return public(account, prefs)


def sponsor_key(patient_account_id: uuid.UUID, rest: str) -> str:
    """The idempotency key of a sponsor's reminder of `patient_account_id`'s consult: it names
    the patient, so a withdrawal finds them (and a sponsor of two members gets each)."""
    return f"{CONSULT_REMINDER_SPONSOR.key}:{patient_account_id}:{rest}"


async def cancel_sponsor_reminders(
    session: AsyncSession, patient_account_id: uuid.UUID, *, reason: str
) -> int:
    """Cancel the sponsor's reminders of this member's consults not yet sent; how many."""
    prefix = sponsor_key(patient_account_id, "")
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.template) == CONSULT_REMINDER_SPONSOR.key,
            col(OutboxMessage.idempotency_key).startswith(prefix, autoescape=True),
            col(OutboxMessage.state).in_(WAITING),
        )
        .values(state=State.CANCELLED, provider_reason=reason, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def when(
    account: Account,
    prefs: NotificationPreference | None,
    due: datetime,
    *,
    expires_at: datetime | None,
    urgent: bool,
) -> datetime:
    """When a message due at `due` may go to this member (`rules.outside_quiet_hours`)."""
    if urgent:
        return due
    return outside_quiet_hours(
        due, quiet_hours_of(account, prefs), expires_at=expires_at, now=clock.now()
    )
