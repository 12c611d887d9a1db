"""Account use cases over an AsyncSession: they flush, never commit."""

import asyncio
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import ColumnElement, Select, String, bindparam, func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import rules, search
from cooperative.accounts.errors import (
    AccountExists,
    ContactTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionEnded,
    TooManyAttempts,
    WeakPassword,
)
from cooperative.accounts.models import Account as Account  # the result type other domains name
from cooperative.accounts.models import AuthSession as AuthSession  # apps read their grants
from cooperative.accounts.models import LoginThrottle, RefreshToken
from cooperative.accounts.rules import ThrottleRule
from cooperative.accounts.schemas import AccountCreate, AccountPublic, MePublic
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.principal import Principal, Role


async def register(
    session: AsyncSession,
    data: AccountCreate,
    *,
    hasher: PasswordHash,
    min_password_length: int,
    roles: tuple[Role, ...] = (Role.PATIENT,),
    verified: bool = True,
) -> Account:
    """Create an account, or AccountExists. For the admin's tools; self sign-up is `sign_up`.
    The operator vouches for the contacts of an account made with their tools (`verified`);
    a self sign-up's are verified by a one-time code."""
    password = data.password.get_secret_value()
    contacts = tuple(c for c in (data.email, data.phone) if c)
    problem = rules.password_problem(password, min_length=min_password_length, identifiers=contacts)
    if problem:
        raise WeakPassword(
            reason_en=problem.en, reason_es=problem.es, extensions={"reason": problem.code}
        )
    # hash before the first query, so the slow part holds no database transaction open
    password_hash = await asyncio.to_thread(hasher.hash, password)
    for field, value in (("email", data.email), ("phone", data.phone)):
        if value and await _find_by(session, field, value):
            raise AccountExists(field=field)
    account = Account(
        email=data.email,
        phone=data.phone,
        display_name=data.display_name,
        password_hash=password_hash,
        roles=[role.value for role in roles],
        preferred_language=data.preferred_language,
        timezone=data.timezone,
    )
    if verified:
        account.email_verified_at = account.created_at if data.email else None
        account.phone_verified_at = account.created_at if data.phone else None
    try:
        async with session.begin_nested():
            session.add(account)
    except IntegrityError as exc:  # a concurrent sign-up with the same contact won the race
        raise AccountExists(field="email" if data.email else "phone") from exc
    return account


@dataclass(frozen=True, slots=True)
class SignedUp:
    """What a self sign-up did, for the caller to write to the right person: `created`, the
    new (unverified) account and its contact; otherwise the account that already held
    `contact`, whose owner is told that someone tried."""

    account: Account
    created: bool
    contact: str


async def sign_up(
    session: AsyncSession, data: AccountCreate, *, hasher: PasswordHash, min_password_length: int
) -> SignedUp | None:
    """Self sign-up as a patient, answering alike whether or not the contact was registered.

    A new contact gets its account, unverified; a registered one leaves everything as it was.
    Both refuse the same weak passwords and pay for the same argon2 hash. None only when a
    concurrent sign-up took the contact and its account cannot be seen yet.
    """
    try:
        account = await register(
            session, data, hasher=hasher, min_password_length=min_password_length, verified=False
        )
    except AccountExists as exc:
        field = str(exc.params["field"])
        contact = data.email if field == "email" else data.phone
        assert contact is not None
        owner = await _find_by(session, field, contact)
        return None if owner is None else SignedUp(owner, created=False, contact=contact)
    contact = data.email or data.phone
    assert contact is not None
    return SignedUp(account, created=True, contact=contact)


async def _find_by(session: AsyncSession, field: str, value: str) -> Account | None:
    column = col(Account.email) if field == "email" else col(Account.phone)
    return (await session.execute(select(Account).where(column == value))).scalar_one_or_none()


async def find_by_identifier(session: AsyncSession, identifier: str) -> Account | None:
    """The account signed up with this email or phone number, or None."""
    canonical = rules.canonical_identifier(identifier)
    if rules.looks_like_email(canonical):
        return await _find_by(session, "email", canonical)
    if canonical.startswith("+"):
        typed = rules.legacy_phone(identifier)
        # a number kept in its old spelling (two accounts held it both ways) is its owner's
        if (
            typed is not None
            and typed != canonical
            and (kept := await _find_by(session, "phone", typed)) is not None
        ):
            return kept
        return await _find_by(session, "phone", canonical)
    return None


async def get(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
    """Several accounts in one query, by id (those that exist)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Account).where(col(Account.id).in_(set(ids))))
    return {account.id: account for account in rows}


def account_public(account: Account) -> AccountPublic:
    return AccountPublic.model_validate(account, from_attributes=True)


async def me(session: AsyncSession, principal: Principal) -> MePublic:
    """The principal's account, with the scopes its token carries (404 once it is gone)."""
    account = await get(session, principal.account_id)
    if account is None:
        raise NotFound()
    return MePublic(
        **account_public(account).model_dump(),
        scopes=sorted(principal.scopes),
        email_verified_at=account.email_verified_at,
        phone_verified_at=account.phone_verified_at,
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt already charged to its throttles, waiting for the password check."""

    account_id: uuid.UUID | None
    password_hash: str | None
    throttles: tuple[ThrottleRule, ...]


async def _locked_rows(
    session: AsyncSession, throttles: list[ThrottleRule], now: datetime
) -> dict[str, LoginThrottle]:
    """The throttle rows, created if missing and locked (in key order, so never a deadlock)."""
    keys = sorted(t.key for t in throttles)
    for key in keys:
        try:
            async with session.begin_nested():
                session.add(LoginThrottle(key=key, failures=0, last_failure_at=now))
        except IntegrityError:
            pass  # it exists
    rows = await session.execute(
        select(LoginThrottle)
        .where(col(LoginThrottle.key).in_(keys))
        .order_by(col(LoginThrottle.key))
        .with_for_update()
        .execution_options(populate_existing=True)  # the values as committed, not as loaded
    )
    return {row.key: row for row in rows.scalars()}


async def charge(
    session: AsyncSession,
    throttles: list[ThrottleRule],
    *,
    refusal: type[TooManyAttempts] = TooManyAttempts,
) -> None:
    """Refuse a throttled caller (`refusal`, 429 with `Retry-After`), else count one attempt
    against every key. The rows are locked, so concurrent attempts all count."""
    rows = await _locked_rows(session, throttles, clock.now())
    now = clock.now()  # after the lock: a concurrent attempt may have been charged meanwhile
    wait = max(
        rules.retry_after(rows[t.key].failures, rows[t.key].last_failure_at, now, t.policy)
        for t in throttles
    )
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        raise refusal(retry_after=seconds, headers={"Retry-After": str(seconds)})
    for throttle in throttles:
        row = rows[throttle.key]
        row.failures = (
            rules.outstanding(row.failures, row.last_failure_at, now, throttle.policy) + 1
        )
        row.last_failure_at = now
    await session.flush()


async def begin_attempt(
    session: AsyncSession, identifier: str, throttles: list[ThrottleRule]
) -> Attempt:
    """Refuse a throttled caller, else charge the attempt as a failure before the password is
    checked. The caller commits the charge first, so concurrent guesses all count and no lock is
    held during the slow hash; a success gives the charge back (`finish_attempt`)."""
    await charge(session, throttles)
    account = await find_by_identifier(session, identifier)
    return Attempt(
        account_id=account.id if account and account.is_active else None,
        password_hash=account.password_hash if account and account.is_active else None,
        throttles=tuple(throttles),
    )


_DUMMY_HASHES: dict[int, str] = {}


async def check_password(
    attempt: Attempt, password: str, *, hasher: PasswordHash
) -> tuple[bool, str | None]:
    """Verify off the event loop; an unknown account costs the same as a wrong password."""
    if attempt.password_hash is None:
        dummy = _DUMMY_HASHES.get(id(hasher))
        if dummy is None:
            dummy = _DUMMY_HASHES[id(hasher)] = hasher.hash(secrets.token_urlsafe(16))
        await asyncio.to_thread(hasher.verify, password, dummy)
        return False, None
    return await asyncio.to_thread(hasher.verify_and_update, password, attempt.password_hash)


async def finish_attempt(
    session: AsyncSession, attempt: Attempt, *, valid: bool, new_hash: str | None
) -> Account:
    """The signed-in account with its throttle charge given back, or InvalidCredentials."""
    account = await get(session, attempt.account_id) if attempt.account_id else None
    if not valid or account is None or not account.is_active:
        raise InvalidCredentials()
    if new_hash:
        account.password_hash = new_hash
    rows = await session.execute(
        select(LoginThrottle)
        .where(col(LoginThrottle.key).in_([t.key for t in attempt.throttles]))
        .order_by(col(LoginThrottle.key))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    cleared = {t.key for t in attempt.throttles if t.cleared_by_success}
    for row in rows.scalars():
        if row.key in cleared:
            await session.delete(row)
        else:
            row.failures = max(0, row.failures - 1)
    await session.flush()
    return account


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    """A refresh token handed out, and when: the access token issued with it carries that
    instant, so the answer to a retried refresh (see `rotate_refresh`) is the same pair."""

    account: Account
    session_id: uuid.UUID
    token: str
    scope: str | None
    issued_at: datetime
    client_id: uuid.UUID | None = None


async def _issue_token(
    session: AsyncSession,
    auth_session_id: uuid.UUID,
    now: datetime,
    ttl: timedelta,
    token: str | None = None,
) -> str:
    token = token or secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            session_id=auth_session_id,
            token_hash=rules.hash_refresh_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def start_session(
    session: AsyncSession,
    account: Account,
    *,
    ttl: timedelta,
    scope: str | None = None,
    client_id: uuid.UUID | None = None,
) -> IssuedRefresh:
    """Begin a sign-in session with its first refresh token; `scope` is what the client asked
    for, and every refresh of this session keeps to it (RFC 6749 §6). `client_id`: the app
    the member granted it to (an app's grant is a session; revoking it ends the session)."""
    now = clock.now()
    auth_session = AuthSession(
        account_id=account.id, created_at=now, scope=scope, client_id=client_id
    )
    session.add(auth_session)
    await session.flush()
    token = await _issue_token(session, auth_session.id, now, ttl)
    return IssuedRefresh(
        account=account,
        session_id=auth_session.id,
        token=token,
        scope=auth_session.scope,
        issued_at=now,
        client_id=auth_session.client_id,
    )


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """How refresh tokens rotate: `ttl` of each new token; `grace`, how long after a token was
    spent the very same token may be presented again (a retry whose answer a bad link lost)
    and get the same answer; `successor_key`, what derives a token's successor from it."""

    ttl: timedelta
    grace: timedelta
    successor_key: bytes


async def rotate_refresh(
    session: AsyncSession, token: str, *, policy: RefreshPolicy
) -> IssuedRefresh:
    """Spend a refresh token for a new one in the same session.

    The new token is derived from the one spent (a keyed hash, `rules.successor_token`), so a
    retry of the very same token within `policy.grace` of its spending, while its successor is
    unspent, gets the same new token again, with the same access token (the same instant):
    a phone whose answer was lost is not signed out. Any other reuse of a spent token (later,
    or after its successor was used: a replay, perhaps by a thief) revokes the whole session,
    and the revocation is kept although the request fails. Of concurrent uses of one token,
    exactly one spends it (a conditional UPDATE); the others are retries within the grace.
    """
    now = clock.now()
    row = (
        await session.execute(
            select(RefreshToken, AuthSession, Account)
            .join(AuthSession, col(RefreshToken.session_id) == col(AuthSession.id))
            .join(Account, col(AuthSession.account_id) == col(Account.id))
            .where(col(RefreshToken.token_hash) == rules.hash_refresh_token(token))
        )
    ).one_or_none()
    if row is None:
        raise InvalidRefreshToken()
    stored, auth_session, account = row
    if auth_session.revoked_at is not None or not account.is_active or stored.expires_at <= now:
        raise InvalidRefreshToken()
    spent = await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.id) == stored.id, col(RefreshToken.used_at).is_(None))
        .values(used_at=now)
    )
    successor = rules.successor_token(token, policy.successor_key)
    if _rowcount(spent) != 1:
        retried = await _retried(session, stored.id, successor, now=now, grace=policy.grace)
        if retried is None:
            await revoke_session(session, auth_session.id, reason="reuse")
            raise RefreshTokenReused()
        return IssuedRefresh(
            account=account,
            session_id=auth_session.id,
            token=successor,
            scope=auth_session.scope,
            issued_at=retried,
            client_id=auth_session.client_id,
        )
    await _issue_token(session, auth_session.id, now, policy.ttl, token=successor)
    return IssuedRefresh(
        account=account,
        session_id=auth_session.id,
        token=successor,
        scope=auth_session.scope,
        issued_at=now,
        client_id=auth_session.client_id,
    )


async def _retried(
    session: AsyncSession, spent_id: uuid.UUID, successor: str, *, now: datetime, grace: timedelta
) -> datetime | None:
    """When the spent token was spent, if this is a retry the grace lets through: within
    `grace` of it, and its successor still unspent; else None."""
    spent_at = (
        await session.execute(
            select(col(RefreshToken.used_at)).where(col(RefreshToken.id) == spent_id)
        )
    ).scalar_one()
    if spent_at is None or now - spent_at > grace:
        return None
    unspent = (
        await session.execute(
            select(col(RefreshToken.id)).where(
                col(RefreshToken.token_hash) == rules.hash_refresh_token(successor),
                col(RefreshToken.used_at).is_(None),
            )
        )
    ).first()
    return spent_at if unspent is not None else None


def _rowcount(result: object) -> int:
    """Rows an UPDATE matched (the typed Result does not declare it; CursorResult has it)."""
    count: int = getattr(result, "rowcount", 0)
    return count


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, *, reason: str) -> None:
    await session.execute(
        update(AuthSession)
        .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)
    )


async def service_account(
    session: AsyncSession, name: str, *, client_id: uuid.UUID, hasher: PasswordHash
) -> Account:
    """The account a clinic's app acts through: no person, no role yet, and no password anyone
    knows (a random one, hashed and forgotten). Its address is reserved and never delivered."""
    unknowable = await asyncio.to_thread(hasher.hash, secrets.token_urlsafe(32))
    now = clock.now()
    account = Account(
        email=f"app-{client_id.hex}@apps.tequio.invalid",
        display_name=name[:120],
        password_hash=unknowable,
        roles=[],
        created_at=now,
        email_verified_at=now,
    )
    session.add(account)
    await session.flush()
    return account


async def end_app_sessions(
    session: AsyncSession,
    client_id: uuid.UUID,
    *,
    reason: str,
    account_id: uuid.UUID | None = None,
) -> int:
    """Every open sign-in of this app ends (of one account, or of all): its tokens stop at
    once. How many ended."""
    statement = update(AuthSession).where(
        col(AuthSession.client_id) == client_id, col(AuthSession.revoked_at).is_(None)
    )
    if account_id is not None:
        statement = statement.where(col(AuthSession.account_id) == account_id)
    result = await session.execute(
        statement.values(revoked_at=clock.now(), revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    return _rowcount(result)


async def app_sessions(session: AsyncSession, account_id: uuid.UUID) -> list[AuthSession]:
    """The account's open sign-ins held by apps, oldest first."""
    found = await session.scalars(
        select(AuthSession)
        .where(
            col(AuthSession.account_id) == account_id,
            col(AuthSession.client_id).is_not(None),
            col(AuthSession.revoked_at).is_(None),
        )
        .order_by(col(AuthSession.created_at))
    )
    return list(found.all())


async def app_grants(
    session: AsyncSession, client_ids: Sequence[uuid.UUID], account_id: uuid.UUID | None = None
) -> list[tuple[uuid.UUID, str | None]]:
    """The open grants (client id, scope) these apps hold: of one account, or of anyone."""
    if not client_ids:
        return []
    statement = select(col(AuthSession.client_id), col(AuthSession.scope)).where(
        col(AuthSession.client_id).in_(list(client_ids)),
        col(AuthSession.revoked_at).is_(None),
    )
    if account_id is not None:
        statement = statement.where(col(AuthSession.account_id) == account_id)
    rows = await session.execute(statement)
    return [(client_id, scope) for client_id, scope in rows.all() if client_id is not None]


async def last_token_at(session: AsyncSession, session_ids: Sequence[uuid.UUID]) -> datetime | None:
    """When the latest refresh token of these sessions was issued."""
    if not session_ids:
        return None
    latest: datetime | None = (
        await session.execute(
            select(func.max(RefreshToken.created_at)).where(
                col(RefreshToken.session_id).in_(session_ids)
            )
        )
    ).scalar_one()
    return latest


async def session_of_refresh_token(session: AsyncSession, token: str) -> uuid.UUID | None:
    stored = (
        await session.execute(
            select(col(RefreshToken.session_id)).where(
                col(RefreshToken.token_hash) == rules.hash_refresh_token(token)
            )
        )
    ).scalar_one_or_none()
    return stored


# The check every authenticated request makes, built once: the sign-in session and its account,
# both by primary key, in one statement.
_SIGNED_IN = (
    select(Account, col(AuthSession.revoked_at))
    .join(AuthSession, col(AuthSession.account_id) == col(Account.id))
    .where(
        col(AuthSession.id) == bindparam("session_id"),
        col(Account.id) == bindparam("account_id"),
    )
)
_CALLER = "tequio.accounts.caller"


async def signed_in(session: AsyncSession, account_id: uuid.UUID, session_id: uuid.UUID) -> Account:
    """The account, if its sign-in session is still open and the account active; SessionEnded
    otherwise.

    Checked on every authenticated request, so logout, a detected token theft or a disabled
    account take effect at once rather than when the access token expires. The account comes
    whole with the check and stays in `session` for the request, so a route that reads the
    caller's account again (`get`) finds it there instead of asking the database a second time.
    """
    row = (
        await session.execute(_SIGNED_IN, {"session_id": session_id, "account_id": account_id})
    ).one_or_none()
    if row is None:
        raise SessionEnded()
    account: Account = row.Account
    if row.revoked_at is not None or not account.is_active:
        raise SessionEnded()
    session.info[_CALLER] = account  # the identity map holds rows weakly: keep this one
    return account


def _folded_name() -> ColumnElement[str]:
    """The display name as `search.fold` folds it, in SQL both databases speak."""
    folded: ColumnElement[str] = type_coerce(col(Account.display_name), String)
    for accented, plain in search.FOLDED:
        folded = func.replace(folded, accented, plain, type_=String)
    return func.lower(folded, type_=String)


def matching(*, words: Sequence[str] = (), phone_digits: str | None = None) -> Select[Any]:
    """The ids of active accounts whose name holds every folded word and whose phone ends with
    `phone_digits` (`cooperative.accounts.search`), to narrow another domain's list."""
    statement = select(col(Account.id)).where(col(Account.is_active).is_(True))
    name = _folded_name()
    for word in words:
        statement = statement.where(name.contains(word, autoescape=True))
    if phone_digits is not None:
        statement = statement.where(col(Account.phone).endswith(phone_digits))
    return statement


async def set_password(
    session: AsyncSession,
    account: Account,
    password: str,
    *,
    hasher: PasswordHash,
    min_password_length: int,
) -> None:
    """A new password, by the same rules as sign-up (WeakPassword otherwise)."""
    contacts = tuple(c for c in (account.email, account.phone) if c)
    problem = rules.password_problem(password, min_length=min_password_length, identifiers=contacts)
    if problem:
        raise WeakPassword(
            reason_en=problem.en, reason_es=problem.es, extensions={"reason": problem.code}
        )
    account.password_hash = await asyncio.to_thread(hasher.hash, password)
    account.updated_at = clock.now()
    await session.flush()


async def end_sessions(
    session: AsyncSession, account_id: uuid.UUID, *, reason: str, keep: uuid.UUID | None = None
) -> None:
    """Every open sign-in of the account ends (its refresh and access tokens stop working at
    once), but `keep`'s."""
    statement = update(AuthSession).where(
        col(AuthSession.account_id) == account_id, col(AuthSession.revoked_at).is_(None)
    )
    if keep is not None:
        statement = statement.where(col(AuthSession.id) != keep)
    await session.execute(
        statement.values(revoked_at=clock.now(), revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )


async def contact_taken(session: AsyncSession, address: str) -> bool:
    """Whether an account already holds this email or phone (in its one spelling)."""
    field = "email" if rules.looks_like_email(address) else "phone"
    return await _find_by(session, field, address) is not None


async def change_contact(session: AsyncSession, account: Account, address: str) -> None:
    """The account's email or phone becomes `address`, verified (its code was just spent);
    ContactTaken if another account took it meanwhile."""
    now = clock.now()
    try:
        async with session.begin_nested():
            if rules.looks_like_email(address):
                account.email, account.email_verified_at = address, now
            else:
                account.phone, account.phone_verified_at = address, now
            account.updated_at = now
            await session.flush()
    except IntegrityError as exc:
        raise ContactTaken() from exc
